"""The worker protocol: how the kit makes a backend run its tasks.

Backends run tasks in very different ways. An adapter tells the kit the one
thing it cannot learn from the Tasks API itself: how to get ready tasks
executed, and whether the backend executes at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

#: ``worker(backend, queue_names)`` runs every task that is ready now and
#: returns when none is left; ``queue_names`` None means every queue.
WorkerCallable = Callable[[Any, Sequence[str] | None], None]


class RecordAccessUnsupported(NotImplementedError):
    """The adapter cannot reach the backend's stored task records."""


class Adapter:
    """Default behaviour: a backend that executes on its own, polled until done."""

    #: False for backends that never run tasks (a dummy): execution clauses n/a.
    executes: bool = True
    #: True when tasks only run when :meth:`run_ready` is called. Ordering and
    #: deferral clauses need this: they enqueue first, then let the worker go.
    worker_driven: bool = False
    #: True when :meth:`set_task_path` can rewrite a stored record.
    record_access: bool = False

    def __init__(self, worker: WorkerCallable | None = None, timeout: float = 10.0):
        self._worker = worker
        self.timeout = timeout
        if worker is not None:
            self.worker_driven = True

    # -- execution -------------------------------------------------------
    def run_ready(self, backend: Any, queue_names: Sequence[str] | None = None) -> None:
        """Run every task that is ready now; return when none is left."""
        if self._worker is not None:
            self._worker(backend, queue_names)

    def wait_until_finished(self, result: Any) -> None:
        """Refresh ``result`` until it is finished, or the timeout passes."""
        deadline = time.monotonic() + self.timeout
        while True:
            if result.is_finished:
                return
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
            result.refresh()

    # -- stored records (security and robustness clauses) ----------------
    def set_task_path(self, backend: Any, result_id: str, path: str) -> None:
        """Rewrite the task path stored for ``result_id`` (a tampered row)."""
        raise RecordAccessUnsupported(type(self).__name__)

    def describe(self) -> str:
        parts = [type(self).__name__]
        if self._worker is not None:
            name = getattr(self._worker, "__qualname__", repr(self._worker))
            parts.append(f"worker={getattr(self._worker, '__module__', '?')}.{name}")
        return " ".join(parts)
