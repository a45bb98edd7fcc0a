"""How the kit drives django-tasks-db (``django_tasks_db.DatabaseBackend``).

Written from the package's public worker API: the ``Worker`` class behind its
``db_worker`` command, run in batch mode ("process all outstanding tasks,
then exit") in the kit's own process, as ``manage.py db_worker --batch``
would, minus a process start. Imported only when that backend is under test:
the kit does not depend on the package.

django-tasks-db's worker serves one ``TASKS`` alias (rows carry the alias
that enqueued them): one worker per alias of the backend under test runs
what the kit enqueued through each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.crypto import get_random_string

from .base import Adapter, rewrite_task_path, sibling_aliases

#: Seconds the batch worker waits before claiming again when SQLite reports
#: the database locked (another worker holds it); idle polling is off in batch.
LOCKED_RETRY_INTERVAL = 0.02


class DjangoTasksDbAdapter(Adapter):
    executes = True
    worker_driven = True
    # The table stores each task's path: the security clauses rewrite it.
    record_access = True
    # Its worker filters by queue, runs in any thread on Django's per-thread
    # connections, and claims rows inside an exclusive transaction
    # (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL): two at once are safe.
    selects_queues = True
    runs_in_other_threads = True
    runs_concurrently = True

    # Run where django-tasks-db is installed: tox -e thirdparty-db (not measured).
    def run_ready(  # pragma: no cover
        self, backend: Any, queue_names: Sequence[str] | None = None
    ) -> None:
        if self._worker is not None:  # --task-worker(-command) wins
            super().run_ready(backend, queue_names)
            return
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.management.commands.db_worker import Worker

        worker_id = f"conformance-{get_random_string(12)}"
        for alias in sibling_aliases(
            backend, lambda other: isinstance(other, DatabaseBackend)
        ):
            Worker(
                queue_names=list(queue_names) if queue_names else ["*"],
                interval=LOCKED_RETRY_INTERVAL,
                batch=True,
                backend_name=alias,
                startup_delay=False,
                max_tasks=None,
                worker_id=worker_id,
                excluded_queue_names=[],
            ).run()

    def set_task_path(  # pragma: no cover
        self, backend: Any, result_id: str, path: str
    ) -> None:
        from django_tasks_db.models import DBTaskResult

        rewrite_task_path(DBTaskResult.objects.filter(id=result_id), result_id, path)
