"""The worker: claim a row, run its task, write the outcome, repeat.

One loop per thread (``--concurrency``), each with its own database
connection, kept open for the worker's life. Per task the loop spends one
write transaction: the outcome of the previous task and the claim of the
next one commit together.

Delivery (the backend's ``DELIVERY`` option), in Celery's terms:

* ``at-most-once`` (default, "ack early"): a task is never run twice. If
  its worker dies mid-task, the lease expires and the task ends FAILED with
  a :class:`~.records.WorkerLost` error.
* ``at-least-once`` ("ack late"): the expired task goes back to READY and
  runs again; ``attempts`` grows, ``errors`` keeps one entry per lost
  attempt. Tasks must then be idempotent.

Retries (a task's ``autoretry_for``, or the backend's ``AUTORETRY_FOR``): an
attempt that raised one of those classes goes back to READY, due after its
backoff (``retry_at``), until ``max_retries`` is spent; then it is FAILED.
``task_finished`` is only sent for the final outcome.

Pools: by default a task runs in the worker's thread; ``pool="process"``
runs each in a child process (:mod:`.process_pool`), which is killed when
the task passes its time limit (:mod:`.time_limits` says what the thread
pool can stop).

Leases: a claimed row carries ``lease_expires_at``; a heartbeat thread
renews the leases of the rows this process is running and recovers rows
whose lease expired (their worker is gone).

Periodic tasks: when the served backends have a ``SCHEDULE``, a scheduler
thread enqueues their due times (:mod:`.scheduler`; a batch worker does it
once, before its first claim).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from .. import compat
from .._lifecycle import from_json_text, now, update
from . import records
from .backend import AT_LEAST_ONCE, POOLS, DatabaseBackend
from .execution import Attempt, run_here
from .process_pool import ChildProcess
from .queries import Claim, Finish, Queries
from .records import Row
from .scheduler import MAX_SLEEP, Scheduler
from .task_class import retry_policy, time_limit

logger = logging.getLogger("reference_backends.database.worker")

#: PostgreSQL wakes idle workers with NOTIFY; polling only catches deferred
#: tasks coming due. SQLite has no such thing: poll often, it is a cheap read.
DEFAULT_POLL = {"postgresql": 1.0, "sqlite": 0.05}
#: A stopping worker gives up writing its last outcome after this long.
STOP_DEADLINE = 30.0
RECOVERY_BATCH = 100


def default_worker_id() -> str:
    """``host:pid:random``, under 64 characters."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{records.new_row_id()[-6:]}"


@dataclass
class Outcome:
    """What one attempt produced, waiting to be written."""

    row: Row
    result: Any  # the TaskResult, None for a row that never started
    status: str
    finished_at: datetime | None
    return_value: str | None = None
    errors: str | None = None
    exc: BaseException | None = None
    duration: float = 0.0
    interrupted: bool = False
    retry_at: datetime | None = None  # READY after a failure: due then
    traceback: str | None = None  # the error, for the log (child processes)


@dataclass
class _Running:
    lease_seconds: float
    ids: set[str] = field(default_factory=set)


