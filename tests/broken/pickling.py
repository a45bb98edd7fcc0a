"""Task classes and results that do not survive pickling."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from django.utils.module_loading import import_string

from conformance import compat
from reference_backends.immediate import ImmediateBackend

from .expect import Expect


class PathOnlyTask(compat.Task):  # type: ignore[misc]
    """Pickles as its path alone: a using() variant comes back as the original."""

    __slots__ = ()

    def __reduce__(self) -> Any:
        return (import_string, (self.module_path,))


class PicklesByPath(ImmediateBackend):
    expect = Expect(
        "pickling",
        fails={"PICKLING-RESULT-ROUND-TRIP", "PICKLING-TASK-ROUND-TRIP"},
        django=">=6.1",
    )
    task_class = PathOnlyTask


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LockedTask(compat.Task):  # type: ignore[misc]
    """Carries a lock (a per-task throttle, say): nothing holding it pickles."""

    throttle: Any = dataclasses.field(default_factory=threading.Lock, compare=False)


class TaskHoldsLock(ImmediateBackend):
    expect = Expect(
        "pickling",
        fails={"PICKLING-RESULT-ROUND-TRIP", "PICKLING-TASK-ROUND-TRIP"},
        django=">=6.1",
    )
    task_class = LockedTask


def _rebuild(cls: type, values: dict[str, Any]) -> Any:
    return cls(**values)


class LossyResult(compat.TaskResult):  # type: ignore[misc]
    """Pickles its init fields only: the return value is lost."""

    __slots__ = ()

    def __reduce__(self) -> Any:
        values = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init
        }
        return (_rebuild, (type(self), values))


class LosesReturnValue(ImmediateBackend):
    expect = Expect("pickling", fails={"PICKLING-RESULT-ROUND-TRIP"}, django=">=6.1")

    def _new_result(self, task: Any, args: Any, kwargs: Any) -> Any:
        result = super()._new_result(task, args, kwargs)
        values = {
            f.name: getattr(result, f.name)
            for f in dataclasses.fields(result)
            if f.init
        }
        return LossyResult(**values)
