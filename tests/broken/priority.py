"""Backends that get priority validation wrong."""

from typing import Any

from conformance import compat
from reference_backends.immediate import ImmediateBackend

from .expect import Expect


class AcceptsAnyPriority(ImmediateBackend):
    """Drops the range and whole-number checks on priority."""

    expect = Expect(
        "priority",
        fails={"PRIORITY-FRACTIONAL-REJECTED", "PRIORITY-OUT-OF-RANGE-REJECTED"},
    )

    def validate_task(self, task: Any) -> None:
        try:
            super().validate_task(task)
        except compat.InvalidTask as exc:
            if "priority" not in str(exc):
                raise


class NoPrioritySupportButAccepts(AcceptsAnyPriority):
    """Says supports_priority=False, yet lets non-zero priorities through."""

    expect = Expect(
        "priority",
        fails={
            "PRIORITY-FRACTIONAL-REJECTED",
            "PRIORITY-OUT-OF-RANGE-REJECTED",
            "PRIORITY-UNSUPPORTED-REJECTED",
        },
        outcomes={"PRIORITY-IN-RANGE-ACCEPTED": "n/a"},
    )

    supports_priority = False
