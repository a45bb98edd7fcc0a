"""``conformance.result_comparison.result_fields``: every field, whatever the backend returned."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from conformance.result_comparison import field_differences, result_fields
from conformance.violation import MISSING


def _result(task: Any) -> Any:
    return SimpleNamespace(
        id="r1",
        status="FAILED",
        is_finished=True,
        enqueued_at=None,
        started_at=None,
        last_attempted_at=None,
        finished_at=None,
        args=[],
        kwargs={},
        backend="default",
        errors=[],
        worker_ids=[],
        attempts=0,
        task=task,
    )


def test_a_result_without_its_task_is_a_difference_not_a_crash() -> None:
    """A backend that returns ``task=None`` fails the clause on the fields."""
    task = SimpleNamespace(
        module_path="app.tasks.echo",
        priority=-5,
        queue_name="queue-b",
        backend="default",
        run_after=None,
        takes_context=False,
    )
    here = result_fields(_result(task))
    there = result_fields(_result(None))
    assert there["task"] == dict.fromkeys(here["task"], MISSING)
    differences = field_differences(here, there, sides=("here", "there"))
    assert any("queue_name" in line and "queue-b" in line for line in differences)
