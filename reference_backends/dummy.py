"""``DummyBackend``: stores every result, never runs one.

For an application's test suite: enqueue as the code under test does, then
look at what was enqueued. Every result stays READY forever
(LIFECYCLE-UNEXECUTED-STAYS-READY). Comments in capitals name the clause of
``specs/`` that a line implements.
"""

from __future__ import annotations

from typing import Any

from . import compat
from ._lifecycle import new_result, snapshot


class DummyBackend(compat.BaseTaskBackend):  # type: ignore[misc]
    """Keep enqueued results in memory, in enqueue order, for inspection.

    Results live in this backend instance. Django hands each thread its own
    backend instances, so results are only visible in the enqueuing thread:
    hence ``supports_get_result = False``, although ``get_result`` answers
    there.

    Every result this backend hands out (from ``enqueue``, ``get_result``,
    :attr:`results`, :meth:`results_for`) is a copy: code under test cannot
    change what was stored. Django's DummyBackend returns the stored object
    itself from ``get_result``; the kit's decisions (docs/decisions.md,
    supports_get_result and immutability) ask only for a TaskResult there, and
    a copy keeps the record honest.
    """

    # run_after is kept on the result's task; nothing runs anyway
    # (DEFINITION-RUN-AFTER-ACCEPTED, ENQUEUE-DEFERRED-READY).
    supports_defer = True
    # A coroutine task is stored like any other (DEFINITION-ASYNC-ACCEPTED).
    supports_async_task = True
    # Results are only visible in the enqueuing thread (see above), so the
    # cross-thread clauses (GET-RESULT-OTHER-THREAD) are not promised.
    supports_get_result = False
    # True so the backend is a drop-in replacement in tests, as Django's is;
    # nothing runs, so priority has no effect, but it is still validated
    # (PRIORITY-IN-RANGE-ACCEPTED, PRIORITY-OUT-OF-RANGE-REJECTED).
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self._results: list[Any] = []

    # -- the Tasks API ---------------------------------------------------
    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """Validate and store a READY result; return a copy of it."""
        result = self._store(task, args, kwargs)
        # SIGNALS-ENQUEUED-ONCE, SIGNALS-ENQUEUED-SENDER-IS-BACKEND-CLASS.
        # SIGNALS-ENQUEUED-RESULT: receivers get the very copy returned.
        compat.task_enqueued.send(type(self), task_result=result)
        return result

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """See :meth:`enqueue`; ``asend`` awaits async signal receivers."""
        result = self._store(task, args, kwargs)
        await compat.task_enqueued.asend(type(self), task_result=result)
        return result

    # LIFECYCLE-UNEXECUTED-STAYS-READY: nothing here ever changes a stored
    # result; get_result returns a copy of it as enqueued.
    def get_result(self, result_id: str) -> Any:
        """A copy of the stored result, or ``TaskResultDoesNotExist``.

        GET-RESULT-TASK-RESULT-OR-NOT-IMPLEMENTED lets a backend without
        ``supports_get_result`` answer; this one does, in its own thread.
        """
        # GET-RESULT-ANY-TASK: every stored result, whatever its function.
        for result in self._results:
            # GET-RESULT-ID-EXACT, GET-RESULT-ID-CASE-EXACT: exact comparison.
            if result.id == result_id:
                return snapshot(result)  # GET-RESULT-SAME-FIELDS
        # GET-RESULT-UNKNOWN-ID, GET-RESULT-MALFORMED-ID: any other id.
        raise compat.TaskResultDoesNotExist(result_id)

    async def aget_result(self, result_id: str) -> Any:
        """See :meth:`get_result` (memory only: no thread needed)."""
        return self.get_result(result_id)

    # -- helpers for tests -------------------------------------------------
    @property
    def results(self) -> list[Any]:
        """Copies of every stored result, in enqueue order.

        A new list each time: to empty the store, call :meth:`clear`.
        """
        return [snapshot(result) for result in self._results]

    def results_for(self, task: Any) -> list[Any]:
        """Copies of the results of ``task`` (any ``using()`` variant of it)."""
        return [snapshot(r) for r in self._results if r.task.func == task.func]

    def clear(self) -> None:
        """Forget every stored result."""
        self._results.clear()

    # -- storing -------------------------------------------------------------
    def _store(self, task: Any, args: Any, kwargs: Any) -> Any:
        """Validate, store a READY result, return a copy for the caller."""
        # QUEUES-ENQUEUE-REVALIDATES: validate again, the Task may come
        # from another alias. A refusal raises before anything is stored
        # (JSON-UNSERIALIZABLE-NOT-STORED, SIGNALS-ENQUEUED-NOT-SENT-ON-ERROR).
        self.validate_task(task)
        result = new_result(self, task, args, kwargs)
        self._results.append(result)
        return snapshot(result)
