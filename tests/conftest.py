"""Shared fixtures for the project's own tests.

``run_kit`` runs the conformance kit in a subprocess (Django can be set up
once per process) against a backend and returns its JSON report, so a test
can assert which clauses passed, failed or were n/a.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class KitRun:
    ret: int
    report: dict[str, Any]
    output: str

    def outcome(self, clause_id: str) -> str:
        for entry in self.report["clauses"]:
            if entry["id"] == clause_id:
                return str(entry["outcome"])
        raise KeyError(f"{clause_id} not in report; clauses: {self.outcomes()}")

    def outcomes(self) -> dict[str, str]:
        return {entry["id"]: entry["outcome"] for entry in self.report["clauses"]}

    def failed(self) -> set[str]:
        return {cid for cid, outcome in self.outcomes().items() if outcome == "fail"}


@pytest.fixture
def run_kit(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``run_kit(backend, *extra_args, clauses=[...]) -> KitRun``."""
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    # Let each kit subprocess reuse pytest's cached assertion rewrites: it
    # halves the start-up of every run.
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)

    def run(
        backend: str, *extra: str, clauses: list[str] | tuple[str, ...] = ()
    ) -> KitRun:
        report_path = pytester.path / "report.json"
        args = [
            f"--task-backend={backend}",
            f"--task-report={report_path}",
            "-p",
            "no:cacheprovider",
        ]
        args += [f"--task-clause={c}" for c in clauses]
        result = pytester.runpytest_subprocess(*args, *extra)
        output = result.stdout.str() + result.stderr.str()
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
        if not report:
            raise AssertionError(f"the kit wrote no report:\n{output}")
        return KitRun(int(result.ret), report, output)

    return run


@pytest.fixture
def reference_tasks() -> Any:
    """``tests.reference_tasks``, with Django configured in this process.

    Configures Django once from ``tests/django_settings.py`` (unless something
    configured it already), then gives each test fresh backend instances of
    those TASKS (``override_settings`` resets Django's backend handler).
    """
    import django
    from django.conf import settings
    from django.test.utils import override_settings

    from tests import django_settings

    if not settings.configured:
        values = {k: v for k, v in vars(django_settings).items() if k.isupper()}
        settings.configure(**values)
        django.setup()
    with override_settings(TASKS=django_settings.TASKS, USE_TZ=True):
        import tests.reference_tasks

        yield tests.reference_tasks
