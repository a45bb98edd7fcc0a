"""Every statement the backend and the worker send, as plain SQL.

The hot path (enqueue, claim, finish) runs once per task, so it skips the ORM:
a handful of hand-written statements on Django's own connection (same
settings, same transactions, same connection reuse). Two dialects only
differ where they must:

* PostgreSQL claims with ``SELECT ... FOR UPDATE SKIP LOCKED``: concurrent
  workers skip each other's rows instead of queueing behind them; enqueue
  sends ``pg_notify`` in the same statement so idle workers wake up at once.
* SQLite has one writer at a time: a claim is a ``BEGIN IMMEDIATE``
  transaction (the write lock is taken first, so two workers can never read
  the same READY row and both take it). Use WAL so readers do not block it.

The per-task statements are built once per shape and sent straight to the
driver, prepared on PostgreSQL (see :mod:`.cursor_runners`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

from .cursor_runners import Runner, runner
from .records import COLUMNS, Row, db_datetime

#: The LISTEN/NOTIFY channel on PostgreSQL; the payload is the queue name.
CHANNEL = "reference_tasks"

FINISHED = ("SUCCESSFUL", "FAILED")

# Highest priority first, then oldest: the order the ready index is built in.
# ORDERING-PRIORITY, ORDERING-TIES-FIFO
_NEXT = " ORDER BY priority DESC, enqueued_at LIMIT 1"


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _only(column: str, values: Sequence[Any] | None) -> tuple[str, list[Any]]:
    """`` AND column IN (...)`` and its parameters; None filters nothing."""
    if values is None:
        return "", []
    return f" AND {column} IN ({_placeholders(values)})", list(values)


def _ready_params(
    backends: Sequence[str], queues: Sequence[str] | None, now: Any
) -> list[Any]:
    """The parameters of :meth:`Queries._ready_filter`, in its order (``now`` adapted)."""
    return [*backends, now, now, *(queues or ())]


# When a READY row becomes due: the later of its run_after and retry_at.
_DUE = (
    "CASE WHEN retry_at IS NULL OR (run_after IS NOT NULL AND run_after > retry_at)"
    " THEN run_after ELSE retry_at END"
)


@dataclass
class Claim:
    """Who claims, what, and when: the values a claim writes."""

    worker_id: str
    backends: Sequence[str]
    queues: Sequence[str] | None
    now: datetime
    lease_expires_at: datetime

    # started_at keeps the first attempt; worker_ids gets a line per attempt.
    # LIFECYCLE-TRANSITIONS: READY -> RUNNING when claimed, before the call
    # (LIFECYCLE-RUNNING-WHILE-EXECUTING); a row no worker claims stays READY.
    SET = (
        "status = 'RUNNING', attempts = attempts + 1, claimed_by = %s,"
        " lease_expires_at = %s, started_at = COALESCE(started_at, %s),"
        " last_attempted_at = %s, worker_ids = worker_ids || %s"
    )

    def params(self, queries: Queries) -> tuple[list[Any], list[Any]]:
        """The parameters of :data:`SET` and of the READY filter (clock converted once)."""
        now = queries.dt(self.now)
        sets = [
            self.worker_id,
            queries.dt(self.lease_expires_at),
            now,
            now,
            self.worker_id + "\n",
        ]
        return sets, _ready_params(self.backends, self.queues, now)

    @property
    def shape(self) -> tuple[int, int | None]:
        """What the claim statement's text depends on: how many backends and queues."""
        return len(self.backends), None if self.queues is None else len(self.queues)


