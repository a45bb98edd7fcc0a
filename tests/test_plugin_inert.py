"""The plugin stays out of ordinary pytest runs; its options do what they say.

Every run here is a process of its own: the kit sets Django up, once per
process. The runs that prove an ordinary run untouched start a fresh
interpreter (pytester); the others are forked from the kit runner's server
(``run_pytest``), which has already imported pytest and Django.
"""

from __future__ import annotations

import json
import os
import subprocess
from fnmatch import fnmatch
from pathlib import Path

import pytest

from conformance.spec import load_clauses
from conformance.versions import API_ROOT
from tests.kit_runner import REPO_ROOT, KitCall, KitRun, run_pytest

pytestmark = pytest.mark.kit

#: The baseline backend of the installed Django (or of the backport on 5.2).
BASELINE = f"{API_ROOT}.backends.immediate.ImmediateBackend"
PRIORITY_CLAUSES = {c.id for c in load_clauses().values() if c.family.id == "priority"}


@pytest.fixture
def kit_pytester(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A pytester whose subprocesses import this checkout and no user settings."""
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    for name in ("DJANGO_SETTINGS_MODULE", "CONFORMANCE_SETTINGS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return pytester


# -- without --task-backend: nothing happens ---------------------------------------
ORDINARY_TEST = """
import os
import sys


def test_ordinary():
    # The plugin is loaded (pytest11 entry point) but has done nothing:
    # no settings written, no Django set up, no kit module imported.
    assert "conformance.plugin" in sys.modules
    assert "CONFORMANCE_SETTINGS_FILE" not in os.environ
    assert "DJANGO_SETTINGS_MODULE" not in os.environ
    assert "conformance.django_settings" not in sys.modules
    assert "conformance.compat" not in sys.modules
    from django.apps import apps
    assert not apps.ready
"""


def test_ordinary_run_is_untouched(kit_pytester: pytest.Pytester) -> None:
    kit_pytester.makepyfile(test_ordinary=ORDINARY_TEST)
    result = kit_pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    # Exactly the user's test was collected: no suite, no report, no header.
    assert "collected 1 item" in output
    assert not [line for line in result.stdout.lines if line.startswith("conformance:")]
    assert "conformance report" not in output
    assert "test_ordinary.py::test_ordinary PASSED" in output


def test_ordinary_collection_holds_no_suite(kit_pytester: pytest.Pytester) -> None:
    kit_pytester.makepyfile(test_ordinary=ORDINARY_TEST)
    result = kit_pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--collect-only", "-q"
    )
    assert result.ret == 0
    collected = [line for line in result.stdout.lines if "::" in line]
    assert collected == ["test_ordinary.py::test_ordinary"]


def test_options_are_registered(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--help")
    assert result.returncode == 0
    help_text = result.stdout
    for option in ("--task-backend", "--task-report", "--task-clause", "--task-worker"):
        assert option in help_text


# -- --task-report ---------------------------------------------------------------
@pytest.mark.kit_run(KitCall(BASELINE, (), ("priority",)))
def test_json_report_has_the_documented_keys(kit_run: KitRun) -> None:
    run = kit_run
    assert run.ret == 0, run.output
    report = run.report
    assert report["backend"] == BASELINE
    assert isinstance(report["django"], str)
    assert report["django"].startswith("Django ")
    assert isinstance(report["kit"], str)
    assert report["kit"]
    assert isinstance(report["flags"], dict)
    assert report["flags"]
    assert all(isinstance(value, bool) for value in report["flags"].values())
    known = load_clauses()
    assert {entry["id"] for entry in report["clauses"]} == PRIORITY_CLAUSES
    for entry in report["clauses"]:
        assert entry["level"] == known[entry["id"]].level
        assert entry["outcome"] in {"pass", "fail", "warn", "n/a"}
    # The flag gates clauses both ways: the other side is n/a, never "pass".
    supported = report["flags"]["supports_priority"]
    assert run.outcome("PRIORITY-IN-RANGE-ACCEPTED") == ("pass" if supported else "n/a")
    assert run.outcome("PRIORITY-UNSUPPORTED-REJECTED") == (
        "n/a" if supported else "pass"
    )


def test_markdown_report_is_a_table_of_clauses(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    result = run_pytest(
        tmp_path,
        f"--task-backend={BASELINE}",
        "--task-clause=priority",
        f"--task-report={target}",
    )
    assert result.returncode == 0, result.stdout
    text = target.read_text(encoding="utf-8")
    assert f"`{BASELINE}`" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Clause |"))
    assert set(lines[header + 1]) <= set("|-: ")
    rows = [line for line in lines[header + 2 :] if line.startswith("|")]
    assert {row.split("|")[1].strip().strip("`") for row in rows} == PRIORITY_CLAUSES
    assert all(row.count("|") == lines[header].count("|") for row in rows)


def test_report_with_an_unknown_suffix_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    result = run_pytest(
        tmp_path,
        f"--task-backend={BASELINE}",
        "--task-clause=PRIORITY-OUT-OF-RANGE-REJECTED",
        f"--task-report={target}",
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout
    assert not target.exists()


# -- --task-clause -----------------------------------------------------------------
@pytest.mark.kit_run(KitCall(BASELINE, (), ("PRIORITY-OUT-OF-RANGE-REJECTED",)))
def test_task_clause_selects_one_clause(kit_run: KitRun) -> None:
    run = kit_run
    assert run.ret == 0, run.output
    assert run.outcomes() == {"PRIORITY-OUT-OF-RANGE-REJECTED": "pass"}


@pytest.mark.kit_run(
    KitCall(BASELINE, (), ("PRIORITY-OUT-OF-RANGE-REJECTED", "queues"))
)
def test_task_clause_repeats_and_mixes_ids_and_families(kit_run: KitRun) -> None:
    run = kit_run
    queues = {c.id for c in load_clauses().values() if c.family.id == "queues"}
    assert set(run.outcomes()) == {"PRIORITY-OUT-OF-RANGE-REJECTED"} | queues


def test_unknown_clause_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = run_pytest(
        tmp_path,
        f"--task-backend={BASELINE}",
        "--task-clause=NO-SUCH-CLAUSE",
        f"--task-report={target}",
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "NO-SUCH-CLAUSE" in result.stdout
    assert not target.exists() or not json.loads(target.read_text())["clauses"]


# -- the user's settings, ini twins, and options that cannot work ------------------
USER_SETTINGS = """
SECRET_KEY = "user"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "user.sqlite3"}}
USER_MARKER = "kept"
TASKS = {"default": {"BACKEND": "not.the.backend.under.Test"}}
"""

USER_TEST = """
from django.conf import settings


