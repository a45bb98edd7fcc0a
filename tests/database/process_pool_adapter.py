"""The kit's database adapter, running tasks with the process pool (``--pool process``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.adapters.database import DatabaseAdapter, sibling_aliases
from conformance.worker_process import PROCESS_START


class ProcessPoolAdapter(DatabaseAdapter):
    """Each worker call hands the tasks to a child process, as ``--pool process`` does."""

    #: Each call starts a child process (Python, then Django) before any
    #: task runs: a pass needs that beyond --task-timeout.
    pass_allowance = PROCESS_START

    def run_ready(self, backend: Any, queue_names: Sequence[str] | None = None) -> None:
        from reference_backends.database.worker import Worker

        Worker(
            sibling_aliases(backend),
            queue_names=queue_names,
            batch=True,
            worker_id="conformance-kit",
            pool="process",
        ).run()
