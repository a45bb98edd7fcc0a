"""A throwaway PostgreSQL cluster for tests: initdb, start, yield a URL, remove.

Needs the server binaries (``initdb``, ``pg_ctl``: Debian's ``postgresql``
package) and psycopg. PostgreSQL refuses to run as root, so when the tests
run as root the cluster belongs to the ``postgres`` user (``runuser``).
The cluster listens on 127.0.0.1 on a free port and trusts local clients.

Usable outside pytest (the benchmarks start one too)::

    with PostgresCluster() as cluster:
        print(cluster.url("mydb"))
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.database.throwaway import ThrowawayServer, running_for_tests

SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if candidates:
        return Path(candidates[-1]).parent
    raise PostgresUnavailable("pg_ctl not found: install PostgreSQL's server binaries")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster(ThrowawayServer):
    """One cluster in a temporary directory; ``start()``/``stop()`` may repeat."""

    def __init__(
        self, *, fsync: bool = False, settings: dict[str, str] | None = None
    ) -> None:
        self.bindir = _bindir()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="reference-tasks-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        # fsync off by default: tests need speed, not crash safety.
        self.settings = {"fsync": "on" if fsync else "off", "max_connections": "200"}
        self.settings.update(settings or {})
        self._as_postgres = os.geteuid() == 0
        self.user = SUPERUSER if self._as_postgres else _current_user()
        if self._as_postgres:
            shutil.chown(self.root, SUPERUSER, SUPERUSER)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({completed.returncode}):\n"
                f"{completed.stdout}{completed.stderr}{log}"
            )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root}"
        options += "".join(
            f" -c {name}={value}" for name, value in self.settings.items()
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        # stop + start rather than `pg_ctl restart`: restart would start the
        # server without -l, holding our captured pipes open for ever.
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create ``name`` (a fresh, empty database); return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _current_user() -> str:
    import getpass

    return getpass.getuser()


def cluster_for_tests() -> contextlib.AbstractContextManager[PostgresCluster]:
    """A running cluster for a test session; skip without PostgreSQL (fail on CI)."""
    return running_for_tests(PostgresCluster, PostgresUnavailable)
