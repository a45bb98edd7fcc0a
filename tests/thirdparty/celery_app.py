"""The project's Celery app, as Celery's Django guide lays it out (for django-tasks-celery)."""

from celery import Celery

app = Celery("conformance_thirdparty")
app.config_from_object("django.conf:settings", namespace="CELERY")