def test_user_settings_kept_and_tasks_overridden():
    assert settings.USER_MARKER == "kept"
    assert settings.DATABASES["default"]["NAME"] == "{database}"
    assert settings.INSTALLED_APPS[0] == "django.contrib.contenttypes"
    assert "django.contrib.auth" in settings.INSTALLED_APPS  # --task-installed-apps
    assert settings.TASKS["default"]["BACKEND"] == "{backend}"
"""


@pytest.mark.parametrize(
    "database_option", [False, True], ids=["own-db", "task-database"]
)
def test_user_settings_are_used_and_only_tasks_is_overridden(
    tmp_path: Path, database_option: bool
) -> None:
    database = str(tmp_path / "kit.sqlite3") if database_option else "user.sqlite3"
    (tmp_path / "user_settings.py").write_text(USER_SETTINGS)
    (tmp_path / "test_user.py").write_text(
        USER_TEST.replace("{backend}", BASELINE).replace("{database}", database)
    )
    extra = [f"--task-database=sqlite://{database}"] if database_option else []
    result = run_pytest(
        tmp_path,
        f"--task-backend={BASELINE}",
        "--task-clause=PRIORITY-OUT-OF-RANGE-REJECTED",
        "--task-installed-apps=django.contrib.auth",
        *extra,
        "-v",
        "test_user.py",
        env={"DJANGO_SETTINGS_MODULE": "user_settings", "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout
    # The user's own test ran beside the selected clause.
    assert _has_line(result, "*test_user_settings_kept_and_tasks_overridden PASSED*")
    assert _has_line(result, "*PRIORITY-OUT-OF-RANGE-REJECTED*PASS*")


def _has_line(result: subprocess.CompletedProcess[str], pattern: str) -> bool:
    return any(fnmatch(line, pattern) for line in result.stdout.splitlines())


def test_ini_twins_configure_the_kit(tmp_path: Path) -> None:
    target = tmp_path / "from-ini.json"
    (tmp_path / "pytest.ini").write_text(
        f"""[pytest]
task_backend = {BASELINE}
task_report = {target}
task_clause =
    PRIORITY-OUT-OF-RANGE-REJECTED
    PRIORITY-FRACTIONAL-REJECTED
"""
    )
    # The ini keys configure the kit; --task-conformance switches it on.
    result = run_pytest(tmp_path, "--task-conformance")
    assert result.returncode == 0, result.stdout
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["backend"] == BASELINE
    assert {entry["id"] for entry in report["clauses"]} == {
        "PRIORITY-OUT-OF-RANGE-REJECTED",
        "PRIORITY-FRACTIONAL-REJECTED",
    }


@pytest.mark.parametrize(
    "option",
    [
        "--task-backend-options=not json",
        "--task-backend-options=[1, 2]",
        "--task-database=mysql://localhost/db",
        "--task-installed-apps=no_such_app_anywhere",
        "--task-time-zone=Mars/Olympus_Mons",
    ],
)
def test_unusable_option_is_a_usage_error(tmp_path: Path, option: str) -> None:
    result = run_pytest(tmp_path, f"--task-backend={BASELINE}", option)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout


def test_unimportable_backend_is_a_usage_error(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--task-backend=no.such.Backend")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout
    # The hint names the package that did not import and how to make it.
    assert "is 'no' installed" in result.stdout, result.stdout
    assert 'pythonpath = ["."]' in result.stdout
