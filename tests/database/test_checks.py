"""The backend in a user's project, each test a fresh process.

In-process checks prove nothing here: the test process imported the Tasks
API (and the kit) long ago, and whether Django's task checks run at all
depends on who imports the API during start-up.
"""

from __future__ import annotations

import ast
import os
import re
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
DEBUG = {debug!r}
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


def _project(
    root: Path, *, app: bool, debug: bool = False, **options: object
) -> dict[str, str]:
    """A user's project in ``root``: its settings, and the environment to run it."""
    apps = ["django.contrib.contenttypes", *REQUIRED_APPS]
    if app:
        apps.append(APP)
    (root / "project_settings.py").write_text(
        SETTINGS.format(
            apps=apps,
            db=str(root / "db.sqlite3"),
            backend=BACKEND,
            options=options,
            debug=debug,
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


WITHOUT_THE_KIT = """
import importlib, importlib.abc, pkgutil, sys

class Blocked(importlib.abc.MetaPathFinder):
    # What the kit needs and a deployment of the backends must not.
    names = {"conformance", "pytest", "_pytest", "hypothesis", "pygments", "packaging"}

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ImportError(f"the backends imported {name}")
        return None

sys.meta_path.insert(0, Blocked())
for name in list(sys.modules):
    if name.partition(".")[0] in Blocked.names:
        del sys.modules[name]

import django
django.setup()
import reference_backends
for module in pkgutil.walk_packages(reference_backends.__path__, "reference_backends."):
    if not module.name.endswith(".admin"):  # loaded by django.contrib.admin only
        importlib.import_module(module.name)

from django.core.management import call_command
call_command("check")
call_command("migrate", verbosity=0)
from project_tasks import add
result = add.enqueue(2, 3)
call_command("task_worker", "--batch", verbosity=0)
result.refresh()
print(result.status, result.return_value)
"""


def _tasks_module(root: Path) -> None:
    (root / "project_tasks.py").write_text(
        f"from {API_ROOT} import task\n\n@task\ndef add(a, b):\n    return a + b\n",
        encoding="utf-8",
    )


def test_the_backends_run_without_the_kit(tmp_path: Path) -> None:
    env = _project(tmp_path, app=True)
    _tasks_module(tmp_path)
    done = _run(tmp_path, env, "-c", WITHOUT_THE_KIT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "SUCCESSFUL 5"


def test_no_module_of_the_backends_imports_the_kit() -> None:
    """Every module, admin.py included (which the test above cannot load)."""
    importers = []
    for path in sorted((REPO_ROOT / "reference_backends").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(name.partition(".")[0] == "conformance" for name in names):
                importers.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert importers == []


LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) ")


def test_worker_verbosity_and_one_log_format(tmp_path: Path) -> None:
    """With DEBUG = True, Django's console handler also prints task lines."""
    env = _project(tmp_path, app=True, debug=True)
    _tasks_module(tmp_path)
    assert _run(tmp_path, env, "-m", "django", "migrate", "-v0").returncode == 0
    enqueue = "import django\ndjango.setup()\nfrom project_tasks import add\n"
    enqueue += "print(add.enqueue(2, 3).id)"
    output: dict[int, list[str]] = {}
    for verbosity in (0, 1, 2):
        result_id = _run(tmp_path, env, "-c", enqueue).stdout.strip()
        done = _run(
            tmp_path, env, "-m", "django", "task_worker", "--batch", f"-v{verbosity}"
        )
        assert done.returncode == 0, done.stderr
        lines = done.stderr.splitlines()
        assert [line for line in lines if not LINE.match(line)] == [], done.stderr
        assert sum(result_id in line for line in lines) == (
            0 if verbosity == 0 else 1 if verbosity == 1 else 4
        ), done.stderr
        output[verbosity] = lines
    assert output[0] == []
    claimed = [line for line in output[2] if "claimed (attempt 1)" in line]
    assert len(claimed) == 1, output[2]
    # Django's own lines for the task, in the worker's format, only at -v 2.
    assert sum("Task id=" in line for line in output[2]) == 2, output[2]


def test_verbosity_2_shows_lease_renewals(tmp_path: Path) -> None:
    """-v 2 says when the worker renews a running task's lease; -v 1 does not."""
    env = _project(tmp_path, app=True, LEASE_SECONDS=1)  # renewed every 1/3 s
    (tmp_path / "project_tasks.py").write_text(
        f"import time\nfrom {API_ROOT} import task\n\n"
        "@task\ndef nap():\n    time.sleep(1.5)\n",
        encoding="utf-8",
    )
    assert _run(tmp_path, env, "-m", "django", "migrate", "-v0").returncode == 0
    enqueue = "import django\ndjango.setup()\nfrom project_tasks import nap\n"
    enqueue += "nap.enqueue()"
    renewals: dict[int, int] = {}
    for verbosity in (1, 2):
        assert _run(tmp_path, env, "-c", enqueue).returncode == 0
        done = _run(
            tmp_path, env, "-m", "django", "task_worker", "--batch", f"-v{verbosity}"
        )
        assert done.returncode == 0, done.stderr
        lines = done.stderr.splitlines()
        assert [line for line in lines if not LINE.match(line)] == [], done.stderr
        renewals[verbosity] = sum(
            "DEBUG worker " in line and ": renewed 1 lease(s)" in line for line in lines
        )
    assert renewals[1] == 0
    assert renewals[2] >= 1, renewals


def test_check_reports_bad_schedule_entries(tmp_path: Path) -> None:
    schedule = {
        "gone": {"task": "project_tasks.nope", "cron": "0 3 * * *"},
        "bad": {"task": "project_tasks.add", "cron": "0 25 * * *"},
        "fine": {"task": "project_tasks.add", "every": "1h", "args": [1, 2]},
    }
    env = _project(tmp_path, app=True, SCHEDULE=schedule)
    _tasks_module(tmp_path)
    done = _run(tmp_path, env, "-m", "django", "check")
    assert done.returncode != 0
    errors = [
        line for line in done.stderr.splitlines() if "reference_tasks.E005" in line
    ]
    assert len(errors) == 2, done.stderr
    assert "SCHEDULE['bad']: bad cron expression '0 25 * * *'" in done.stderr
    assert "SCHEDULE['gone']: task 'project_tasks.nope' does not import" in done.stderr
    assert "SCHEDULE['fine']" not in done.stderr


def test_installing_the_backends_brings_no_test_tools() -> None:
    """``pip install`` of the project alone is a deployment of the backends:
    the kit's tools come with the 'kit' extra only (one command installs it)."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))[
        "project"
    ]
    kit_only = {"pytest", "hypothesis", "pygments", "packaging"}
    names = {Requirement(r).name.lower() for r in project["dependencies"]}
    assert names & kit_only == set()
    kit = {Requirement(r).name.lower() for r in project["optional-dependencies"]["kit"]}
    assert {"pytest", "hypothesis", "packaging"} <= kit
