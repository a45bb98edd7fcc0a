"""Coroutine tasks (specs/async-execution.toml)."""

from __future__ import annotations

from typing import Any

from conformance.driver import observable
from conformance.jobs import Job
from conformance.shared_batch import Label, SharedBatches
from conformance.statuses import FAILED, RUNNING, SUCCESSFUL
from conformance.support import (
    Api,
    check_json,
    check_returns,
    clause,
    json_round_trip,
)
from conformance.support import result_summary as summary


def _succeeded(
    shared_batches: SharedBatches, label: Label, form: str
) -> tuple[Job, Any]:
    __tracebackhide__ = True
    job, result = shared_batches.finished(label, form)
    job.check(
        result.status == SUCCESSFUL,
        expected="SUCCESSFUL",
        observed=f"{summary(result)}, errors={result.errors!r}",
    )
    return job, result


@clause("ASYNC-EXECUTION-SUCCEEDS")
def test_coroutine_succeeds(api: Api, shared_batches: SharedBatches) -> None:
    job, result = _succeeded(shared_batches, Label.ASYNC_ECHO, api.form)
    value = check_returns(
        lambda: result.return_value, expected="return_value answers", repro=job.repro
    )
    check_json(
        json_round_trip({"args": list(job.args), "kwargs": job.kwargs}),
        value,
        "return_value",
        repro=job.repro,
    )


@clause("ASYNC-EXECUTION-FAILS")
def test_coroutine_fails(api: Api, shared_batches: SharedBatches) -> None:
    job, result = shared_batches.finished(Label.ASYNC_FAIL, api.form)
    paths = [error.exception_class_path for error in result.errors]
    job.check(
        result.status == FAILED and paths[-1:] == ["conformance.tasks.TaskFailure"],
        expected="FAILED with a TaskError for conformance.tasks.TaskFailure",
        observed=f"{summary(result)}, errors for {paths}",
    )


@clause("ASYNC-EXECUTION-CONTEXT")
def test_coroutine_context(api: Api, shared_batches: SharedBatches) -> None:
    job, result = _succeeded(shared_batches, Label.ASYNC_CONTEXT, api.form)
    seen = result.return_value
    job.check(
        seen.get("id") == result.id
        and seen.get("status") == str(RUNNING)
        and isinstance(seen.get("attempt"), int)
        and seen["attempt"] >= 1
        and seen["attempt"] == seen.get("attempts"),
        expected=f"context of result {result.id}: RUNNING, attempt >= 1 == attempts",
        observed=repr(seen),
    )
    observable(job.unobservable, shared_batches.backend, "async context")
