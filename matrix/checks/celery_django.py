"""Plain Django set up for django-tasks-celery on a Redis server (the checks' one set-up).

The settings its README gives: Celery's broker and result backend on Redis,
extended results, and the project's Celery app as Celery's Django guide lays
it out (``tests/thirdparty/celery_app.py``).
"""

from __future__ import annotations

import django
from django.conf import settings


def set_up(redis_url: str) -> None:
    """Configure and set up Django for ``redis://HOST:PORT`` (no database)."""
    settings.configure(
        INSTALLED_APPS=[],
        USE_TZ=True,
        CELERY_BROKER_URL=f"{redis_url}/0",
        CELERY_RESULT_BACKEND=f"{redis_url}/1",
        CELERY_RESULT_EXTENDED=True,
        TASKS={
            "default": {
                "BACKEND": "django_tasks_celery.CeleryBackend",
                "OPTIONS": {"CELERY_APP": "tests.thirdparty.celery_app.app"},
            }
        },
    )
    django.setup()
