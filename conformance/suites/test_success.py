"""A task that returns (specs/success.toml)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from conformance import evidence, strategies, tasks
from conformance.driver import Driver, observable, run_concurrently
from conformance.jobs import new_token, repro_of
from conformance.shared_batch import (
    AWKWARD_RETURN,
    FALSY_RETURNS,
    RETURN_SAMPLE,
    Label,
    SharedBatches,
)
from conformance.statuses import FAILED, SUCCESSFUL
from conformance.support import (
    FORMS,
    Api,
    check_json,
    check_returns,
    clause,
    json_round_trip,
    refused_not_applicable,
)
from conformance.support import result_summary as summary
from conformance.violation import check, describe_exception

#: Tasks two simultaneous workers share out.
TWO_WORKER_TASKS = 40

#: Successful jobs of the shared batch and what each returned.
RETURNS: dict[Label, Any] = {
    Label.RETURN_NONE: None,
    Label.RETURN_TUPLE: (1, [2, 3]),
    Label.RETURN_SAMPLE: RETURN_SAMPLE,
    Label.CAPTURE: None,
    **FALSY_RETURNS,
}
SUCCEEDED = sorted(RETURNS)


@clause("SUCCESS-STATUS")
@pytest.mark.parametrize("label", SUCCEEDED)
def test_returning_task_succeeds(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job, result = shared_batches.finished(label, api.form)
    job.check(
        result.status == SUCCESSFUL and result.is_finished,
        expected="status SUCCESSFUL and is_finished True",
        observed=f"{summary(result)}, is_finished={result.is_finished!r}, "
        f"errors={[e.exception_class_path for e in result.errors]}",
    )


def _check_return_value(result: Any, returned: Any, repro: str) -> None:
    """``result`` succeeded with the JSON round-trip of what was ``returned``."""
    __tracebackhide__ = True
    check(
        result.status == SUCCESSFUL,
        expected="status SUCCESSFUL (to read return_value)",
        observed=summary(result),
        repro=repro,
    )
    value = check_returns(
        lambda: result.return_value, expected="return_value answers", repro=repro
    )
    check_json(json_round_trip(returned), value, "return_value", repro=repro)


@clause("SUCCESS-RETURN-VALUE")
@pytest.mark.parametrize("label", SUCCEEDED)
def test_return_value_is_json_round_trip(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job, result = shared_batches.finished(label, api.form)
    _check_return_value(result, RETURNS[label], job.repro)


@clause("SUCCESS-RETURN-VALUE")
def test_awkward_text_returned(api: Api, shared_batches: SharedBatches) -> None:
    """NUL, lone surrogates and astral characters come back unchanged, or the
    task FAILED because the store cannot hold them ("n/a", reported)."""
    job, result = shared_batches.finished(Label.RETURN_AWKWARD, api.form)
    if result.status == FAILED:
        errors = [error.exception_class_path for error in result.errors]
        refused_not_applicable(RuntimeError(f"FAILED: {errors}"), "the return value")
    _check_return_value(result, AWKWARD_RETURN, job.repro)


@clause("SUCCESS-RETURN-VALUE")
def test_return_value_property(api: Api, task_driver: Driver) -> None:
    """Any JSON value (with tuples) comes back as its JSON round-trip."""
    jobs: list[tuple[Any, Any]] = []

    @given(value=strategies.json_values(tuples=True))
    def enqueue(value: Any) -> None:
        tagged = json.dumps(evidence.encode(value))
        jobs.append((value, api.enqueue(tasks.return_decoded, tagged)))

    enqueue()
    task_driver.run_checked()
    for value, result in jobs:
        tagged = json.dumps(evidence.encode(value))
        repro = repro_of(tasks.return_decoded, (tagged,), {}, api.form)
        unobservable = task_driver.settle(result, api.form)
        observable(unobservable, task_driver.backend, "return value")
        _check_return_value(result, value, repro)


@clause("SUCCESS-NO-ERRORS")
@pytest.mark.parametrize("label", SUCCEEDED)
def test_no_errors(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    job, result = shared_batches.finished(label, api.form)
    job.check(
        result.status != SUCCESSFUL
        or result.attempts != 1
        or list(result.errors) == [],
        expected="errors == [] after a first attempt that succeeded",
        observed=f"errors={result.errors!r}",
    )


@clause("SUCCESS-TIMESTAMPS")
@pytest.mark.parametrize("label", SUCCEEDED)
def test_timestamps(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    job, result = shared_batches.finished(label, api.form)
    job.check_timestamps(result)


@clause("SUCCESS-SINGLE-ATTEMPT-TIMES")
@pytest.mark.parametrize("label", SUCCEEDED)
def test_single_attempt_times(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job, result = shared_batches.finished(label, api.form)
    if result.attempts != 1:
        return
    job.check(
        result.started_at == result.last_attempted_at,
        expected="started_at == last_attempted_at after one attempt",
        observed=f"started_at={result.started_at!r}, "
        f"last_attempted_at={result.last_attempted_at!r}",
    )


@clause("SUCCESS-WORKER-IDS")
@pytest.mark.parametrize("label", SUCCEEDED)
def test_worker_ids(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    job, result = shared_batches.finished(label, api.form)
    worker_ids = result.worker_ids
    job.check(
        isinstance(worker_ids, list)
        and len(worker_ids) == 1
        and all(isinstance(w, str) and w for w in worker_ids),
        expected="worker_ids is a list of exactly one non-empty str",
        observed=f"worker_ids={worker_ids!r}",
    )
    job.check(
        result.attempts == len(worker_ids),
        expected="attempts == len(worker_ids)",
        observed=f"attempts={result.attempts!r}, worker_ids={worker_ids!r}",
    )


@clause("SUCCESS-EXACTLY-ONCE")
@pytest.mark.parametrize("label", [Label.CAPTURE, Label.AFTER])
def test_exactly_once(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    job, _ = shared_batches.finished(label, api.form)
    check(
        shared_batches.rerun_error is None,
        expected="a second worker run, with nothing ready, returns normally",
        observed=describe_exception(shared_batches.rerun_error),
    )
    count = len(evidence.runs(job.token))
    job.check(
        count == 1,
        expected="the function ran exactly once (the worker was run twice)",
        observed=f"it ran {count} times",
    )


@clause(
    "SUCCESS-EXACTLY-ONCE",
    requires=["worker_driven", "worker_concurrent", "worker_in_other_threads"],
)
def test_exactly_once_with_two_workers(task_driver: Driver) -> None:
    """Two workers started together never both run a task (atomic claims)."""
    tokens = [new_token() for _ in range(TWO_WORKER_TASKS)]
    for index, token in enumerate(tokens):
        Api(FORMS[index % 2]).enqueue(tasks.capture, token)
    errors = run_concurrently(task_driver, workers=2)
    repro = (
        f"{TWO_WORKER_TASKS} x tasks.capture.enqueue(token)\n"
        "# then two workers at the same time (two threads calling the worker)"
    )
    check(
        errors == [None, None],
        expected="both workers return normally",
        observed=", ".join(describe_exception(e) for e in errors),
        repro=repro,
    )
    counts = {len(evidence.runs(token)) for token in tokens}
    check(
        counts == {1},
        expected="every task ran exactly once",
        observed=f"execution counts seen: {sorted(counts)}",
        repro=repro,
    )
