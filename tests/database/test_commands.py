"""``task_worker``, ``prune_task_results``, the admin and the migrations."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from conformance import compat
from reference_backends.database.models import TaskRecord

Status = compat.TaskResultStatus


def test_task_worker_batch(tasks: Any) -> None:
    default = tasks.add.enqueue(1, 1)
    other = tasks.add.using(queue_name="other").enqueue(1, 1)
    call_command(
        "task_worker", "--batch", "--queue", "other", "--worker-id", "cmd", verbosity=0
    )
    assert TaskRecord.objects.get(id=other.id).status == "SUCCESSFUL"
    assert TaskRecord.objects.get(id=default.id).status == "READY"
    call_command(
        "task_worker", "--batch", "--max-tasks", "1", "--concurrency", "2", verbosity=2
    )
    assert TaskRecord.objects.get(id=default.id).worker_ids.startswith(
        TaskRecord.objects.get(id=default.id).claimed_by or ""
    )
    assert TaskRecord.objects.get(id=default.id).status == "SUCCESSFUL"


def test_task_worker_other_backend_alias(tasks: Any) -> None:
    result = tasks.add.using(backend="at-least-once").enqueue(1, 1)
    call_command(
        "task_worker", "--batch", "--backend", "at-least-once", "--poll-interval", "0.5"
    )
    assert TaskRecord.objects.get(id=result.id).status == "SUCCESSFUL"


@pytest.mark.parametrize(
    "args",
    [
        ["--backend", "nope"],
        ["--backend", "immediate"],
        ["--worker-id", "x" * 65],
        ["--worker-id", "a\nb"],
    ],
)
def test_task_worker_refuses_bad_options(tasks: Any, args: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("task_worker", "--batch", *args)


@pytest.mark.parametrize("args", [["--concurrency", "0"], ["--poll-interval", "0"]])
def test_task_worker_argument_validation(tasks: Any, args: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("task_worker", *args)


def test_prune(tasks: Any) -> None:
    old = tasks.add.enqueue(1, 1)
    recent = tasks.add.enqueue(1, 1)
    failed = tasks.fail.enqueue()
    waiting = tasks.add.enqueue(1, 1)
    call_command("task_worker", "--batch", "--max-tasks", "3", verbosity=0)
    long_ago = timezone.now() - timedelta(days=30)
    TaskRecord.objects.filter(id__in=[old.id, failed.id]).update(finished_at=long_ago)
    TaskRecord.objects.filter(id=waiting.id).update(enqueued_at=long_ago)

    out = io.StringIO()
    call_command("prune_task_results", "--older-than", "7d", "--dry-run", stdout=out)
    assert "would delete 2 " in out.getvalue()
    out = io.StringIO()
    call_command(
        "prune_task_results", "--older-than", "1w", "--status", "FAILED", stdout=out
    )
    assert out.getvalue().startswith("deleted 1 FAILED result(s)")
    assert {i.hex for i in TaskRecord.objects.values_list("id", flat=True)} == {
        old.id,
        recent.id,
        waiting.id,
    }
    call_command("prune_task_results", stdout=out)
    assert {i.hex for i in TaskRecord.objects.values_list("id", flat=True)} == {
        recent.id,
        waiting.id,
    }
    call_command("prune_task_results", "--older-than", "0s", stdout=out)
    assert {i.hex for i in TaskRecord.objects.values_list("id", flat=True)} == {
        waiting.id
    }


@pytest.mark.parametrize("older_than", ["7", "7.5", "7 days", "7x"])
def test_prune_refuses_an_age_without_a_unit(tasks: Any, older_than: str) -> None:
    """A bare number once meant seconds: "7" deleted what had just finished."""
    result = tasks.add.enqueue(1, 1)
    call_command("task_worker", "--batch", verbosity=0)
    with pytest.raises(CommandError, match=r"a number and a unit, s, m, h, d"):
        call_command("prune_task_results", "--older-than", older_than)
    assert TaskRecord.objects.filter(id=result.id).exists()


@pytest.mark.parametrize("args", [["--backend", "nope"], ["--backend", "immediate"]])
def test_prune_refuses_bad_alias(tasks: Any, args: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("prune_task_results", *args)


def test_age_parser() -> None:
    from argparse import ArgumentTypeError

    from reference_backends.database.management.commands.prune_task_results import age

    assert age("90s") == timedelta(seconds=90)
    assert age("1.5h") == timedelta(minutes=90)
    assert age("2w") == timedelta(days=14)
    for text in ("soon", "90", "7 d"):
        with pytest.raises(ArgumentTypeError):
            age(text)


def test_admin(tasks: Any) -> None:
    from django.contrib import admin

    from reference_backends.database.admin import TaskRecordAdmin

    model_admin = admin.site._registry[TaskRecord]
    assert isinstance(model_admin, TaskRecordAdmin)
    assert not model_admin.has_add_permission(None)  # type: ignore[arg-type]
    assert not model_admin.has_change_permission(None)  # type: ignore[arg-type]
    record = TaskRecord(
        errors=json.dumps([{"exception_class_path": "x.Y", "traceback": "<tb>"}])
    )
    html = model_admin.formatted_errors(record)
    assert "x.Y" in html
    assert "&lt;tb&gt;" in html
    assert model_admin.formatted_errors(TaskRecord(errors="[]")) == "-"
    assert model_admin.formatted_errors(TaskRecord(errors="oops")) == "oops"
    assert str(TaskRecord(id="0" * 32, task_path="a.b", status="READY")).startswith(
        "a.b"
    )


def test_migrations_are_complete(task_database: None) -> None:
    out = io.StringIO()
    call_command(
        "makemigrations", "reference_tasks", "--check", "--dry-run", stdout=out
    )
