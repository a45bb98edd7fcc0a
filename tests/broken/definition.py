"""Backends and task classes that get task definition wrong."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.utils import timezone

from conformance import compat
from reference_backends.dummy import DummyBackend
from reference_backends.immediate import ImmediateBackend

from .expect import Expect
from .lenient import validate_except


class AcceptsAnyCallable(ImmediateBackend):
    """Skips the module-level check: closures, partials, methods all pass."""

    expect = Expect("definition", fails={"DEFINITION-MODULE-LEVEL-ONLY"})

    def validate_task(self, task: Any) -> None:
        validate_except(super().validate_task, task, "module level")


class AnyContextParameter(ImmediateBackend):
    """Does not look at the name of the first parameter with takes_context."""

    expect = Expect("definition", fails={"DEFINITION-TAKES-CONTEXT-PARAMETER"})

    def validate_task(self, task: Any) -> None:
        validate_except(super().validate_task, task, "context")


class NoAsyncSupport(ImmediateBackend):
    """Correct: refuses coroutine functions and says so."""

    expect = Expect(
        "definition",
        outcomes={
            "DEFINITION-ASYNC-REJECTED": "pass",
            "DEFINITION-ASYNC-ACCEPTED": "n/a",
        },
    )

    supports_async_task = False


class ClaimsNoAsyncButAccepts(NoAsyncSupport):
    """Says supports_async_task=False, yet lets coroutine functions through."""

    expect = Expect("definition", fails={"DEFINITION-ASYNC-REJECTED"})

    def validate_task(self, task: Any) -> None:
        validate_except(super().validate_task, task, "async")


class RunAfterWithoutDefer(ImmediateBackend):
    """Has supports_defer=False but accepts run_after (and would ignore it)."""

    expect = Expect("definition", fails={"DEFINITION-RUN-AFTER-UNSUPPORTED-REJECTED"})

    def validate_task(self, task: Any) -> None:
        validate_except(super().validate_task, task, "run_after")


class AcceptsNaiveRunAfter(DummyBackend):
    """Defers, but does not insist on an aware datetime."""

    expect = Expect("definition", fails={"DEFINITION-RUN-AFTER-NAIVE-REJECTED"})

    def validate_task(self, task: Any) -> None:
        validate_except(super().validate_task, task, "aware")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunAfterNowTask(compat.Task):  # type: ignore[misc]
    """Fills in run_after with the current time when none is given."""

    def __post_init__(self) -> None:
        if self.run_after is None:
            object.__setattr__(self, "run_after", timezone.now())
        compat.Task.__post_init__(self)


class DefaultRunAfterIsNow(DummyBackend):
    expect = Expect(
        "definition", fails={"DEFINITION-DECORATOR-ARGUMENTS", "DEFINITION-DEFAULTS"}
    )
    task_class = RunAfterNowTask


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DropsRunAfterTask(compat.Task):  # type: ignore[misc]
    """Validates run_after, then forgets it."""

    def __post_init__(self) -> None:
        compat.Task.__post_init__(self)
        object.__setattr__(self, "run_after", None)


class ForgetsRunAfter(DummyBackend):
    expect = Expect("definition", fails={"DEFINITION-RUN-AFTER-ACCEPTED"})
    task_class = DropsRunAfterTask


class QualifiedNameTask(compat.Task):  # type: ignore[misc]
    """Reports the dotted path as the name."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return str(self.module_path)


class NameIsPath(ImmediateBackend):
    expect = Expect("definition", fails={"DEFINITION-FUNCTION-ATTRIBUTES"})
    task_class = QualifiedNameTask


class FallbackBackendTask(compat.Task):  # type: ignore[misc]
    """An unknown backend alias silently means the default backend."""

    __slots__ = ()

    def get_backend(self) -> Any:
        try:
            return compat.task_backends[self.backend]
        except compat.InvalidTaskBackend:
            return compat.task_backends[compat.DEFAULT_TASK_BACKEND_ALIAS]


class UnknownAliasFallsBack(ImmediateBackend):
    expect = Expect("definition", fails={"DEFINITION-UNKNOWN-BACKEND-REJECTED"})
    task_class = FallbackBackendTask
