"""How a broken clause is said: check(), ClauseViolation, describe_exception."""

from __future__ import annotations

import pytest

from conformance.support import check_raises
from conformance.violation import ClauseViolation, check, describe_exception


def test_check_passes_silently_when_the_condition_holds() -> None:
    check(True, expected="anything", observed="never shown")


def test_check_raises_a_violation_with_expected_observed_and_repro() -> None:
    with pytest.raises(ClauseViolation) as caught:
        check(
            0,
            expected="a TaskResult",
            observed=["not", "one"],
            repro="""
                result = task.enqueue()
                result.refresh()
            """,
        )
    assert str(caught.value) == (
        "expected: a TaskResult\n"
        "observed: ['not', 'one']\n"
        "reproduce:\n"
        "    result = task.enqueue()\n"
        "    result.refresh()"
    )
    assert caught.value.observed == "['not', 'one']"


def test_describe_exception_names_the_class_by_its_path() -> None:
    assert describe_exception(None) == "no exception"
    assert describe_exception(KeyError("x")) == "builtins.KeyError: 'x'"


def test_check_raises_returns_what_was_raised() -> None:
    def fail() -> None:
        raise ValueError("bad")

    error = check_raises(fail, ValueError, expected="ValueError")
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("action", "observed"),
    [
        (lambda: 42, "observed: returned 42"),
        (lambda: "x" * 500, "observed: returned 'xxxx"),
        (lambda: {}["missing"], "observed: builtins.KeyError: 'missing'"),
    ],
    ids=["returned", "long-value-cut", "other-exception"],
)
def test_check_raises_fails_when_the_exception_does_not_come(
    action: object, observed: str
) -> None:
    with pytest.raises(ClauseViolation) as caught:
        check_raises(action, ValueError, expected="ValueError")  # type: ignore[arg-type]
    assert observed in str(caught.value)
    assert len(str(caught.value)) < 300  # a long value is cut short
