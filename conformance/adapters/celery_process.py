"""One Celery worker process, from start to stop (for :mod:`conformance.adapters.celery`).

A worker is started either on the queues to serve, or as a *standby*: booted
ahead of need on a queue of its own that nothing is sent to, and told to
consume the queues to serve when a call needs it (Celery's remote control
``add_consumer``, addressed to that worker alone). A standby hides the
second or so a worker takes to start (Python, Django, Celery) from the call.

When the call's tasks are done, the worker is told to stop consuming them
(``cancel_consumer``, acknowledged) and then stopped in the background, the
call returning at once: SIGTERM (Celery's warm shutdown, a second or two
with the prefork pool: the messages it reserved and did not start, deferred
ones, go back to the broker), SIGKILL after a bound.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: How long to wait for a worker to answer remote control (seconds).
CONTROL_TIMEOUT = 5.0


class WorkerDied(RuntimeError):
    """The Celery worker process exited while tasks were still due."""


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    hostname: str
    log: Path
    queues: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, app_path: str, queues: list[str], pool: str) -> WorkerProcess:
        """A worker on ``queues``, with this process's environment (the run's
        settings), its output in a log file of its own."""
        hostname = f"conformance-{uuid.uuid4().hex[:12]}@{socket.gethostname()}"
        fd, name = tempfile.mkstemp(prefix="celery-worker-", suffix=".log")
        log = Path(name)
        with os.fdopen(fd, "wb") as sink:  # the descriptor mkstemp opened
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conformance.adapters.celery_worker",
                    app_path,
                    ",".join(queues),
                    hostname,
                    pool,
                ],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
            )
        return cls(process, hostname, log, list(queues))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def serve(self, app: Any, queues: list[str], allowance: float) -> None:
        """Make a standby consume ``queues``: once it answers (within
        ``allowance`` seconds of its start), one ``add_consumer`` per queue,
        each acknowledged. Raises :class:`WorkerDied` or ``TimeoutError``."""
        deadline = time.monotonic() + allowance
        destination = [self.hostname]
        while not app.control.ping(destination=destination, timeout=0.25, limit=1):
            if not self.alive:
                raise self.died("while starting")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.hostname} did not answer within {allowance:g} s"
                )
        for queue in queues:
            replies = app.control.add_consumer(
                queue,
                destination=destination,
                reply=True,
                timeout=CONTROL_TIMEOUT,
                limit=1,
            )
            if not replies:
                raise TimeoutError(f"{self.hostname} did not take queue {queue!r}")
        self.queues += queues

    def idle(self, app: Any) -> bool:
        """Running no task, and holding none to run now (messages it holds
        for a later ``eta`` do not count)."""
        inspect = app.control.inspect(
            destination=[self.hostname], timeout=CONTROL_TIMEOUT, limit=1
        )
        active = (inspect.active() or {}).get(self.hostname)
        reserved = (inspect.reserved() or {}).get(self.hostname)
        return active == [] and reserved == []

    def release(self, app: Any, queues: list[str]) -> None:
        """Stop consuming ``queues`` (``cancel_consumer``, acknowledged): from
        then on the worker takes no new message, and may be stopped at leisure."""
        for queue in queues:
            app.control.cancel_consumer(
                queue,
                destination=[self.hostname],
                reply=True,
                timeout=CONTROL_TIMEOUT,
                limit=1,
            )

    def died(self, when: str) -> WorkerDied:
        return WorkerDied(
            f"the Celery worker exited with status {self.process.returncode} "
            f"{when}; its log ends:\n{self.tail()}"
        )

    def stop(self, timeout: float) -> None:
        """SIGTERM (warm shutdown), then SIGKILL: gone on return, log removed."""
        try:
            if self.alive:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            self.log.unlink(missing_ok=True)

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty)"
