"""Django settings for benchmark and fault-test processes, read from the environment.

Every process of a measurement (the enqueuer, each worker, the inspector)
starts with ``DJANGO_SETTINGS_MODULE=benchmarks.settings`` and:

``BENCH_BACKEND``
    ``ours`` (``reference_backends.database.DatabaseBackend``) or ``theirs``
    (``django_tasks_db.DatabaseBackend``, its defaults).
``BENCH_DATABASE_URL``
    ``sqlite:///abs/path`` or ``postgres://user@host:port/name``.
``BENCH_OPTIONS``
    JSON object: the backend's ``OPTIONS`` (ours: delivery, lease...).
``BENCH_RECORD_DIR``
    Where tasks record each execution (see :mod:`benchmarks.tasks`).
``BENCH_CONN_MAX_AGE``
    ``none`` (persistent connections; what the harness passes by default) or
    seconds; unset: Django's default, 0.
``BENCH_DATABASE_OPTIONS``
    JSON object merged into ``DATABASES["default"]["OPTIONS"]`` (experiments,
    e.g. psycopg's ``prepare_threshold``).

Both backends get the same ``DATABASES`` entry; on SQLite, the settings the
reference backend recommends: WAL, ``synchronous=NORMAL`` (in WAL mode a
commit then costs no fsync; the default FULL caps any SQLite queue at the
disk's fsync rate, about 170 commits/s on the benchmark machine),
``BEGIN IMMEDIATE``, a 20-second busy timeout.
"""

from __future__ import annotations

import json
import os
from typing import Any

from benchmarks.harness import OURS, THEIRS
from conformance.settings_file import database_from_url
from conformance.versions import REQUIRED_APPS

BACKENDS = {
    OURS: (
        "reference_backends.database.DatabaseBackend",
        "reference_backends.database",
    ),
    THEIRS: ("django_tasks_db.DatabaseBackend", "django_tasks_db"),
}

#: The reference backend's recommended SQLite options (see its W001 check hint).
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def database(url: str) -> dict[str, Any]:
    if url.startswith("sqlite:///"):
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": url.removeprefix("sqlite://"),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    return database_from_url(url)


_which = os.environ.get("BENCH_BACKEND", OURS)
_backend, _app = BACKENDS[_which]
_options: dict[str, Any] = json.loads(os.environ.get("BENCH_OPTIONS") or "{}")

SECRET_KEY = "benchmarks-not-secret"
DEBUG = False  # django-tasks-db's worker autoreloads when DEBUG is on
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django.contrib.contenttypes", *REQUIRED_APPS, _app]
DATABASES = {"default": database(os.environ["BENCH_DATABASE_URL"])}
if os.environ.get("BENCH_CONN_MAX_AGE"):
    _age = os.environ["BENCH_CONN_MAX_AGE"]
    DATABASES["default"]["CONN_MAX_AGE"] = None if _age == "none" else int(_age)
if os.environ.get("BENCH_DATABASE_OPTIONS"):
    # Extra DATABASES OPTIONS, for experiments (e.g. psycopg's prepare_threshold).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        json.loads(os.environ["BENCH_DATABASE_OPTIONS"])
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING_CONFIG = None
TASKS = {"default": {"BACKEND": _backend, "OPTIONS": _options}}
