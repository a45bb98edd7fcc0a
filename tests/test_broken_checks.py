"""The kit catches backends whose check() is wrong (tests/broken/checks.py)."""

import pytest

pytestmark = pytest.mark.kit

BROKEN = "tests.broken.checks."
FRAMEWORK = {"CHECKS-RETURNS-MESSAGES", "CHECKS-FRAMEWORK-RUNS"}


@pytest.mark.parametrize(
    ("backend", "failed", "warned"),
    [
        ("ChecksReturnStrings", FRAMEWORK, set()),
        ("ChecksReturnNone", FRAMEWORK, {"CHECKS-ACCEPTS-KWARGS"}),
        ("ChecksRaise", FRAMEWORK, {"CHECKS-ACCEPTS-KWARGS"}),
        ("ChecksTakeNoArguments", set(), {"CHECKS-ACCEPTS-KWARGS"}),
        ("ChecksReportError", set(), {"CHECKS-NO-ERRORS-WHEN-WORKING"}),
    ],
)
def test_broken_check_fails_its_clause(run_kit, backend, failed, warned):
    run = run_kit(BROKEN + backend, clauses=["checks"])
    assert run.failed() == failed, run.output
    outcomes = run.outcomes()
    assert {cid for cid, outcome in outcomes.items() if outcome == "warn"} == warned
    assert run.ret == (1 if failed else 0)
