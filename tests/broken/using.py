"""Task classes (and a backend) that get Task.using() wrong."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.utils.module_loading import import_string

from conformance import compat
from reference_backends.dummy import DummyBackend
from reference_backends.immediate import ImmediateBackend

from .expect import Expect


class InPlaceTask(compat.Task):  # type: ignore[misc]
    """using() changes the Task itself and returns it."""

    __slots__ = ()

    def using(self, **changes: Any) -> Any:
        for name, value in changes.items():
            if value is not None:
                object.__setattr__(self, name, value)
        self.get_backend().validate_task(self)
        return self


class UsingMutatesInPlace(ImmediateBackend):
    expect = Expect(
        "using",
        fails={
            "USING-BACKEND-SWITCH",
            "USING-ORIGINAL-UNCHANGED",
            "USING-RESULT-CARRIES-DERIVED",
            "USING-RETURNS-NEW-TASK",
        },
    )
    task_class = InPlaceTask


class ClearingTask(compat.Task):  # type: ignore[misc]
    """using() treats a missing run_after as "no run_after"."""

    __slots__ = ()

    def using(
        self,
        *,
        priority: Any = None,
        queue_name: Any = None,
        run_after: Any = None,
        backend: Any = None,
    ) -> Any:
        changes = {
            "priority": priority,
            "queue_name": queue_name,
            "backend": backend,
        }
        kept = {name: value for name, value in changes.items() if value is not None}
        return dataclasses.replace(self, run_after=run_after, **kept)


class NoneClearsRunAfter(DummyBackend):
    expect = Expect(
        "using", fails={"USING-APPLIES-CHANGES", "USING-NONE-MEANS-UNCHANGED"}
    )
    task_class = ClearingTask


class UncheckedTask(compat.Task):  # type: ignore[misc]
    """using() copies the fields over without validating the new Task."""

    __slots__ = ()

    def using(self, **changes: Any) -> Any:
        derived = object.__new__(type(self))
        for field in dataclasses.fields(self):
            value = changes.get(field.name)
            if value is None:
                value = getattr(self, field.name)
            object.__setattr__(derived, field.name, value)
        return derived


class UsingSkipsValidation(ImmediateBackend):
    expect = Expect("using", fails={"USING-REVALIDATES"})
    task_class = UncheckedTask


class DefaultBackendTask(compat.Task):  # type: ignore[misc]
    """get_backend() ignores the alias: every Task goes to "default"."""

    __slots__ = ()

    def get_backend(self) -> Any:
        return compat.task_backends[compat.DEFAULT_TASK_BACKEND_ALIAS]


class BackendAliasIgnored(ImmediateBackend):
    expect = Expect("using", fails={"USING-BACKEND-SWITCH"})
    task_class = DefaultBackendTask


class StoresPathOnly(ImmediateBackend):
    """Keeps only the task's path: results hold the module-level Task."""

    expect = Expect(
        "using", fails={"USING-BACKEND-SWITCH", "USING-RESULT-CARRIES-DERIVED"}
    )

    def _new_result(self, task: Any, args: Any, kwargs: Any) -> Any:
        return super()._new_result(import_string(task.module_path), args, kwargs)
