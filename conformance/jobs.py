"""Jobs and batches: enqueues whose outcome the suites read later.

A :class:`Job` is one enqueue (in one form) and what became of it. A
:class:`Batch` enqueues many jobs, runs one worker pass and observes every
result once: against a backend whose worker starts a process per pass, that
is the difference between seconds and minutes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import lost
from .driver import Driver, WorkerStalled, check_worker_returned, observable
from .result_comparison import result_fields, timestamp_problems
from .statuses import FINISHED
from .support import FORMS, Api, result_summary
from .violation import check, describe_exception

#: ``build(token) -> (task, args, kwargs)``: what a job enqueues.
Builder = Callable[[str], tuple[Any, tuple[Any, ...], dict[str, Any]]]


def new_token() -> str:
    """A fresh token: tasks that record their runs are told one (evidence)."""
    return uuid.uuid4().hex


def now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def repro_of(task: Any, args: Any, kwargs: Any, form: str) -> str:
    """Python a person would type to enqueue what the kit enqueued.

    A task that returns a tagged value (``tasks.return_decoded``, so that a
    tuple stays a tuple on its way through JSON) is shown as a task that
    returns that value: the tagging is the kit's plumbing, not the finding.
    """
    enqueue = "await t.aenqueue" if form == "async" else "t.enqueue"
    if (
        getattr(task, "func", None) is not None
        and task.func.__name__ == "return_decoded"
    ):
        import json

        from . import evidence

        value = evidence.decode(json.loads(args[0]))
        return (
            "@task\n"
            "def t():\n"
            f"    return {value!r}\n"
            f"result = {enqueue}()\n"
            "# run the worker, then: result.refresh(); result.return_value"
        )
    call = ", ".join(
        [*(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())]
    )
    module = task.func.__module__
    return (
        f"from {module} import {task.func.__name__} as t\n"
        f"result = {enqueue}({call})\n"
        "# run the worker, then: result.refresh()"
    )


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
        return repro_of(self.task, self.args, self.kwargs, self.form)

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

    def check(self, condition: object, *, expected: str, observed: Any) -> None:
        """:func:`~conformance.violation.check`, reproduced by this job."""
        __tracebackhide__ = True
        check(condition, expected=expected, observed=observed, repro=self.repro)

    def check_timestamps(self, result: Any) -> None:
        """``result``'s timestamps are set, aware, ordered and within the job."""
        __tracebackhide__ = True
        problems = timestamp_problems(
            result, self.started, self.observed_at or self.started
        )
        self.check(
            not problems,
            expected="timestamps set, aware, ordered, within the run",
            observed="; ".join(problems),
        )

    def finished(self, backend: Any) -> Any:
        """:meth:`outcome`, checked to be finished (the worker ran it)."""
        __tracebackhide__ = True
        result = self.outcome(backend)
        check(
            result.is_finished and result.status in FINISHED,
            expected=f"{self.label}: the task finished (SUCCESSFUL or FAILED) after the worker ran",
            observed=lost.observed(result, result_summary(result)),
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
        # One budget for the whole batch: the worker pass and the waiting.
        # (None once a task was lost: see Driver.patience.) A backend that
        # executes on its own may still be working through the batch: its
        # budget starts again each time a job is seen finished, so a slow
        # but correct backend is not failed for the batch's size.
        patience = self.driver.patience
        deadline = time.monotonic() + patience
        self.worker_error = self.driver.run()
        # A worker that died left tasks behind: drain them (each run gets
        # further), so that they do not kill the worker runs of other clauses.
        # One that stalled would stall again: leave it.
        draining = self.worker_error is not None and not isinstance(
            self.worker_error, WorkerStalled
        )
        for _ in self.jobs if draining else ():
            if self.driver.run() is None:
                break
        for job in self.jobs.values():
            if job.result is not None:
                job.unobservable = self.driver.settle(
                    job.result, job.form, deadline=deadline
                )
                job.observed_at = now()
                if not self.driver.worker_driven and job.result.is_finished:
                    deadline = time.monotonic() + patience
        # A second pass must find nothing to do: finished tasks never rerun.
        self.rerun_error = self.driver.run()
        self.done = True

    def job(self, label: str, form: str) -> Job:
        __tracebackhide__ = True
        check_worker_returned(self.worker_error)
        return self.jobs[label, form]
