"""One entry, run: its environment, its services, its settings, the kit.

Whatever goes wrong becomes the entry's result, saying why (install failed,
the backend did not import, the kit crashed or ran out of time): one broken
backend is a row of the page, never the end of the whole run.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import environment, services, settings_module
from .entry import Entry

RESULTS = Path(__file__).resolve().parent / "results"
#: The longest a kit run may take; then it is stopped, and says so.
KIT_TIMEOUT = 1500.0
#: How much of a failed run's output its result keeps.
LOG_TAIL = 40


def kit_version() -> str:
    data = tomllib.loads((environment.ROOT / "pyproject.toml").read_text("utf-8"))
    return str(data["project"]["version"])


def kit_command(
    entry: Entry,
    python: Path,
    database_url: str,
    report: Path,
    urls: Mapping[str, str],
) -> list[str]:
    """The kit's command line; the options' placeholders filled as the
    settings' are (a backend may take its Redis URL in OPTIONS)."""
    command = [
        str(python),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--task-backend={entry.backend}",
        f"--task-database={database_url}",
        f"--task-report={report}",
    ]
    if entry.installed_apps:
        command.append(f"--task-installed-apps={','.join(entry.installed_apps)}")
    if entry.options:
        options = settings_module.substitute(entry.options, urls)
        command.append(f"--task-backend-options={json.dumps(options)}")
    return [*command, *entry.kit_args]


def run_kit(
    entry: Entry, python: Path, work: Path, urls: dict[str, str], timeout: float
) -> dict[str, Any]:
    """The kit's JSON report, or ``{"error": ..., "log": ...}``."""
    settings_dir, run_dir = work / "settings", work / "run"
    settings_dir.mkdir()
    run_dir.mkdir()
    module = settings_module.write(settings_dir, entry.name, entry.settings, urls)
    database = urls.get("postgres_url") if entry.database == "postgres" else None
    report = work / "report.json"
    command = kit_command(
        entry, python, database or f"sqlite:///{work}/kit.sqlite3", report, urls
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "CONFORMANCE_SETTINGS_FILE", "PYTHONHOME"}
    }
    env["DJANGO_SETTINGS_MODULE"] = module
    # The settings module, and this checkout: an entry's options may name a
    # module of the project's (the Celery app of tests/thirdparty).
    env["PYTHONPATH"] = os.pathsep.join([str(settings_dir), str(environment.ROOT)])
    log = work / "kit.log"
    with log.open("wb") as out:
        # A session of its own: on timeout its whole group (workers too) goes.
        process = subprocess.Popen(
            command,
            cwd=run_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return failure(
                f"the kit run took over {timeout:.0f} s and was stopped", log
            )
    if not report.exists():
        return failure(
            f"the kit ended (exit {code}) without a report: {_cause(log)}", log
        )
    data: dict[str, Any] = json.loads(report.read_text("utf-8"))
    return data


def failure(error: str, log: Path | None = None) -> dict[str, Any]:
    tail = (
        log.read_text("utf-8", errors="replace").splitlines()[-LOG_TAIL:] if log else []
    )
    return {"error": error, "log": tail}


def _cause(log: Path) -> str:
    """The line of the output that says what went wrong, at best."""
    lines = [
        line.strip() for line in log.read_text("utf-8", errors="replace").splitlines()
    ]
    lines = [line for line in lines if line]
    errors = [line for line in lines if "Error" in line or "Exception" in line]
    return (errors or lines or ["no output"])[-1][:300]


def run(entry: Entry, timeout: float = KIT_TIMEOUT) -> dict[str, Any]:
    """Run ``entry``: its result (the kit's report with a ``matrix`` block)."""
    started = time.monotonic()
    info: dict[str, Any] = {
        "name": entry.name,
        "title": entry.title,
        "requirement": entry.requirement,
        "django_requirement": entry.django,
        "python": entry.python,
        "database": entry.database,
        "services": list(entry.services),
        "kit": kit_version(),
        "date": datetime.datetime.now(datetime.UTC).date().isoformat(),
    }
    with tempfile.TemporaryDirectory(prefix=f"matrix-{entry.name}-") as tmp:
        try:
            venv = environment.ensure(entry)
            info["version"] = (
                environment.installed_version(venv, entry.distribution)
                if entry.distribution
                else info["kit"]
            )
            with services.started(entry.services, "matrix") as urls:
                outcome = run_kit(
                    entry, environment.python_of(venv), Path(tmp), urls, timeout
                )
        # Anything at all: the entry's row says what, the other entries run on.
        except Exception as exc:
            outcome = failure(f"could not be set up: {type(exc).__name__}: {exc}")
    info["seconds"] = round(time.monotonic() - started)
    info["error"] = outcome.pop("error", "")
    info["log"] = outcome.pop("log", [])
    outcome.setdefault("backend", entry.backend)
    return {"matrix": info, **outcome}


def store(result: dict[str, Any], directory: Path = RESULTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{result['matrix']['name']}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return path
