"""``ImmediateBackend``: runs every task inside ``enqueue``, in the caller's thread.

The smallest backend that executes. ``enqueue`` reads as the whole lifecycle
of a task result, each state announced by its signal::

    status                 signal          set on the result
    READY                  task_enqueued   id, args, kwargs, enqueued_at
    RUNNING                task_started    started_at, last_attempted_at, worker id
    (the task function runs)
    SUCCESSFUL or FAILED   task_finished   return value or one error, finished_at

By the time ``enqueue`` returns, the result is finished. Nothing is stored.
Comments in capitals (``# FAILURE-BASE-EXCEPTION``) name the clause of
``specs/`` that a line implements.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import compat
from ._lifecycle import json_round_trip, new_id, new_result, now, task_error, update


class ImmediateBackend(compat.BaseTaskBackend):  # type: ignore[misc]
    """Execute each task synchronously when it is enqueued.

    Flags: each one is a promise the kit checks.
    """

    # A task cannot wait for ``run_after``: it runs now or never, so
    # using(run_after=...) is refused (DEFINITION-RUN-AFTER-UNSUPPORTED-REJECTED).
    supports_defer = False
    # Coroutine tasks are awaited natively by ``aenqueue`` (and run to
    # completion by ``enqueue``): DEFINITION-ASYNC-ACCEPTED.
    supports_async_task = True
    # Nothing is stored, so a result cannot be fetched again, from any thread
    # (GET-RESULT-TASK-RESULT-OR-NOT-IMPLEMENTED).
    supports_get_result = False
    # True so the backend is a drop-in replacement in tests, as Django's is:
    # code that sets a priority keeps working (PRIORITY-IN-RANGE-ACCEPTED).
    # Tasks never wait in a queue, so "run in priority order" holds
    # trivially; the value is still validated (PRIORITY-OUT-OF-RANGE-REJECTED).
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        # One id for this backend instance: it is the "worker" that ran the
        # task, and every result it runs records it (SUCCESS-WORKER-IDS).
        self.worker_id = new_id()

    # -- enqueue: the whole lifecycle ------------------------------------
    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """Validate, then run ``task`` to completion; return the finished result."""
        result = self._new_result(task, args, kwargs)
        # SIGNALS-EXECUTION-ORDER: enqueued, started, finished; once each
        # (SIGNALS-ENQUEUED-ONCE, SIGNALS-EXECUTION-ONCE-EACH). The sender is
        # the backend's class, not the instance (SIGNALS-ENQUEUED-SENDER-CLASS,
        # SIGNALS-ENQUEUED-SENDER-IS-BACKEND-CLASS, SIGNALS-EXECUTION-SENDER).
        compat.task_enqueued.send(type(self), task_result=result)
        self._mark_running(result)
        compat.task_started.send(type(self), task_result=result)
        call_args, call_kwargs = self._call_arguments(result)
        try:
            # Task.call runs a coroutine function to completion too.
            self._mark_successful(result, task.call(*call_args, **call_kwargs))
        except KeyboardInterrupt:
            # The user is stopping the process: let them. The task did not
            # fail, it was interrupted, so no error and no finished signal.
            raise
        except BaseException as exc:  # FAILURE-BASE-EXCEPTION: SystemExit too
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
            # ASYNC-EXECUTION-SUCCEEDS / ASYNC-EXECUTION-FAILS: same rules.
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

        docs/decisions.md (supports_get_result) lets a backend with
        ``supports_get_result = False`` either answer in the enqueuing thread
        or raise. Answering would mean keeping every result forever (a leak in
        a long-lived process) only to return what ``enqueue`` already
        returned, finished. Raising also matches Django's ImmediateBackend and
        its documentation.
        (GET-RESULT-TASK-RESULT-OR-NOT-IMPLEMENTED; GET-RESULT-UNKNOWN-ID and
        GET-RESULT-MALFORMED-ID allow NotImplementedError here.)
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
        # QUEUES-ENQUEUE-REVALIDATES: validate again; a Task can reach a
        # backend it was never validated against (another alias's Task).
        self.validate_task(task)
        # SIGNALS-ENQUEUED-NOT-SENT-ON-ERROR: any refusal raises before this
        # returns, so before the first signal.
        return new_result(self, task, args, kwargs)

    def _mark_running(self, result: Any) -> None:
        started = now()
        # CONTEXT-RUNNING: what the task sees while it runs.
        # SUCCESS-SINGLE-ATTEMPT-TIMES: the first attempt is the latest one.
        update(
            result,
            status=compat.TaskResultStatus.RUNNING,
            started_at=started,
            last_attempted_at=started,
        )
        # One worker id per attempt: ``attempts`` counts them, and the running
        # attempt counts (CONTEXT-ATTEMPT, SUCCESS-WORKER-IDS).
        result.worker_ids.append(self.worker_id)

    def _call_arguments(self, result: Any) -> tuple[list[Any], dict[str, Any]]:
        """What the task function receives: fresh copies, as a worker would decode.

        Fresh copies, so a task that mutates its arguments cannot change
        ``result.args``. A ``takes_context`` task gets a ``TaskContext``
        first, holding the live result (status RUNNING, ``attempt`` 1).
        """
        # ARGUMENTS-JSON-ROUND-TRIP; REFRESH-KEEPS-INPUTS: the task cannot
        # rewrite result.args through its own copy.
        args: list[Any] = json_round_trip(result.args)
        if result.task.takes_context:
            # CONTEXT-RECEIVED, CONTEXT-DESCRIBES-RESULT: the live result.
            args.insert(0, compat.TaskContext(task_result=result))
        return args, json_round_trip(result.kwargs)

    def _mark_successful(self, result: Any, raw_return_value: Any) -> None:
        # FAILURE-UNSERIALIZABLE-RETURN: a return value that cannot be stored
        # fails the task: this raises before the result is touched, and the
        # caller records the error. SUCCESS-RETURN-VALUE: the JSON round trip.
        return_value = json_round_trip(raw_return_value)
        # SUCCESS-STATUS, SUCCESS-TIMESTAMPS, SUCCESS-NO-ERRORS.
        update(
            result,
            _return_value=return_value,
            status=compat.TaskResultStatus.SUCCESSFUL,
            finished_at=now(),
        )

    def _mark_failed(self, result: Any, exc: BaseException) -> None:
        # FAILURE-ERRORS: one TaskError per failed attempt (one attempt here).
        result.errors.append(task_error(exc))
        # FAILURE-STATUS, FAILURE-TIMESTAMPS.
        update(result, status=compat.TaskResultStatus.FAILED, finished_at=now())