class Worker:
    """Runs the tasks of one or more ``DatabaseBackend`` aliases.

    All aliases must store in the same database. ``queue_names`` None means
    every queue. ``batch`` returns once nothing is ready; ``max_tasks``
    stops after that many tasks. ``pool`` is ``"thread"`` (tasks run in the
    worker's threads) or ``"process"`` (each thread hands its tasks to a
    child process, killed at a task's time limit).
    """

    def __init__(
        self,
        aliases: Sequence[str] = ("default",),
        *,
        queue_names: Sequence[str] | None = None,
        concurrency: int = 1,
        batch: bool = False,
        max_tasks: int | None = None,
        poll_interval: float | None = None,
        worker_id: str | None = None,
        pool: str = "thread",
    ) -> None:
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, not {pool!r}")
        self.pool = pool
        self.backends: dict[str, DatabaseBackend] = {}
        for alias in aliases:
            backend = compat.task_backends[alias]
            if not isinstance(backend, DatabaseBackend):
                raise ValueError(f"TASKS[{alias!r}] is not a DatabaseBackend")
            problem = backend.settings.autoretry_problem()
            if problem is not None:
                # Refused at start-up, not at the first failure to retry.
                raise ValueError(f"TASKS[{alias!r}]['OPTIONS']: {problem}")
            self.backends[alias] = backend
        if not self.backends:
            raise ValueError("a worker needs at least one backend alias")
        databases = {b.settings.database for b in self.backends.values()}
        if len(databases) != 1:
            raise ValueError(f"aliases {list(aliases)} store in different databases")
        self.database = databases.pop()
        self.aliases = list(self.backends)
        self.queue_names = None if queue_names is None else list(queue_names)
        self.concurrency = max(1, concurrency)
        self.batch = batch
        self.max_tasks = max_tasks
        self.worker_id = worker_id or default_worker_id()
        vendor = connections[self.database].vendor
        configured = [b.settings.poll_interval for b in self.backends.values()]
        self.poll_interval = poll_interval or min(
            [p for p in configured if p] or [DEFAULT_POLL.get(vendor, 1.0)]
        )
        self.lease_seconds = min(
            b.settings.lease_seconds for b in self.backends.values()
        )
        self.prepare = all(
            b.settings.prepared_statements for b in self.backends.values()
        )
        if "\n" in self.worker_id or not 0 < len(self.worker_id) <= 64:
            raise ValueError("a worker id is 1 to 64 characters, on one line")

        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._claimed = 0  # tasks claimed so far, for max_tasks
        self._running: dict[str, _Running] = {}
        self.processed = 0

    def queries(self) -> Queries:
        """This thread's statements on the worker's database."""
        return Queries.of(connections[self.database], prepare=self.prepare)

    # -- control -------------------------------------------------------------
    def stop(self) -> None:
        """Finish the running task(s), claim nothing more, return from run()."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @contextmanager
    def signal_handlers(self) -> Iterator[None]:
        """SIGTERM/SIGINT stop gracefully; a second one of either interrupts."""

        def graceful(signum: int, frame: FrameType | None) -> None:
            if self.stopping:
                raise KeyboardInterrupt
            logger.warning(
                "worker %s: %s received, finishing the running task(s)",
                self.worker_id,
                signal.Signals(signum).name,
            )
            self.stop()

        previous = {
            sig: signal.signal(sig, graceful) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- the run -------------------------------------------------------------
    def run(self) -> int:
        """Work until stopped (or, in batch mode, until nothing is ready).

        Returns the number of tasks run.
        """
        logger.info(
            "worker %s: backends %s, queues %s, %s pool, concurrency %d%s",
            self.worker_id,
            ",".join(self.aliases),
            ",".join(self.queue_names) if self.queue_names is not None else "*",
            self.pool,
            self.concurrency,
            " (batch)" if self.batch else "",
        )
        self._retrying(self.recover_expired)
        heartbeat = threading.Thread(
            target=self._heartbeat_loop, name=f"{self.worker_id}-heartbeat", daemon=True
        )
        heartbeat_done = threading.Event()
        self._heartbeat_done = heartbeat_done
        heartbeat.start()
        helpers = [heartbeat]
        scheduler = Scheduler(list(self.backends.values()), self.database)
        try:
            if scheduler and self.batch:
                scheduler.tick()  # what is due now, then run it with the rest
            elif scheduler:
                helpers.append(
                    threading.Thread(
                        target=self._schedule_loop,
                        args=(scheduler, heartbeat_done),
                        name=f"{self.worker_id}-scheduler",
                        daemon=True,
                    )
                )
                helpers[-1].start()
            if self.concurrency == 1:
                self._loop()  # in this thread: cheapest, and signals stay simple
            else:
                self._run_threads()
        finally:
            heartbeat_done.set()
            for helper in helpers:
                helper.join()
        logger.info(
            "worker %s: stopped after %d task(s)", self.worker_id, self.processed
        )
        return self.processed

    def _run_threads(self) -> None:
        errors: list[BaseException] = []

        def target() -> None:
            try:
                self._loop()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                self.stop()
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=target, name=f"{self.worker_id}-{n}")
            for n in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            # join with a timeout: the main thread must stay able to run
            # signal handlers.
            while thread.is_alive():
                thread.join(0.2)
        if errors:
            raise errors[0]

    def _loop(self) -> None:
        """Claim, run, record; until stopped or (batch) out of work."""
        child = ChildProcess() if self.pool == "process" else None
        try:
            if child is not None:
                child.start()  # a child that cannot set Django up: fail now
            self._claim_run_record(child)
        finally:
            if child is not None:
                child.close()

    def _claim_run_record(self, child: ChildProcess | None) -> None:
        pending: Outcome | None = None
        listening_on: Any = None
        while True:
            # An interrupted attempt is written alone: the process is stopping.
            claim = (
                not (pending is not None and pending.interrupted) and self._may_claim()
            )
            row = self._retrying(
                self._commit, pending, claim, holding=pending is not None
            )
            retried = pending is not None and pending.status == "READY"
            if pending is not None:
                self._after_commit(pending)
                if pending.interrupted:
                    raise KeyboardInterrupt
            pending = None
            if row is not None:
                pending = self._execute(row, child)
                continue
            if claim and retried:
                # PostgreSQL's single statement claimed before the retry it
                # released was visible: look again before calling it a day.
                self._release_claim_slot()
                continue
            if claim:
                self._release_claim_slot()
            if not claim or self.batch:
                return
            listening_on = self._retrying(self._wait_for_work, listening_on)

    def _may_claim(self) -> bool:
        with self._lock:
            if self._stop.is_set():
                return False
            if self.max_tasks is not None and self._claimed >= self.max_tasks:
                return False
            self._claimed += 1
            return True

    def _release_claim_slot(self) -> None:
        with self._lock:
            self._claimed -= 1

    # -- one transaction per task ----------------------------------------------
    def _commit(self, pending: Outcome | None, claim: bool) -> Row | None:
        """Write ``pending`` and claim the next row, in one transaction."""
        queries = self.queries()
        finish = claim_ = None
        if pending is not None:
            finish = Finish(
                result_id=pending.row.id,
                worker_id=self.worker_id,
                attempt=pending.row.attempts,
                status=pending.status,
                finished_at=pending.finished_at,
                return_value=pending.return_value,
                errors=pending.errors,
                retry_at=pending.retry_at,
            )
        if claim:
            claimed_at = now()
            claim_ = Claim(
                worker_id=self.worker_id,
                backends=self.aliases,
                queues=self.queue_names,
                now=claimed_at,
                # The shortest lease of the served backends: renewed anyway.
                lease_expires_at=claimed_at + timedelta(seconds=self.lease_seconds),
            )
        if finish is None and claim_ is None:
            return None
        written, row = queries.finish_and_claim(finish, claim_)
        if pending is not None:
            self._forget_running(pending.row)
            if not written:
                logger.warning(
                    "worker %s: task %s lost its lease while running; its outcome (%s) "
                    "was discarded",
                    self.worker_id,
                    pending.row.id,
                    pending.status,
                )
                pending.result = None  # and no finished signal for it
        if row is not None:
            self._track_running(row)
            logger.debug(
                "task %s %s claimed (attempt %d)", row.id, row.task_path, row.attempts
            )
        return row

    def _retrying(
        self, action: Callable[..., Any], *args: Any, holding: bool = False
    ) -> Any:
        """Run a database action, reconnecting while the database is away.

        A restarted PostgreSQL or a dropped connection must not lose the
        outcome waiting to be written (``holding``): retry with backoff, for
        ever while running, for :data:`STOP_DEADLINE` seconds once stopping.
        A stopping worker holding nothing gives up at once (returns None):
        SIGTERM must end a worker whose database is gone.
        """
        delay = 0.05
        deadline: float | None = None
        while True:
            try:
                return action(*args)
            except (OperationalError, InterfaceError) as exc:
                _discard_connection(connections[self.database])
                if self.stopping:
                    if not holding:
                        logger.warning(
                            "worker %s: database error while stopping (%s); "
                            "nothing to write, stopping now",
                            self.worker_id,
                            exc,
                        )
                        return None
                    deadline = deadline or time.monotonic() + STOP_DEADLINE
                    if time.monotonic() > deadline:
                        raise
                logger.warning(
                    "worker %s: database error (%s); reconnecting in %.2fs",
                    self.worker_id,
                    exc,
                    delay,
                )
                if self.stopping:
                    time.sleep(delay)
                else:
                    self._stop.wait(delay)  # a stop request ends the wait
                delay = min(delay * 2, 5.0)

    # -- running one task --------------------------------------------------------
    def _execute(self, row: Row, child: ChildProcess | None) -> Outcome:
        try:
            return self._run_task(row, child)
        finally:
            _tidy_connection(connections[self.database])

    def _run_task(self, row: Row, child: ChildProcess | None) -> Outcome:
        backend = self.backends[row.backend_name]
        try:
            task = records.resolve_task(backend, row)
            result = records.build_result(task, row, strict=True)
        except Exception as exc:
            # Never started: a path that does not import or is not a task,
            # arguments that are not JSON. Nothing of it is called.
            # SECURITY-TAMPERED-PATH-NOT-EXECUTED, SECURITY-TAMPERED-PATH-FAILS,
            # SECURITY-MISSING-TASK-FAILS
            return _failed(row, None, exc)
        # SIGNALS-EXECUTION-STATUS: started carries the claimed (RUNNING)
        # result; finished goes out after the final state is stored.
        _send(compat.task_started, backend, result)
        limit = time_limit(task, backend.settings.time_limit)
        started = time.perf_counter()
        try:
            if child is not None:
                # Replacing a killed child takes a moment: not the task's time.
                child.start()
                started = time.perf_counter()
                attempt = child.run(row.backend_name, row, limit)
            else:
                attempt = run_here(task, result, limit)
        except KeyboardInterrupt as exc:
            # Someone is stopping this process: the attempt is lost, as if the
            # worker had died, and the process stops once it is recorded.
            outcome = self._lost(row, result, exc, time.perf_counter() - started)
            outcome.interrupted = True
            return outcome
        except Exception as exc:
            # The child could not be started or answered nonsense: the attempt
            # is lost as with a dead child, and the worker goes on (the next
            # task starts a new child), never leaving the row RUNNING.
            logger.error("task %s: the child process failed: %r", row.id, exc)
            return self._lost(row, result, exc, time.perf_counter() - started)
        duration = time.perf_counter() - started
        if attempt.failed:
            return self._failure(backend, task, row, result, attempt, duration)
        return Outcome(
            row,
            result,
            "SUCCESSFUL",
            now(),
            return_value=attempt.return_value,
            duration=duration,
        )

    def _failure(
        self,
        backend: DatabaseBackend,
        task: Any,
        row: Row,
        result: Any,
        attempt: Attempt,
        duration: float,
    ) -> Outcome:
        """A failed attempt: READY again for a retry, or FAILED."""
        assert attempt.error is not None
        errors = records.append_json(row.errors, attempt.error)
        traceback = attempt.error["traceback"]
        policy = retry_policy(task, backend.settings.retry_policy)
        if policy.retries(attempt.raised, row.attempts):
            return Outcome(
                row,
                result,
                "READY",
                None,
                errors=errors,
                exc=attempt.exc,
                duration=duration,
                retry_at=now() + timedelta(seconds=policy.delay(row.attempts)),
                traceback=traceback,
            )
        return Outcome(
            row,
            result,
            "FAILED",
            now(),
            errors=errors,
            exc=attempt.exc,
            duration=duration,
            traceback=traceback,
        )

    def _lost(
        self, row: Row, result: Any, exc: BaseException, duration: float
    ) -> Outcome:
        """The outcome of an attempt that did not complete (delivery decides)."""
        if _retries(self.backends[row.backend_name], row.attempts):
            errors = records.append_error(row.errors, exc)
            return Outcome(
                row, None, "READY", None, errors=errors, exc=exc, duration=duration
            )
        return _failed(row, result, exc, duration)

    def _after_commit(self, outcome: Outcome) -> None:
        """Log the outcome and send ``task_finished`` (once it is stored)."""
        self.processed += 1
        row = outcome.row
        if outcome.interrupted:
            # The operator's doing, not the task's fault: no traceback.
            logger.warning(
                "task %s %s: forced stop after %.1f ms; %s",
                row.id,
                row.task_path,
                outcome.duration * 1000,
                "back to READY" if outcome.status == "READY" else "FAILED",
            )
        elif outcome.retry_at is not None and outcome.result is not None:
            # Not final: no task_finished (it goes out once, for the outcome
            # that stays). INFO, as Celery logs a retry: the policy at work,
            # not a problem; the final failure is an ERROR.
            logger.info(
                "task %s %s: attempt %d failed in %.1f ms, retry at %s: %s",
                row.id,
                row.task_path,
                row.attempts,
                outcome.duration * 1000,
                outcome.retry_at.isoformat(timespec="milliseconds"),
                _last_line(outcome.traceback),
            )
            return
        if outcome.result is None:
            if outcome.status == "FAILED":
                logger.error(
                    "task %s %s FAILED without running: %r",
                    row.id,
                    row.task_path,
                    outcome.exc,
                )
            return
        result = outcome.result
        update(
            result,
            status=compat.TaskResultStatus(outcome.status),
            finished_at=outcome.finished_at,
        )
        if outcome.errors is not None:
            update(result, errors=records.decode_errors(outcome.errors))
        if outcome.return_value is not None:
            # The worker wrote this text itself: it is valid JSON.
            update(result, _return_value=from_json_text(outcome.return_value))
        backend = self.backends[row.backend_name]
        _send(compat.task_finished, backend, result)
        if outcome.interrupted:
            return
        if outcome.status == "FAILED":
            logger.error(
                "task %s %s FAILED in %.1f ms%s",
                row.id,
                row.task_path,
                outcome.duration * 1000,
                # From a child process there is no exception object, only its text.
                "" if outcome.exc is not None else f"\n{outcome.traceback or ''}",
                exc_info=outcome.exc,
            )
        else:
            logger.info(
                "task %s %s %s in %.1f ms",
                row.id,
                row.task_path,
                outcome.status,
                outcome.duration * 1000,
            )

    # -- waiting for work ----------------------------------------------------------
    def _wait_for_work(self, listening_on: Any) -> Any:
        """Sleep until work may be ready; return the connection listened on.

        PostgreSQL: LISTEN, then wait for a NOTIFY (or a deferred task
        coming due, or the poll interval). SQLite: wait, then probe with a
        read before the next claim takes the write lock.
        """
        connection = connections[self.database]
        queries = self.queries()
        if queries.postgres:
            connection.ensure_connection()
            raw = connection.connection
            if raw is not listening_on:
                with connection.cursor() as cursor:
                    queries.listen(cursor)
                return raw  # something may have arrived before LISTEN: claim first
            timeout = self._sleep_time(queries)
            deadline = time.monotonic() + timeout
            # The raw driver raises its own errors; Django's wrapper turns a
            # lost server into OperationalError, which _retrying reconnects on.
            with connection.wrap_database_errors:
                while not self.stopping and time.monotonic() < deadline:
                    # Short slices: a stop request must not wait for the timeout.
                    slice_ = min(0.25, deadline - time.monotonic())
                    if any(
                        True for _ in raw.notifies(timeout=max(slice_, 0), stop_after=1)
                    ):
                        logger.debug("worker %s: woken by NOTIFY", self.worker_id)
                        break
                for _ in raw.notifies(timeout=0):
                    pass  # drop the backlog: one claim attempt answers them all
            return raw
        while not self.stopping:
            self._stop.wait(self._sleep_time(queries))
            if self.stopping:
                break
            if queries.select_next(self.aliases, self.queue_names, now()):
                break
        return None

    def _sleep_time(self, queries: Queries) -> float:
        current = now()
        due = queries.next_due(self.aliases, self.queue_names, current)
        if due is None:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, (due - current).total_seconds()))

    # -- leases --------------------------------------------------------------------
    def _track_running(self, row: Row) -> None:
        lease = self.backends[row.backend_name].settings.lease_seconds
        with self._lock:
            self._running.setdefault(row.backend_name, _Running(lease)).ids.add(row.id)

    def _forget_running(self, row: Row) -> None:
        with self._lock:
            running = self._running.get(row.backend_name)
            if running is not None:
                running.ids.discard(row.id)

    def _heartbeat_loop(self) -> None:
        interval = min(b.settings.heartbeat_seconds for b in self.backends.values())
        try:
            while not self._heartbeat_done.wait(interval):
                try:
                    self.renew_leases()
                    self.recover_expired()
                except DatabaseError as exc:
                    logger.warning(
                        "worker %s: heartbeat failed: %s", self.worker_id, exc
                    )
                    _discard_connection(connections[self.database])
        finally:
            connections.close_all()

    def _schedule_loop(self, scheduler: Scheduler, done: threading.Event) -> None:
        """Tick the schedule until the worker stops (or its run ends)."""
        try:
            while not self.stopping:
                try:
                    sleep = scheduler.tick()
                except Exception:
                    # tick() handles database errors and bad entries itself;
                    # anything else is a bug, and must not end the schedule
                    # for the rest of the worker's life.
                    logger.exception("worker %s: scheduler failed", self.worker_id)
                    sleep = MAX_SLEEP
                deadline = time.monotonic() + sleep
                # Short slices: a stop request must not wait out a long sleep.
                while not self.stopping and (left := deadline - time.monotonic()) > 0:
                    if done.wait(min(left, 0.5)):
                        return
        finally:
            connections.close_all()

    def renew_leases(self) -> None:
        with self._lock:
            running = [(r.lease_seconds, list(r.ids)) for r in self._running.values()]
        queries = self.queries()
        for lease_seconds, ids in running:
            if not ids:
                continue
            renewed = queries.renew(
                self.worker_id, ids, now() + timedelta(seconds=lease_seconds)
            )
            logger.debug("worker %s: renewed %d lease(s)", self.worker_id, renewed)
            with self._lock:
                # Tasks that finished meanwhile were not renewed: not a loss.
                still_running = sum(
                    1 for r in self._running.values() for i in ids if i in r.ids
                )
            if renewed < still_running:
                logger.warning(
                    "worker %s: %d running task(s) lost their lease",
                    self.worker_id,
                    still_running - renewed,
                )

    def recover_expired(self) -> int:
        """Settle rows whose worker died: FAILED, or READY again (at-least-once)."""
        queries = self.queries()
        settled: list[tuple[Row, str, str]] = []
        with queries.transaction() as run:
            settled_at = now()
            for row, lease in queries.expired(
                run, self.aliases, settled_at, RECOVERY_BATCH
            ):
                backend = self.backends[row.backend_name]
                lost = records.worker_lost(row.claimed_by, lease)
                errors = records.append_error(row.errors, lost)
                status = "READY" if _retries(backend, row.attempts) else "FAILED"
                finish = Finish(
                    result_id=row.id,
                    worker_id=row.claimed_by or "",
                    attempt=row.attempts,
                    status=status,
                    finished_at=settled_at if status == "FAILED" else None,
                    errors=errors,
                )
                run.execute(*finish.sql(queries))
                row.status, row.errors = status, errors
                row.finished_at = settled_at if status == "FAILED" else None
                settled.append((row, status, errors))
        for row, status, _ in settled:
            logger.error(
                "task %s %s: worker %s lost; %s",
                row.id,
                row.task_path,
                row.claimed_by,
                "back to READY" if status == "READY" else "FAILED",
            )
            if status == "FAILED":
                backend = self.backends[row.backend_name]
                _send(compat.task_finished, backend, backend.result_from_row(row))
        return len(settled)


def _failed(
    row: Row, result: Any, exc: BaseException, duration: float = 0.0
) -> Outcome:
    """A FAILED attempt: ``exc`` joins the row's errors."""
    errors = records.append_error(row.errors, exc)
    return Outcome(
        row, result, "FAILED", now(), errors=errors, exc=exc, duration=duration
    )


