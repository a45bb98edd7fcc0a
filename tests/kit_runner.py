"""The one way the project's tests run the kit: a fresh process per run, several at once.

Every run gets a process of its own: Django is set up once per process, and
a broken backend may leave anything behind. The processes are forked from a
server that has already imported pytest, Django and hypothesis, so a run
costs its tests, not a second of imports; ``parallel()`` of them run at once
(most of a worker-driven run is waiting).

Coverage follows the runs into their processes (``patch = fork, _exit`` in
pyproject.toml).
"""

from __future__ import annotations

import faulthandler
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

#: What the fork server imports once for every run (nothing that needs settings).
#: Not the kit: pytest must load it as a plugin, asserts rewritten.
PRELOAD = (
    "pytest",
    # A pytest plugin too: imported here, pytest can no longer rewrite its
    # asserts (it warns; the kit's runs ignore that warning, see argv()).
    "hypothesis",
    "hypothesis.strategies",
    "asgiref.sync",
    "django",
    "django.db.models",
    "django.test",
    "django.db.backends.sqlite3.base",
    "django.db.migrations.executor",
    "django.core.management.commands.migrate",
    "django.tasks" if sys.version_info >= (3, 12) else "django_tasks",
    "packaging.specifiers",
    "django.urls",
    "django.http",
    "django.core.serializers",
    "django.core.checks",
)

#: A run that takes longer than this is stuck: its stacks are dumped, it ends
#: (a KitCall may say otherwise).
RUN_TIMEOUT = 600.0


@dataclass(frozen=True)
class KitCall:
    """One kit run: ``pytest --task-backend=BACKEND --task-clause=... *args``."""

    backend: str
    args: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    #: ``--task-quick`` (10 examples, failures not shrunk): every clause is
    #: still checked; ``tox -e kit`` runs the bundled backends at full depth.
    quick: bool = True
    #: Seconds after which the run is stuck (its stacks dumped, it ends).
    timeout: float = RUN_TIMEOUT

    def argv(self, report: Path) -> list[str]:
        return [
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            f"--task-backend={self.backend}",
            f"--task-report={report}",
            *(f"--task-clause={clause}" for clause in self.clauses),
            *(["--task-quick"] if self.quick else []),
            *self.args,
        ]


@dataclass
class KitRun:
    """What one kit run gave: exit status, JSON report, terminal output."""

    ret: int
    report: dict[str, Any]
    output: str
    directory: Path

    def outcome(self, clause_id: str) -> str:
        try:
            return self.outcomes()[clause_id]
        except KeyError:
            raise KeyError(
                f"{clause_id} not in report; clauses: {self.outcomes()}"
            ) from None

    def outcomes(self) -> dict[str, str]:
        return {
            entry["id"]: str(entry["outcome"])
            for entry in self.report.get("clauses", [])
        }

    def with_outcome(self, outcome: str) -> set[str]:
        return {cid for cid, seen in self.outcomes().items() if seen == outcome}

    def failed(self) -> set[str]:
        return self.with_outcome("fail")

    def warned(self) -> set[str]:
        return self.with_outcome("warn")

    def verdicts(self, *outcomes: str) -> str:
        """One line per clause with one of ``outcomes`` (default: fail and
        warn) and its first detail: an assertion message that names the
        clause, whatever the output's tail shows."""
        wanted = set(outcomes or ("fail", "warn"))
        lines = [
            f"{entry['id']}: {entry['outcome']}: "
            + " | ".join(str(d) for d in entry.get("details", [])[:2])[:600]
            for entry in self.report.get("clauses", [])
            if entry["outcome"] in wanted
        ]
        return "\n".join(lines) or "(no such clause)"


def parallel() -> int:
    """How many runs at once: ``KIT_RUNS_PARALLEL``, else two per CPU."""
    configured = os.environ.get("KIT_RUNS_PARALLEL")
    if configured:
        return max(1, int(configured))
    return 2 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class PendingRun:
    """A submitted run: its result, or why its process ended without one."""

    future: Future[KitRun]
    directory: Path

    def result(self) -> KitRun:
        try:
            return self.future.result()
        except BrokenProcessPool:
            # The process ended without a word: at RUN_TIMEOUT (faulthandler
            # wrote every thread's stack to the output) or killed.
            output = self.directory / "output.txt"
            text = output.read_text(errors="replace") if output.exists() else ""
            raise AssertionError(
                f"the kit run in {self.directory} ended without a report: it "
                f"outlasted its timeout or was killed; its output "
                f"ends:\n{text[-6000:]}"
            ) from None


