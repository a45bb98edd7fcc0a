"""Enqueue each due time of the schedule exactly once, whatever the workers.

Every worker runs a :class:`Scheduler` for the backends it serves (a thread
beside its task loop). They share one row per schedule entry
(:class:`~.models.ScheduleState`), holding the latest due time enqueued. A
worker enqueues a due time only by moving that row forward, in the same
transaction as the enqueue:

* the row moves with a conditional ``UPDATE ... WHERE last_due_at < due``:
  of several workers racing for one due time, exactly one updates it (on
  SQLite writers take turns; on PostgreSQL the row lock makes the second
  writer re-read the row, which no longer matches);
* on PostgreSQL the row is first locked with ``SELECT ... FOR UPDATE SKIP
  LOCKED``: a worker that finds it locked leaves that due time to the worker
  holding it instead of queueing behind it;
* the result row is inserted in that transaction: if the worker dies before
  the commit, neither happened, and another worker (or a later tick) takes
  the due time. So a due time is never enqueued twice, nor lost while a
  worker is alive.

Catch-up: a tick enqueues the *latest* due time only. After every worker
was down through many due times, the first tick enqueues one run, for the
latest of them (``run_after`` is that due time), not one per missed time.

A new entry's row starts at the due time current when a worker first sees
it: the first run is the entry's next due time, not one at deploy time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connections, transaction

from .._lifecycle import now
from .backend import DatabaseBackend
from .models import ScheduleState
from .schedule import Entry, ScheduleError

logger = logging.getLogger("reference_backends.database.scheduler")

#: Longest sleep between ticks: a changed clock (or time zone rule) is
#: noticed within this long.
MAX_SLEEP = 60.0
#: After a database error, the next tick waits this long, doubling up to MAX_SLEEP.
RETRY_SLEEP = 0.5
#: What _claim returns while another worker holds an entry's row (PostgreSQL).
HELD = "held by another worker"


class Scheduler:
    """The schedule entries of ``backends``, all stored in ``database``."""

    def __init__(self, backends: Sequence[DatabaseBackend], database: str) -> None:
        self.database = database
        self.entries: list[tuple[DatabaseBackend, Entry]] = [
            (backend, entry) for backend in backends for entry in backend.schedule
        ]
        # Resolved once, on the first tick: the Task, or None for an entry
        # whose task does not resolve (logged once, then skipped).
        self._tasks: dict[tuple[str, str], Any] | None = None
        # The latest due time this scheduler has dealt with, per entry: a
        # tick touches the database only for an entry with a new due time.
        self._done: dict[tuple[str, str], datetime] = {}
        self._registered = False
        self._retry = RETRY_SLEEP
        for backend in backends:
            for problem in backend.schedule_problems:
                logger.error("TASKS[%r]: %s; skipped", backend.alias, problem)

    def __bool__(self) -> bool:
        return bool(self.entries)

    # -- one tick ----------------------------------------------------------------
    def tick(self, at: datetime | None = None) -> float:
        """Enqueue what is due; return how many seconds to sleep until the next tick.

        ``at`` is the time to act at (default: now; tests pass one). Never
        raises for a database error or a bad entry: it logs them. A database
        error means an early retry; a bad entry is skipped.
        """
        try:
            tasks = self._resolve()
            current = at or now()
            if not self._registered:
                self._register(current)
            held = False
            for backend, entry in self.entries:
                key = (backend.alias, entry.name)
                task = tasks[key]
                due = entry.latest_due(current)
                if task is None or self._done.get(key) == due:
                    continue
                if self._claim(backend, entry, task, due) is HELD:
                    # Another worker is enqueueing it; if it dies before its
                    # commit, the due time is still ours to take: look again soon.
                    held = True
                else:
                    self._done[key] = due
        except DatabaseError as exc:
            logger.warning("scheduler: database error (%s); retrying soon", exc)
            _discard_connection(self.database)
            self._retry, sleep = min(self._retry * 2, MAX_SLEEP), self._retry
            return sleep
        self._retry = RETRY_SLEEP
        sleep = self._sleep_time(at or now())
        return min(sleep, RETRY_SLEEP) if held else sleep

    def _resolve(self) -> dict[tuple[str, str], Any]:
        if self._tasks is None:
            self._tasks = {}
            for backend, entry in self.entries:
                try:
                    task = entry.task_for(backend)
                except ScheduleError as exc:
                    logger.error(
                        "TASKS[%r]: SCHEDULE[%r]: %s; skipped",
                        backend.alias,
                        entry.name,
                        exc,
                    )
                    task = None
                self._tasks[(backend.alias, entry.name)] = task
        return self._tasks

    def _register(self, current: datetime) -> None:
        """Give each entry its row; a new one starts at its current due time."""
        ScheduleState.objects.using(self.database).bulk_create(
            [
                ScheduleState(
                    backend_name=backend.alias,
                    name=entry.name,
                    last_due_at=entry.latest_due(current),
                )
                for backend, entry in self.entries
            ],
            ignore_conflicts=True,  # already there: another worker, or an earlier run
        )
        self._registered = True

    def _claim(
        self, backend: DatabaseBackend, entry: Entry, task: Any, due: datetime
    ) -> str | None:
        """Enqueue ``due`` unless it (or a later one) already was; the result id,
        or :data:`HELD` while another worker holds the entry's row."""
        connection = connections[self.database]
        row = ScheduleState.objects.using(self.database).filter(
            backend_name=backend.alias, name=entry.name
        )
        try:
            with transaction.atomic(using=self.database):
                if connection.features.has_select_for_update_skip_locked:
                    locked = list(
                        row.select_for_update(skip_locked=True).values_list(
                            "last_due_at", flat=True
                        )
                    )
                    if not locked:  # another worker holds it, until it commits
                        return HELD
                # On SQLite this UPDATE is the transaction's first statement:
                # it takes the write lock (a read first could not upgrade).
                if not row.filter(last_due_at__lt=due).update(last_due_at=due):
                    return None  # enqueued already, by another worker or earlier
                # run_after records which due time this run is for; it is
                # already past, so the run is ready at once.
                result = task.using(run_after=due).enqueue(*entry.args, **entry.kwargs)
                row.update(last_result_id=result.id)
        except DatabaseError:
            raise  # tick() retries soon
        except Exception as exc:  # the enqueue refused it: nothing was written
            logger.error(
                "TASKS[%r]: SCHEDULE[%r]: enqueue for %s failed: %r",
                backend.alias,
                entry.name,
                due.isoformat(),
                exc,
            )
            return None
        logger.info(
            "TASKS[%r]: SCHEDULE[%r] (%s): due %s, enqueued %s",
            backend.alias,
            entry.name,
            entry.expression,
            due.isoformat(),
            result.id,
        )
        return str(result.id)

    def _sleep_time(self, current: datetime) -> float:
        """Until the earliest next due time: workers wake together when it comes."""
        assert self._tasks is not None
        upcoming = [
            (entry.next_due(current) - current).total_seconds()
            for backend, entry in self.entries
            if self._tasks[(backend.alias, entry.name)] is not None
        ]
        # A next due time not after now cannot be (it would spin): wait a second.
        soonest = min(upcoming, default=MAX_SLEEP)
        return min(soonest, MAX_SLEEP) if soonest > 0 else 1.0


def _discard_connection(database: str) -> None:
    """Close a broken connection; Django opens a new one on next use."""
    connection = connections[database]
    with suppress(DatabaseError):
        connection.close()
    connection.connection = None
