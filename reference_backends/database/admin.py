"""The Django admin for stored results: filterable, errors readable, three actions.

Workers write results; the admin never edits one. Its actions:

* **re-enqueue**: a new result of the same task and arguments, through the
  Tasks API (``Task.enqueue``); the selected result is left as it is;
* **delete finished results**: SUCCESSFUL and FAILED ones only. A READY or
  RUNNING result is never deleted (a worker may be running it), and the
  admin says how many of the selected were skipped;
* above the list, how many results each queue holds in each status (of the
  results the current filters and search select).
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.auth import get_permission_codename
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html_join

from .. import compat
from . import records
from .models import ScheduleState, Status, TaskRecord
from .queries import FINISHED

if TYPE_CHECKING:
    # Generic in django-stubs only; subscripting it fails at run time.
    ModelAdmin = admin.ModelAdmin[TaskRecord]
else:
    ModelAdmin = admin.ModelAdmin


def reenqueue(record: TaskRecord) -> Any:
    """Enqueue ``record``'s task again with its arguments; the new TaskResult.

    Same backend, queue and priority; no ``run_after``: it runs as soon as a
    worker takes it. The stored path goes through the worker's safety rule
    (:func:`.records.resolve_task`): only a Task of the backend's task class
    is ever enqueued, never whatever a tampered row names.
    """
    backend = compat.task_backends[record.backend_name]
    row = records.Row.from_db([getattr(record, column) for column in records.COLUMNS])
    # replace, not using(): using(run_after=None) means "unchanged".
    task = dataclasses.replace(records.resolve_task(backend, row), run_after=None)
    args = records.decode_list(row.args, "args")
    kwargs = records.decode_dict(row.kwargs, "kwargs")
    return task.enqueue(*args, **kwargs)


def status_counts(queryset: QuerySet[TaskRecord]) -> dict[str, Any]:
    """Results per queue and status: one row per queue, a column per status."""
    statuses = list(Status.values)
    counts: dict[str, dict[str, int]] = {}
    for queue, status, count in (
        queryset.order_by()
        .values_list("queue_name", "status")
        .annotate(count=Count("pk"))
    ):
        counts.setdefault(queue, {})[status] = count
    rows = [
        (queue, [by_status.get(s, 0) for s in statuses], sum(by_status.values()))
        for queue, by_status in sorted(counts.items())
    ]
    totals = [sum(row[1][i] for row in rows) for i in range(len(statuses))]
    return {"statuses": statuses, "rows": rows, "totals": totals, "total": sum(totals)}


@admin.register(TaskRecord)
class TaskRecordAdmin(ModelAdmin):
    list_display = (
        "id",
        "task_path",
        "status",
        "queue_name",
        "priority",
        "enqueued_at",
        "finished_at",
        "attempts",
    )
    list_filter = ("status", "queue_name", "backend_name", "task_path")
    search_fields = ("id", "task_path")
    ordering = ("-enqueued_at",)
    date_hierarchy = "enqueued_at"
    readonly_fields = ("formatted_errors",)
    # The name replaces Django's own delete action, which would delete READY
    # and RUNNING results too (and its confirmation page posts back to it).
    actions = ("reenqueue", "delete_selected")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "task_path",
                    "status",
                    "backend_name",
                    "queue_name",
                    "priority",
                )
            },
        ),
        ("Call", {"fields": ("args", "kwargs", "return_value")}),
        ("Errors", {"fields": ("formatted_errors",)}),
        (
            "Timeline",
            {
                "fields": (
                    "run_after",
                    "enqueued_at",
                    "started_at",
                    "last_attempted_at",
                    "finished_at",
                )
            },
        ),
        (
            "Worker",
            {"fields": ("attempts", "worker_ids", "claimed_by", "lease_expires_at")},
        ),
    )

    @admin.display(description="errors")
    def formatted_errors(self, record: TaskRecord) -> str:
        """Each failed attempt's exception and traceback, preformatted."""
        try:
            entries = json.loads(record.errors)
        except ValueError:
            return record.errors
        if not isinstance(entries, list) or not entries:
            return "-"
        html: str = format_html_join(
            "",
            "<p><strong>{}</strong></p><pre>{}</pre>",
            (
                (e.get("exception_class_path", "?"), e.get("traceback", ""))
                for e in entries
                if isinstance(e, dict)
            ),
        )
        return html

    # -- the changelist's counts ------------------------------------------------
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        # A TemplateResponse is rendered late: the counts can still join its
        # context (a redirect after an action has none).
        context = getattr(response, "context_data", None)
        if context is not None and "cl" in context:
            context["status_counts"] = status_counts(context["cl"].queryset)
        return response

    # -- actions ----------------------------------------------------------------
    @admin.action(
        description="Re-enqueue selected results (new results, same task and arguments)",
        permissions=["reenqueue"],
    )
    def reenqueue(self, request: HttpRequest, queryset: QuerySet[TaskRecord]) -> None:
        enqueued, refused = 0, []
        for record in queryset:
            try:
                reenqueue(record)
            except Exception as exc:  # a path that no longer resolves, a queue gone...
                # The id as the Tasks API spells it: 32 hex characters.
                refused.append(f"{str(record.id).replace('-', '')}: {exc}")
            else:
                enqueued += 1
        if enqueued:
            self.message_user(
                request,
                f"Re-enqueued {enqueued} result(s) as new results.",
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                f"Could not re-enqueue {len(refused)} result(s): {'; '.join(refused)}",
                messages.ERROR,
            )

    def has_reenqueue_permission(self, request: HttpRequest) -> bool:
        """Re-enqueueing adds results: the model's "add" permission."""
        codename = get_permission_codename("add", self.opts)
        user: Any = request.user
        return bool(user.has_perm(f"{self.opts.app_label}.{codename}"))

    @admin.action(
        description="Delete selected finished results (never READY or RUNNING ones)",
        permissions=["delete"],
    )
    def delete_selected(
        self, request: HttpRequest, queryset: QuerySet[TaskRecord]
    ) -> HttpResponse | None:
        finished = queryset.filter(status__in=FINISHED)
        skipped = queryset.count() - finished.count()
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} selected result(s) that are READY or RUNNING: "
                "only finished results are deleted.",
                messages.WARNING,
            )
        if not finished.exists():
            return None
        # Django's own action on the finished ones: its confirmation page,
        # then the deletion and its message.
        response: HttpResponse | None = django_delete_selected(self, request, finished)
        return response

    # -- permissions -------------------------------------------------------------
    # Results are written by workers; the admin reads, re-enqueues and deletes.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status not in FINISHED:
            return False  # a worker may hold it: never from the admin
        return super().has_delete_permission(request, obj)


if TYPE_CHECKING:
    ScheduleAdmin = admin.ModelAdmin[ScheduleState]
else:
    ScheduleAdmin = admin.ModelAdmin


@admin.register(ScheduleState)
class ScheduleStateAdmin(ScheduleAdmin):
    """The schedule's shared state: which due time each entry last enqueued.

    The entries themselves are in settings (the backend's ``SCHEDULE``).
    """

    list_display = ("backend_name", "name", "last_due_at", "last_result_id")
    list_filter = ("backend_name",)
    ordering = ("backend_name", "name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
