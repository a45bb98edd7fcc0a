"""Backends that get enqueue wrong (specs/enqueue.toml)."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from conformance import compat
from reference_backends._lifecycle import update
from reference_backends.dummy import DummyBackend
from reference_backends.immediate import ImmediateBackend

from .expect import Expect
from .storing import AlteringDummy


class LongIds(AlteringDummy):
    """Ids of 96 characters: over Django's limit."""

    expect = Expect(
        "enqueue", fails={"ENQUEUE-ID-FORMAT"}, warns={"ENQUEUE-ID-UNDER-64"}
    )

    def alter(self, result: Any) -> None:
        update(result, id=uuid.uuid4().hex * 3)


class Ids64(AlteringDummy):
    """Ids of exactly 64 characters: allowed, but not "less than 64"."""

    expect = Expect(
        "enqueue", warns={"ENQUEUE-ID-UNDER-64"}, outcomes={"ENQUEUE-ID-FORMAT": "pass"}
    )

    def alter(self, result: Any) -> None:
        update(result, id=uuid.uuid4().hex * 2)


class CounterIds(AlteringDummy):
    """Ids from a per-instance counter: each thread and alias starts again at 1."""

    expect = Expect("enqueue", fails={"ENQUEUE-ID-UNIQUE"})

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self._counter = 0

    def alter(self, result: Any) -> None:
        self._counter += 1
        update(result, id=str(self._counter))


class ShortRandomIds(AlteringDummy):
    """Three hex digits of randomness: collisions within a few hundred enqueues."""

    expect = Expect("enqueue", fails={"ENQUEUE-ID-UNIQUE"})

    def alter(self, result: Any) -> None:
        update(result, id=secrets.token_hex(2)[:3])


class NaiveEnqueuedAt(AlteringDummy):
    """enqueued_at without a timezone, though USE_TZ is True."""

    expect = Expect("enqueue", fails={"ENQUEUE-ENQUEUED-AT"})

    def alter(self, result: Any) -> None:
        update(result, enqueued_at=datetime.now())  # naive: the bug


class EnqueuedAtIsRunAfter(AlteringDummy):
    """Records when the task may run, not when it was enqueued."""

    expect = Expect("enqueue", fails={"ENQUEUE-ENQUEUED-AT"})

    def alter(self, result: Any) -> None:
        if result.task.run_after is not None:
            update(result, enqueued_at=result.task.run_after)


class StaleEnqueuedAt(AlteringDummy):
    """enqueued_at ten minutes in the past (a cached clock)."""

    expect = Expect("enqueue", fails={"ENQUEUE-ENQUEUED-AT"})

    def alter(self, result: Any) -> None:
        update(result, enqueued_at=result.enqueued_at - timedelta(minutes=10))


class StatusAsString(AlteringDummy):
    """Status is the plain string "READY", not a TaskResultStatus member."""

    expect = Expect("enqueue", fails={"ENQUEUE-STATUS-VALID"})

    def alter(self, result: Any) -> None:
        update(result, status="READY")


class AlwaysFinishedResult(compat.TaskResult):  # type: ignore[misc]
    """A TaskResult that claims to be finished whatever its status."""

    __slots__ = ()

    @property
    def is_finished(self) -> bool:
        return True


class ClaimsFinished(AlteringDummy):
    """Results whose is_finished is True while READY."""

    expect = Expect("enqueue", fails={"ENQUEUE-DEFERRED-READY", "ENQUEUE-STATUS-VALID"})

    def alter(self, result: Any) -> None:
        object.__setattr__(result, "__class__", AlwaysFinishedResult)


class LaxReturnValueResult(compat.TaskResult):  # type: ignore[misc]
    """A TaskResult whose return_value is None until it is finished."""

    __slots__ = ()

    @property
    def return_value(self) -> Any:
        if self.status == compat.TaskResultStatus.SUCCESSFUL:
            return self._return_value
        return None


class ReturnValueNoneWhileReady(AlteringDummy):
    """return_value answers None instead of raising ValueError while READY."""

    expect = Expect("enqueue", fails={"ENQUEUE-RETURN-VALUE-UNFINISHED"})

    def alter(self, result: Any) -> None:
        object.__setattr__(result, "__class__", LaxReturnValueResult)


class StartedWhileReady(AlteringDummy):
    """READY results that carry a start time and a worker id."""

    expect = Expect("enqueue", fails={"ENQUEUE-READY-NOT-STARTED"})

    def alter(self, result: Any) -> None:
        update(
            result, started_at=result.enqueued_at, last_attempted_at=result.enqueued_at
        )
        result.worker_ids.append("phantom-worker")


class HardcodedAlias(AlteringDummy):
    """Every result says it belongs to the "default" alias."""

    expect = Expect("enqueue", fails={"ENQUEUE-OTHER-ALIAS"})

    def alter(self, result: Any) -> None:
        update(result, backend=compat.DEFAULT_TASK_BACKEND_ALIAS)


class ArgsKeptAsTuple(AlteringDummy):
    """result.args is a tuple."""

    expect = Expect("enqueue", fails={"ENQUEUE-ARGS-KWARGS"})

    def alter(self, result: Any) -> None:
        update(result, args=tuple(result.args))


class NoneForNoArguments(AlteringDummy):
    """args and kwargs are None, not empty, when nothing was passed."""

    expect = Expect("enqueue", fails={"ENQUEUE-ARGS-KWARGS"})

    def alter(self, result: Any) -> None:
        update(result, args=result.args or None, kwargs=result.kwargs or None)


class ForgetsQueue(AlteringDummy):
    """result.task is put on the default queue, whatever the task said."""

    expect = Expect("enqueue", fails={"ENQUEUE-RESULT-TASK"})

    def alter(self, result: Any) -> None:
        task = dataclasses.replace(
            result.task, queue_name=compat.DEFAULT_TASK_QUEUE_NAME
        )
        update(result, task=task)


class LookAlike:
    """Has every attribute of a TaskResult, but is not one."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._result, name)


class ReturnsLookAlike(DummyBackend):
    """enqueue returns an object that behaves like a TaskResult, not a TaskResult."""

    expect = Expect("enqueue", fails={"ENQUEUE-RETURNS-RESULT"})

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        return LookAlike(super().enqueue(task, args, kwargs))

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        return LookAlike(await super().aenqueue(task, args, kwargs))


class RunningOnReturn(AlteringDummy):
    """Says RUNNING as soon as a task without run_after is enqueued (it is not)."""

    expect = Expect(
        "enqueue",
        warns={"ENQUEUE-READY-UNLESS-SYNCHRONOUS"},
        outcomes={"ENQUEUE-DEFERRED-READY": "pass"},
    )

    def alter(self, result: Any) -> None:
        if result.task.run_after is None:
            update(result, status=compat.TaskResultStatus.RUNNING)


class DeferRunsNow(ImmediateBackend):
    """Claims supports_defer but runs every task at once, run_after or not."""

    expect = Expect("enqueue", fails={"ENQUEUE-DEFERRED-READY"})

    supports_defer = True


class SplatsArguments(DummyBackend):
    """Passes the task's arguments on as its own: a keyword named "task" collides."""

    expect = Expect("enqueue", fails={"ENQUEUE-ARGS-KWARGS"})

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        return self._enqueue_call(task, *args, **kwargs)

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        return self._enqueue_call(task, *args, **kwargs)

    def _enqueue_call(self, task: Any, *args: Any, **kwargs: Any) -> Any:
        return super().enqueue(task, args, kwargs)
