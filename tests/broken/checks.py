"""Backends whose check() gets the system check framework wrong (specs/checks.toml)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from reference_backends.immediate import ImmediateBackend

from .expect import Expect


class ChecksReturnStrings(ImmediateBackend):
    """check() reports plain strings, not CheckMessages."""

    expect = Expect(
        "checks", fails={"CHECKS-FRAMEWORK-RUNS", "CHECKS-RETURNS-MESSAGES"}
    )

    def check(self, **kwargs: Any) -> Any:
        return ["backend is fine"]


class ChecksReturnNone(ImmediateBackend):
    """check() forgets to return anything."""

    expect = Expect(
        "checks",
        fails={"CHECKS-FRAMEWORK-RUNS", "CHECKS-RETURNS-MESSAGES"},
        warns={"CHECKS-ACCEPTS-KWARGS"},
    )

    def check(self, **kwargs: Any) -> Any:
        return None


class ChecksRaise(ImmediateBackend):
    """check() raises instead of reporting."""

    expect = Expect(
        "checks",
        fails={"CHECKS-FRAMEWORK-RUNS", "CHECKS-RETURNS-MESSAGES"},
        warns={"CHECKS-ACCEPTS-KWARGS"},
    )

    def check(self, **kwargs: Any) -> Any:
        raise RuntimeError("could not check the backend")


class ChecksTakeNoArguments(ImmediateBackend):
    """check() refuses the keyword arguments Django passes to checks."""

    expect = Expect("checks", warns={"CHECKS-ACCEPTS-KWARGS"})

    def check(self) -> Any:
        return []


class ChecksReportError(ImmediateBackend):
    """check() reports an error for a configuration that works."""

    expect = Expect("checks", warns={"CHECKS-NO-ERRORS-WHEN-WORKING"})

    def check(self, **kwargs: Any) -> Any:
        return [checks.Error("backend misconfigured", id="broken.E001")]
