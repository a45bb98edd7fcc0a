"""The arguments a task receives (specs/arguments.toml)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from conformance import evidence, strategies, tasks
from conformance.driver import Driver
from conformance.jobs import new_token
from conformance.shared_batch import (
    AWKWARD_ARGS,
    AWKWARD_KWARGS,
    CAPTURE_ARGS,
    CAPTURE_KWARGS,
    Label,
    SharedBatches,
)
from conformance.support import Api, check_received, clause, refused_not_applicable
from conformance.violation import check


def _received(token: str, timeout: float) -> Any:
    __tracebackhide__ = True
    runs = evidence.await_runs(token, timeout)
    check(
        len(runs) >= 1,
        expected="the task ran and recorded what it received",
        observed="no execution recorded (a worker process must inherit "
        "CONFORMANCE_SETTINGS_FILE and share the file system)",
    )
    return runs[0]


@clause("ARGUMENTS-JSON-ROUND-TRIP")
def test_fixed_arguments(api: Api, shared_batches: SharedBatches) -> None:
    job = shared_batches.job(Label.CAPTURE, api.form)
    job.outcome(shared_batches.backend)
    received = _received(job.token, shared_batches.patience)
    check_received(received, CAPTURE_ARGS, CAPTURE_KWARGS, repro=job.repro)


@clause("ARGUMENTS-JSON-ROUND-TRIP")
def test_awkward_text_arguments(api: Api, shared_batches: SharedBatches) -> None:
    """NUL, lone surrogates and astral characters arrive unchanged (or
    enqueue refuses them: "n/a", reported)."""
    job = shared_batches.job(Label.CAPTURE_AWKWARD, api.form)
    refused_not_applicable(job.error, "the arguments")
    received = _received(job.token, shared_batches.adapter.timeout)
    check_received(received, AWKWARD_ARGS, AWKWARD_KWARGS, repro=job.repro)


@clause("ARGUMENTS-JSON-ROUND-TRIP")
def test_arguments_property(api: Api, task_driver: Driver) -> None:
    """Any JSON arguments (with tuples) arrive as their JSON round-trip."""
    jobs: list[tuple[str, Any, Any, Any]] = []

    @given(
        args=st.lists(strategies.json_values(tuples=True), max_size=4),
        kwargs=strategies.json_kwargs(tuples=True),
    )
    def enqueue(args: list[Any], kwargs: dict[str, Any]) -> None:
        token = new_token()
        jobs.append(
            (token, args, kwargs, api.enqueue(tasks.capture, token, *args, **kwargs))
        )

    enqueue()
    task_driver.run_checked()
    for token, args, kwargs, _ in jobs:
        repro = f"tasks.capture.{api.name('enqueue')}('token', *{args!r}, **{kwargs!r})"
        received = _received(token, task_driver.patience)
        check_received(received, args, kwargs, repro=repro)
