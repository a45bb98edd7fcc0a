"""``manage.py check`` and a missing app, in a fresh project process.

In-process checks prove nothing here: the test process imported the Tasks
API long ago, and whether Django's task checks run at all depends on who
imports it during start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conformance.versions import API_ROOT, REQUIRED_APPS
from tests.database.conftest import APP, BACKEND, REPO_ROOT

SETTINGS = """
SECRET_KEY = "x"
USE_TZ = True
INSTALLED_APPS = {apps!r}
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": {db!r},
    "OPTIONS": {{"init_command": "PRAGMA journal_mode=WAL;"}},
}}}}
TASKS = {{"default": {{"BACKEND": {backend!r}, "OPTIONS": {options!r}}}}}
"""
ENQUEUE = f"""
import django
django.setup()
from {API_ROOT} import task

@task
def noop():
    pass

noop.enqueue()
"""


def _project(root: Path, *, app: bool, **options: object) -> dict[str, str]:
    """A user's project in ``root``: its settings, and the environment to run it."""
    apps = ["django.contrib.contenttypes", *REQUIRED_APPS]
    if app:
        apps.append(APP)
    (root / "project_settings.py").write_text(
        SETTINGS.format(
            apps=apps, db=str(root / "db.sqlite3"), backend=BACKEND, options=options
        ),
        encoding="utf-8",
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project_settings",
        "PYTHONPATH": os.pathsep.join([str(root), str(REPO_ROOT)]),
    }


def _run(
    root: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_reports_an_unknown_option(tmp_path: Path) -> None:
    env = _project(tmp_path, app=True, LEASE_SECOND=60)
    done = _run(tmp_path, env, "-m", "django", "check")
    assert done.returncode != 0
    assert "(reference_tasks.E001)" in done.stderr
    assert "unknown option 'LEASE_SECOND'" in done.stderr


def test_enqueue_without_the_app_names_the_fix(tmp_path: Path) -> None:
    env = _project(tmp_path, app=False)
    done = _run(tmp_path, env, "-c", ENQUEUE)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: "), last
    assert f"Add {APP!r} to INSTALLED_APPS and run migrate." in last


def test_check_reports_the_missing_app_once_task_checks_run(tmp_path: Path) -> None:
    """Django runs task checks in a project that imports the API at start-up."""
    env = _project(tmp_path, app=False, LEASE_SECOND=60)
    code = f"import django, {API_ROOT}\ndjango.setup()\n"
    code += "from django.core.management import call_command\ncall_command('check')"
    done = _run(tmp_path, env, "-c", code)
    assert done.returncode != 0
    assert "(reference_tasks.E001)" in done.stderr
    assert "(reference_tasks.E002)" in done.stderr
