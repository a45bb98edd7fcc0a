"""The kit catches backends that get result fetching wrong (tests/broken/get_result.py)."""

import pytest

pytestmark = pytest.mark.kit

BROKEN = "tests.broken.get_result."
CASE = {"GET-RESULT-ID-CASE-EXACT"}


@pytest.mark.parametrize(
    ("backend", "failed", "warned"),
    [
        (
            "NoneForUnknown",
            {"GET-RESULT-UNKNOWN-ID", "GET-RESULT-MALFORMED-ID", "GET-RESULT-ID-EXACT"},
            CASE,
        ),
        (
            "KeyErrorForUnknown",
            {"GET-RESULT-UNKNOWN-ID", "GET-RESULT-MALFORMED-ID", "GET-RESULT-ID-EXACT"},
            CASE,
        ),
        ("PrefixMatch", {"GET-RESULT-MALFORMED-ID", "GET-RESULT-ID-EXACT"}, set()),
        ("CaseInsensitive", set(), CASE),
        ("NoMismatchCheck", {"GET-RESULT-MISMATCH"}, set()),
        (
            "WholeTaskMatch",
            {"GET-RESULT-SAME-FUNCTION-MATCHES", "GET-RESULT-SAME-FIELDS"},
            set(),
        ),
        ("ClaimsGetResultInOneThread", {"GET-RESULT-OTHER-THREAD"}, set()),
        ("ForgetsArguments", {"GET-RESULT-SAME-FIELDS"}, set()),
        ("RewritesEnqueuedAt", {"GET-RESULT-SAME-FIELDS"}, set()),
        ("ForgetfulRefresh", {"GET-RESULT-REFRESH-KEEPS-IDENTITY"}, set()),
    ],
)
def test_broken_get_result_fails_its_clause(run_kit, backend, failed, warned):
    run = run_kit(BROKEN + backend, clauses=["get_result"])
    assert run.failed() == failed, run.output
    outcomes = run.outcomes()
    assert {cid for cid, outcome in outcomes.items() if outcome == "warn"} == warned
    assert run.ret == (1 if failed else 0)


def test_a_dict_instead_of_a_result_fails(run_kit):
    run = run_kit(BROKEN + "DictWhenUnsupported", clauses=["get_result"])
    assert {
        "GET-RESULT-TASK-RESULT-OR-NOT-IMPLEMENTED",
        "GET-RESULT-SAME-FIELDS",
        "GET-RESULT-ANY-TASK",
    } <= run.failed(), run.output


def test_not_implemented_despite_the_flag_fails(run_kit):
    run = run_kit(BROKEN + "ClaimsGetResultNotImplemented", clauses=["get_result"])
    assert {
        "GET-RESULT-UNKNOWN-ID",
        "GET-RESULT-MALFORMED-ID",
        "GET-RESULT-SAME-FIELDS",
        "GET-RESULT-OTHER-THREAD",
    } <= run.failed(), run.output


def test_a_process_wide_store_passes(run_kit):
    run = run_kit(BROKEN + "ProcessWideStore", clauses=["get_result", "json"])
    assert run.failed() == set(), run.output
    assert run.outcome("GET-RESULT-OTHER-THREAD") == "pass"
    assert run.outcome("JSON-GET-RESULT-PRESERVES") == "pass"
    assert run.ret == 0
