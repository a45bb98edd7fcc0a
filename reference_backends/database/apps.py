from __future__ import annotations

from django.apps import AppConfig


class DatabaseTasksConfig(AppConfig):
    name = "reference_backends.database"
    # "database" alone would clash too easily with a project's own app.
    label = "reference_tasks"
    verbose_name = "Tasks (database backend)"
    default_auto_field = "django.db.models.BigAutoField"
