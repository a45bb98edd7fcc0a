"""The task context (specs/context.toml)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conformance import evidence
from conformance.adapters import Adapter
from conformance.shared_batch import CONTEXT_ARGS, CONTEXT_KWARGS, Label, shared_batch
from conformance.statuses import RUNNING
from conformance.support import Api, clause, json_difference, json_round_trip
from conformance.violation import check


def _context(
    api: Api, task_adapter: Adapter, task_backend: Any
) -> tuple[Any, dict[str, Any]]:
    """The context job and what the function saw in its context."""
    __tracebackhide__ = True
    job = shared_batch(task_adapter, task_backend).job(Label.CONTEXT, api.form)
    job.outcome(task_backend)
    runs = evidence.await_runs(job.token, task_adapter.timeout)
    check(
        len(runs) >= 1,
        expected="the takes_context task ran and recorded its context",
        observed="no execution recorded",
        repro=job.repro,
    )
    seen: dict[str, Any] = runs[-1]
    return job, seen


@clause("CONTEXT-RECEIVED")
def test_context_received(api: Api, task_adapter: Adapter, task_backend: Any) -> None:
    job, seen = _context(api, task_adapter, task_backend)
    check(
        seen["is_context"] and seen["is_result"],
        expected="a TaskContext whose task_result is a TaskResult",
        observed=f"TaskContext: {seen['is_context']}, TaskResult: {seen['is_result']}",
        repro=job.repro,
    )
    expected = {
        "args": json_round_trip(list(CONTEXT_ARGS)),
        "kwargs": json_round_trip(CONTEXT_KWARGS),
    }
    observed = {"args": list(seen["args"]), "kwargs": seen["kwargs"]}
    difference = json_difference(expected, observed, "received")
    check(
        difference is None,
        expected=f"then the arguments {expected!r}",
        observed=difference,
        repro=job.repro,
    )


@clause("CONTEXT-DESCRIBES-RESULT")
def test_context_describes_result(
    api: Api, task_adapter: Adapter, task_backend: Any
) -> None:
    job, seen = _context(api, task_adapter, task_backend)
    result = job.result
    expected = {
        "id": result.id,
        "module_path": result.task.module_path,
        "backend": result.backend,
        "result_args": json_round_trip([job.token, *CONTEXT_ARGS]),
        "result_kwargs": json_round_trip(CONTEXT_KWARGS),
    }
    observed = {name: seen[name] for name in expected}
    difference = json_difference(expected, observed, "context.task_result")
    check(
        difference is None,
        expected=repr(expected),
        observed=difference,
        repro=job.repro,
    )


@clause("CONTEXT-RUNNING")
def test_context_is_running(api: Api, task_adapter: Adapter, task_backend: Any) -> None:
    job, seen = _context(api, task_adapter, task_backend)
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
    check(
        not problems,
        expected="context.task_result RUNNING, not finished, started, not finished_at",
        observed="; ".join(problems),
        repro=job.repro,
    )


@clause("CONTEXT-ATTEMPT")
def test_context_attempt(api: Api, task_adapter: Adapter, task_backend: Any) -> None:
    job, seen = _context(api, task_adapter, task_backend)
    check(
        isinstance(seen["attempt"], int)
        and seen["attempt"] >= 1
        and seen["attempt"] == seen["attempts"],
        expected="context.attempt >= 1 and == context.task_result.attempts",
        observed=f"attempt={seen['attempt']!r}, attempts={seen['attempts']!r}, "
        f"worker_ids={seen['worker_ids']!r}",
        repro=job.repro,
    )
    result = job.outcome(task_backend)
    if result.is_finished:
        check(
            result.attempts == seen["attempt"],
            expected="the finished result's attempts == the attempt that produced it",
            observed=f"context.attempt={seen['attempt']}, result.attempts={result.attempts}",
            repro=job.repro,
        )
