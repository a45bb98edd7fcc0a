"""The task context (specs/context.toml)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conformance import evidence
from conformance.jobs import Job
from conformance.shared_batch import CONTEXT_ARGS, CONTEXT_KWARGS, Label, SharedBatches
from conformance.statuses import RUNNING
from conformance.support import (
    Api,
    check_json,
    check_received,
    clause,
    json_round_trip,
)


def _context(api: Api, shared_batches: SharedBatches) -> tuple[Job, dict[str, Any]]:
    """The context job and what the function saw in its context."""
    __tracebackhide__ = True
    job = shared_batches.job(Label.CONTEXT, api.form)
    job.outcome(shared_batches.backend)
    runs = evidence.await_runs(job.token, shared_batches.patience)
    job.check(
        len(runs) >= 1,
        expected="the takes_context task ran and recorded its context",
        observed="no execution recorded",
    )
    seen: dict[str, Any] = runs[-1]
    return job, seen


@clause("CONTEXT-RECEIVED")
def test_context_received(api: Api, shared_batches: SharedBatches) -> None:
    job, seen = _context(api, shared_batches)
    job.check(
        seen["is_context"] and seen["is_result"],
        expected="a TaskContext whose task_result is a TaskResult",
        observed=f"TaskContext: {seen['is_context']}, TaskResult: {seen['is_result']}",
    )
    check_received(seen, CONTEXT_ARGS, CONTEXT_KWARGS, repro=job.repro)


@clause("CONTEXT-DESCRIBES-RESULT")
def test_context_describes_result(api: Api, shared_batches: SharedBatches) -> None:
    job, seen = _context(api, shared_batches)
    result = job.result
    expected = {
        "id": result.id,
        "module_path": result.task.module_path,
        "backend": result.backend,
        "result_args": json_round_trip([job.token, *CONTEXT_ARGS]),
        "result_kwargs": json_round_trip(CONTEXT_KWARGS),
    }
    observed = {name: seen[name] for name in expected}
    check_json(expected, observed, "context.task_result", repro=job.repro)


@clause("CONTEXT-RUNNING")
def test_context_is_running(api: Api, shared_batches: SharedBatches) -> None:
    job, seen = _context(api, shared_batches)
    problems = []
    if seen["status"] != str(RUNNING):
        problems.append(f"status {seen['status']}")
    if seen["is_finished"]:
        problems.append("is_finished True")
    for name in ("started_at", "last_attempted_at"):
        if seen[name] is None:
            problems.append(f"{name} None")
    if seen["finished_at"] is not None:
        problems.append(f"finished_at {seen['finished_at']}")
    if seen["started_at"] and datetime.fromisoformat(seen["started_at"]).tzinfo is None:
        problems.append("started_at naive")
    job.check(
        not problems,
        expected="context.task_result RUNNING, not finished, started, not finished_at",
        observed="; ".join(problems),
    )


@clause("CONTEXT-ATTEMPT")
def test_context_attempt(api: Api, shared_batches: SharedBatches) -> None:
    job, seen = _context(api, shared_batches)
    job.check(
        isinstance(seen["attempt"], int)
        and seen["attempt"] >= 1
        and seen["attempt"] == seen["attempts"],
        expected="context.attempt >= 1 and == context.task_result.attempts",
        observed=f"attempt={seen['attempt']!r}, attempts={seen['attempts']!r}, "
        f"worker_ids={seen['worker_ids']!r}",
    )
    result = job.outcome(shared_batches.backend)
    if result.is_finished:
        job.check(
            result.attempts == seen["attempt"],
            expected="the finished result's attempts == the attempt that produced it",
            observed=f"context.attempt={seen['attempt']}, result.attempts={result.attempts}",
        )
