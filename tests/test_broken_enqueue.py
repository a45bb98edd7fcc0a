"""The kit catches backends that get enqueue wrong (tests/broken/enqueue.py)."""

import pytest

pytestmark = pytest.mark.kit

BROKEN = "tests.broken.enqueue."


@pytest.mark.parametrize(
    ("backend", "failed"),
    [
        ("LongIds", {"ENQUEUE-ID-FORMAT"}),
        ("CounterIds", {"ENQUEUE-ID-UNIQUE"}),
        ("ShortRandomIds", {"ENQUEUE-ID-UNIQUE"}),
        ("NaiveEnqueuedAt", {"ENQUEUE-ENQUEUED-AT"}),
        ("EnqueuedAtIsRunAfter", {"ENQUEUE-ENQUEUED-AT"}),
        ("StaleEnqueuedAt", {"ENQUEUE-ENQUEUED-AT"}),
        ("StatusAsString", {"ENQUEUE-STATUS-VALID"}),
        ("ClaimsFinished", {"ENQUEUE-STATUS-VALID", "ENQUEUE-DEFERRED-READY"}),
        ("ReturnValueNoneWhileReady", {"ENQUEUE-RETURN-VALUE-UNFINISHED"}),
        ("StartedWhileReady", {"ENQUEUE-READY-NOT-STARTED"}),
        ("HardcodedAlias", {"ENQUEUE-OTHER-ALIAS"}),
        ("ArgsKeptAsTuple", {"ENQUEUE-ARGS-KWARGS"}),
        ("NoneForNoArguments", {"ENQUEUE-ARGS-KWARGS"}),
        ("SplatsArguments", {"ENQUEUE-ARGS-KWARGS"}),
        ("ForgetsQueue", {"ENQUEUE-RESULT-TASK"}),
        ("ReturnsLookAlike", {"ENQUEUE-RETURNS-RESULT"}),
        ("DeferRunsNow", {"ENQUEUE-DEFERRED-READY"}),
    ],
)
def test_broken_enqueue_fails_its_clause(run_kit, backend, failed):
    run = run_kit(BROKEN + backend, clauses=["enqueue"])
    assert run.failed() == failed, run.output
    assert run.ret == 1


def test_long_ids_also_warn_under_64(run_kit):
    run = run_kit(BROKEN + "LongIds", clauses=["ENQUEUE-ID-UNDER-64"])
    assert run.outcome("ENQUEUE-ID-UNDER-64") == "warn"


def test_ids_of_64_characters_only_warn(run_kit):
    run = run_kit(BROKEN + "Ids64", clauses=["enqueue"])
    assert run.failed() == set(), run.output
    assert run.outcome("ENQUEUE-ID-FORMAT") == "pass"
    assert run.outcome("ENQUEUE-ID-UNDER-64") == "warn"
    assert run.ret == 0


def test_running_on_return_only_warns(run_kit):
    run = run_kit(BROKEN + "RunningOnReturn", clauses=["enqueue"])
    assert run.failed() == set(), run.output
    assert run.outcome("ENQUEUE-READY-UNLESS-SYNCHRONOUS") == "warn"
    assert run.outcome("ENQUEUE-DEFERRED-READY") == "pass"
