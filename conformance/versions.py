"""Which Tasks API is installed. Imports nothing but Django's version, so the
settings module can use it before Django is configured."""

from __future__ import annotations

import django
from packaging.version import Version

DJANGO_VERSION = Version(django.__version__)

#: True when Django itself ships ``django.tasks`` (6.0 and later).
NATIVE = DJANGO_VERSION >= Version("6.0.dev0")

#: Import root of the API under test: what users import.
API_ROOT = "django.tasks" if NATIVE else "django_tasks"

#: The backport needs its app installed; native Django does not.
REQUIRED_APPS: tuple[str, ...] = () if NATIVE else ("django_tasks",)

#: Pickling of Task and TaskResult arrived in Django 6.1.
SUPPORTS_PICKLING = DJANGO_VERSION >= Version("6.1.dev0")

#: ``@task(**kwargs)`` forwards unknown keywords to ``task_class`` (6.1+, backport).
TASK_DECORATOR_FORWARDS_KWARGS = not NATIVE or SUPPORTS_PICKLING

DEFAULT_ALIAS = "default"
