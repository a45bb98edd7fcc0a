"""Backends whose check() gets the system check framework wrong (specs/checks.toml)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from reference_backends.immediate import ImmediateBackend


class ChecksReturnStrings(ImmediateBackend):
    """check() reports plain strings, not CheckMessages."""

    def check(self, **kwargs: Any) -> Any:
        return ["backend is fine"]


class ChecksReturnNone(ImmediateBackend):
    """check() forgets to return anything."""

    def check(self, **kwargs: Any) -> Any:
        return None


class ChecksRaise(ImmediateBackend):
    """check() raises instead of reporting."""

    def check(self, **kwargs: Any) -> Any:
        raise RuntimeError("could not check the backend")


class ChecksTakeNoArguments(ImmediateBackend):
    """check() refuses the keyword arguments Django passes to checks."""

    def check(self) -> Any:
        return []


class ChecksReportError(ImmediateBackend):
    """check() reports an error for a configuration that works."""

    def check(self, **kwargs: Any) -> Any:
        return [checks.Error("backend misconfigured", id="broken.E001")]
