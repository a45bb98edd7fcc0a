"""Stored records that went bad (specs/security.toml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils.module_loading import import_string

from conformance import evidence, tasks
from conformance.adapters import Adapter
from conformance.driver import Driver, check_worker_returned
from conformance.jobs import new_token
from conformance.statuses import FAILED
from conformance.support import FORMS, Api, clause
from conformance.support import result_summary as summary
from conformance.violation import check, describe_exception

#: Tampered paths: resolve to something that is not a Task.
TAMPERED = {
    "plain-function": "conformance.tasks.not_a_task_write_marker",
    "task-lookalike": "conformance.tasks.fake_task",
}
#: Stale paths: no longer import.
MISSING = {
    "missing-module": "conformance.no_such_module.capture",
    "missing-function": "conformance.tasks.no_such_task",
}


@dataclass
class BadRecords:
    """Records rewritten by the adapter, one worker run, what became of them."""

    results: dict[str, Any] = field(default_factory=dict)
    markers: dict[str, Any] = field(default_factory=dict)
    control: str = ""
    worker_error: BaseException | None = None
    #: What get_result, aget_result or refresh raised, by when (None: nothing).
    lookups: dict[str, BaseException | None] = field(default_factory=dict)
    setup_error: BaseException | None = None


_CACHE: dict[int, BadRecords] = {}


def _lookup(task_backend: Any, result_id: str) -> BaseException | None:
    """What get_result or aget_result raise for ``result_id`` (None: nothing)."""
    for form in FORMS:
        try:
            Api(form).get_result(task_backend, result_id)
        except Exception as exc:
            return exc
    return None


def _described(problem: BaseException | None) -> str:
    return describe_exception(problem) if problem is not None else ""


def _bad_records(task_adapter: Adapter, task_backend: Any) -> BadRecords:
    cached = _CACHE.get(id(task_adapter))
    if cached is not None:
        return cached
    bad = _CACHE[id(task_adapter)] = BadRecords()
    try:
        for label, path in TAMPERED.items():
            marker = evidence.workdir() / f"marker-{new_token()}"
            result = tasks.echo.enqueue(str(marker))
            task_adapter.set_task_path(task_backend, result.id, path)
            bad.results[label], bad.markers[label] = result, marker
        for label, path in MISSING.items():
            result = tasks.capture.enqueue(new_token())
            task_adapter.set_task_path(task_backend, result.id, path)
            bad.results[label] = result
            bad.lookups[f"{label}, before the run"] = _lookup(task_backend, result.id)
        bad.control = new_token()
        control = tasks.capture.enqueue(bad.control)
    except Exception as exc:  # the adapter could not tamper: a kit-side problem
        bad.setup_error = exc
        return bad
    driver = Driver(task_adapter, task_backend)
    bad.worker_error = driver.run()
    for label, result in bad.results.items():
        # What the worker left is read with the record's own path back in
        # place: whether get_result can describe a bad path is another
        # clause's (SECURITY-GET-RESULT-NO-IMPORT-ERROR, from the lookups).
        good = (tasks.echo if label in TAMPERED else tasks.capture).module_path
        task_adapter.set_task_path(task_backend, result.id, good)
        try:
            driver.settle(result)
        except Exception as exc:
            bad.lookups[f"{label}, refresh"] = exc
        finally:
            bad_path = {**TAMPERED, **MISSING}[label]
            task_adapter.set_task_path(task_backend, result.id, bad_path)
    try:
        driver.settle(control)
    except Exception as exc:
        bad.lookups["control, refresh"] = exc
    for label in MISSING:
        bad.lookups[f"{label}, after the run"] = _lookup(
            task_backend, bad.results[label].id
        )
    return bad


def _records(task_adapter: Adapter, task_backend: Any) -> BadRecords:
    __tracebackhide__ = True
    bad = _bad_records(task_adapter, task_backend)
    if bad.setup_error is not None:
        raise bad.setup_error
    return bad


def _check_ended_failed(
    bad: BadRecords, label: str, *, expected: str, repro: str, with_error: bool = False
) -> Any:
    """The bad record ``label`` was refreshed and ended FAILED (``with_error``:
    with a TaskError); its result."""
    __tracebackhide__ = True
    result = bad.results[label]
    problem = bad.lookups.get(f"{label}, refresh")
    check(
        problem is None
        and result.status == FAILED
        and (bool(result.errors) or not with_error),
        expected=expected,
        observed=_described(problem) or f"{summary(result)}, errors={result.errors!r}",
        repro=repro,
    )
    return result


REPRO = (
    "result = tasks.echo.enqueue('/tmp/marker')\n"
    "# rewrite the stored path of result.id to {path!r}, then run the worker"
)


@clause("SECURITY-TAMPERED-PATH-NOT-EXECUTED")
@pytest.mark.parametrize("label", sorted(TAMPERED))
def test_tampered_path_not_executed(
    task_adapter: Adapter, task_backend: Any, label: str
) -> None:
    bad = _records(task_adapter, task_backend)
    marker = bad.markers[label]
    check(
        not marker.exists(),
        expected=f"{TAMPERED[label]} (not a Task) is never executed",
        observed=f"it ran: {marker} was written",
        repro=REPRO.format(path=TAMPERED[label]),
    )


@clause("SECURITY-TAMPERED-PATH-FAILS")
@pytest.mark.parametrize("label", sorted(TAMPERED))
def test_tampered_path_fails(
    task_adapter: Adapter, task_backend: Any, label: str
) -> None:
    bad = _records(task_adapter, task_backend)
    _check_ended_failed(
        bad,
        label,
        expected="the tampered record ends FAILED",
        repro=REPRO.format(path=TAMPERED[label]),
    )


@clause("SECURITY-MISSING-TASK-FAILS")
@pytest.mark.parametrize("label", sorted(MISSING))
def test_missing_task_fails(
    task_adapter: Adapter, task_backend: Any, label: str
) -> None:
    bad = _records(task_adapter, task_backend)
    repro = REPRO.format(path=MISSING[label])
    result = _check_ended_failed(
        bad,
        label,
        expected="a record whose task no longer imports ends FAILED with an error",
        repro=repro,
        with_error=True,
    )
    path = result.errors[-1].exception_class_path
    try:
        raised = import_string(path)
    except ImportError:
        raised = None
    check(
        isinstance(raised, type) and issubclass(raised, ImportError),
        expected="the error's class is an ImportError (or a subclass)",
        observed=f"exception_class_path={path!r}",
        repro=repro,
    )


@clause("SECURITY-WORKER-SURVIVES")
def test_worker_survives_bad_records(task_adapter: Adapter, task_backend: Any) -> None:
    bad = _records(task_adapter, task_backend)
    repro = (
        "# four records with tampered or stale paths, then a good one:\n"
        "tasks.capture.enqueue('t')\n# run the worker"
    )
    check_worker_returned(bad.worker_error, repro=repro)
    runs = len(evidence.runs(bad.control))
    check(
        runs == 1,
        expected="the good task enqueued after them ran",
        observed=f"it ran {runs} time(s)",
        repro=repro,
    )


@clause("SECURITY-GET-RESULT-NO-IMPORT-ERROR")
@pytest.mark.parametrize("label", sorted(MISSING))
def test_get_result_does_not_leak_import_error(
    task_adapter: Adapter, task_backend: Any, label: str
) -> None:
    bad = _records(task_adapter, task_backend)
    leaks = {
        when: problem
        for when, problem in bad.lookups.items()
        if when.startswith(label) and isinstance(problem, ImportError)
    }
    check(
        not leaks,
        expected="get_result()/aget_result() of the record do not raise ImportError",
        observed="; ".join(f"{when}: {_described(e)}" for when, e in leaks.items()),
        repro=REPRO.format(path=MISSING[label]) + "\nbackend.get_result(result.id)",
    )
