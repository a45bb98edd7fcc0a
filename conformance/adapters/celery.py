"""One driver for Celery-backed backends: a real Celery worker, started and stopped.

Celery has no "run what is ready, then stop" mode, so the kit decides what is
due itself. Every call of :meth:`CeleryAdapter.run_ready`:

1. takes the tasks the run enqueued (heard through ``task_enqueued``, see
   :mod:`conformance.adapters.enqueued`) that are in the requested queues,
   due (``run_after`` unset or passed) and not finished as the backend's own
   ``get_result`` reports them. None, and no message waiting in those
   queues (:func:`messages_waiting`): it returns at once, no worker started;
2. has a Celery worker process serve exactly those queues
   (:mod:`conformance.adapters.celery_worker`, the run's settings): the
   standby (the previous call's worker, or one booted after it), told to
   consume them, or a worker started on them
   (:mod:`conformance.adapters.celery_process`);
3. waits until ``get_result`` reports each of those tasks finished, polling,
   then until the queues hold no message and the worker runs none
   (:meth:`CeleryAdapter._drain`: a message the kit never heard of, from an
   ``enqueue`` that raised after sending it, is run too);
4. tells the worker to stop consuming (acknowledged). A worker that then
   holds no message due before :data:`KEEP_HORIZON` is kept as the next
   call's standby; one that holds some (a deferred task it took, to run at
   its ``eta`` soon) is stopped in the background: SIGTERM (Celery's warm
   shutdown: the messages it reserved and did not start go back to the
   broker), then SIGKILL after
   :attr:`CeleryAdapter.stop_timeout` seconds, and a new standby boots.
   ``close`` waits for every worker to be gone.

A worker that exits while tasks are due (killed, or a task that ended its
process) is noticed at the next poll: the call stops waiting and
raises :class:`WorkerDied`, with the end of the worker's log. Tasks it left
RUNNING are not waited for again (nor settled: what the backend shows is the
finding). When no task finishes for :attr:`Adapter.timeout` seconds (after
:data:`START_ALLOWANCE` for the worker to start), the call stops waiting and
the tasks still unfinished are never waited for again: a task that never
finishes costs one timeout, once.

``close`` removes what the run left in the broker: its queues are purged of
the run's messages (deferred tasks would otherwise stay for ever), the
results of the tasks it enqueued or its workers received are forgotten, and
the standby is stopped.

Subclasses say how the backend names its Celery app and queues
(:mod:`conformance.adapters.celery_backends`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .base import Adapter
from .celery_process import (
    CONTROL_TIMEOUT,
    WorkerDied,
    WorkerProcess,
    bounded,
    control_limit,
)
from .enqueued import EnqueuedLog

__all__ = ["CeleryAdapter", "WorkerDied"]

#: Seconds a worker may take to start and take its first task.
START_ALLOWANCE = 30.0
#: Seconds between two looks at the results being waited for.
POLL_INTERVAL = 0.05


#: A released worker holding messages due later than this (the kit parks
#: tasks an hour ahead, by the thousand) is still kept as the standby: they
#: cannot run before a kit run's end, and a new worker would take every one
#: of them from the broker again (seconds each call).
KEEP_HORIZON = timedelta(minutes=20)

#: Seconds the end of a run may spend removing what it left in the broker.
CLEANUP_LIMIT = 60.0


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
    #: Keep a worker booted ahead of the next call (see celery_process).
    standby = True
    #: Celery's own default pool, as deployed: a task runs in a child
    #: process, so one that raises SystemExit (or kills its process) costs
    #: the child, and the worker records what became of the task.
    pool = "prefork"

    @property
    def pass_allowance(self) -> float:
        """A pass waits up to ``timeout`` for its tasks after
        :data:`START_ALLOWANCE`, drains the queues for up to ``timeout`` more,
        then tells the worker to stop consuming (:data:`CONTROL_TIMEOUT`)."""
        if self._worker is not None:
            return super().pass_allowance
        return START_ALLOWANCE + self.timeout + CONTROL_TIMEOUT

    @property
    def bounds_own_passes(self) -> bool:
        # It gives up on unfinished tasks by itself (and never waits for them
        # again): a pass after a stall still needs a worker started.
        return self._worker is None or super().bounds_own_passes

    def __init__(self, worker: Any = None, timeout: float = 10.0) -> None:
        super().__init__(worker=worker, timeout=timeout)
        self.enqueued = EnqueuedLog()
        self.enqueued.listen()
        self.queues_used: set[str] = set()
        self.worker_starts = 0
        #: The worker processes serving calls now (one per call in progress).
        self.processes: set[Any] = set()
        #: The queue standbys wait on: nothing is ever sent to it.
        self.standby_queue = "conformance-standby"
        self._standby: WorkerProcess | None = None
        self._stoppers: list[threading.Thread] = []
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
        names = set(due.values()) | set(backend.queues or ())
        queues = sorted(
            {self.celery_queue(backend, name) for name in names} | self.queues_used
            if queue_names is None
            else {self.celery_queue(backend, name) for name in queue_names}
        )
        app = self.celery_app(backend)
        if not due and not messages_waiting(app, queues):
            return
        with self._lock:
            self.queues_used.update(queues)
            self.worker_starts += 1
        worker = self._worker_for(backend, queues)
        with self._lock:
            self.processes.add(worker.process)
        try:
            self._wait(backend, set(due), worker)
            self._drain(app, queues, worker)
        finally:
            kept = False
            try:
                kept = self._keep_as_standby(app, worker, queues)
            finally:
                # Interrupted while asking it (the kit's limit on a call):
                # retired all the same, never left consuming.
                if not kept:
                    self._retire(backend, worker, queues)
                    self._prepare_standby(backend)

    def _keep_as_standby(
        self, app: Any, worker: WorkerProcess, queues: list[str]
    ) -> bool:
        """Released, and holding nothing that could run before
        :data:`KEEP_HORIZON` (no task running, reserved, or kept for an
        ``eta`` sooner): ``worker`` waits for the next call as the standby,
        and no new worker has to boot (a second of CPU each, on every call)
        and take the parked messages again. One that holds a message due
        sooner is stopped instead: its warm shutdown gives the message back
        to the broker, where it stays READY until a later call."""
        if not self.standby or not worker.alive:
            return False
        try:
            worker.release(app, queues)
            if not worker.holds_nothing_before(app, datetime.now(UTC) + KEEP_HORIZON):
                return False
        except Exception:
            return False  # _retire tells it again, or stops it now
        with self._lock:
            if self._standby is not None:
                return False  # two calls at once: one standby is enough
            self._standby = worker
            self.processes.discard(worker.process)
        return True

    def _retire(self, backend: Any, worker: WorkerProcess, queues: list[str]) -> None:
        """No new message for ``worker``; stopped in the background (bounded)."""
        try:
            if worker.alive:
                worker.release(self.celery_app(backend), queues)
        except Exception:
            worker.stop(self.stop_timeout)  # cannot tell it: stop it now
        except BaseException:
            # Interrupted while telling it (the kit's limit on a worker call,
            # a WorkerStalled): no waiting here; it starts its warm shutdown
            # now and the stopper below sees it gone.
            worker.terminate()
            raise
        finally:
            stopper = threading.Thread(
                target=self._stop, args=(worker,), name="conformance-celery-stop"
            )
            with self._lock:
                self._stoppers.append(stopper)
            stopper.start()

    def _stop(self, worker: WorkerProcess) -> None:
        try:
            worker.stop(self.stop_timeout)
        finally:
            with self._lock:
                self.processes.discard(worker.process)

    def _worker_for(self, backend: Any, queues: list[str]) -> WorkerProcess:
        """The standby, told to serve ``queues``; else a worker started on them."""
        with self._lock:
            standby, self._standby = self._standby, None
        if standby is not None:
            try:
                standby.serve(self.celery_app(backend), queues, START_ALLOWANCE)
                return standby
            except Exception:
                standby.stop(self.stop_timeout)  # a fresh worker instead
        return WorkerProcess.launch(self.app_path(backend), queues, self.pool)

    def _prepare_standby(self, backend: Any) -> None:
        if not self.standby:
            return
        with self._lock:
            if self._standby is None:
                self._standby = WorkerProcess.launch(
                    self.app_path(backend), [self.standby_queue], self.pool
                )

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

    def _wait(self, backend: Any, waiting: set[str], worker: WorkerProcess) -> None:
        deadline = time.monotonic() + START_ALLOWANCE + self.timeout
        while waiting:
            statuses = {rid: self._status(backend, rid) for rid in waiting}
            done = {rid for rid, status in statuses.items() if status == "finished"}
            if done:
                self.enqueued.forget(done)
                waiting -= done
                deadline = time.monotonic() + self.timeout
                continue
            if not worker.alive:
                # Tasks it took stay RUNNING for ever: never wait for them again.
                lost = {rid for rid, s in statuses.items() if s == "RUNNING"}
                self.enqueued.forget(lost)
                raise worker.died(
                    f"while {len(waiting)} task(s) were due"
                    + (f", {len(lost)} of them left RUNNING" if lost else "")
                )
            if time.monotonic() > deadline:
                # Given up once: a later call does not wait for them again.
                self.enqueued.forget(waiting)
                return
            time.sleep(POLL_INTERVAL)

    def _drain(self, app: Any, queues: list[str], worker: WorkerProcess) -> None:
        """Until the queues hold no message and the worker runs none, nor holds
        one to run now: a message the kit did not hear of (an ``enqueue`` that
        raised after sending it) is due too. Deferred messages the worker holds
        for later do not count. Bounded by the timeout."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and worker.alive:
            if not messages_waiting(app, queues) and worker.idle(app):
                return
            time.sleep(POLL_INTERVAL)

    # -- the end of the run --------------------------------------------------
    def close(self, backend: Any) -> None:
        self.enqueued.stop()
        with self._lock:
            standby, self._standby = self._standby, None
        if standby is not None:
            standby.stop(self.stop_timeout)
        with self._lock:
            stoppers, self._stoppers = self._stoppers, []
        for stopper in stoppers:
            stopper.join()  # every worker process is gone when the run ends
        try:
            bounded(
                functools.partial(self.remove_leftovers, backend),
                CLEANUP_LIMIT,
                "purge of the run's queues and results",
            )
        except Exception:  # a broker gone away, or hung: nothing more to remove
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
            # The standbys' queue held nothing: its declaration goes too.
            channel.queue_delete(self.standby_queue)
        for result_id in self.result_ids():
            app.backend.forget(result_id)

    def result_ids(self) -> set[str]:
        """Every task id of the run: heard enqueued, or received by a worker."""
        return self.enqueued.all_ids() | received_ids()

    def unannounced_ids(self, backend: Any) -> set[str]:
        return received_ids() - self.enqueued.all_ids()

    def describe(self) -> str:
        return f"{type(self).__name__} (a Celery worker process per run of due tasks)"


def received_ids() -> set[str]:
    """The id of every message the run's workers received (their log)."""
    from .celery_worker import received_log

    try:
        return set(received_log().read_text(encoding="utf-8").split())
    except OSError:
        return set()


def messages_waiting(app: Any, queues: list[str]) -> int:
    """Messages in the broker's ``queues``, taken by no worker yet."""
    return bounded(
        functools.partial(_count_messages, app, queues),
        control_limit(CONTROL_TIMEOUT),
        "queue_declare",
    )


def _count_messages(app: Any, queues: list[str]) -> int:
    total = 0
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        for queue in queues:
            try:
                total += channel.queue_declare(queue=queue, passive=True).message_count
            except Exception:  # a queue that was never declared holds nothing
                continue
    return total
