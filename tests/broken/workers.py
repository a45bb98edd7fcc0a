"""Workers that cannot do all the kit could ask of them (worker capabilities).

Workers are the backend's, not part of Django's contract. A worker that
cannot select queues, or run twice at once, or run outside the thread that
enqueued, says so (an attribute of the ``--task-worker`` callable, or of the
adapter) and the clauses that need it are "n/a"; one that does not say so
fails them, as it would surprise any caller.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from conformance import compat
from tests.memory_backend import MemoryBackend, iter_records

from .expect import Expect

RUNNING = compat.TaskResultStatus.RUNNING.value


def _worker(name: str) -> str:
    return f"--task-worker=tests.broken.workers.{name}"


# -- a worker that serves every queue, whatever it is asked --------------------
class _EveryQueue(MemoryBackend):
    def ready_in_order(
        self, queue_names: Sequence[str] | None
    ) -> Iterator[dict[str, Any]]:
        return super().ready_in_order(None)


def run_every_queue(backend: Any, queue_names: Sequence[str] | None = None) -> None:
    backend.run_ready(queue_names)


run_every_queue.selects_queues = False  # type: ignore[attr-defined]


def run_every_queue_silently(
    backend: Any, queue_names: Sequence[str] | None = None
) -> None:
    backend.run_ready(queue_names)


class EveryQueueDeclared(_EveryQueue):
    """Says its worker cannot select queues: the clause does not apply."""

    expect = Expect(
        "worker-queues",
        outcomes={"WORKER-QUEUES-SELECTED": "n/a", "WORKER-QUEUES-ALL": "pass"},
        options=(_worker("run_every_queue"),),
    )


class EveryQueueUndeclared(_EveryQueue):
    """The same worker, saying nothing: asked for one queue, it runs all."""

    expect = Expect(
        "worker-queues",
        fails={"WORKER-QUEUES-SELECTED"},
        options=(_worker("run_every_queue_silently"),),
    )


# -- a worker that refuses a second call while one runs ------------------------
_RUNNING = threading.Lock()


def _one_at_a_time(backend: Any, queue_names: Sequence[str] | None) -> None:
    if not _RUNNING.acquire(blocking=False):
        raise RuntimeError("this worker is already running in this process")
    try:
        time.sleep(0.2)  # long enough for a second call to find it running
        backend.run_ready(queue_names)
    finally:
        _RUNNING.release()


def run_one_at_a_time(backend: Any, queue_names: Sequence[str] | None = None) -> None:
    _one_at_a_time(backend, queue_names)


run_one_at_a_time.runs_concurrently = False  # type: ignore[attr-defined]


def run_one_at_a_time_silently(
    backend: Any, queue_names: Sequence[str] | None = None
) -> None:
    _one_at_a_time(backend, queue_names)


class OneWorkerDeclared(MemoryBackend):
    """Says its worker runs one call at a time: the two-worker test is n/a,
    and exactly-once is still checked by the others."""

    expect = Expect(
        "success",
        outcomes={"SUCCESS-EXACTLY-ONCE": "pass"},
        options=(_worker("run_one_at_a_time"),),
    )


class OneWorkerUndeclared(MemoryBackend):
    """The same worker, saying nothing: the second call raises."""

    expect = Expect(
        "success",
        fails={"SUCCESS-EXACTLY-ONCE"},
        options=(_worker("run_one_at_a_time_silently"),),
    )


# -- a worker bound to the thread that enqueued ---------------------------------
_ENQUEUING_THREAD: list[int] = []


class _ThreadBound(MemoryBackend):
    """Its queue belongs to the enqueuing thread (as an in-memory queue held by
    the request would): a worker called from any other thread finds nothing."""

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        _ENQUEUING_THREAD[:] = [threading.get_ident()]
        return super().enqueue(task, args, kwargs)

    def ready_in_order(
        self, queue_names: Sequence[str] | None
    ) -> Iterator[dict[str, Any]]:
        if _ENQUEUING_THREAD and threading.get_ident() != _ENQUEUING_THREAD[0]:
            return iter(())
        return super().ready_in_order(queue_names)


def run_in_this_thread(backend: Any, queue_names: Sequence[str] | None = None) -> None:
    backend.run_ready(queue_names)


run_in_this_thread.runs_in_other_threads = False  # type: ignore[attr-defined]


def run_in_this_thread_silently(
    backend: Any, queue_names: Sequence[str] | None = None
) -> None:
    backend.run_ready(queue_names)


class ThreadBoundDeclared(_ThreadBound):
    """Says its worker runs only in the enqueuing thread."""

    expect = Expect(
        "success",
        outcomes={"SUCCESS-EXACTLY-ONCE": "pass"},
        options=(_worker("run_in_this_thread"),),
    )


class ThreadBoundUndeclared(_ThreadBound):
    """The same, saying nothing: two workers in new threads run nothing."""

    expect = Expect(
        "success",
        fails={"SUCCESS-EXACTLY-ONCE"},
        options=(_worker("run_in_this_thread_silently"),),
    )


# -- a worker that one task jams for good --------------------------------------
class JammedBySystemExit(MemoryBackend):
    """SystemExit from a task escapes the worker and leaves the task RUNNING;
    from then on the worker believes it is busy and runs nothing (a single-slot
    worker whose slot never frees). One root cause: the kit reports the lost
    task once, and names it as the likely cause of the clauses that fail after
    it (tests/test_lost_tasks.py), without waiting out the timeout in each."""

    expect = Expect(
        "failure",
        fails={
            "FAILURE-BASE-EXCEPTION",
            "FAILURE-ERRORS",
            "FAILURE-EXCEPTION-CLASS",
            "FAILURE-STATUS",
            "FAILURE-TIMESTAMPS",
            "FAILURE-TRACEBACK",
        },
        options=(_worker("run_until_jammed"), "--task-timeout=1"),
    )

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        if error is not None and not isinstance(error, Exception):
            raise error  # the worker dies; the record stays RUNNING
        super().finish(record, error)

    def run_ready(self, queue_names: Sequence[str] | None = None) -> int:
        if any(record["status"] == RUNNING for record in iter_records(self)):
            return 0  # "still busy"
        return super().run_ready(queue_names)


def run_until_jammed(backend: Any, queue_names: Sequence[str] | None = None) -> None:
    backend.run_ready(queue_names)
