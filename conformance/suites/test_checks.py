"""System checks (specs/checks.toml)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from io import StringIO
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from conformance import compat
from conformance.settings_file import ALIAS_OPEN_QUEUES, ALIAS_SECONDARY
from conformance.support import check_returns, clause
from conformance.violation import check, describe_exception

ALIASES = [compat.DEFAULT_TASK_BACKEND_ALIAS, ALIAS_SECONDARY, ALIAS_OPEN_QUEUES]


def _messages(alias: str, **kwargs: Any) -> tuple[list[Any] | None, str]:
    """The items ``check()`` yields, or None and why they could not be had."""
    backend = compat.task_backends[alias]
    try:
        returned = backend.check(**kwargs)
    except Exception as exc:
        return None, f"check() raised {describe_exception(exc)}"
    if not isinstance(returned, Iterable) or isinstance(returned, str | bytes):
        return None, f"check() returned {returned!r}, not an iterable of messages"
    try:
        return list(returned), ""
    except Exception as exc:
        return None, f"iterating check()'s answer raised {describe_exception(exc)}"


@clause("CHECKS-RETURNS-MESSAGES")
@pytest.mark.parametrize("alias", ALIASES)
def test_check_returns_check_messages(alias: str) -> None:
    messages, problem = _messages(alias)
    repro = f"list(task_backends[{alias!r}].check())"
    check(
        messages is not None,
        expected="an iterable of CheckMessage",
        observed=problem,
        repro=repro,
    )
    assert messages is not None
    strays = [m for m in messages if not isinstance(m, checks.CheckMessage)]
    check(
        not strays,
        expected="every item is a django.core.checks.CheckMessage",
        observed=", ".join(f"{type(m).__qualname__} {m!r}" for m in strays),
        repro=repro,
    )


@clause("CHECKS-FRAMEWORK-RUNS")
def test_run_checks_does_not_raise() -> None:
    check_returns(
        lambda: (
            checks.run_checks(),
            checks.run_checks(include_deployment_checks=True),
        ),
        expected="django.core.checks.run_checks() returns its messages",
        repro="from django.core import checks; checks.run_checks()",
    )


@clause("CHECKS-FRAMEWORK-RUNS")
def test_check_command_does_not_crash() -> None:
    def check_command() -> None:
        # Serious messages, reported properly: see CHECKS-NO-ERRORS-WHEN-WORKING.
        with contextlib.suppress(SystemCheckError):
            call_command("check", stdout=StringIO(), stderr=StringIO())

    check_returns(
        check_command,
        expected="manage.py check reports, or raises SystemCheckError",
        repro="python manage.py check",
    )


@clause("CHECKS-ACCEPTS-KWARGS")
def test_check_accepts_framework_kwargs() -> None:
    messages, problem = _messages(
        compat.DEFAULT_TASK_BACKEND_ALIAS, app_configs=None, databases=None
    )
    check(
        messages is not None,
        expected="check(app_configs=None, databases=None) returns messages",
        observed=problem,
        repro='task_backends["default"].check(app_configs=None, databases=None)',
    )


@clause("CHECKS-NO-ERRORS-WHEN-WORKING")
@pytest.mark.parametrize("alias", ALIASES)
def test_no_errors_for_a_working_configuration(alias: str) -> None:
    messages, _ = _messages(alias)
    serious = [
        m
        for m in messages or []
        if isinstance(m, checks.CheckMessage) and m.level >= checks.ERROR
    ]
    check(
        not serious,
        expected="no ERROR or CRITICAL message for the configuration the kit runs under",
        observed="; ".join(str(m) for m in serious),
        repro=f"list(task_backends[{alias!r}].check())",
    )
