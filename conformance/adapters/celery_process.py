"""One Celery worker process, from start to stop (for :mod:`conformance.adapters.celery`).

A worker is started either on the queues to serve, or as a *standby*: booted
ahead of need on a queue of its own that nothing is sent to, and told to
consume the queues to serve when a call needs it (Celery's remote control
``add_consumer``, addressed to that worker alone). A standby hides the
second or so a worker takes to start (Python, Django, Celery) from the call.

When the call's tasks are done, the worker is told to stop consuming them
(``cancel_consumer``, acknowledged); holding no message it could run
soon (parked ones, hours ahead, do not count), it is the next call's
standby, else it is stopped in the background, the call returning at
once: SIGTERM (Celery's warm shutdown, a second or two
with the prefork pool: the messages it reserved and did not start, deferred
ones, go back to the broker), SIGKILL after a bound.
"""

from __future__ import annotations

import functools
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from .. import worker_process

#: How long to wait for a worker to answer remote control (seconds).
CONTROL_TIMEOUT = 5.0

#: What a broker round-trip may take beyond its own timeout before the kit
#: gives up on it (:func:`bounded`).
ROUND_TRIP_MARGIN = 5.0

T = TypeVar("T")


def bounded(call: Callable[[], T], seconds: float, what: str) -> T:
    """``call()``, waited for ``seconds`` at most, in a thread of its own.

    Celery's timeouts bound the wait for replies, not the broker round-trip
    itself: under load one ``ping`` never returned. The kit's alarm only
    reaches the main thread, and the kit drives workers from other threads
    too; here a hung round-trip is a ``TimeoutError`` in any thread, and
    the thread that hangs is left behind (a daemon).
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(
        target=run, name=f"conformance-celery-{what}", daemon=True
    )
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"Celery's {what} did not return within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _eta(entry: Any) -> datetime:
    """When a scheduled entry (``inspect().scheduled()``) runs; the earliest
    instant there is when Celery's answer cannot be read (run soon: the
    worker is not kept)."""
    try:
        eta = datetime.fromisoformat(entry["eta"])
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return eta if eta.tzinfo is not None else eta.replace(tzinfo=UTC)


def control_limit(timeout: float) -> float:
    """How long :func:`bounded` waits for a round-trip of ``timeout``."""
    return timeout + ROUND_TRIP_MARGIN


class WorkerDied(worker_process.WorkerDied):
    """The Celery worker process exited while tasks were still due."""


class WorkerProcess(worker_process.WorkerProcess):
    """A Celery worker: the shared :class:`conformance.worker_process.WorkerProcess`
    (the run's environment, output kept, SIGTERM then SIGKILL), addressed by
    its ``hostname`` through Celery's remote control."""

    def __init__(self, command: list[str], hostname: str, queues: list[str]) -> None:
        super().__init__(command)
        self.hostname = hostname
        self.queues = list(queues)

    @classmethod
    def launch(cls, app_path: str, queues: list[str], pool: str) -> WorkerProcess:
        """A worker on ``queues``, started with the run's environment (its
        settings, its import path)."""
        hostname = f"conformance-{uuid.uuid4().hex[:12]}@{socket.gethostname()}"
        worker = cls(
            [
                sys.executable,
                "-m",
                "conformance.adapters.celery_worker",
                app_path,
                ",".join(queues),
                hostname,
                pool,
            ],
            hostname,
            queues,
        )
        worker.start()
        return worker

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self._process is not None, "not started"
        return self._process

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def serve(self, app: Any, queues: list[str], allowance: float) -> None:
        """Make a standby consume ``queues``: once it answers (within
        ``allowance`` seconds of its start), one ``add_consumer`` per queue,
        each acknowledged. Raises :class:`WorkerDied` or ``TimeoutError``."""
        deadline = time.monotonic() + allowance
        destination = [self.hostname]
        while not bounded(
            lambda: app.control.ping(destination=destination, timeout=0.25, limit=1),
            control_limit(0.25),
            "ping",
        ):
            if not self.alive:
                raise self.died("while starting")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.hostname} did not answer within {allowance:g} s"
                )
        for queue in queues:
            replies = bounded(
                functools.partial(
                    app.control.add_consumer,
                    queue,
                    destination=destination,
                    reply=True,
                    timeout=CONTROL_TIMEOUT,
                    limit=1,
                ),
                control_limit(CONTROL_TIMEOUT),
                "add_consumer",
            )
            if not replies:
                raise TimeoutError(f"{self.hostname} did not take queue {queue!r}")
        self.queues += queues

    def _answers(self, app: Any, *questions: str) -> list[Any]:
        """This worker's answer to each ``inspect`` question (``active``,
        ``reserved``, ``scheduled``), None where it gave none."""
        inspect = app.control.inspect(
            destination=[self.hostname], timeout=CONTROL_TIMEOUT, limit=1
        )
        limit = control_limit(CONTROL_TIMEOUT)
        return [
            (bounded(getattr(inspect, question), limit, "inspect") or {}).get(
                self.hostname
            )
            for question in questions
        ]

    def idle(self, app: Any) -> bool:
        """Running no task, and holding none to run now (messages it holds
        for a later ``eta`` do not count)."""
        return self._answers(app, "active", "reserved") == [[], []]

    def holds_nothing_before(self, app: Any, instant: datetime) -> bool:
        """Running no task, holding none to run now and none whose ``eta``
        comes before ``instant``: once released, nothing it has can run
        before then. (The kit parks tasks an hour ahead by the thousand; a
        worker that took them holds them in memory until their ``eta``.)"""
        scheduled, active, reserved = self._answers(
            app, "scheduled", "active", "reserved"
        )
        if active != [] or reserved != [] or scheduled is None:
            return False
        return all(_eta(entry) > instant for entry in scheduled)

    def release(self, app: Any, queues: list[str]) -> None:
        """Stop consuming ``queues`` (``cancel_consumer``, acknowledged): from
        then on the worker takes no new message, and may be stopped at leisure."""
        for queue in queues:
            bounded(
                functools.partial(
                    app.control.cancel_consumer,
                    queue,
                    destination=[self.hostname],
                    reply=True,
                    timeout=CONTROL_TIMEOUT,
                    limit=1,
                ),
                control_limit(CONTROL_TIMEOUT),
                "cancel_consumer",
            )
            if queue in self.queues:
                self.queues.remove(queue)

    def died(self, when: str) -> WorkerDied:
        return WorkerDied(
            f"the Celery worker exited with status {self.process.returncode} "
            f"{when}; its log ends:\n{self.tail()}"
        )

    def stop(self, timeout: float | None = None) -> int:
        """SIGTERM (warm shutdown), then SIGKILL after ``timeout`` (else its
        grace): gone on return, its output discarded."""
        if timeout is not None:
            self.stop_grace = timeout
        try:
            return super().stop()
        finally:
            self.close()

    def tail(self, lines: int = 15) -> str:
        text = super().tail()
        return "\n".join(text.splitlines()[-lines:]) or "(empty)"
