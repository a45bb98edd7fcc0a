"""run_after (specs/defer.toml)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from conformance import evidence, tasks
from conformance.driver import Driver
from conformance.jobs import new_token, now
from conformance.statuses import READY
from conformance.support import FORMS, Api, clause, whole_seconds_after
from conformance.support import result_summary as summary
from conformance.violation import check

#: UTC offsets far from UTC: a backend that drops tzinfo, or compares
#: naive local times, runs these hours early or late. The kit's own
#: TIME_ZONE (+05:45, :data:`conformance.settings_file.TIME_ZONE`) is added
#: at run time (:func:`_offsets`).
OFFSETS = (
    UTC,
    timezone(timedelta(hours=-10)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=5, minutes=30)),
)

#: A fraction of a second: how far ahead the sub-second run_after is due.
FRACTION = 0.4


def _offsets() -> tuple[tzinfo, ...]:
    """:data:`OFFSETS` and the current time zone of the settings under test."""
    from django.utils import timezone as django_timezone

    return (*OFFSETS, django_timezone.get_current_timezone())


def _enqueue(api: Api, run_after: datetime | None, token: str, priority: int) -> Any:
    task = tasks.capture.using(run_after=run_after)
    if priority:
        task = task.using(priority=priority)
    return api.enqueue(task, token)


def _enqueue_at(
    plan: Sequence[tuple[datetime | None, tzinfo, int]], *, whole_seconds: bool = True
) -> list[tuple[Api, str, datetime | None, Any]]:
    """A capture to run after each instant (at that offset, with that
    priority; None: ready now), forms alternating: ``(api, token, run_after,
    result)`` each. ``whole_seconds``: cut the microseconds off."""
    jobs = []
    for index, (when, offset, priority) in enumerate(plan):
        api = Api(FORMS[index % 2])
        run_after = None if when is None else when.astimezone(offset)
        if run_after is not None and whole_seconds:
            run_after = run_after.replace(microsecond=0)
        token = new_token()
        jobs.append((api, token, run_after, _enqueue(api, run_after, token, priority)))
    return jobs


def _enqueue_call(api: Api, run_after: datetime | None) -> str:
    """How :func:`_enqueue_at` enqueued a task, for reproductions."""
    return f"tasks.capture.using(run_after={run_after!r}).{api.name('enqueue')}('t')"


def _early_by_a_fraction() -> datetime:
    """:data:`FRACTION` s from now, microseconds and all, in a second that has
    already begun: a store that cuts run_after to the second finds it due now."""
    while not 0.05 <= now().microsecond / 1e6 <= 0.95 - FRACTION:
        time.sleep(0.02)
    return now() + timedelta(seconds=FRACTION)


def _refreshed(api: Api, result: Any) -> Any:
    # supports_get_result=False: no refresh, the execution evidence tells.
    with contextlib.suppress(NotImplementedError):
        api.refresh(result)
    return result


def _check_not_early(
    api: Api, token: str, run_after: datetime, result: Any, repro: str
) -> None:
    """Every run of ``token`` began at or after ``run_after``: as the function
    saw the clock, and as ``started_at`` says (when it is stored)."""
    __tracebackhide__ = True
    for ran_at in evidence.run_times(token):
        check(
            ran_at >= run_after.timestamp(),
            expected=f"the function runs no earlier than {run_after.isoformat()}",
            observed=f"it ran {run_after.timestamp() - ran_at:.6f} s early",
            repro=repro,
        )
    _refreshed(api, result)
    if result.started_at is not None:
        check(
            result.started_at >= run_after,
            expected=f"started_at not before run_after {run_after.isoformat()}",
            observed=summary(result),
            repro=repro,
        )


@clause("DEFER-NOT-EARLY")
def test_not_before_run_after(task_driver: Driver) -> None:
    """Deferred tasks at the head of the queue, in the middle and behind, in
    every offset; ready tasks around them (the worker has work to do)."""
    later = now() + timedelta(hours=1)
    soon = now() + timedelta(seconds=60)
    ahead, middle, behind = (
        (10, 0, -10) if task_driver.backend.supports_priority else (0, 0, 0)
    )
    offsets = _offsets()
    plan = [
        (later, offsets[0], ahead),  # the head of the queue
        (None, UTC, ahead),
        (later, offsets[1], ahead),  # behind a ready task of its priority
        (later, offsets[2], middle),  # between ready tasks
        (None, UTC, middle),
        *((later, offset, behind) for offset in offsets[3:]),  # behind them all
        (soon, UTC, behind),
    ]
    jobs = [job for job in _enqueue_at(plan) if job[2] is not None]
    repro = (
        "tasks.capture.using(run_after=<an hour ahead, UTC-10:00>).enqueue('t')\n"
        "tasks.capture.enqueue('t')  # ready now, before and after deferred ones\n"
        "# run the worker"
    )
    task_driver.run_checked(repro=repro)
    for api, token, run_after, result in jobs:
        assert run_after is not None
        repro = f"{_enqueue_call(api, run_after)}\n# run the worker now"
        check(
            evidence.runs(token) == [],
            expected=f"not run before {run_after.isoformat()}",
            observed=f"it ran at {now().isoformat()}",
            repro=repro,
        )
        _refreshed(api, result)
        check(
            result.status == READY,
            expected="still READY",
            observed=summary(result),
            repro=repro,
        )


@clause("DEFER-NOT-EARLY")
def test_not_early_by_a_fraction(task_driver: Driver) -> None:
    """run_after a fraction of a second ahead, to the microsecond, in the
    settings' time zone: the worker run at once and the one after it is due
    never start it before run_after, by any amount."""
    run_after = _early_by_a_fraction()
    jobs = _enqueue_at([(run_after, _offsets()[-1], 0)] * 2, whole_seconds=False)
    repro = (
        f"tasks.capture.using(run_after=<{FRACTION} s ahead, to the microsecond>)"
        ".enqueue('t')\n# run the worker at once, and again once it is due"
    )
    task_driver.run_checked(repro=repro)
    for api, token, due, result in jobs:
        assert due is not None
        _check_not_early(api, token, due, result, repro)
    time.sleep(max(0.0, (run_after - now()).total_seconds()) + 0.05)
    task_driver.run_checked(repro=repro)
    for api, token, due, result in jobs:
        assert due is not None
        _check_not_early(api, token, due, result, repro)


@clause("DEFER-RUNS-WHEN-DUE")
def test_runs_once_due(task_driver: Driver) -> None:
    # Whole seconds: a fraction is DEFER-NOT-EARLY's (a store that cuts it
    # would run the task early, never late).
    due = whole_seconds_after(0.5)
    past = now() - timedelta(seconds=2)
    jobs = _enqueue_at(
        [(past, OFFSETS[2], 0), (past, OFFSETS[1], 0)]
        + [(due, offset, 0) for offset in _offsets()]
    )
    repro = "tasks.capture.using(run_after=<2 s ago, UTC+14:00>).enqueue('t')\n# run the worker"
    task_driver.run_checked(repro=repro)
    for api, token, run_after, _ in jobs[:2]:
        check(
            len(evidence.runs(token)) == 1,
            expected=f"a task due since {run_after} runs at the next worker run",
            observed=f"it ran {len(evidence.runs(token))} time(s)",
            repro=_enqueue_call(api, run_after),
        )
    time.sleep(max(0.0, (due - now()).total_seconds()) + 0.05)
    task_driver.run_checked(repro=repro)
    for api, token, run_after, result in jobs:
        assert run_after is not None
        repro = f"{_enqueue_call(api, run_after)}\n# run the worker once run_after has passed"
        check(
            len(evidence.runs(token)) == 1,
            expected=f"once {run_after.isoformat()} has passed, the worker runs it",
            observed=f"it ran {len(evidence.runs(token))} time(s) by {now().isoformat()}",
            repro=repro,
        )
        _check_not_early(api, token, run_after, result, repro)


@clause("DEFER-DOES-NOT-BLOCK")
def test_deferred_does_not_block(task_driver: Driver) -> None:
    high = 100 if getattr(task_driver.backend, "supports_priority", False) else 0
    low = -100 if high else 0
    blocker = tasks.capture.using(run_after=now() + timedelta(hours=1), priority=high)
    waiting = [new_token() for _ in range(3)]
    for token in waiting:
        blocker.enqueue(token)
    ready = [new_token() for _ in range(2)]
    for index, token in enumerate(ready):
        Api(FORMS[index % 2]).enqueue(tasks.capture.using(priority=low), token)
    repro = (
        f"tasks.capture.using(run_after=<in an hour>, priority={high}).enqueue('t')  # 3 times\n"
        f"tasks.capture.using(priority={low}).enqueue('t')  # ready now\n# run the worker"
    )
    task_driver.run_checked(repro=repro)
    ran = [len(evidence.runs(token)) for token in ready]
    check(
        ran == [1] * len(ready),
        expected="the ready tasks ran although tasks enqueued before them are not due",
        observed=f"executions of the ready tasks: {ran}",
        repro=repro,
    )
