"""One table: a row per task result, which is also the queue.

Payload columns (``args``, ``kwargs``, ``return_value``, ``errors``) hold
JSON *text*, not a JSON type: the worker reads them with
``json.loads`` itself, so a corrupted row is something it can report (the
task ends FAILED) rather than something the database driver throws at it, and
the same column works the same way on SQLite and PostgreSQL.

The worker does not go through this model in its hot loop (see
:mod:`reference_backends.database.queries`); the model is the schema, the
migrations and the admin.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from .. import compat


class Status(models.TextChoices):
    """Mirrors ``TaskResultStatus``; spelled out so migrations never depend
    on which Tasks API (Django or the backport) is installed."""

    READY = "READY", "Ready"
    RUNNING = "RUNNING", "Running"
    FAILED = "FAILED", "Failed"
    SUCCESSFUL = "SUCCESSFUL", "Successful"


class TaskRecord(models.Model):
    # Handed out as 32 hex characters: a millisecond clock, then 80 random
    # bits. A UUID column: 16 bytes on PostgreSQL (where a text primary key
    # would also get a second, LIKE-pattern index to update on every write).
    id: models.UUIDField[str, str] = models.UUIDField(primary_key=True, editable=False)
    backend_name: models.TextField[str, str] = models.TextField(
        help_text="The TASKS alias that enqueued it."
    )
    task_path: models.TextField[str, str] = models.TextField(
        help_text="Dotted path of the Task object."
    )
    queue_name: models.TextField[str, str] = models.TextField()
    priority: models.SmallIntegerField[int, int] = models.SmallIntegerField(default=0)
    run_after: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(null=True, blank=True)
    )
    status: models.CharField[str, str] = models.CharField(
        max_length=10, choices=Status.choices, default=Status.READY
    )

    args: models.TextField[str, str] = models.TextField(
        default="[]", help_text="JSON list."
    )
    kwargs: models.TextField[str, str] = models.TextField(
        default="{}", help_text="JSON object."
    )
    return_value: models.TextField[str | None, str | None] = models.TextField(
        null=True, blank=True, help_text="JSON."
    )
    errors: models.TextField[str, str] = models.TextField(
        default="[]", help_text="JSON list of {exception_class_path, traceback}."
    )
    # One worker id per line: a claim appends with plain string concatenation,
    # in the same statement, on any database.
    worker_ids: models.TextField[str, str] = models.TextField(
        default="",
        blank=True,
        help_text="One worker id per line, one line per attempt.",
    )

    enqueued_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    started_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(null=True, blank=True)
    )
    last_attempted_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(null=True, blank=True)
    )
    finished_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(null=True, blank=True)
    )

    # What the worker needs: who holds a RUNNING row, and until when. A
    # worker renews the lease while the task runs; a row whose lease has
    # expired belongs to a worker that died.
    attempts: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(
        default=0
    )
    claimed_by: models.CharField[str | None, str | None] = models.CharField(
        max_length=64, null=True, blank=True
    )
    lease_expires_at: models.DateTimeField[datetime | None, datetime | None] = (
        models.DateTimeField(null=True, blank=True)
    )

    class Meta:
        verbose_name = "task result"
        constraints = [
            # Django's range: enqueue validates it, and this refuses a row
            # written around enqueue. Django and the backport both use
            # -100..100, so the migration's literals suit either.
            models.CheckConstraint(
                condition=Q(
                    priority__gte=compat.TASK_MIN_PRIORITY,
                    priority__lte=compat.TASK_MAX_PRIORITY,
                ),
                name="reference_tasks_priority_range",
            ),
        ]
        indexes = [
            # The claim: the next READY row of a backend, highest priority
            # first, then oldest. Partial, so it only holds the queue itself,
            # not the (much larger) history of finished results.
            models.Index(
                fields=["backend_name", "-priority", "enqueued_at"],
                name="reference_tasks_ready_idx",
                condition=Q(status="READY"),
            ),
            # Lease recovery: RUNNING rows whose lease has expired.
            models.Index(
                fields=["lease_expires_at"],
                name="reference_tasks_lease_idx",
                condition=Q(status="RUNNING"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_path} [{self.id}] {self.status}"


class ScheduleState(models.Model):
    """What the workers share about one entry of a backend's ``SCHEDULE``.

    ``last_due_at`` is the latest due time already enqueued: a worker
    enqueues a due time only by moving it forward, in the same transaction
    as the enqueue, so each due time is enqueued once however many workers
    race for it (see :mod:`.scheduler`). The entries themselves live in
    settings; a row whose entry was removed is inert.
    """

    backend_name: models.TextField[str, str] = models.TextField(
        help_text="The TASKS alias whose SCHEDULE holds the entry."
    )
    name: models.TextField[str, str] = models.TextField(
        help_text="The entry's key in SCHEDULE."
    )
    last_due_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        help_text="The latest due time enqueued (first seen: the current one)."
    )
    last_result_id: models.UUIDField[str | None, str | None] = models.UUIDField(
        null=True, blank=True, help_text="The result enqueued for last_due_at."
    )

    class Meta:
        verbose_name = "schedule entry"
        verbose_name_plural = "schedule entries"
        constraints = [
            models.UniqueConstraint(
                fields=["backend_name", "name"], name="reference_tasks_schedule_entry"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.backend_name}: {self.name}"