@dataclass
class Finish:
    """The outcome of the attempt ``(worker_id, attempt)`` of a row.

    ``status`` READY releases the row for another attempt, not before
    ``retry_at`` (a retry's backoff) when given. Fenced: if the
    lease expired and the row was recovered (or claimed again) meanwhile,
    the statement matches nothing and the outcome is not written.
    """

    result_id: str
    worker_id: str
    attempt: int
    status: str
    finished_at: datetime | None
    return_value: str | None = None
    errors: str | None = None
    retry_at: datetime | None = None

    def sql(self, queries: Queries) -> tuple[str, list[Any]]:
        shape = (
            self.return_value is not None,
            self.errors is not None,
            self.retry_at is not None,
        )
        params: list[Any] = [self.status, queries.dt(self.finished_at)]
        if self.return_value is not None:
            params.append(self.return_value)
        if self.errors is not None:
            params.append(self.errors)
        if self.retry_at is not None:
            params.append(queries.dt(self.retry_at))
        params += [self.result_id, self.worker_id, self.attempt]
        return queries.statement(("finish", shape), self._build, shape), params

    @staticmethod
    def _build(queries: Queries, shape: tuple[bool, bool, bool]) -> str:
        sets = (
            "status = %s, finished_at = %s, claimed_by = NULL, lease_expires_at = NULL"
        )
        if shape[0]:
            sets += ", return_value = %s"
        if shape[1]:
            sets += ", errors = %s"
        if shape[2]:
            sets += ", retry_at = %s"
        return (
            f"UPDATE {queries.table} SET {sets}"
            " WHERE id = %s AND status = 'RUNNING' AND claimed_by = %s AND attempts = %s"
        )


