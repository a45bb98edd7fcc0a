"""Django for the database backend's tests, in this process.

Django can be configured once per process. These tests need the backend's
app installed and a database *file* (worker threads and processes open
their own connections), so this conftest configures Django when pytest
imports it, unless something configured it first. Worker processes get
the same database through the kit's settings module (:func:`kit_env`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings

from conformance.settings_file import KitConfig, database_from_url
from conformance.versions import REQUIRED_APPS

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = "reference_backends.database"
BACKEND = "reference_backends.database.DatabaseBackend"
_WORKDIR = Path(tempfile.mkdtemp(prefix="reference-tasks-tests-"))


def _tasks(database: str = "default") -> dict[str, Any]:
    def alias(queues: list[str], **options: Any) -> dict[str, Any]:
        return {
            "BACKEND": BACKEND,
            "QUEUES": queues,
            "OPTIONS": {"DATABASE": database, **options},
        }

    return {
        "default": alias(["default", "other"]),
        "at-least-once": alias(
            ["default", "other"], DELIVERY="at-least-once", MAX_ATTEMPTS=3
        ),
        "open": alias([]),
        # Retries for every task that leaves them unset (Django 6.0's way).
        "retrying": alias(
            ["default", "other"],
            AUTORETRY_FOR=["tests.database.tasks.Boom"],
            MAX_RETRIES=2,
        ),
        "limited": alias(["default"], TIME_LIMIT=0.2),
    }


def _settings() -> dict[str, Any]:
    tasks = _tasks()
    tasks["postgres"] = {
        "BACKEND": BACKEND,
        "QUEUES": [],
        "OPTIONS": {"DATABASE": "postgres"},
    }
    tasks["postgres-unprepared"] = {
        "BACKEND": BACKEND,
        "QUEUES": [],
        "OPTIONS": {"DATABASE": "postgres", "PREPARED_STATEMENTS": False},
    }
    tasks["immediate"] = {"BACKEND": "reference_backends.immediate.ImmediateBackend"}
    return {
        "SECRET_KEY": "tests-not-secret",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "INSTALLED_APPS": [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.messages",
            "django.contrib.sessions",
            *REQUIRED_APPS,
            APP,
        ],
        "DATABASES": {
            "default": database_from_url(f"sqlite:///{_WORKDIR / 'tests.sqlite3'}")
        },
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "TASKS": tasks,
        "LOGGING_CONFIG": None,
    }


if not settings.configured:
    settings.configure(**_settings())
    django.setup()

# pytester restores sys.modules after each test: a module first
# imported inside such a test is dropped and imported afresh later, which
# breaks psycopg's C extension state. Import them before any test runs.
with contextlib.suppress(ImportError):
    import psycopg  # noqa: F401
import conformance.spec  # noqa: E402, F401


@pytest.fixture(scope="session")
def task_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Migrate the SQLite test database once; skip if Django was set up elsewhere.

    pytest-django, when installed, blocks database access outside its own
    fixtures: these tests manage their database themselves, so lift it.
    """
    from django.apps import apps

    if not apps.is_installed(APP):
        pytest.skip(f"Django was configured before {__name__} could install {APP}")
    blocker = None
    if request.config.pluginmanager.hasplugin("django"):
        blocker = request.getfixturevalue("django_db_blocker")
        blocker.unblock()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    yield
    if blocker is not None:
        blocker.restore()
    shutil.rmtree(_WORKDIR, ignore_errors=True)


@pytest.fixture
def task_db(task_database: None) -> Iterator[None]:
    """An empty task table for each test."""
    from reference_backends.database.models import TaskRecord

    TaskRecord.objects.all().delete()
    yield
    TaskRecord.objects.all().delete()


@pytest.fixture
def tasks(task_db: None) -> Any:
    from tests.database import tasks as module

    return module


# -- PostgreSQL ------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Any]:
    from tests.database.postgres import cluster_for_tests

    with cluster_for_tests() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_alias(task_database: None, postgres_cluster: Any) -> str:
    """A "postgres" database alias in this process, migrated."""
    from django.core.management import call_command
    from django.db import connections

    url = postgres_cluster.create_database("unit")
    # Filled in with Django's defaults the way DATABASES entries are.
    config = connections.configure_settings(
        {"default": settings.DATABASES["default"], "postgres": database_from_url(url)}
    )["postgres"]
    connections.settings["postgres"] = config
    settings.DATABASES["postgres"] = config
    call_command("migrate", database="postgres", verbosity=0, interactive=False)
    return "postgres"


@pytest.fixture
def pg(postgres_alias: str, tasks: Any) -> Iterator[Any]:
    """The "postgres" TASKS alias, with an empty table."""
    from conformance import compat
    from reference_backends.database.models import TaskRecord

    TaskRecord.objects.using(postgres_alias).all().delete()
    yield compat.task_backends["postgres"]
    TaskRecord.objects.using(postgres_alias).all().delete()


# -- worker processes ------------------------------------------------------------
class KitEnv:
    """Settings, environment and commands for worker *processes*."""

    def __init__(self, root: Path, database_url: str, options: dict[str, Any]) -> None:
        self.root = root
        self.log = root / "executions.log"
        self.log.touch()
        self.database_url = database_url
        config = KitConfig(
            backend=BACKEND,
            options=options,
            installed_apps=[APP],
            database_url=database_url,
            workdir=str(root),
        )
        config.write(root / "settings.json")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "conformance.django_settings",
            "CONFORMANCE_SETTINGS_FILE": str(root / "settings.json"),
            "REFERENCE_TASKS_LOG": str(self.log),
            # A worker that hangs can be made to print every thread's stack (SIGABRT).
            "PYTHONFAULTHANDLER": "1",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            ),
        }

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "django", *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def python(self, code: str) -> str:
        """Run ``code`` with Django set up in a fresh process; return its stdout."""
        script = "import django\ndjango.setup()\n" + code
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise AssertionError(done.stderr)
        return done.stdout

    def worker(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "django", "task_worker", *args],
            env=self.env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def executions(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read the task table directly (no Django in this process for it)."""
        url = self.database_url
        if url.startswith("sqlite:///"):
            import sqlite3

            with sqlite3.connect(url.removeprefix("sqlite://")) as connection:
                return list(connection.execute(sql))
        import psycopg

        with psycopg.connect(url) as connection:
            return list(connection.execute(sql))

    def statuses(self) -> dict[str, int]:
        return dict(
            self.query(
                "SELECT status, count(*) FROM reference_tasks_taskrecord GROUP BY status"
            )
        )


@pytest.fixture
def kit_env(tmp_path: Path) -> Any:
    """``kit_env(database_url=None, **OPTIONS)``: a migrated database for workers."""

    def make(database_url: str | None = None, **options: Any) -> KitEnv:
        url = database_url or f"sqlite:///{tmp_path / 'workers.sqlite3'}"
        env = KitEnv(tmp_path, url, options)
        env.manage("migrate", "-v0")
        return env

    return make


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file every task of tests.database.tasks that logs appends its line to."""
    path = tmp_path / "log"
    path.touch()
    monkeypatch.setenv("REFERENCE_TASKS_LOG", str(path))
    return path
