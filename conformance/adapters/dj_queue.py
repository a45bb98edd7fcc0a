"""How the kit drives dj-queue (``dj_queue.backend.DjQueueBackend``).

Written from the package's runtime classes, the ones ``manage.py dj_queue``
supervises: a ``Dispatcher`` (moves due scheduled jobs to the ready queue)
and a ``Worker`` (claims ready jobs and runs them on its thread pool), each
registered as a process row as the runtime does. The runtime has no batch
mode, so each worker call polls them by hand (``poll_once``, what their own
loops call) until nothing is due, claimed or running, then stops them. One
dispatcher and one worker per ``TASKS`` alias: jobs carry the alias that
enqueued them. Imported only when that backend is under test.

The worker has one thread and prefetches one job, so jobs start in its
claim order, which the ordering clauses read.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.utils.crypto import get_random_string

from .base import Adapter, rewrite_task_path, sibling_aliases

#: Seconds between polls while a job runs on the worker's thread.
POLL_INTERVAL = 0.01
#: Seconds a stopping worker gets to finish the job in hand.
STOP_GRACE = 2.0


class DjQueueAdapter(Adapter):
    executes = True
    worker_driven = True
    # Each job row stores its task's path: the security clauses rewrite it.
    record_access = True
    # A worker takes the queue selectors it is configured with; the runtime
    # runs in threads (its "async" mode) and claims with SELECT ... FOR
    # UPDATE SKIP LOCKED, inside a transaction on SQLite: two at once are safe.
    selects_queues = True
    runs_in_other_threads = True
    runs_concurrently = True
    # "Across multiple queue selectors, selector order wins" (its README):
    # priority orders each queue, not the queues together.
    orders_across_queues = False

    @property
    def pass_allowance(self) -> float:
        if self._worker is not None:
            return super().pass_allowance
        return STOP_GRACE + 1.0

    @property
    def bounds_own_passes(self) -> bool:
        # It stops polling after ``timeout`` by itself.
        return self._worker is None or super().bounds_own_passes

    def run_ready(self, backend: Any, queue_names: Sequence[str] | None = None) -> None:
        if self._worker is not None:  # --task-worker(-command) wins
            super().run_ready(backend, queue_names)
            return
        from dj_queue.backend import DjQueueBackend

        selectors = tuple(queue_names) if queue_names else ("*",)
        deadline = time.monotonic() + self.timeout
        for alias in sibling_aliases(
            backend, lambda other: isinstance(other, DjQueueBackend)
        ):
            _drain(alias, selectors, deadline)

    def set_task_path(self, backend: Any, result_id: str, path: str) -> None:
        from dj_queue.models import Job

        rewrite_task_path(Job.objects.filter(pk=result_id), result_id, path)


def _drain(alias: str, selectors: tuple[str, ...], deadline: float) -> None:
    """Run one alias's due jobs in ``selectors`` until none is left, or ``deadline``."""
    from dj_queue.config import WorkerConfig, load_backend_config
    from dj_queue.runtime.dispatcher import Dispatcher
    from dj_queue.runtime.worker import Worker

    config = load_backend_config(alias)
    name = f"conformance-{get_random_string(12)}"
    dispatcher = Dispatcher(
        config.dispatchers[0],
        backend_alias=alias,
        name=f"{name}-dispatcher",
        backend_config=config,
    )
    worker = Worker(
        WorkerConfig(queues=selectors, threads=1, prefetch_multiplier=1),
        backend_alias=alias,
        name=name,
        backend_config=config,
    )
    try:
        while time.monotonic() < deadline:
            promoted = dispatcher.poll_once()
            claimed = worker.poll_once()
            if not promoted and not claimed and worker.pool.in_flight == 0:
                return
            time.sleep(POLL_INTERVAL)
    finally:
        worker.stop(timeout=STOP_GRACE)
        dispatcher.stop()
