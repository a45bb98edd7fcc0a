"""How the kit drives django-tasks-concurrent's worker.

django-tasks-concurrent is not a backend: it is a worker (and a periodic
scheduler) for django-tasks-db's ``DatabaseBackend``, the rows of which its
``ConcurrentWorker`` claims and runs. Its matrix entry tests that backend
with this worker instead of django-tasks-db's own ``db_worker``:
``--task-adapter=conformance.adapters.django_tasks_concurrent.ConcurrentWorkerAdapter``.

Written from the package's public API: ``ConcurrentWorker``, which
``run_worker`` and the ``concurrent_worker`` command run until shut down. It
has no batch mode and serves one queue of one alias, so each worker call
runs one worker per (alias, queue) in an event loop of the kit's main thread,
until no row of that queue is ready, then calls its ``shutdown()`` and waits
for ``run()`` to return (a sub-worker finishes the task in hand first).
Imported only when that worker is under test.

One sub-worker (``--concurrency=1``): tasks start in its claim order, which
the ordering clauses read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from .base import sibling_aliases, signal_handlers_kept
from .django_tasks_db import DjangoTasksDbAdapter

#: The worker's idle poll interval while the kit waits (its default is 1 s).
INTERVAL = 0.02


class ConcurrentWorkerAdapter(DjangoTasksDbAdapter):
    # One queue per worker, as ``--queue-name`` takes; the adapter starts one
    # for each queue asked for, so queue selection is the worker's own.
    selects_queues = True
    # ``ConcurrentWorker.run`` installs SIGINT/SIGTERM handlers on its event
    # loop, which only the main thread can do.
    runs_in_other_threads = False
    runs_concurrently = False
    # One worker per queue, one after another: priority orders each queue.
    orders_across_queues = False

    def run_ready(self, backend: Any, queue_names: Sequence[str] | None = None) -> None:
        if self._worker is not None:  # --task-worker(-command) wins
            super().run_ready(backend, queue_names)
            return
        from django_tasks_db.backend import DatabaseBackend

        deadline = time.monotonic() + self.timeout
        with signal_handlers_kept():
            for alias in sibling_aliases(
                backend, lambda other: isinstance(other, DatabaseBackend)
            ):
                for queue in queue_names or _ready_queues(alias):
                    asyncio.run(_drain(alias, queue, deadline))


def _ready_queues(alias: str) -> list[str]:
    """The queues of ``alias`` that hold a ready row: "every queue" for a
    worker that must be told one."""
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.ready().filter(backend_name=alias)
    return sorted(set(rows.values_list("queue_name", flat=True)))


async def _drain(alias: str, queue: str, deadline: float) -> None:
    from asgiref.sync import sync_to_async
    from django_tasks_concurrent.worker import ConcurrentWorker
    from django_tasks_db.models import DBTaskResult

    worker = ConcurrentWorker(
        concurrency=1, interval=INTERVAL, queue_name=queue, backend_name=alias
    )
    running = asyncio.create_task(worker.run())
    ready = DBTaskResult.objects.ready().filter(backend_name=alias, queue_name=queue)
    has_ready = sync_to_async(ready.exists)
    try:
        while time.monotonic() < deadline and not running.done():
            if not await has_ready():
                break
            await asyncio.sleep(INTERVAL)
    finally:
        worker.shutdown()
    # The sub-worker finishes the task it claimed, then sees the shutdown.
    await running
