"""The kit catches backends that get task_enqueued wrong (tests/broken/signals.py)."""

import pytest

pytestmark = pytest.mark.kit

BROKEN = "tests.broken.signals."
ENQUEUED = [
    "SIGNALS-ENQUEUED-ONCE",
    "SIGNALS-ENQUEUED-SENDER-CLASS",
    "SIGNALS-ENQUEUED-SENDER-IS-BACKEND-CLASS",
    "SIGNALS-ENQUEUED-RESULT",
    "SIGNALS-ENQUEUED-NOT-SENT-ON-ERROR",
]


@pytest.mark.parametrize(
    ("backend", "failed", "warned"),
    [
        (
            "SenderIsInstance",
            {"SIGNALS-ENQUEUED-SENDER-CLASS"},
            {"SIGNALS-ENQUEUED-SENDER-IS-BACKEND-CLASS"},
        ),
        ("SenderIsBaseClass", set(), {"SIGNALS-ENQUEUED-SENDER-IS-BACKEND-CLASS"}),
        ("SentTwice", {"SIGNALS-ENQUEUED-ONCE"}, set()),
        ("NeverSent", {"SIGNALS-ENQUEUED-ONCE"}, set()),
        ("SilentWhenAsync", {"SIGNALS-ENQUEUED-ONCE"}, set()),
        (
            "AnnouncesAnotherResult",
            {"SIGNALS-ENQUEUED-ONCE", "SIGNALS-ENQUEUED-RESULT"},
            set(),
        ),
        ("AnnouncesWithoutArguments", {"SIGNALS-ENQUEUED-RESULT"}, set()),
        ("SignalsBeforeValidating", {"SIGNALS-ENQUEUED-NOT-SENT-ON-ERROR"}, set()),
    ],
)
def test_broken_signal_fails_its_clause(run_kit, backend, failed, warned):
    run = run_kit(BROKEN + backend, clauses=ENQUEUED)
    assert run.failed() == failed, run.output
    outcomes = run.outcomes()
    assert {cid for cid, outcome in outcomes.items() if outcome == "warn"} == warned
    assert run.ret == (1 if failed else 0)
