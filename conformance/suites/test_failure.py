"""A task that raises (specs/failure.toml)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import compat, evidence, tasks
from conformance.adapters import Adapter
from conformance.result_comparison import timestamp_problems
from conformance.shared_batch import (
    BASE_EXCEPTION_FAILURES,
    FAILURE_KINDS,
    UNSERIALIZABLE_TASKS,
    Label,
    failure_message,
    shared_batch,
)
from conformance.statuses import FAILED
from conformance.support import Api, check_return_value_refused, clause
from conformance.support import result_summary as summary
from conformance.violation import check

FAILURES = list(FAILURE_KINDS)


def _class_path(kind: str) -> str:
    raised = tasks.EXCEPTIONS[kind]
    return f"{raised.__module__}.{raised.__qualname__}"


def _failed(api: Api, task_adapter: Adapter, task_backend: Any, label: Label) -> Any:
    __tracebackhide__ = True
    job = shared_batch(task_adapter, task_backend).job(label, api.form)
    result = job.finished(task_backend)
    check(
        result.status == FAILED,
        expected=f"{label}: status FAILED",
        observed=f"{summary(result)}, errors={result.errors!r}",
        repro=job.repro,
    )
    return job, result


@clause("FAILURE-STATUS")
@pytest.mark.parametrize("label", FAILURES)
def test_raising_task_fails(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job, result = _failed(api, task_adapter, task_backend, label)
    check(
        result.is_finished,
        expected="is_finished True",
        observed=summary(result),
        repro=job.repro,
    )
    check_return_value_refused(result, when="once the task FAILED", repro=job.repro)


@clause("FAILURE-ERRORS")
@pytest.mark.parametrize("label", FAILURES)
def test_one_error_per_attempt(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job, result = _failed(api, task_adapter, task_backend, label)
    errors = result.errors
    check(
        isinstance(errors, list)
        and len(errors) >= 1
        and all(isinstance(error, compat.TaskError) for error in errors),
        expected="errors is a non-empty list of TaskError",
        observed=f"errors={errors!r}",
        repro=job.repro,
    )
    check(
        len(errors) == result.attempts,
        expected="one TaskError per failed attempt: len(errors) == attempts",
        observed=f"{len(errors)} errors, attempts={result.attempts}",
        repro=job.repro,
    )


@clause("FAILURE-EXCEPTION-CLASS")
@pytest.mark.parametrize("label", FAILURES)
def test_exception_class(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    kind = FAILURE_KINDS[label]
    job, result = _failed(api, task_adapter, task_backend, label)
    check(
        result.errors, expected="a TaskError", observed="errors == []", repro=job.repro
    )
    error = result.errors[-1]
    check(
        error.exception_class_path == _class_path(kind),
        expected=f"exception_class_path == {_class_path(kind)!r}",
        observed=repr(error.exception_class_path),
        repro=job.repro,
    )
    if "." in tasks.EXCEPTIONS[kind].__qualname__:
        return  # nested: Django's exception_class (import_string) cannot resolve it
    try:
        resolved = error.exception_class
    except Exception as exc:
        resolved = exc
    check(
        resolved is tasks.EXCEPTIONS[kind],
        expected=f"exception_class is {_class_path(kind)}",
        observed=repr(resolved),
        repro=job.repro,
    )


@clause("FAILURE-TRACEBACK")
@pytest.mark.parametrize("label", FAILURES)
def test_traceback(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    kind = FAILURE_KINDS[label]
    job, result = _failed(api, task_adapter, task_backend, label)
    check(
        result.errors, expected="a TaskError", observed="errors == []", repro=job.repro
    )
    traceback = result.errors[-1].traceback
    message = failure_message(job.token)
    name = tasks.EXCEPTIONS[kind].__name__
    check(
        isinstance(traceback, str) and message in traceback and name in traceback,
        expected=f"a traceback str holding {name!r} and the message {message!r}",
        observed=repr(traceback)[:500],
        repro=job.repro,
    )


@clause("FAILURE-BASE-EXCEPTION")
@pytest.mark.parametrize("label", BASE_EXCEPTION_FAILURES)
def test_base_exception_fails_task(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    kind = FAILURE_KINDS[label]
    batch = shared_batch(task_adapter, task_backend)
    job, result = _failed(api, task_adapter, task_backend, label)
    paths = [error.exception_class_path for error in result.errors]
    check(
        _class_path(kind) in paths,
        expected=f"an error for {_class_path(kind)}",
        observed=f"errors for {paths}",
        repro=job.repro,
    )
    after = batch.job(Label.AFTER_BASE, api.form)
    after.finished(task_backend)
    check(
        len(evidence.runs(after.token)) == 1,
        expected="the worker went on: the task enqueued after it ran",
        observed="it did not run",
        repro=job.repro,
    )


@clause("FAILURE-UNSERIALIZABLE-RETURN")
@pytest.mark.parametrize("label", sorted(UNSERIALIZABLE_TASKS))
def test_unserializable_return_fails(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job = shared_batch(task_adapter, task_backend).job(label, api.form)
    result = job.outcome(task_backend)
    check(
        result.status == FAILED and result.is_finished and len(result.errors) >= 1,
        expected="FAILED with an error (never SUCCESSFUL, never left RUNNING or READY)",
        observed=f"{summary(result)}, errors={[e.exception_class_path for e in result.errors]}",
        repro=job.repro,
    )


@clause("FAILURE-TIMESTAMPS")
@pytest.mark.parametrize("label", FAILURES)
def test_failure_timestamps(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job, result = _failed(api, task_adapter, task_backend, label)
    problems = timestamp_problems(result, job.started, job.observed_at or job.started)
    check(
        not problems,
        expected="timestamps set, aware, ordered, within the run",
        observed="; ".join(problems),
        repro=job.repro,
    )
