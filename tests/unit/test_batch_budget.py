"""A batch's waiting budget (conformance.jobs.Batch.execute)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conformance.jobs import Batch, Job


class SlowResult:
    """Finishes at ``ready_at`` (time.monotonic())."""

    def __init__(self, ready_at: float) -> None:
        self.ready_at = ready_at
        self.is_finished = False


class FakeDriver:
    """A backend working through its tasks one after the other, each taking
    ``step`` seconds: the last finishes long after ``patience``."""

    def __init__(self, worker_driven: bool, patience: float) -> None:
        self.worker_driven = worker_driven
        self.patience = patience

    def run(self, queue_names: Any = None) -> None:
        return None

    def settle(self, result: SlowResult, form: str, *, deadline: float) -> None:
        while time.monotonic() < min(deadline, result.ready_at):
            time.sleep(0.01)
        result.is_finished = time.monotonic() >= result.ready_at


@pytest.mark.parametrize(
    ("worker_driven", "all_finish"), [(False, True), (True, False)]
)
def test_a_backend_executing_on_its_own_gets_the_budget_again_per_finished_job(
    reference_tasks: Any, worker_driven: bool, all_finish: bool
) -> None:
    driver = FakeDriver(worker_driven, patience=0.4)
    batch = Batch(driver)  # type: ignore[arg-type]
    start = time.monotonic()
    for index in range(4):
        job = Job(
            label=f"j{index}", form="sync", token="", task=None, args=(), kwargs={}
        )
        job.result = SlowResult(start + 0.25 * (index + 1))
        batch.jobs[job.label, job.form] = job
    batch.execute()
    finished = [job.result.is_finished for job in batch.jobs.values()]
    # Worker-driven, the worker has returned: one budget for the batch.
    assert all(finished) is all_finish