class Queries:
    """The statements for one database connection (one vendor, one table).

    Get one with :meth:`of`: statement texts are built once per connection
    and shape (which backends, which queues, which columns a finish writes),
    so the per-task statements keep an identical text (PostgreSQL prepares
    each once).
    """

    _cache: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[bool, Queries]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(
        self, connection: BaseDatabaseWrapper, *, prepare: bool = True
    ) -> None:
        from .models import TaskRecord

        self.connection = connection
        self.prepare = prepare
        self.postgres = connection.vendor == "postgresql"
        self.sqlite = connection.vendor == "sqlite"
        self.table = connection.ops.quote_name(TaskRecord._meta.db_table)
        self.columns = ", ".join(COLUMNS)
        self._statements: dict[Any, str] = {}

    @classmethod
    def of(cls, connection: BaseDatabaseWrapper, *, prepare: bool = True) -> Queries:
        """The (cached) statements for ``connection``, a per-thread object."""
        per_connection = cls._cache.setdefault(connection, {})
        queries = per_connection.get(prepare)
        if queries is None:
            queries = per_connection[prepare] = cls(connection, prepare=prepare)
        return queries

    def statement(self, key: Any, build: Callable[..., str], *args: Any) -> str:
        """The text ``build(self, *args)``, built on first use of ``key``."""
        sql = self._statements.get(key)
        if sql is None:
            sql = self._statements[key] = build(self, *args)
        return sql

    # -- values ------------------------------------------------------------
    def dt(self, value: datetime | None) -> Any:
        """A datetime parameter in the form the ORM stores it."""
        return self.connection.ops.adapt_datetimefield_value(value)

    def _fetch_row(self, cursor: Any) -> Row | None:
        values = cursor.fetchone()
        return None if values is None else Row.from_db(values)

    # -- running statements --------------------------------------------------
    def runner(self) -> Any:
        """A context manager giving the :class:`~.cursor_runners.Runner` for hot statements."""
        return runner(self.connection, prepare=self.prepare)

    @contextmanager
    def transaction(self) -> Iterator[Runner]:
        """A write transaction, committed on success; yields a runner.

        SQLite takes the write lock at ``BEGIN IMMEDIATE``: two workers can
        never both read a row as READY and both claim it. Inside a caller's
        ``atomic()`` block the statements just join that transaction.
        """
        # Not prepared on PostgreSQL: BEGIN/COMMIT through Django's cursor,
        # which is what Django's own transaction handling expects to see.
        with runner(self.connection, prepare=False) as run:
            if self.connection.in_atomic_block:
                yield run
                return
            run.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN", [])
            try:
                yield run
            except BaseException:
                # If the connection is gone, so is the transaction.
                with suppress(DatabaseError):
                    run.execute("ROLLBACK", [])
                raise
            run.execute("COMMIT", [])

    # -- enqueue and read ----------------------------------------------------
    def insert(
        self,
        *,
        id: str,
        backend_name: str,
        task_path: str,
        queue_name: str,
        priority: int,
        run_after: datetime | None,
        args: str,
        kwargs: str,
        enqueued_at: datetime,
    ) -> None:
        params = [
            id,
            backend_name,
            task_path,
            queue_name,
            priority,
            self.dt(run_after),
            args,
            kwargs,
            self.dt(enqueued_at),
        ]
        if self.postgres:
            params.append(CHANNEL)
        with self.runner() as run:
            run.execute(self.statement("insert", Queries._insert_sql), params)

    def _insert_sql(self) -> str:
        insert = (
            f"INSERT INTO {self.table} (id, backend_name, task_path, queue_name, priority,"
            " run_after, status, args, kwargs, errors, worker_ids, enqueued_at, attempts)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'READY', %s, %s, '[]', '', %s, 0)"
        )
        if self.postgres:
            # One statement, one round trip: the notification is delivered
            # when the row is committed (with the caller's transaction, if any).
            insert = (
                f"WITH new AS ({insert} RETURNING queue_name)"
                " SELECT pg_notify(%s, queue_name) FROM new"
            )
        return insert

    def get(self, result_id: str) -> Row | None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {self.columns} FROM {self.table} WHERE id = %s", [result_id]
            )
            return self._fetch_row(cursor)

    # -- the claim -------------------------------------------------------------
    def _ready_filter(
        self, backends: Sequence[str], queues: Sequence[str] | None
    ) -> str:
        # Its parameters come from _ready_params: the hot claim builds this
        # text once per shape, the parameters per call.
        # DEFER-RUNS-WHEN-DUE: run_after is aware, compared with an aware now.
        # DEFER-NOT-EARLY, DEFER-DOES-NOT-BLOCK: a row not due yet is skipped,
        # never waited for. WORKER-QUEUES-SELECTED, WORKER-QUEUES-ALL: only the
        # worker's queues, every queue when it names none. A failed row
        # waiting for its retry is not due before retry_at.
        return (
            f"status = 'READY' AND backend_name IN ({_placeholders(backends)})"
            " AND (run_after IS NULL OR run_after <= %s)"
            " AND (retry_at IS NULL OR retry_at <= %s)"
            f"{_only('queue_name', queues)[0]}"
        )

    def select_next(
        self, backends: Sequence[str], queues: Sequence[str] | None, now: datetime
    ) -> str | None:
        """The id of the row a claim would take now (a read: no lock taken)."""
        where = self._ready_filter(backends, queues)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {self.table} WHERE {where}{_NEXT}",
                _ready_params(backends, queues, self.dt(now)),
            )
            found = cursor.fetchone()
        return None if found is None else str(found[0])

    def finish_and_claim(
        self, finish: Finish | None, claim: Claim | None
    ) -> tuple[bool, Row | None]:
        """Write an attempt's outcome and claim the next row, atomically.

        Returns whether the outcome was written (see :meth:`Finish.sql`) and
        the claimed row, already RUNNING (None when nothing is ready).

        PostgreSQL does both in one statement, so a task costs one round trip
        and one commit. SQLite runs the statements inside ``BEGIN IMMEDIATE``
        (calls into SQLite are cheap; commits are what cost).
        """
        if claim is None:
            assert finish is not None
            with self.runner() as run:
                cursor = run.execute(*finish.sql(self))
                return cursor.rowcount == 1, None
        if self.postgres:
            return self._finish_and_claim_postgres(finish, claim)
        with self.transaction() as run:
            written = False
            if finish is not None:
                written = run.execute(*finish.sql(self)).rowcount == 1
            sql = self.statement(("claim", claim.shape), Queries._claim_sql, claim)
            set_params, ready_params = claim.params(self)
            cursor = run.execute(sql, [*set_params, *ready_params])
            return written, self._fetch_row(cursor)

    def _claim_sql(self, claim: Claim) -> str:
        where = self._ready_filter(claim.backends, claim.queues)
        return (
            f"UPDATE {self.table} SET {Claim.SET} WHERE id = "
            f"(SELECT id FROM {self.table} WHERE {where}{_NEXT}) RETURNING {self.columns}"
        )

    def _finish_and_claim_postgres(
        self, finish: Finish | None, claim: Claim
    ) -> tuple[bool, Row | None]:
        params: list[Any] = []
        finish_sql = None
        if finish is not None:
            finish_sql, params = finish.sql(self)
        sql = self.statement(
            ("finish_and_claim", finish_sql, claim.shape),
            Queries._finish_and_claim_sql,
            finish_sql,
            claim,
        )
        set_params, ready_params = claim.params(self)
        params += ready_params + set_params
        with self.runner() as run:
            values = run.execute(sql, params).fetchone()
        row = None if values[1] is None else Row.from_db(values[1:])
        return values[0] == 1, row

    def _finish_and_claim_sql(self, finish_sql: str | None, claim: Claim) -> str:
        ctes = []
        if finish_sql is not None:
            ctes.append(f"done AS ({finish_sql} RETURNING 1)")
        where = self._ready_filter(claim.backends, claim.queues)
        # SKIP LOCKED: a row another worker is claiming right now is passed
        # over, not waited for (SUCCESS-EXACTLY-ONCE: one claim per row).
        ctes.append(
            f"next AS (SELECT id FROM {self.table} WHERE {where}{_NEXT} FOR UPDATE SKIP LOCKED)"
        )
        returning = ", ".join(f"r.{column}" for column in COLUMNS)
        ctes.append(
            f"claimed AS (UPDATE {self.table} AS r SET {Claim.SET} FROM next"
            f" WHERE r.id = next.id RETURNING {returning})"
        )
        written = "(SELECT count(*) FROM done)" if finish_sql is not None else "0"
        # Exactly one row back, claimed or not, with the outcome's fate.
        return (
            f"WITH {', '.join(ctes)} SELECT {written}, claimed.*"
            " FROM (SELECT 1) AS one LEFT JOIN claimed ON TRUE"
        )

    def next_due(
        self, backends: Sequence[str], queues: Sequence[str] | None, now: datetime
    ) -> datetime | None:
        """When the earliest deferred row (or retry) becomes due (None: none is waiting)."""
        in_queues, queue_params = _only("queue_name", queues)
        sql = (
            f"SELECT MIN({_DUE}) FROM {self.table} WHERE status = 'READY'"
            f" AND backend_name IN ({_placeholders(backends)})"
            f" AND (run_after > %s OR retry_at > %s){in_queues}"
        )
        current = self.dt(now)
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [*backends, current, current, *queue_params])
            (value,) = cursor.fetchone()
        return db_datetime(value)

    # -- leases ------------------------------------------------------------------
    def renew(self, worker_id: str, result_ids: Iterable[str], until: datetime) -> int:
        ids = list(result_ids)
        if not ids:
            return 0
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET lease_expires_at = %s WHERE status = 'RUNNING'"
                f" AND claimed_by = %s AND id IN ({_placeholders(ids)})",
                [self.dt(until), worker_id, *ids],
            )
            return int(cursor.rowcount)

    def expired(
        self, run: Runner, backends: Sequence[str], now: datetime, limit: int
    ) -> list[tuple[Row, datetime | None]]:
        """RUNNING rows whose lease has expired, with that expiry (locked on PostgreSQL)."""
        sql = (
            f"SELECT {self.columns}, lease_expires_at FROM {self.table}"
            " WHERE status = 'RUNNING' AND lease_expires_at < %s"
            f" AND backend_name IN ({_placeholders(backends)}) LIMIT %s"
        )
        if self.postgres:
            sql += " FOR UPDATE SKIP LOCKED"
        cursor = run.execute(sql, [self.dt(now), *backends, limit])
        return [
            (Row.from_db(values[:-1]), db_datetime(values[-1]))
            for values in cursor.fetchall()
        ]

    # -- housekeeping ----------------------------------------------------------
    def listen(self, cursor: Any) -> None:
        cursor.execute(f"LISTEN {CHANNEL}")

    def prune(
        self,
        *,
        before: datetime,
        backends: Sequence[str] | None,
        statuses: Sequence[str] = FINISHED,
    ) -> int:
        in_backends, backend_params = _only("backend_name", backends)
        sql = (
            f"DELETE FROM {self.table} WHERE status IN ({_placeholders(statuses)})"
            f" AND finished_at < %s{in_backends}"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [*statuses, self.dt(before), *backend_params])
            return int(cursor.rowcount)
