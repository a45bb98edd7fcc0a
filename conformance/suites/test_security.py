"""Stored records that went bad (specs/security.toml).

Two worker runs over records whose stored path the adapter rewrote:

* the main one, bad records among good tasks in every position: first,
  alone between good ones, two together in the middle, and last (a worker
  that stops at a bad record, or drops the task after one, leaves a good
  one unrun);
* the tampered records again, with no other receiver of the task signals
  connected in this process (Django's logging receivers included): they
  read ``task.module_path`` and raise on a plain function, which may be all
  that keeps a careless worker from running it.

Each tampered path names something that writes a marker file however it is
called: a plain function, a callable object, a look-alike with ``func`` and
``call``, and one with ``__call__`` too.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils.module_loading import import_string

from conformance import evidence, tasks
from conformance.adapters import Adapter
from conformance.driver import Driver, check_worker_returned
from conformance.jobs import new_token
from conformance.statuses import FAILED
from conformance.support import FORMS, Api, clause, no_task_signal_receivers
from conformance.support import result_summary as summary
from conformance.violation import check, describe_exception

#: Tampered paths: resolve to something that is not a Task.
TAMPERED = {
    "plain-function": "conformance.tasks.not_a_task_write_marker",
    "callable-object": "conformance.tasks.callable_marker",
    "task-lookalike": "conformance.tasks.fake_task",
    "callable-lookalike": "conformance.tasks.fake_callable_task",
}
#: Stale paths: no longer import.
MISSING = {
    "missing-module": "conformance.no_such_module.capture",
    "missing-function": "conformance.tasks.no_such_task",
}
BAD = {**TAMPERED, **MISSING}
#: A good task in a layout.
GOOD = "good"
#: The main run, in the order the worker takes it (priorities pin it where
#: the backend has them): a bad record first, alone between good ones, two
#: together, and last.
LAYOUT = (
    "plain-function",
    GOOD,
    "callable-object",
    GOOD,
    "task-lookalike",
    "missing-module",
    GOOD,
    "callable-lookalike",
    GOOD,
    "missing-function",
)
#: The tampered records again, with no other signal receivers in this process.
QUIET_LAYOUT = (*TAMPERED, GOOD)
#: How each run is named, and what its keys add to a label.
RECEIVERS = {"connected": "", "none": " (no other signal receivers)"}
#: The priority of a layout's first record: below the default, so that tasks
#: other clauses left ready do not come after the "last" one.
FIRST_PRIORITY = -10


@dataclass
class BadRecords:
    """Records rewritten by the adapter, two worker runs, what became of them.

    Keys are a label and what :data:`RECEIVERS` adds to it for its run.
    """

    results: dict[str, Any] = field(default_factory=dict)
    markers: dict[str, Any] = field(default_factory=dict)
    #: By run, a good task's token -> where it stood ("row 2 of 10, after ...").
    goods: dict[str, dict[str, str]] = field(default_factory=dict)
    #: What each worker run raised (None: it returned), by run.
    worker_errors: dict[str, BaseException | None] = field(default_factory=dict)
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


def _place(layout: tuple[str, ...], index: int) -> str:
    where = f"row {index + 1} of {len(layout)}"
    return f"{where}, after {layout[index - 1]}" if index else f"{where}, first"


def _good_task(label: str) -> Any:
    """The task a bad record was enqueued as (its path put back to read it)."""
    return tasks.echo if label in TAMPERED else tasks.capture


def _enqueue(
    task_adapter: Adapter, task_backend: Any, bad: BadRecords, run: str
) -> list[Any]:
    """Enqueue ``run``'s layout, rewrite the bad records' paths; the results."""
    layout = LAYOUT if run == "connected" else QUIET_LAYOUT
    suffix = RECEIVERS[run]
    results = []
    for index, label in enumerate(layout):
        task = tasks.capture if label == GOOD else _good_task(label)
        if task_backend.supports_priority:
            task = task.using(priority=FIRST_PRIORITY - index)
        if label in TAMPERED:
            marker = evidence.workdir() / f"marker-{new_token()}"
            result = task.enqueue(str(marker))
            bad.markers[label + suffix] = marker
        else:
            token = new_token()
            result = task.enqueue(token)
            if label == GOOD:
                bad.goods.setdefault(run, {})[token] = _place(layout, index)
        if label != GOOD:
            task_adapter.set_task_path(task_backend, result.id, BAD[label])
            bad.results[label + suffix] = result
            if label in MISSING:
                bad.lookups[f"{label + suffix}, before the run"] = _lookup(
                    task_backend, result.id
                )
        results.append((label, result))
    return results


def _settle(
    task_adapter: Adapter,
    task_backend: Any,
    bad: BadRecords,
    enqueued: list[Any],
    run: str,
) -> None:
    """Refresh what the worker left, all within one timeout.

    A bad record is read with its own good path back in place: whether
    get_result can describe a bad path is another clause's
    (SECURITY-GET-RESULT-NO-IMPORT-ERROR, from the lookups).
    """
    driver = Driver(task_adapter, task_backend)
    deadline = time.monotonic() + driver.patience
    for label, result in enqueued:
        key = f"{label}{RECEIVERS[run]}"
        if label == GOOD:
            with contextlib.suppress(Exception):
                driver.settle(result, deadline=deadline)
            continue
        task_adapter.set_task_path(
            task_backend, result.id, _good_task(label).module_path
        )
        try:
            driver.settle(result, deadline=deadline)
        except Exception as exc:
            bad.lookups[f"{key}, refresh"] = exc
        finally:
            task_adapter.set_task_path(task_backend, result.id, BAD[label])


def _bad_records(task_adapter: Adapter, task_backend: Any) -> BadRecords:
    cached = _CACHE.get(id(task_adapter))
    if cached is not None:
        return cached
    bad = _CACHE[id(task_adapter)] = BadRecords()
    driver = Driver(task_adapter, task_backend)
    for run in RECEIVERS:
        try:
            enqueued = _enqueue(task_adapter, task_backend, bad, run)
        except Exception as exc:  # the adapter could not tamper: a kit-side problem
            bad.setup_error = exc
            return bad
        # Enqueued with the receivers in place (the kit's own count what is
        # due); only the worker runs without them.
        quiet = (
            no_task_signal_receivers() if run == "none" else contextlib.nullcontext()
        )
        with quiet:
            bad.worker_errors[run] = driver.run()
        _settle(task_adapter, task_backend, bad, enqueued, run)
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
    bad: BadRecords, key: str, *, expected: str, repro: str, with_error: bool = False
) -> Any:
    """The bad record ``key`` was refreshed and ended FAILED (``with_error``:
    with a TaskError); its result."""
    __tracebackhide__ = True
    result = bad.results[key]
    problem = bad.lookups.get(f"{key}, refresh")
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
    "# rewrite the stored path of result.id to {path!r}, then run the worker{how}"
)
#: What a repro adds for the run without other receivers.
QUIET_REPRO = (
    "\n# with no receiver of task_started/task_finished/task_enqueued connected"
    " (Django's logging ones disconnected too)"
)


def _repro(path: str, receivers: str) -> str:
    return REPRO.format(path=path, how=QUIET_REPRO if receivers == "none" else "")


@clause("SECURITY-TAMPERED-PATH-NOT-EXECUTED")
@pytest.mark.parametrize("receivers", sorted(RECEIVERS))
@pytest.mark.parametrize("label", sorted(TAMPERED))
def test_tampered_path_not_executed(
    task_adapter: Adapter, task_backend: Any, label: str, receivers: str
) -> None:
    bad = _records(task_adapter, task_backend)
    marker = bad.markers[label + RECEIVERS[receivers]]
    check(
        not marker.exists(),
        expected=f"{TAMPERED[label]} (not a Task) is never executed, however a "
        "worker calls it (func(...), .call(...), the object itself)",
        observed=f"it ran ({label}, other signal receivers: {receivers}): "
        f"{marker} was written",
        repro=_repro(TAMPERED[label], receivers),
    )


@clause("SECURITY-TAMPERED-PATH-FAILS")
@pytest.mark.parametrize("receivers", sorted(RECEIVERS))
@pytest.mark.parametrize("label", sorted(TAMPERED))
def test_tampered_path_fails(
    task_adapter: Adapter, task_backend: Any, label: str, receivers: str
) -> None:
    bad = _records(task_adapter, task_backend)
    _check_ended_failed(
        bad,
        label + RECEIVERS[receivers],
        expected="the tampered record ends FAILED",
        repro=_repro(TAMPERED[label], receivers),
    )


@clause("SECURITY-MISSING-TASK-FAILS")
@pytest.mark.parametrize("label", sorted(MISSING))
def test_missing_task_fails(
    task_adapter: Adapter, task_backend: Any, label: str
) -> None:
    bad = _records(task_adapter, task_backend)
    repro = _repro(MISSING[label], "connected")
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
@pytest.mark.parametrize("receivers", sorted(RECEIVERS))
def test_worker_survives_bad_records(
    task_adapter: Adapter, task_backend: Any, receivers: str
) -> None:
    bad = _records(task_adapter, task_backend)
    layout = LAYOUT if receivers == "connected" else QUIET_LAYOUT
    repro = (
        f"# in this order: {', '.join(layout)}\n"
        "# (good: tasks.capture.enqueue('t'); the others rewritten to a bad path)\n"
        "# run the worker" + (QUIET_REPRO if receivers == "none" else "")
    )
    check_worker_returned(bad.worker_errors[receivers], repro=repro)
    unrun = {
        where: len(evidence.runs(token))
        for token, where in bad.goods[receivers].items()
        if len(evidence.runs(token)) != 1
    }
    check(
        not unrun,
        expected="every good task among the bad records ran, once",
        observed="; ".join(f"{where}: ran {n} time(s)" for where, n in unrun.items()),
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
        repro=_repro(MISSING[label], "connected") + "\nbackend.get_result(result.id)",
    )
