"""Processes, databases and clusters for the benchmarks and the fault tests.

Nothing here configures Django: every measured process (enqueuer, worker,
inspector) is a fresh ``python`` started with ``benchmarks.settings``, so the
harness can switch backends and databases freely and measure workers exactly
as they would run in production.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
OURS = "ours"
THEIRS = "theirs"
SQLITE = "sqlite"
POSTGRES = "postgres"


def python_env(**bench: str) -> dict[str, str]:
    """The environment of a measured process: ``BENCH_*`` from ``bench``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
    )
    env["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update({f"BENCH_{k.upper()}": v for k, v in bench.items()})
    return env


def _die_with_parent() -> None:
    """In the child: SIGKILL when the harness dies (Linux), so no worker outlives it."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


@dataclass
class Exited:
    """How a worker process ended."""

    returncode: int
    max_rss_kib: int  # peak resident set size (getrusage ru_maxrss, KiB on Linux)
    cpu_seconds: float = 0.0  # user + system CPU time of the process
    work_cpu_seconds: float | None = None  # the same after Django's set-up (measured)


class Process:
    """A child process we can SIGKILL, SIGTERM and reap with its rusage."""

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        log: Path,
        cpu_file: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.log = log
        self.cpu_file = cpu_file
        if cpu_file is not None:
            env = {**env, "BENCH_CPU_FILE": str(cpu_file)}
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                env=env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        self.pid = self.popen.pid
        self.exited: Exited | None = None

    def poll(self) -> Exited | None:
        if self.exited is None:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.exited = Exited(
                    os.waitstatus_to_exitcode(status),
                    rusage.ru_maxrss,
                    rusage.ru_utime + rusage.ru_stime,
                    self._work_cpu(),
                )
                # Reaped here, not by Popen: tell it.
                self.popen.returncode = self.exited.returncode
        return self.exited

    def _work_cpu(self) -> float | None:
        if self.cpu_file is None or not self.cpu_file.exists():
            return None
        return float(json.loads(self.cpu_file.read_text())["cpu_seconds"])

    def wait(self, timeout: float) -> Exited:
        deadline = time.monotonic() + timeout
        while (exited := self.poll()) is None:
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(
                    f"{self.argv} still running after {timeout:.0f}s; see {self.log}"
                )
            time.sleep(0.02)
        return exited

    def signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        while self.poll() is None:
            time.sleep(0.01)

    def stop(self, timeout: float = 60.0) -> Exited:
        """SIGTERM (graceful), then wait."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)


@dataclass
class Target:
    """One backend on one database: how to start its processes."""

    backend: str  # OURS or THEIRS
    database_url: str
    record_dir: Path
    logs: Path
    options: dict[str, Any] = field(default_factory=dict)
    conn_max_age: str = "none"
    database_options: dict[str, Any] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return python_env(
            backend=self.backend,
            database_url=self.database_url,
            options=json.dumps(self.options),
            record_dir=str(self.record_dir),
            conn_max_age=self.conn_max_age,
            database_options=json.dumps(self.database_options),
        )

    def worker_argv(
        self, *, batch: bool, extra: Sequence[str] = (), measured: bool = False
    ) -> list[str]:
        """The worker command with its defaults, logging off (-v0) for both.

        ``measured``: through :mod:`benchmarks.measured`, which reports the
        CPU the worker spends after start-up.
        """
        if self.backend == OURS:
            argv = ["task_worker", "-v0"]
        else:
            # --no-startup-delay in batch runs only: the random start-up sleep
            # (up to 1 s) is there to spread a fleet's restarts, not to measure.
            argv = ["db_worker", "-v0", *(["--no-startup-delay"] if batch else [])]
        if batch:
            argv.append("--batch")
        runner = "benchmarks.measured" if measured else "django"
        return [sys.executable, "-m", runner, *argv, *extra]

    def worker(
        self,
        *,
        batch: bool,
        extra: Sequence[str] = (),
        name: str = "worker",
        measured: bool = False,
    ) -> Process:
        process = Process(
            self.worker_argv(batch=batch, extra=extra, measured=measured),
            self.env,
            self.logs / f"{name}.log",
            self.logs / f"{name}.cpu.json" if measured else None,
        )
        self.processes.append(process)
        return process

    def kill_all(self) -> None:
        """SIGKILL every worker this target started that is still running."""
        for process in self.processes:
            process.kill()

    def manage(self, *args: str, timeout: float = 600) -> str:
        return self._run([sys.executable, "-m", "django", *args], timeout)

    def agent(self, *args: str, timeout: float = 3600) -> Any:
        return json.loads(
            self._run([sys.executable, "-m", "benchmarks.agent", *args], timeout)
        )

    def _run(self, argv: list[str], timeout: float) -> str:
        done = subprocess.run(
            argv,
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv[1:])} failed ({done.returncode}):\n{done.stderr}"
            )
        return done.stdout

    def executions(self) -> Counter[int]:
        """How many times each task number ran, from the tasks' own records."""
        counts: Counter[int] = Counter()
        for path in self.record_dir.glob("*.log"):
            counts.update(int(line) for line in path.read_text().split())
        return counts