class KitPool:
    """Kit runs in processes of their own, ``parallel()`` at a time."""

    def __init__(self, directory: Path, workers: int | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._executor = ProcessPoolExecutor(
            workers or parallel(),
            mp_context=_forkserver(),
            max_tasks_per_child=1,  # a run's process is never reused
        )

    def submit(self, call: KitCall) -> PendingRun:
        folder = Path(tempfile.mkdtemp(prefix="run-", dir=self.directory))
        return PendingRun(
            self._executor.submit(_run_in_this_process, call, folder), folder
        )

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def run_kits(calls: Sequence[KitCall], directory: Path) -> list[KitRun]:
    """Every call's run (see :class:`KitPool`), in the order given."""
    pool = KitPool(directory, min(parallel(), len(calls) or 1))
    try:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]
    finally:
        pool.shutdown()


def run_kit(call: KitCall, directory: Path) -> KitRun:
    """One call's run (see :class:`KitPool`)."""
    return run_kits([call], directory)[0]


def run_pytest(
    directory: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """``pytest ARGS`` run in ``directory`` as a user's shell would, no settings
    of ours (but ``env``); in a process forked from the server, so it costs no
    imports.

    ``stdout`` holds stdout and stderr together, in the order written.
    """
    with ProcessPoolExecutor(
        1, mp_context=_forkserver(), max_tasks_per_child=1
    ) as executor:
        future = executor.submit(
            _pytest_in_this_process, directory, args, env or {}, timeout
        )
        return future.result(timeout=timeout)


_CONTEXT: Any = None


def _forkserver() -> Any:
    """The fork server's context, its imports done once for every run."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(
            [*PRELOAD, "tests.kit_runner", "tests.kit_preload"]
        )
    return _CONTEXT


# -- inside the run's process ----------------------------------------------------
def _run_in_this_process(call: KitCall, directory: Path) -> KitRun:
    """Run the kit with pytest.main here, its output captured in a file."""
    import pytest

    os.chdir(directory)
    _environment()
    report = directory / "report.json"
    output = directory / "output.txt"
    with output.open("w", encoding="utf-8") as sink:
        # A stuck run ends with every thread's stack in its output: written
        # to the file's own descriptor, which pytest's capture (of 1 and 2,
        # during each test) never redirects.
        faulthandler.dump_traceback_later(call.timeout, exit=True, file=sink)
        _redirect_output(sink.fileno())
        try:
            ret = int(pytest.main(call.argv(report)))
        except SystemExit as exc:  # a plugin that exits still gives a status
            ret = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    text = output.read_text(encoding="utf-8", errors="replace")
    loaded = json.loads(report.read_text()) if report.exists() else {}
    if not loaded:
        raise AssertionError(f"the kit wrote no report:\n{text}")
    return KitRun(ret, loaded, text, directory)


def _pytest_in_this_process(
    directory: Path, args: tuple[str, ...], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    import pytest

    os.chdir(directory)
    _environment()
    os.environ.pop("CONFORMANCE_SETTINGS_FILE", None)
    # Whether pytest thinks it runs on CI changes its summary lines.
    for name in ("CI", "BUILD_NUMBER"):
        os.environ.pop(name, None)
    # PYTHONPATH in ``env`` adds to this checkout's, in the environment (for
    # the run's own subprocesses) and on this process's path.
    extra_path = [
        entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry
    ]
    sys.path[:0] = extra_path
    os.environ.update(env)
    os.environ["PYTHONPATH"] = os.pathsep.join([*extra_path, str(REPO_ROOT)])
    argv = ["-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    # The output goes elsewhere: a run must leave its directory as it found it.
    # A stuck run ends with every thread's stack on the caller's stderr, not
    # a wait for ever (the pool's shutdown waits for this process whatever the
    # caller's timeout).
    faulthandler.dump_traceback_later(timeout, exit=True, file=os.dup(2))
    with tempfile.TemporaryFile("w+", encoding="utf-8") as sink:
        _redirect_output(sink.fileno())
        try:
            ret = int(pytest.main([*argv, *args]))
        except SystemExit as exc:
            ret = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        sink.seek(0)
        text = sink.read()
    return subprocess.CompletedProcess(["pytest", *args], ret, text, "")


def _environment() -> None:
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    # The kit's own subprocesses (another process reading results) import
    # this checkout too.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
    )
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    # Reuse pytest's cached assertion rewrites of the suites across runs.
    sys.dont_write_bytecode = False


def _redirect_output(fd: int) -> None:
    """Point this process's stdout and stderr (the descriptors too) at ``fd``."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
