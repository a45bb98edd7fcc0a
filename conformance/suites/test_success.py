"""A task that returns (specs/success.toml)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from conformance import evidence, strategies, tasks
from conformance.adapters import Adapter
from conformance.driver import Driver, observable, run_concurrently
from conformance.jobs import new_token
from conformance.result_comparison import timestamp_problems
from conformance.shared_batch import RETURN_SAMPLE, Label, shared_batch
from conformance.statuses import SUCCESSFUL
from conformance.support import (
    FORMS,
    Api,
    check_returns,
    clause,
    json_difference,
    json_round_trip,
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
}


def _succeeded(api: Api, task_adapter: Adapter, task_backend: Any, label: Label) -> Any:
    job = shared_batch(task_adapter, task_backend).job(label, api.form)
    return job, job.finished(task_backend)


@clause("SUCCESS-STATUS")
@pytest.mark.parametrize("label", sorted(RETURNS))
def test_returning_task_succeeds(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job, result = _succeeded(api, task_adapter, task_backend, label)
    check(
        result.status == SUCCESSFUL and result.is_finished,
        expected="status SUCCESSFUL and is_finished True",
        observed=f"{summary(result)}, is_finished={result.is_finished!r}, "
        f"errors={[e.exception_class_path for e in result.errors]}",
        repro=job.repro,
    )


def _return_value(result: Any, repro: str) -> Any:
    __tracebackhide__ = True
    check(
        result.status == SUCCESSFUL,
        expected="status SUCCESSFUL (to read return_value)",
        observed=summary(result),
        repro=repro,
    )
    return check_returns(
        lambda: result.return_value, expected="return_value answers", repro=repro
    )


@clause("SUCCESS-RETURN-VALUE")
@pytest.mark.parametrize("label", sorted(RETURNS))
def test_return_value_is_json_round_trip(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job, result = _succeeded(api, task_adapter, task_backend, label)
    expected = json_round_trip(RETURNS[label])
    difference = json_difference(
        expected, _return_value(result, job.repro), "return_value"
    )
    check(
        difference is None,
        expected=repr(expected),
        observed=difference,
        repro=job.repro,
    )


@clause("SUCCESS-RETURN-VALUE")
def test_return_value_property(
    api: Api, task_adapter: Adapter, task_backend: Any
) -> None:
    """Any JSON value (with tuples) comes back as its JSON round-trip."""
    driver = Driver(task_adapter, task_backend)
    jobs: list[tuple[Any, Any]] = []

    @given(value=strategies.json_values(tuples=True))
    def enqueue(value: Any) -> None:
        tagged = json.dumps(evidence.encode(value))
        jobs.append((value, api.enqueue(tasks.return_decoded, tagged)))

    enqueue()
    driver.run_checked()
    for value, result in jobs:
        encoded = f"json.dumps(evidence.encode({value!r}))"
        repro = f"tasks.return_decoded.{api.name('enqueue')}({encoded})"
        observable(driver.settle(result, api.form), task_backend, "return value")
        expected = json_round_trip(value)
        difference = json_difference(
            expected, _return_value(result, repro), "return_value"
        )
        check(
            difference is None,
            expected=repr(expected),
            observed=difference,
            repro=repro,
        )


@clause("SUCCESS-NO-ERRORS")
@pytest.mark.parametrize("label", sorted(RETURNS))
def test_no_errors(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job, result = _succeeded(api, task_adapter, task_backend, label)
    check(
        result.status != SUCCESSFUL
        or result.attempts != 1
        or list(result.errors) == [],
        expected="errors == [] after a first attempt that succeeded",
        observed=f"errors={result.errors!r}",
        repro=job.repro,
    )


@clause("SUCCESS-TIMESTAMPS")
@pytest.mark.parametrize("label", sorted(RETURNS))
def test_timestamps(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job, result = _succeeded(api, task_adapter, task_backend, label)
    problems = timestamp_problems(result, job.started, job.observed_at or job.started)
    check(
        not problems,
        expected="timestamps set, aware, ordered, within the run",
        observed="; ".join(problems),
        repro=job.repro,
    )


@clause("SUCCESS-SINGLE-ATTEMPT-TIMES")
@pytest.mark.parametrize("label", sorted(RETURNS))
def test_single_attempt_times(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job, result = _succeeded(api, task_adapter, task_backend, label)
    if result.attempts != 1:
        return
    check(
        result.started_at == result.last_attempted_at,
        expected="started_at == last_attempted_at after one attempt",
        observed=f"started_at={result.started_at!r}, "
        f"last_attempted_at={result.last_attempted_at!r}",
        repro=job.repro,
    )


@clause("SUCCESS-WORKER-IDS")
@pytest.mark.parametrize("label", sorted(RETURNS))
def test_worker_ids(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job, result = _succeeded(api, task_adapter, task_backend, label)
    worker_ids = result.worker_ids
    check(
        isinstance(worker_ids, list)
        and len(worker_ids) == 1
        and all(isinstance(w, str) and w for w in worker_ids),
        expected="worker_ids is a list of exactly one non-empty str",
        observed=f"worker_ids={worker_ids!r}",
        repro=job.repro,
    )
    check(
        result.attempts == len(worker_ids),
        expected="attempts == len(worker_ids)",
        observed=f"attempts={result.attempts!r}, worker_ids={worker_ids!r}",
        repro=job.repro,
    )


@clause("SUCCESS-EXACTLY-ONCE")
@pytest.mark.parametrize("label", [Label.CAPTURE, Label.AFTER])
def test_exactly_once(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    batch = shared_batch(task_adapter, task_backend)
    job = batch.job(label, api.form)
    job.finished(task_backend)
    check(
        batch.rerun_error is None,
        expected="a second worker run, with nothing ready, returns normally",
        observed=describe_exception(batch.rerun_error),
    )
    count = len(evidence.runs(job.token))
    check(
        count == 1,
        expected="the function ran exactly once (the worker was run twice)",
        observed=f"it ran {count} times",
        repro=job.repro,
    )


@clause("SUCCESS-EXACTLY-ONCE", requires=["worker_driven"])
def test_exactly_once_with_two_workers(
    task_adapter: Adapter, task_backend: Any
) -> None:
    """Two workers started together never both run a task (atomic claims)."""
    driver = Driver(task_adapter, task_backend)
    tokens = [new_token() for _ in range(TWO_WORKER_TASKS)]
    for index, token in enumerate(tokens):
        Api(FORMS[index % 2]).enqueue(tasks.capture, token)
    errors = run_concurrently(driver, workers=2)
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
