"""The kit catches backends that get priority validation wrong."""

import pytest

pytestmark = pytest.mark.kit


def test_range_check_missing_fails_out_of_range_and_fractional(run_kit):
    run = run_kit("tests.broken.priority.AcceptsAnyPriority", clauses=["priority"])
    assert run.failed() == {
        "PRIORITY-OUT-OF-RANGE-REJECTED",
        "PRIORITY-FRACTIONAL-REJECTED",
    }
    assert run.ret == 1


def test_unsupported_priority_accepted_fails(run_kit):
    run = run_kit(
        "tests.broken.priority.NoPrioritySupportButAccepts", clauses=["priority"]
    )
    assert "PRIORITY-UNSUPPORTED-REJECTED" in run.failed()
    assert run.outcome("PRIORITY-IN-RANGE-ACCEPTED") == "n/a"