def machine_busy_seconds() -> float | None:
    """CPU time all CPUs spent busy since boot (Linux ``/proc/stat``); None elsewhere."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def wait_all(processes: Iterable[Process], timeout: float) -> list[Exited]:
    deadline = time.monotonic() + timeout
    return [p.wait(max(0.0, deadline - time.monotonic())) for p in processes]


# -- databases ---------------------------------------------------------------------
class Databases:
    """Fresh, migrated databases for one (backend, engine), cloned from a template.

    SQLite: a migrated file, copied. PostgreSQL: a migrated database used as
    ``CREATE DATABASE ... TEMPLATE``.
    """

    def __init__(
        self, engine: str, backend: str, root: Path, cluster: Any = None
    ) -> None:
        self.engine = engine
        self.backend = backend
        self.root = root
        self.cluster = cluster
        self.counter = 0
        root.mkdir(parents=True, exist_ok=True)
        self.template = self._url(f"template_{backend}")
        if engine == POSTGRES:
            cluster.create_database(f"template_{backend}")
        probe = Target(backend, self.template, root, root)
        probe.manage("migrate", "-v0")
        if engine == POSTGRES:
            self._sql(
                f'ALTER DATABASE "template_{backend}" WITH ALLOW_CONNECTIONS false'
            )

    def _url(self, name: str) -> str:
        if self.engine == SQLITE:
            return f"sqlite:///{self.root / name}.sqlite3"
        return str(self.cluster.url(name))

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.cluster.url(), autocommit=True) as connection:
            connection.execute(statement)  # type: ignore[arg-type]

    def fresh(self) -> str:
        """A new database with the migrated schema and no rows; its URL."""
        self.counter += 1
        name = f"bench_{self.backend}_{self.counter}"
        if self.engine == SQLITE:
            shutil.copyfile(
                self.root / f"template_{self.backend}.sqlite3",
                self.root / f"{name}.sqlite3",
            )
        else:
            self._sql(f'CREATE DATABASE "{name}" TEMPLATE "template_{self.backend}"')
        return self._url(name)

    def drop(self, url: str) -> None:
        if self.engine == SQLITE:
            path = url.removeprefix("sqlite://")
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
        else:
            name = url.rsplit("/", 1)[1]
            self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_cluster(*, fsync: bool) -> Any:
    """A throwaway PostgreSQL cluster (the project's test fixture, reused)."""
    sys.path.insert(0, str(REPO_ROOT))
    from tests.database.postgres import PostgresCluster

    cluster = PostgresCluster(fsync=fsync)
    try:
        cluster.start()
    except BaseException:
        cluster.remove()
        raise
    return cluster
