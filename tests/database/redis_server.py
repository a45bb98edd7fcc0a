"""A throwaway Redis server for tests: started on a free port, stopped by its pid.

Needs ``redis-server`` (Debian's ``redis-server`` package). The server listens
on 127.0.0.1 only, keeps nothing on disk (no RDB snapshots, no AOF) and has a
directory of its own, removed when it stops. The beside-it twin for
PostgreSQL is :mod:`tests.database.postgres`.

Usable outside pytest::

    with RedisServer() as server:
        print(server.url(db=0))
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.database.throwaway import ThrowawayServer, running_for_tests

#: How long the server may take to answer its first PING, and to stop.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class RedisUnavailable(RuntimeError):
    """No ``redis-server`` on this machine."""


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
    )
    if found is None:
        raise RedisUnavailable(
            "redis-server not found: install it (Debian: apt-get install redis-server)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one command (RESP) to the server on ``port``; its raw reply.

    Enough for PING and FLUSHALL: the helper needs no client library.
    """
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"".join(parts))
        reply = b""
        while not _complete(reply):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply


def _complete(reply: bytes) -> bool:
    """A whole simple reply (``+OK``, ``:3``) or bulk string (``$5 hello``)."""
    head, sep, rest = reply.partition(b"\r\n")
    if not sep:
        return False
    if head.startswith(b"$") and int(head[1:]) >= 0:
        return len(rest) >= int(head[1:]) + 2
    return True


class RedisServer(ThrowawayServer):
    """One ``redis-server`` process in a directory of its own."""

    def __init__(self) -> None:
        self.binary = redis_server_binary()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="conformance-redis-"))
        self.log = self.root / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.root),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                str(self.log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}:\n{self._log()}"
                )
            with contextlib.suppress(OSError):
                if command(self.port, "PING").startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer:\n{self._log()}")
            time.sleep(0.02)

    def flush(self) -> None:
        command(self.port, "FLUSHALL")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL: the process is gone when this returns."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def redis_for_tests() -> contextlib.AbstractContextManager[RedisServer]:
    """A running server for a test session; skip without redis-server (fail on CI)."""
    return running_for_tests(RedisServer, RedisUnavailable)
