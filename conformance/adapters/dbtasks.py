"""How the kit drives django-dbtasks (``dbtasks.backend.DatabaseBackend``).

Written from the package's public worker API: its ``Runner``, the class
behind ``manage.py taskrunner``, which the package's README shows run in a
thread of its own and stopped with ``stop()``. The runner has no batch mode,
so each worker call starts one runner per ``TASKS`` alias (a runner serves
one alias, whose rows carry it), waits for its ``empty`` event (set when a
claim finds nothing ready and no task is in flight), then stops it and waits
for it to finish. Imported only when that backend is under test.

One worker thread per runner (``taskrunner -w 1``): tasks start in the
runner's claim order, which the ordering clauses read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from django.utils.crypto import get_random_string

from .base import Adapter, rewrite_task_path, sibling_aliases

#: The runner's poll delay while the kit waits (its default is 1 s).
LOOP_DELAY = 0.02
#: Seconds a stopped runner gets to finish the task in hand and exit.
STOP_GRACE = 2.0


class DbtasksAdapter(Adapter):
    executes = True
    worker_driven = True
    # Each row stores its task's path: the security clauses rewrite it.
    record_access = True
    # The runner claims every queue its alias lists in QUEUES; it cannot be
    # told which (its own "TODO: allow runner to specify ... queues").
    selects_queues = False
    # A runner is a thread by design; it claims with SELECT ... FOR UPDATE
    # inside a durable transaction, so two runners never take one row.
    runs_in_other_threads = True
    runs_concurrently = True

    @property
    def pass_allowance(self) -> float:
        if self._worker is not None:
            return super().pass_allowance
        return STOP_GRACE + 1.0

    @property
    def bounds_own_passes(self) -> bool:
        # It stops waiting for ``empty`` after ``timeout`` by itself.
        return self._worker is None or super().bounds_own_passes

    # Run where django-dbtasks is installed (matrix/entries/django-dbtasks.toml).
    def run_ready(self, backend: Any, queue_names: Sequence[str] | None = None) -> None:
        if self._worker is not None:  # --task-worker(-command) wins
            super().run_ready(backend, queue_names)
            return
        from dbtasks.backend import DatabaseBackend
        from dbtasks.runner import Runner

        runners = [
            Runner(
                workers=1,
                worker_id=f"conformance-{get_random_string(12)}",
                backend=alias,
                loop_delay=LOOP_DELAY,
                init_periodic=False,
            )
            for alias in sibling_aliases(
                backend, lambda other: isinstance(other, DatabaseBackend)
            )
        ]
        threads = [
            threading.Thread(target=runner.run, daemon=True) for runner in runners
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self.timeout
        try:
            for runner in runners:
                runner.empty.wait(max(deadline - time.monotonic(), 0.0))
        finally:
            for runner in runners:
                runner.stop()
            for thread in threads:
                thread.join(STOP_GRACE)

    def set_task_path(self, backend: Any, result_id: str, path: str) -> None:
        from dbtasks.models import ScheduledTask

        rewrite_task_path(ScheduledTask.objects.filter(pk=result_id), result_id, path)
