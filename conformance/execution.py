"""Helpers of the execution suites: make the backend run tasks, observe them.

The suites never call the backend's worker directly: a :class:`Driver`
holds the adapter (see :mod:`conformance.adapters`) and runs ready tasks the
way the adapter says. A :class:`Job` is one enqueue and what became of it.

Most execution clauses read the same kind of evidence, so the suites share
one :class:`Batch`: every task they need enqueued (in both forms), one worker
pass, every result observed once. Against a backend whose worker starts a
process per pass, that is the difference between seconds and minutes.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync

from . import compat
from .support import Api, not_applicable, result_summary
from .violation import check, describe_exception

FORMS = ("sync", "async")
READY = compat.TaskResultStatus.READY
RUNNING = compat.TaskResultStatus.RUNNING
SUCCESSFUL = compat.TaskResultStatus.SUCCESSFUL
FAILED = compat.TaskResultStatus.FAILED
FINISHED = frozenset({SUCCESSFUL, FAILED})

#: Clock and storage-precision slack when a timestamp is compared with the
#: kit's own clock (a store may keep whole seconds; a worker may be remote).
CLOCK_SLACK = timedelta(seconds=2)


def new_token() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    from django.utils import timezone

    return timezone.now()


# -- driving the backend -----------------------------------------------------
class Driver:
    """Runs ready tasks through the adapter and waits for results."""

    def __init__(self, adapter: Any, backend: Any) -> None:
        self.adapter = adapter
        self.backend = backend

    @property
    def worker_driven(self) -> bool:
        return bool(self.adapter.executes and self.adapter.worker_driven)

    def run(self, queue_names: Sequence[str] | None = None) -> BaseException | None:
        """One worker pass (nothing to do unless worker-driven).

        Returns what the worker raised instead of raising it: a worker that
        dies is a finding for the clause at hand, not a crash of the kit.
        """
        if not self.worker_driven:
            return None
        try:
            self.adapter.run_ready(
                self.backend, list(queue_names) if queue_names else None
            )
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            return exc
        return None

    def settle(self, result: Any, form: str = "sync") -> str | None:
        """Refresh ``result`` (in ``form``) until finished or the timeout.

        Returns None when the result could be observed, else why not (the
        backend cannot refresh: ``NotImplementedError``).
        """
        api = Api(form)
        deadline = time.monotonic() + self.adapter.timeout
        delay = 0.005
        while True:
            # At least one refresh in the form under test, even when finished.
            try:
                api.refresh(result)
            except NotImplementedError as exc:
                # A synchronous backend's result is final already.
                return None if result.is_finished else describe_exception(exc)
            if result.is_finished or time.monotonic() > deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def run_concurrently(driver: Driver, workers: int) -> list[BaseException | None]:
    """``workers`` worker runs started together, each in its own thread."""
    from django.db import connections

    start = threading.Barrier(workers)
    outcomes: list[BaseException | None] = [None] * workers

    def work(index: int) -> None:
        try:
            start.wait()
            outcomes[index] = driver.run()
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(i,), name=f"conformance-worker-{i}")
        for i in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(driver.adapter.timeout * 10)
    return outcomes


def observable(reason: str | None, backend: Any, what: str) -> None:
    """Fail or "n/a" when a result could not be observed (``reason``)."""
    __tracebackhide__ = True
    if reason is None:
        return
    check(
        not getattr(backend, "supports_get_result", False),
        expected=f"{what}: refresh() answers, as supports_get_result is True",
        observed=reason,
    )
    not_applicable(
        f"the result cannot be observed after the worker ran ({reason}; "
        "supports_get_result=False)"
    )


# -- jobs and batches ----------------------------------------------------------
Builder = Callable[[str], tuple[Any, tuple[Any, ...], dict[str, Any]]]


@dataclass
class Job:
    """One enqueue (in one form) and what became of it."""

    label: str
    form: str
    token: str
    task: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    started: datetime = field(default_factory=now)
    result: Any = None
    error: BaseException | None = None
    at_enqueue: dict[str, Any] = field(default_factory=dict)
    unobservable: str | None = None
    observed_at: datetime | None = None

    @property
    def repro(self) -> str:
        call = ", ".join(
            [
                *(repr(a) for a in self.args),
                *(f"{k}={v!r}" for k, v in self.kwargs.items()),
            ]
        )
        enqueue = "aenqueue" if self.form == "async" else "enqueue"
        module = self.task.func.__module__
        return (
            f"from {module} import {self.task.func.__name__} as t\n"
            f"result = {'await ' if self.form == 'async' else ''}t.{enqueue}({call})\n"
            "# run the worker, then: result.refresh()"
        )

    def outcome(self, backend: Any) -> Any:
        """The observed result; fails the clause if enqueue raised, n/a if unobservable."""
        __tracebackhide__ = True
        check(
            self.error is None,
            expected=f"{self.label}: enqueue returns a TaskResult",
            observed=describe_exception(self.error),
            repro=self.repro,
        )
        observable(self.unobservable, backend, self.label)
        return self.result

    def finished(self, backend: Any) -> Any:
        """:meth:`outcome`, checked to be finished (the worker ran it)."""
        __tracebackhide__ = True
        result = self.outcome(backend)
        check(
            result.is_finished and result.status in FINISHED,
            expected=f"{self.label}: the task finished (SUCCESSFUL or FAILED) after the worker ran",
            observed=result_summary(result),
            repro=self.repro,
        )
        return result


def enqueue_job(label: str, form: str, build: Builder) -> Job:
    token = new_token()
    task, args, kwargs = build(token)
    job = Job(label=label, form=form, token=token, task=task, args=args, kwargs=kwargs)
    try:
        job.result = Api(form).enqueue(task, *args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # even SystemExit from a synchronous backend
        job.error = exc
        return job
    job.at_enqueue = result_fields(job.result)
    return job


class Batch:
    """Jobs enqueued together, run by one worker pass, then observed."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.jobs: dict[tuple[str, str], Job] = {}
        self.worker_error: BaseException | None = None
        self.rerun_error: BaseException | None = None
        self.done = False

    def add(self, label: str, build: Builder, forms: Iterable[str] = FORMS) -> None:
        for form in forms:
            self.jobs[label, form] = enqueue_job(label, form, build)

    def execute(self) -> None:
        self.worker_error = self.driver.run()
        # A worker that died left tasks behind: drain them (each run gets
        # further), so that they do not kill the worker runs of other clauses.
        for _ in self.jobs if self.worker_error is not None else ():
            if self.driver.run() is None:
                break
        for job in self.jobs.values():
            if job.result is not None:
                job.unobservable = self.driver.settle(job.result, job.form)
                job.observed_at = now()
        # A second pass must find nothing to do: finished tasks never rerun.
        self.rerun_error = self.driver.run()
        self.done = True

    def job(self, label: str, form: str) -> Job:
        __tracebackhide__ = True
        check(
            self.worker_error is None,
            expected="the worker runs the ready tasks without raising",
            observed=describe_exception(self.worker_error),
        )
        return self.jobs[label, form]


