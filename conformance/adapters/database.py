"""How the conformance kit drives the reference :class:`DatabaseBackend`.

It lives with the kit, not the backend: the backend must run without the
kit (and its test dependencies) installed.

``run_ready`` runs a worker in batch mode in the kit's own process: the
same code path as ``manage.py task_worker --batch``, minus a process start,
and the kit's signal receivers see the worker's signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reference_backends.database.backend import DatabaseBackend

from . import base
from .base import Adapter, rewrite_task_path


class DatabaseAdapter(Adapter):
    executes = True
    worker_driven = True
    record_access = True

    def run_ready(self, backend: Any, queue_names: Sequence[str] | None = None) -> None:
        if self._worker is not None:  # --task-worker(-command) wins
            super().run_ready(backend, queue_names)
            return
        from reference_backends.database.worker import Worker

        Worker(
            sibling_aliases(backend),
            queue_names=queue_names,
            batch=True,
            worker_id="conformance-kit",
        ).run()

    def set_task_path(self, backend: Any, result_id: str, path: str) -> None:
        from reference_backends.database.models import TaskRecord

        rows = TaskRecord.objects.using(backend.settings.database).filter(id=result_id)
        rewrite_task_path(rows, result_id, path)


def sibling_aliases(backend: DatabaseBackend) -> list[str]:
    """``backend``'s alias first, then every other alias sharing its table."""
    return base.sibling_aliases(
        backend,
        lambda other: (
            isinstance(other, DatabaseBackend)
            and other.settings.database == backend.settings.database
        ),
    )
