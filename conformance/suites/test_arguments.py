"""The arguments a task receives (specs/arguments.toml)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from conformance import evidence, strategies, tasks
from conformance.adapters import Adapter
from conformance.driver import Driver
from conformance.jobs import new_token
from conformance.shared_batch import CAPTURE_ARGS, CAPTURE_KWARGS, Label, shared_batch
from conformance.support import Api, clause, json_difference, json_round_trip
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


def _check_received(received: Any, args: Any, kwargs: Any, repro: str) -> None:
    __tracebackhide__ = True
    expected = {"args": json_round_trip(list(args)), "kwargs": json_round_trip(kwargs)}
    # The function's *args is a tuple by Python's rules: compare its items.
    observed = {"args": list(received["args"]), "kwargs": received["kwargs"]}
    difference = json_difference(expected, observed, "received")
    check(difference is None, expected=repr(expected), observed=difference, repro=repro)


@clause("ARGUMENTS-JSON-ROUND-TRIP")
def test_fixed_arguments(api: Api, task_adapter: Adapter, task_backend: Any) -> None:
    job = shared_batch(task_adapter, task_backend).job(Label.CAPTURE, api.form)
    job.outcome(task_backend)
    _check_received(
        _received(job.token, task_adapter.timeout),
        CAPTURE_ARGS,
        CAPTURE_KWARGS,
        job.repro,
    )


@clause("ARGUMENTS-JSON-ROUND-TRIP")
def test_arguments_property(api: Api, task_adapter: Adapter, task_backend: Any) -> None:
    """Any JSON arguments (with tuples) arrive as their JSON round-trip."""
    driver = Driver(task_adapter, task_backend)
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
    driver.run_checked()
    for token, args, kwargs, _ in jobs:
        repro = f"tasks.capture.{api.name('enqueue')}('token', *{args!r}, **{kwargs!r})"
        _check_received(_received(token, task_adapter.timeout), args, kwargs, repro)
