"""The Django admin for stored results: read-only, filterable, errors readable."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from .models import TaskRecord

if TYPE_CHECKING:
    # Generic in django-stubs only; subscripting it fails at run time.
    ModelAdmin = admin.ModelAdmin[TaskRecord]
else:
    ModelAdmin = admin.ModelAdmin


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
            {
                "fields": (
                    "attempts",
                    "retry_at",
                    "worker_ids",
                    "claimed_by",
                    "lease_expires_at",
                )
            },
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

    # Results are written by workers; the admin only reads (and deletes).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
