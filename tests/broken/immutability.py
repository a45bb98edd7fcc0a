"""Backends whose Tasks, results, errors or contexts can be changed by users."""

from __future__ import annotations

import dataclasses
from typing import Any

from conformance import compat
from reference_backends._lifecycle import new_result, task_error
from reference_backends.dummy import DummyBackend
from reference_backends.immediate import ImmediateBackend

from .expect import Expect


class _Thawed:
    """Mixin: plain attribute assignment and deletion, frozen or not."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)


class MutableTask(_Thawed, compat.Task):  # type: ignore[misc]
    __slots__ = ()


class MutableTaskResult(_Thawed, compat.TaskResult):  # type: ignore[misc]
    __slots__ = ()


class MutableTaskError(_Thawed, compat.TaskError):  # type: ignore[misc]
    __slots__ = ()


class MutableTaskContext(_Thawed, compat.TaskContext):  # type: ignore[misc]
    __slots__ = ()


def _as(cls: type, obj: Any) -> Any:
    """``obj`` (a frozen dataclass) re-built as ``cls``, every field kept."""
    values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}
    rebuilt = cls(**values)
    for f in dataclasses.fields(obj):
        if not f.init:  # TaskResult._return_value
            object.__setattr__(rebuilt, f.name, getattr(obj, f.name))
    return rebuilt


class MutableTasks(ImmediateBackend):
    expect = Expect("immutability", fails={"IMMUTABILITY-TASK"})
    task_class = MutableTask


class MutableResults(ImmediateBackend):
    """Hands out results that accept assignment."""

    expect = Expect(
        "immutability", fails={"IMMUTABILITY-CONTEXT", "IMMUTABILITY-RESULT"}
    )

    def _new_result(self, task: Any, args: Any, kwargs: Any) -> Any:
        return _as(MutableTaskResult, super()._new_result(task, args, kwargs))


class MutableErrors(ImmediateBackend):
    """Records failures as TaskErrors that accept assignment."""

    expect = Expect("immutability", fails={"IMMUTABILITY-ERROR"})

    def _mark_failed(self, result: Any, exc: BaseException) -> None:
        super()._mark_failed(result, exc)
        result.errors[-1] = _as(MutableTaskError, task_error(exc))


class MutableContext(ImmediateBackend):
    """Passes a TaskContext that accepts assignment (its result is frozen)."""

    expect = Expect("immutability", fails={"IMMUTABILITY-CONTEXT"})

    def _call_arguments(self, result: Any) -> tuple[list[Any], dict[str, Any]]:
        args, kwargs = super()._call_arguments(result)
        if result.task.takes_context:
            args[0] = MutableTaskContext(task_result=result)
        return args, kwargs


class SharesStoredResult(DummyBackend):
    """enqueue() returns the stored result itself, not a copy."""

    expect = Expect("immutability", warns={"IMMUTABILITY-RESULT-ARGS-ISOLATED"})

    def _store(self, task: Any, args: Any, kwargs: Any) -> Any:
        self.validate_task(task)
        result = new_result(self, task, args, kwargs)
        self._results.append(result)
        return result