def _last_line(traceback: str | None) -> str:
    """The ``Class: message`` line of a formatted traceback."""
    lines = (traceback or "").strip().splitlines()
    return lines[-1] if lines else ""


def _retries(backend: DatabaseBackend, attempts: int) -> bool:
    """Does a lost attempt go back to READY under ``backend``'s delivery?"""
    options = backend.settings
    if options.delivery != AT_LEAST_ONCE:
        return False
    return options.max_attempts is None or attempts < options.max_attempts


def _send(signal_: Any, backend: DatabaseBackend, result: Any) -> None:
    """Send a task signal; a failing receiver is logged, never fatal."""
    for receiver, response in signal_.send_robust(type(backend), task_result=result):
        if isinstance(response, BaseException):
            logger.error(
                "signal receiver %r raised for task %s",
                receiver,
                result.id,
                exc_info=response,
            )


def _tidy_connection(connection: BaseDatabaseWrapper) -> None:
    """Undo what a task left behind on the worker's connection.

    A task shares the worker's thread, hence its connection: one that turned
    autocommit off, or left a transaction open (or aborted), would break the
    worker's next statement.
    """
    if connection.connection is None or connection.in_atomic_block:
        return
    if not connection.get_autocommit():
        connection.rollback()
        connection.set_autocommit(True)
    raw = connection.connection
    if connection.vendor == "postgresql":
        open_transaction = raw.info.transaction_status != 0  # not IDLE
    else:
        open_transaction = bool(getattr(raw, "in_transaction", False))
    if open_transaction:
        with suppress(DatabaseError):
            raw.rollback()


def _discard_connection(connection: BaseDatabaseWrapper) -> None:
    """Close a broken connection; Django opens a new one on next use."""
    with suppress(DatabaseError):
        connection.close()
    connection.connection = None
