"""Coroutine tasks (specs/async-execution.toml)."""

from __future__ import annotations

from typing import Any

from conformance.adapters import Adapter
from conformance.driver import observable
from conformance.shared_batch import Label, shared_batch
from conformance.statuses import FAILED, RUNNING, SUCCESSFUL
from conformance.support import (
    Api,
    check_returns,
    clause,
    json_difference,
    json_round_trip,
)
from conformance.support import result_summary as summary
from conformance.violation import check


@clause("ASYNC-EXECUTION-SUCCEEDS")
def test_coroutine_succeeds(api: Api, task_adapter: Adapter, task_backend: Any) -> None:
    job = shared_batch(task_adapter, task_backend).job(Label.ASYNC_ECHO, api.form)
    result = job.finished(task_backend)
    check(
        result.status == SUCCESSFUL,
        expected="SUCCESSFUL",
        observed=f"{summary(result)}, errors={result.errors!r}",
        repro=job.repro,
    )
    expected = json_round_trip({"args": list(job.args), "kwargs": job.kwargs})
    value = check_returns(
        lambda: result.return_value, expected="return_value answers", repro=job.repro
    )
    difference = json_difference(expected, value, "return_value")
    check(
        difference is None,
        expected=repr(expected),
        observed=difference,
        repro=job.repro,
    )


@clause("ASYNC-EXECUTION-FAILS")
def test_coroutine_fails(api: Api, task_adapter: Adapter, task_backend: Any) -> None:
    job = shared_batch(task_adapter, task_backend).job(Label.ASYNC_FAIL, api.form)
    result = job.finished(task_backend)
    paths = [error.exception_class_path for error in result.errors]
    check(
        result.status == FAILED and paths[-1:] == ["conformance.tasks.TaskFailure"],
        expected="FAILED with a TaskError for conformance.tasks.TaskFailure",
        observed=f"{summary(result)}, errors for {paths}",
        repro=job.repro,
    )


@clause("ASYNC-EXECUTION-CONTEXT")
def test_coroutine_context(api: Api, task_adapter: Adapter, task_backend: Any) -> None:
    job = shared_batch(task_adapter, task_backend).job(Label.ASYNC_CONTEXT, api.form)
    result = job.finished(task_backend)
    check(
        result.status == SUCCESSFUL,
        expected="SUCCESSFUL",
        observed=f"{summary(result)}, errors={result.errors!r}",
        repro=job.repro,
    )
    seen = result.return_value
    check(
        seen.get("id") == result.id
        and seen.get("status") == str(RUNNING)
        and isinstance(seen.get("attempt"), int)
        and seen["attempt"] >= 1
        and seen["attempt"] == seen.get("attempts"),
        expected=f"context of result {result.id}: RUNNING, attempt >= 1 == attempts",
        observed=repr(seen),
        repro=job.repro,
    )
    observable(job.unobservable, task_backend, "async context")
