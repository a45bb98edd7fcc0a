"""One driver for Celery-backed backends: a real Celery worker, started and stopped.

Celery has no "run what is ready, then stop" mode, so the kit decides what is
due itself. Every call of :meth:`CeleryAdapter.run_ready`:

1. takes the tasks the run enqueued (heard through ``task_enqueued``, see
   :mod:`conformance.adapters.enqueued`) that are in the requested queues,
   due (``run_after`` unset or passed) and not finished as the backend's own
   ``get_result`` reports them. None: it returns at once, no worker started;
2. starts a Celery worker process on exactly those queues
   (:mod:`conformance.adapters.celery_worker`, the run's settings);
3. waits until ``get_result`` reports each of those tasks finished, polling;
4. stops the worker: SIGTERM (Celery's warm shutdown: the messages it
   reserved and did not start, deferred ones included, go back to the
   broker), then SIGKILL after :attr:`CeleryAdapter.stop_timeout` seconds.

A worker that exits while tasks are due (a task that raised ``SystemExit``
in the solo pool) is noticed at the next poll: the call stops waiting and
raises :class:`WorkerDied`, with the end of the worker's log. Tasks it left
RUNNING are not waited for again (nor settled: what the backend shows is the
finding). When no task finishes for :attr:`Adapter.timeout` seconds (after
:data:`START_ALLOWANCE` for the worker to start), the call stops waiting and
the tasks still unfinished are never waited for again: a task that never
finishes costs one timeout, once.

``close`` removes what the run left in the broker: its queues are purged of
the run's messages (deferred tasks would otherwise stay for ever) and the
results of the tasks it enqueued are forgotten.

Subclasses say how the backend names its Celery app and queues
(:mod:`conformance.adapters.celery_backends`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .base import Adapter
from .enqueued import EnqueuedLog

#: Seconds a worker may take to start and take its first task.
START_ALLOWANCE = 30.0
#: Seconds between two looks at the results being waited for.
POLL_INTERVAL = 0.05


class WorkerDied(RuntimeError):
    """The Celery worker process exited while tasks were still due."""


class CeleryAdapter(Adapter):
    executes = True
    worker_driven = True
    # A process per call, on the queues given: any thread may call it, two
    # calls at once are two workers, and the broker gives a message to one.
    selects_queues = True
    runs_in_other_threads = True
    runs_concurrently = True
    #: Seconds a stopping worker gets to finish (warm shutdown) before SIGKILL.
    stop_timeout = 10.0

    def __init__(self, worker: Any = None, timeout: float = 10.0) -> None:
        super().__init__(worker=worker, timeout=timeout)
        self.enqueued = EnqueuedLog()
        self.enqueued.listen()
        self.queues_used: set[str] = set()
        self.worker_starts = 0
        #: The worker processes running now (one per call in progress).
        self.processes: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    # -- what a backend says -----------------------------------------------
    def app_path(self, backend: Any) -> str:
        """Dotted path of the backend's Celery app; "" for the current app."""
        return ""

    def celery_app(self, backend: Any) -> Any:
        from .celery_worker import celery_app

        return celery_app(self.app_path(backend))

    def celery_queue(self, backend: Any, queue_name: str) -> str:
        """The Celery queue a task of Django queue ``queue_name`` is sent to."""
        return queue_name

    # -- running what is due -------------------------------------------------
    def run_ready(self, backend: Any, queue_names: Sequence[str] | None = None) -> None:
        if self._worker is not None:
            return super().run_ready(backend, queue_names)
        due = self.due(backend, queue_names)
        if not due:
            return
        queues = sorted(
            {self.celery_queue(backend, name) for name in due.values()}
            if queue_names is None
            else {self.celery_queue(backend, name) for name in queue_names}
        )
        with self._lock:
            self.queues_used.update(queues)
            self.worker_starts += 1
        log = Path(tempfile.mkstemp(prefix="celery-worker-", suffix=".log")[1])
        try:
            process = self._start(backend, queues, log)
            with self._lock:
                self.processes.add(process)
            try:
                self._wait(backend, set(due), process, log)
            finally:
                stop(process, self.stop_timeout)
                with self._lock:
                    self.processes.discard(process)
        finally:
            log.unlink(missing_ok=True)

    def due(self, backend: Any, queue_names: Sequence[str] | None) -> dict[str, str]:
        """Result id -> Django queue of each task due now and not finished."""
        now = datetime.now(UTC)
        wanted = set(queue_names) if queue_names is not None else None
        candidates = {
            entry.id: entry.queue_name
            for entry in self.enqueued.entries()
            if entry.due(now) and (wanted is None or entry.queue_name in wanted)
        }
        finished = {rid for rid in candidates if self._finished(backend, rid)}
        self.enqueued.forget(finished)
        return {rid: queue for rid, queue in candidates.items() if rid not in finished}

    def _finished(self, backend: Any, result_id: str) -> bool:
        return self._status(backend, result_id) == "finished"

    def _status(self, backend: Any, result_id: str) -> str:
        """ "finished", a status, or "unknown" (``get_result`` raised: a backend
        may know a task only once its worker stored a result)."""
        try:
            result = backend.get_result(result_id)
        except Exception:
            return "unknown"
        return "finished" if result.is_finished else str(result.status)

    def _start(
        self, backend: Any, queues: list[str], log: Path
    ) -> subprocess.Popen[bytes]:
        hostname = f"conformance-{uuid.uuid4().hex[:12]}@%h"
        with log.open("wb") as sink:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conformance.adapters.celery_worker",
                    self.app_path(backend),
                    ",".join(queues),
                    hostname,
                ],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
            )

    def _wait(
        self,
        backend: Any,
        waiting: set[str],
        process: subprocess.Popen[bytes],
        log: Path,
    ) -> None:
        deadline = time.monotonic() + START_ALLOWANCE + self.timeout
        while waiting:
            statuses = {rid: self._status(backend, rid) for rid in waiting}
            done = {rid for rid, status in statuses.items() if status == "finished"}
            if done:
                self.enqueued.forget(done)
                waiting -= done
                deadline = time.monotonic() + self.timeout
                continue
            if process.poll() is not None:
                # Tasks it took stay RUNNING for ever: never wait for them again.
                lost = {rid for rid, s in statuses.items() if s == "RUNNING"}
                self.enqueued.forget(lost)
                raise WorkerDied(
                    f"the Celery worker exited with status {process.returncode} "
                    f"while {len(waiting)} task(s) were due"
                    + (f", {len(lost)} of them left RUNNING" if lost else "")
                    + f"; its log ends:\n{tail(log)}"
                )
            if time.monotonic() > deadline:
                # Given up once: a later call does not wait for them again.
                self.enqueued.forget(waiting)
                return
            time.sleep(POLL_INTERVAL)

    # -- the end of the run --------------------------------------------------
    def close(self, backend: Any) -> None:
        self.enqueued.stop()
        try:
            self.remove_leftovers(backend)
        except Exception:  # a broker gone away: nothing more to remove
            return

    def remove_leftovers(self, backend: Any) -> None:
        """Purge the run's queues and forget the run's results."""
        app = self.celery_app(backend)
        queues = self.queues_used | {
            self.celery_queue(backend, entry.queue_name)
            for entry in self.enqueued.entries()
        }
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            for queue in sorted(queues):
                channel.queue_purge(queue)
        for result_id in self.enqueued.all_ids():
            app.backend.forget(result_id)

    def describe(self) -> str:
        return f"{type(self).__name__} (a Celery worker process per run of due tasks)"


def stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM (warm shutdown), then SIGKILL: the process is gone on return."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"
