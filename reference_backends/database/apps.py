from __future__ import annotations

from django.apps import AppConfig


class DatabaseTasksConfig(AppConfig):
    name = "reference_backends.database"
    # "database" alone would clash too easily with a project's own app.
    label = "reference_tasks"
    verbose_name = "Tasks (database backend)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django registers its task checks (which call every backend's
        # check()) when the Tasks API is first imported, and nothing in
        # Django imports it at start-up: without this, `manage.py check`
        # would report E001-E004 only in projects that happen to import it.
        from .. import compat  # noqa: F401
