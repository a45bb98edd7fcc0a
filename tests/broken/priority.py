"""Backends that get priority validation wrong."""

from typing import Any

from conformance import compat
from reference_backends.immediate import ImmediateBackend


class AcceptsAnyPriority(ImmediateBackend):
    """Drops the range and whole-number checks on priority."""

    def validate_task(self, task: Any) -> None:
        try:
            super().validate_task(task)
        except compat.InvalidTask as exc:
            if "priority" not in str(exc):
                raise


class NoPrioritySupportButAccepts(AcceptsAnyPriority):
    """Says supports_priority=False, yet lets non-zero priorities through."""

    supports_priority = False