# -- what a result says ------------------------------------------------------------
def _when(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def result_fields(result: Any) -> dict[str, Any]:
    """Everything a TaskResult tells a user, as JSON (for comparisons)."""
    task = result.task
    fields: dict[str, Any] = {
        "id": result.id,
        "status": str(result.status),
        "is_finished": result.is_finished,
        "enqueued_at": _when(result.enqueued_at),
        "started_at": _when(result.started_at),
        "last_attempted_at": _when(result.last_attempted_at),
        "finished_at": _when(result.finished_at),
        "args": result.args,
        "kwargs": result.kwargs,
        "backend": result.backend,
        "errors": [
            [error.exception_class_path, error.traceback] for error in result.errors
        ],
        "worker_ids": list(result.worker_ids),
        "attempts": result.attempts,
        "task": {
            "module_path": task.module_path,
            "priority": task.priority,
            "queue_name": task.queue_name,
            "backend": task.backend,
            "run_after": _when(task.run_after),
            "takes_context": task.takes_context,
        },
    }
    if result.status == SUCCESSFUL:
        fields["return_value"] = result.return_value
    return fields


def field_differences(expected: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    return [
        f"{name}: expected {expected.get(name)!r}, observed {observed.get(name)!r}"
        for name in sorted(set(expected) | set(observed))
        if expected.get(name) != observed.get(name)
    ]


TIMESTAMPS = ("enqueued_at", "started_at", "last_attempted_at", "finished_at")


def timestamp_problems(result: Any, earliest: datetime, latest: datetime) -> list[str]:
    """What is wrong with a finished result's timestamps, if anything.

    Set, aware (the kit runs with USE_TZ=True), ordered
    ``enqueued_at <= started_at <= last_attempted_at <= finished_at``, and
    within the run (``earliest``..``latest``, with :data:`CLOCK_SLACK`).
    """
    problems: list[str] = []
    values: dict[str, Any] = {name: getattr(result, name, None) for name in TIMESTAMPS}
    for name, value in values.items():
        if not isinstance(value, datetime):
            problems.append(f"{name} is {value!r}, not a datetime")
        elif value.tzinfo is None or value.utcoffset() is None:
            problems.append(f"{name} is naive ({value!r})")
    if problems:
        return problems
    for before, after in itertools.pairwise(TIMESTAMPS):
        if values[before] > values[after]:
            problems.append(
                f"{before} ({values[before].isoformat()}) is after "
                f"{after} ({values[after].isoformat()})"
            )
    for name, value in values.items():
        if not earliest - CLOCK_SLACK <= value <= latest + CLOCK_SLACK:
            problems.append(
                f"{name} ({value.isoformat()}) is outside the run "
                f"({earliest.isoformat()} .. {latest.isoformat()})"
            )
    return problems


# -- elsewhere: another thread, another process ------------------------------------
_SUBPROCESS_SCRIPT = """
import json, sys
import django
django.setup()
from asgiref.sync import async_to_sync
from conformance import compat
from conformance.execution import result_fields
backend = compat.task_backends[sys.argv[1]]
answers = {}
for result_id in sys.argv[2:]:
    for form in ("sync", "async"):
        try:
            if form == "sync":
                result = backend.get_result(result_id)
            else:
                result = async_to_sync(backend.aget_result)(result_id)
            answers[f"{form}:{result_id}"] = {"fields": result_fields(result)}
        except Exception as exc:
            kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
            answers[f"{form}:{result_id}"] = {"error": f"{kind}: {exc}"}
print("CONFORMANCE-ANSWER " + json.dumps(answers, default=str))
"""


def fields_in_other_process(
    alias: str, result_ids: Sequence[str], timeout: float
) -> dict[str, dict[str, Any]]:
    """``get_result``/``aget_result`` of each id, in a new Python process.

    The process inherits this one's environment (``DJANGO_SETTINGS_MODULE``
    and ``CONFORMANCE_SETTINGS_FILE``: the same settings) and its import path.
    Keys are ``"sync:<id>"`` and ``"async:<id>"``.
    """
    env = dict(os.environ)
    paths = [p for p in sys.path if p] + [env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    completed = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_SCRIPT, alias, *result_ids],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("CONFORMANCE-ANSWER "):
            answers: dict[str, dict[str, Any]] = json.loads(
                line.removeprefix("CONFORMANCE-ANSWER ")
            )
            return answers
    raise RuntimeError(
        f"the other process gave no answer (exit {completed.returncode}):\n"
        f"{completed.stderr[-2000:]}"
    )


def comparable(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` as JSON would carry them (what a subprocess prints)."""
    converted: dict[str, Any] = json.loads(json.dumps(fields, default=str))
    return converted


def get_result_in_form(form: str, source: Any, result_id: str) -> Any:
    if form == "async":
        return async_to_sync(source.aget_result)(result_id)
    return source.get_result(result_id)


# -- the shared batch ----------------------------------------------------------------
#: What ``capture`` is given in the shared batch: every JSON kind, tuples inside.
CAPTURE_ARGS: tuple[Any, ...] = (
    1,
    "two",
    [3, (4, 5)],
    {"six": 6.0, "seven": None, "eight": True},
    -0.5,
    "ünï ✓",
    2**53 - 1,
)
CAPTURE_KWARGS: dict[str, Any] = {
    "key": "value",
    "nested": {"a": (1, 2), "b": [False, 0, 0.0, ""]},
    "token": "a keyword named like the positional-only parameter",
}
#: What ``return_decoded`` returns in the shared batch.
RETURN_SAMPLE: Any = {
    "tuple": (1, (2, 3)),
    "list": [True, None, 1.5, -7, 0.0, 0],
    "text": "ünïcode ✓",
    "nested": {"deep": [{"x": 0.25}], "empty": {}},
    "big": 2**53 - 1,
}
CONTEXT_ARGS: tuple[Any, ...] = (1, [2, (3,)])
CONTEXT_KWARGS: dict[str, Any] = {"key": {"k": (4,)}}
#: Kinds of :data:`conformance.tasks.EXCEPTIONS` raised in the shared batch.
FAILURE_KINDS = ("TaskFailure", "nested", "ValueError", "NotAnException", "SystemExit")
UNSERIALIZABLE_TASKS = {
    "unserializable-set": "return_unserializable",
    "unserializable-object": "return_opaque",
    "unserializable-nested": "return_nested_unserializable",
}

#: Kinds whose exception is a BaseException but not an Exception: a worker
#: that lets one escape dies. They run in a batch of their own, so that such a
#: worker fails the clauses about them, not every clause of the main batch.
BASE_EXCEPTION_KINDS = ("NotAnException", "SystemExit")
BASE_EXCEPTION_LABELS = frozenset(
    {*(f"fail-{kind}" for kind in BASE_EXCEPTION_KINDS), "after-base"}
)


class SharedBatches:
    """The batches the outcome clauses read, each built and run on first use."""

    def __init__(self, adapter: Any, backend: Any) -> None:
        self.adapter = adapter
        self.backend = backend
        self.groups: dict[str, Batch] = {}

    def group(self, name: str) -> Batch:
        batch = self.groups.get(name)
        if batch is None:
            batch = self.groups[name] = Batch(Driver(self.adapter, self.backend))
            if name == "main":
                _fill_main(batch, self.backend)
            else:
                _fill_base_exceptions(batch)
            batch.execute()
        return batch

    def job(self, label: str, form: str) -> Job:
        __tracebackhide__ = True
        name = "base-exceptions" if label in BASE_EXCEPTION_LABELS else "main"
        return self.group(name).job(label, form)

    @property
    def rerun_error(self) -> BaseException | None:
        return self.group("main").rerun_error


_SHARED: dict[int, SharedBatches] = {}


def shared_batch(adapter: Any, backend: Any) -> SharedBatches:
    """The shared batches of this session (see :class:`Batch`)."""
    shared = _SHARED.get(id(adapter))
    if shared is None:
        shared = _SHARED[id(adapter)] = SharedBatches(adapter, backend)
    return shared


def _fill_main(batch: Batch, backend: Any) -> None:
    from . import tasks

    batch.add("capture", lambda t: (tasks.capture, (t, *CAPTURE_ARGS), CAPTURE_KWARGS))
    batch.add("return-none", lambda t: (tasks.noop, (), {}))
    batch.add("return-tuple", lambda t: (tasks.return_tuple, (), {}))
    batch.add(
        "return-sample",
        lambda t: (
            tasks.return_decoded,
            (json.dumps(encode_value(RETURN_SAMPLE)),),
            {},
        ),
    )
    for kind in FAILURE_KINDS:
        if kind not in BASE_EXCEPTION_KINDS:
            batch.add(f"fail-{kind}", functools.partial(_raising, kind))
    for label, name in UNSERIALIZABLE_TASKS.items():
        batch.add(label, functools.partial(_returning_from, name))
    batch.add(
        "context",
        lambda t: (tasks.capture_context, (t, *CONTEXT_ARGS), CONTEXT_KWARGS),
    )
    if getattr(backend, "supports_async_task", False):
        from . import async_tasks

        batch.add(
            "async-echo",
            lambda t: (async_tasks.async_echo, CAPTURE_ARGS, {"key": [1, (2,)]}),
        )
        batch.add(
            "async-fail", lambda t: (async_tasks.async_fail, (failure_message(t),), {})
        )
        batch.add("async-context", lambda t: (async_tasks.async_with_context, (), {}))
    # Enqueued last: it runs only if the worker survived everything above.
    batch.add("after", lambda t: (tasks.capture, (t,), {}))


def _fill_base_exceptions(batch: Batch) -> None:
    from . import tasks

    for kind in BASE_EXCEPTION_KINDS:
        batch.add(f"fail-{kind}", functools.partial(_raising, kind))
    batch.add("after-base", lambda t: (tasks.capture, (t,), {}))


def _raising(kind: str, token: str) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    from . import tasks

    return tasks.raise_exception, (kind, failure_message(token)), {}


def _returning_from(
    name: str, token: str
) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    from . import tasks

    return getattr(tasks, name), (), {}


def failure_message(token: str) -> str:
    return f"conformance failure {token}"


def encode_value(value: Any) -> Any:
    from .evidence import encode

    return encode(value)


def await_runs(token: str, timeout: float) -> list[Any]:
    """What the executions of ``token`` recorded, waiting up to ``timeout``."""
    from .evidence import runs

    deadline = time.monotonic() + timeout
    while True:
        found = runs(token)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)
