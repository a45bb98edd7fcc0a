"""``ImmediateBackend``: runs every task inside ``enqueue``, in the caller's thread.

The smallest backend that executes. Reading it top to bottom shows the whole
lifecycle of a task result::

    READY --(task_enqueued)--> RUNNING --(task_started)--> SUCCESSFUL or FAILED
                                                           --(task_finished)-->

By the time ``enqueue`` returns, the result is finished. Nothing is stored.
"""

from __future__ import annotations

import asyncio
from typing import Any

from conformance import compat

from ._lifecycle import json_round_trip, new_id, new_result, now, task_error, update


class ImmediateBackend(compat.BaseTaskBackend):  # type: ignore[misc]
    """Execute each task synchronously when it is enqueued.

    Flags: each one is a promise the kit checks.
    """

    # A task cannot wait for ``run_after``: it runs now or never.
    supports_defer = False
    # Coroutine tasks are awaited natively by ``aenqueue`` (and run to
    # completion by ``enqueue``).
    supports_async_task = True
    # Nothing is stored, so a result cannot be fetched again, from any thread.
    supports_get_result = False
    # True so the backend is a drop-in replacement in tests, as Django's is:
    # code that sets a priority keeps working. Tasks never wait in a queue, so
    # "run in priority order" holds trivially; the value is still validated.
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        # One id for this backend instance: it is the "worker" that ran the
        # task, and every result it runs records it.
        self.worker_id = new_id()

    # -- enqueue: the whole lifecycle ------------------------------------
    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """Validate, then run ``task`` to completion; return the finished result."""
        result = self._new_result(task, args, kwargs)
        compat.task_enqueued.send(type(self), task_result=result)
        self._mark_running(result)
        compat.task_started.send(type(self), task_result=result)
        call_args, call_kwargs = self._call_arguments(result)
        try:
            self._mark_successful(result, task.call(*call_args, **call_kwargs))
        except KeyboardInterrupt:
            # The user is stopping the process: let them. The task did not
            # fail, it was interrupted, so no error and no finished signal.
            raise
        except BaseException as exc:  # anything else, SystemExit included
            self._mark_failed(result, exc)
            # Sent inside the handler: receivers such as Django's own logger
            # find the exception in sys.exc_info() and log its traceback.
            compat.task_finished.send(type(self), task_result=result)
        else:
            compat.task_finished.send(type(self), task_result=result)
        return result

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """The async twin of :meth:`enqueue`: no thread hop for coroutine tasks.

        ``Task.acall`` awaits a coroutine function directly (and runs a plain
        function in a thread). Signals go out with ``asend`` so that async
        receivers are awaited and sync ones run outside the event loop.
        """
        result = self._new_result(task, args, kwargs)
        await compat.task_enqueued.asend(type(self), task_result=result)
        self._mark_running(result)
        await compat.task_started.asend(type(self), task_result=result)
        call_args, call_kwargs = self._call_arguments(result)
        try:
            self._mark_successful(result, await task.acall(*call_args, **call_kwargs))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self._mark_failed(result, exc)
            await compat.task_finished.asend(type(self), task_result=result)
            if isinstance(exc, asyncio.CancelledError):
                # The result is FAILED and announced, but asyncio needs the
                # cancellation to reach the caller: timeouts rely on it.
                raise
        else:
            await compat.task_finished.asend(type(self), task_result=result)
        return result

    # -- results cannot be fetched again -------------------------------------
    def get_result(self, result_id: str) -> Any:
        """Always raises ``NotImplementedError``: this backend stores nothing.

        SPEC-NOTES lets a backend with ``supports_get_result = False`` either
        answer in the enqueuing thread or raise. Answering would mean keeping
        every result forever (a leak in a long-lived process) only to return
        what ``enqueue`` already returned, finished. Raising also matches
        Django's ImmediateBackend and its documentation.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not store results: use the TaskResult "
            "that enqueue() returned, it is already finished."
        )

    async def aget_result(self, result_id: str) -> Any:
        """See :meth:`get_result` (no thread needed to raise)."""
        return self.get_result(result_id)

    # -- the steps of the lifecycle ------------------------------------------
    def _new_result(self, task: Any, args: Any, kwargs: Any) -> Any:
        """A READY result, after every check that can refuse the enqueue.

        Nothing is signalled before this returns, so a refused enqueue
        leaves no trace.
        """
        self.validate_task(task)  # again: a Task can be built around checks
        return new_result(self, task, args, kwargs)

    def _mark_running(self, result: Any) -> None:
        started = now()
        update(
            result,
            status=compat.TaskResultStatus.RUNNING,
            started_at=started,
            last_attempted_at=started,
        )
        # One worker id per attempt: ``attempts`` counts them.
        result.worker_ids.append(self.worker_id)

    def _call_arguments(self, result: Any) -> tuple[list[Any], dict[str, Any]]:
        """What the task function receives: fresh copies, as a worker would decode.

        Fresh copies, so a task that mutates its arguments cannot change
        ``result.args``. A ``takes_context`` task gets a ``TaskContext``
        first, holding the live result (status RUNNING, ``attempt`` 1).
        """
        args: list[Any] = json_round_trip(result.args)
        if result.task.takes_context:
            args.insert(0, compat.TaskContext(task_result=result))
        return args, json_round_trip(result.kwargs)

    def _mark_successful(self, result: Any, raw_return_value: Any) -> None:
        # A return value that cannot be stored fails the task: this raises
        # before the result is touched, and the caller records the error.
        return_value = json_round_trip(raw_return_value)
        update(
            result,
            _return_value=return_value,
            status=compat.TaskResultStatus.SUCCESSFUL,
            finished_at=now(),
        )

    def _mark_failed(self, result: Any, exc: BaseException) -> None:
        result.errors.append(task_error(exc))
        update(result, status=compat.TaskResultStatus.FAILED, finished_at=now())
