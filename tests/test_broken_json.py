"""The kit catches backends that get JSON arguments wrong (tests/broken/json.py)."""

import pytest

pytestmark = pytest.mark.kit

BROKEN = "tests.broken.json."


@pytest.mark.parametrize(
    ("backend", "failed", "warned"),
    [
        (
            "KeepsTuples",
            {"JSON-TUPLES-BECOME-LISTS", "JSON-GET-RESULT-PRESERVES"},
            set(),
        ),
        (
            "BoolsAsInts",
            {
                "JSON-VALUES-PRESERVED",
                "JSON-TUPLES-BECOME-LISTS",
                "JSON-GET-RESULT-PRESERVES",
            },
            set(),
        ),
        (
            "StoresUnserializable",
            {"JSON-UNSERIALIZABLE-NOT-STORED"},
            {"JSON-UNSERIALIZABLE-REJECTED"},
        ),
        (
            "ChecksTopLevelOnly",
            {"JSON-UNSERIALIZABLE-NOT-STORED"},
            {"JSON-UNSERIALIZABLE-REJECTED"},
        ),
        ("ConvertsSilently", set(), {"JSON-UNSERIALIZABLE-REJECTED"}),
        ("KeepsReferences", set(), {"JSON-ARGS-SNAPSHOT"}),
        ("LossyGetResult", {"JSON-GET-RESULT-PRESERVES"}, set()),
        (
            "tests.broken.signals.SignalsBeforeValidating",
            {"JSON-UNSERIALIZABLE-NOT-STORED"},
            set(),
        ),
    ],
)
def test_broken_json_fails_its_clause(run_kit, backend, failed, warned):
    run = run_kit(backend if "." in backend else BROKEN + backend, clauses=["json"])
    assert run.failed() == failed, run.output
    outcomes = run.outcomes()
    assert {cid for cid, outcome in outcomes.items() if outcome == "warn"} == warned
    assert run.ret == (1 if failed else 0)
