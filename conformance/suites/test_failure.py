"""A task that raises (specs/failure.toml)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import compat, evidence, tasks
from conformance.jobs import Job
from conformance.shared_batch import (
    BASE_EXCEPTION_FAILURES,
    FAILURE_KINDS,
    RAISING_FRAMES,
    UNSERIALIZABLE_TASKS,
    Label,
    SharedBatches,
    failure_message,
)
from conformance.statuses import FAILED
from conformance.support import Api, check_return_value_refused, clause
from conformance.support import result_summary as summary

FAILURES = list(FAILURE_KINDS)


def _class_path(kind: str) -> str:
    raised = tasks.EXCEPTIONS[kind]
    return f"{raised.__module__}.{raised.__qualname__}"


def _failed(shared_batches: SharedBatches, label: Label, form: str) -> tuple[Job, Any]:
    __tracebackhide__ = True
    job, result = shared_batches.finished(label, form)
    job.check(
        result.status == FAILED,
        expected=f"{label}: status FAILED",
        observed=f"{summary(result)}, errors={result.errors!r}",
    )
    return job, result


def _last_error(
    shared_batches: SharedBatches, label: Label, form: str
) -> tuple[Job, Any]:
    """The failed job and the TaskError of its last attempt."""
    __tracebackhide__ = True
    job, result = _failed(shared_batches, label, form)
    job.check(result.errors, expected="a TaskError", observed="errors == []")
    return job, result.errors[-1]


@clause("FAILURE-STATUS")
@pytest.mark.parametrize("label", FAILURES)
def test_raising_task_fails(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job, result = _failed(shared_batches, label, api.form)
    job.check(result.is_finished, expected="is_finished True", observed=summary(result))
    check_return_value_refused(result, when="once the task FAILED", repro=job.repro)


@clause("FAILURE-ERRORS")
@pytest.mark.parametrize("label", FAILURES)
def test_one_error_per_attempt(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job, result = _failed(shared_batches, label, api.form)
    errors = result.errors
    job.check(
        isinstance(errors, list)
        and len(errors) >= 1
        and all(isinstance(error, compat.TaskError) for error in errors),
        expected="errors is a non-empty list of TaskError",
        observed=f"errors={errors!r}",
    )
    job.check(
        len(errors) == result.attempts,
        expected="one TaskError per failed attempt: len(errors) == attempts",
        observed=f"{len(errors)} errors, attempts={result.attempts}",
    )


@clause("FAILURE-EXCEPTION-CLASS")
@pytest.mark.parametrize("label", FAILURES)
def test_exception_class(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    kind = FAILURE_KINDS[label]
    job, error = _last_error(shared_batches, label, api.form)
    job.check(
        error.exception_class_path == _class_path(kind),
        expected=f"exception_class_path == {_class_path(kind)!r}",
        observed=repr(error.exception_class_path),
    )
    if "." in tasks.EXCEPTIONS[kind].__qualname__:
        return  # nested: Django's exception_class (import_string) cannot resolve it
    try:
        resolved = error.exception_class
    except Exception as exc:
        resolved = exc
    job.check(
        resolved is tasks.EXCEPTIONS[kind],
        expected=f"exception_class is {_class_path(kind)}",
        observed=repr(resolved),
    )


#: How Python's traceback begins (Django's docs show it: topics/tasks, Errors).
TRACEBACK_HEADER = "Traceback (most recent call last):"


def _check_traceback(job: Job, error: Any, label: Label, name: str) -> None:
    """``error.traceback`` is the whole Python traceback: the header, the frame
    that raised (:data:`RAISING_FRAMES`), the class ``name`` and the message."""
    __tracebackhide__ = True
    traceback = error.traceback
    message = failure_message(job.token)
    frame = f", in {RAISING_FRAMES[label]}\n"
    missing = [
        what
        for what, part in (
            ("the header", TRACEBACK_HEADER),
            (f"the raising frame ({frame.strip()!r})", frame),
            ("the class name", name),
            ("the message", message),
        )
        if not (isinstance(traceback, str) and part in traceback)
    ]
    job.check(
        not missing,
        expected=f"the full traceback: {TRACEBACK_HEADER!r}, every frame down to "
        f"{RAISING_FRAMES[label]!r}, then {name}: {message}",
        observed=f"{', '.join(missing)} missing from {traceback!r}"[:700],
    )


@clause("FAILURE-TRACEBACK")
@pytest.mark.parametrize("label", FAILURES)
def test_traceback(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    job, error = _last_error(shared_batches, label, api.form)
    name = tasks.EXCEPTIONS[FAILURE_KINDS[label]].__name__
    _check_traceback(job, error, label, name)


@clause("FAILURE-TRACEBACK", requires=["supports_async_task"])
def test_coroutine_traceback(api: Api, shared_batches: SharedBatches) -> None:
    job, error = _last_error(shared_batches, Label.ASYNC_FAIL, api.form)
    _check_traceback(job, error, Label.ASYNC_FAIL, "TaskFailure")


@clause("FAILURE-BASE-EXCEPTION")
@pytest.mark.parametrize("label", BASE_EXCEPTION_FAILURES)
def test_base_exception_fails_task(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    kind = FAILURE_KINDS[label]
    job, result = _failed(shared_batches, label, api.form)
    paths = [error.exception_class_path for error in result.errors]
    job.check(
        _class_path(kind) in paths,
        expected=f"an error for {_class_path(kind)}",
        observed=f"errors for {paths}",
    )
    after, _ = shared_batches.finished(Label.AFTER_BASE, api.form)
    job.check(
        len(evidence.runs(after.token)) == 1,
        expected="the worker went on: the task enqueued after it ran",
        observed="it did not run",
    )


@clause("FAILURE-UNSERIALIZABLE-RETURN")
@pytest.mark.parametrize("label", sorted(UNSERIALIZABLE_TASKS))
def test_unserializable_return_fails(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job = shared_batches.job(label, api.form)
    result = job.outcome(shared_batches.backend)
    job.check(
        result.status == FAILED and result.is_finished and len(result.errors) >= 1,
        expected="FAILED with an error (never SUCCESSFUL, never left RUNNING or READY)",
        observed=f"{summary(result)}, errors={[e.exception_class_path for e in result.errors]}",
    )


@clause("FAILURE-TIMESTAMPS")
@pytest.mark.parametrize("label", FAILURES)
def test_failure_timestamps(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job, result = _failed(shared_batches, label, api.form)
    job.check_timestamps(result)
