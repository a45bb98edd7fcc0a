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
from conformance.statuses import READY, SUCCESSFUL
from conformance.support import FORMS, Api, clause
from conformance.support import result_summary as summary
from conformance.violation import check

#: UTC offsets far from UTC: a backend that drops tzinfo, or compares
#: naive local times, runs these hours early or late.
OFFSETS = (
    UTC,
    timezone(timedelta(hours=-10)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=5, minutes=30)),
)


def _enqueue(api: Api, run_after: datetime, token: str) -> Any:
    return api.enqueue(tasks.capture.using(run_after=run_after), token)


def _enqueue_at(
    plan: Sequence[tuple[datetime, tzinfo]],
) -> list[tuple[Api, str, datetime, Any]]:
    """A capture to run after each instant (in whole seconds, at that offset),
    forms alternating: ``(api, token, run_after, result)`` each."""
    jobs = []
    for index, (when, offset) in enumerate(plan):
        api = Api(FORMS[index % 2])
        run_after = when.astimezone(offset).replace(microsecond=0)
        token = new_token()
        jobs.append((api, token, run_after, _enqueue(api, run_after, token)))
    return jobs


def _enqueue_call(api: Api, run_after: datetime) -> str:
    """How :func:`_enqueue_at` enqueued a task, for reproductions."""
    return f"tasks.capture.using(run_after={run_after!r}).{api.name('enqueue')}('t')"


def _whole_seconds_after(seconds: float) -> datetime:
    """An instant at least ``seconds`` ahead, in whole seconds (any store keeps it)."""
    return (now() + timedelta(seconds=seconds + 1)).replace(microsecond=0)


def _refreshed(api: Api, result: Any) -> Any:
    # supports_get_result=False: no refresh, the execution evidence tells.
    with contextlib.suppress(NotImplementedError):
        api.refresh(result)
    return result


@clause("DEFER-NOT-EARLY")
def test_not_before_run_after(task_driver: Driver) -> None:
    later = now() + timedelta(hours=1)
    soon = now() + timedelta(seconds=60)
    jobs = _enqueue_at([(later, offset) for offset in OFFSETS] + [(soon, UTC)])
    repro = (
        "tasks.capture.using(run_after=<an hour ahead, UTC-10:00>).enqueue('t')\n"
        "# run the worker"
    )
    task_driver.run_checked(repro=repro)
    for api, token, run_after, result in jobs:
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


@clause("DEFER-RUNS-WHEN-DUE")
def test_runs_once_due(task_driver: Driver) -> None:
    due = _whole_seconds_after(0.5)
    past = now() - timedelta(seconds=2)
    jobs = _enqueue_at(
        [(past, OFFSETS[2]), (past, OFFSETS[1])] + [(due, offset) for offset in OFFSETS]
    )
    repro = "tasks.capture.using(run_after=<2 s ago, UTC+14:00>).enqueue('t')\n# run the worker"
    task_driver.run_checked(repro=repro)
    for api, token, run_after, _ in jobs[:2]:
        check(
            len(evidence.runs(token)) == 1,
            expected=f"a task due since {run_after.isoformat()} runs at the next worker run",
            observed=f"it ran {len(evidence.runs(token))} time(s)",
            repro=_enqueue_call(api, run_after),
        )
    time.sleep(max(0.0, (due - now()).total_seconds()) + 0.05)
    task_driver.run_checked(repro=repro)
    for api, token, run_after, result in jobs:
        repro = f"{_enqueue_call(api, run_after)}\n# run the worker once run_after has passed"
        check(
            len(evidence.runs(token)) == 1,
            expected=f"once {run_after.isoformat()} has passed, the worker runs it",
            observed=f"it ran {len(evidence.runs(token))} time(s) by {now().isoformat()}",
            repro=repro,
        )
        _refreshed(api, result)
        if result.status == SUCCESSFUL:
            check(
                result.started_at is not None and result.started_at >= run_after,
                expected=f"started_at not before run_after {run_after.isoformat()}",
                observed=summary(result),
                repro=repro,
            )


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
