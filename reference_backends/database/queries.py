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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

from .records import COLUMNS, Row, db_datetime

#: The LISTEN/NOTIFY channel on PostgreSQL; the payload is the queue name.
CHANNEL = "reference_tasks"

FINISHED = ("SUCCESSFUL", "FAILED")

# Highest priority first, then oldest: the order the ready index is built in.
_NEXT = " ORDER BY priority DESC, enqueued_at LIMIT 1"


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


@dataclass
class Claim:
    """Who claims, what, and when: the values a claim writes."""

    worker_id: str
    backends: Sequence[str]
    queues: Sequence[str] | None
    now: datetime
    lease_expires_at: datetime

    def set_clause(self, queries: Queries) -> tuple[str, list[Any]]:
        # started_at keeps the first attempt; worker_ids gets a line per attempt.
        return (
            "status = 'RUNNING', attempts = attempts + 1, claimed_by = %s,"
            " lease_expires_at = %s, started_at = COALESCE(started_at, %s),"
            " last_attempted_at = %s, worker_ids = worker_ids || %s",
            [
                self.worker_id,
                queries.dt(self.lease_expires_at),
                queries.dt(self.now),
                queries.dt(self.now),
                self.worker_id + "\n",
            ],
        )


@dataclass
class Finish:
    """The outcome of the attempt ``(worker_id, attempt)`` of a row.

    ``status`` READY releases the row for another attempt. Fenced: if the
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

    def sql(self, queries: Queries) -> tuple[str, list[Any]]:
        sets = (
            "status = %s, finished_at = %s, claimed_by = NULL, lease_expires_at = NULL"
        )
        params: list[Any] = [self.status, queries.dt(self.finished_at)]
        if self.return_value is not None:
            sets += ", return_value = %s"
            params.append(self.return_value)
        if self.errors is not None:
            sets += ", errors = %s"
            params.append(self.errors)
        return (
            f"UPDATE {queries.table} SET {sets}"
            " WHERE id = %s AND status = 'RUNNING' AND claimed_by = %s AND attempts = %s",
            [*params, self.result_id, self.worker_id, self.attempt],
        )


class Queries:
    """The statements for one database connection (one vendor, one table)."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        from .models import TaskRecord

        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        self.sqlite = connection.vendor == "sqlite"
        self.table = connection.ops.quote_name(TaskRecord._meta.db_table)
        self.columns = ", ".join(COLUMNS)

    # -- values ------------------------------------------------------------
    def dt(self, value: datetime | None) -> Any:
        """A datetime parameter in the form the ORM stores it."""
        return self.connection.ops.adapt_datetimefield_value(value)

    def _fetch_row(self, cursor: Any) -> Row | None:
        values = cursor.fetchone()
        return None if values is None else Row.from_db(values)

    # -- transactions --------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction, committed on success; yields a cursor.

        SQLite takes the write lock at ``BEGIN IMMEDIATE``: two workers can
        never both read a row as READY and both claim it. Inside a caller's
        ``atomic()`` block the statements just join that transaction.
        """
        with self.connection.cursor() as cursor:
            if self.connection.in_atomic_block:
                yield cursor
                return
            cursor.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
            try:
                yield cursor
            except BaseException:
                # If the connection is gone, so is the transaction.
                with suppress(DatabaseError):
                    cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

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
            params.append(CHANNEL)
        with self.connection.cursor() as cursor:
            cursor.execute(insert, params)

    def get(self, result_id: str) -> Row | None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {self.columns} FROM {self.table} WHERE id = %s", [result_id]
            )
            return self._fetch_row(cursor)

    # -- the claim -------------------------------------------------------------
    def _ready_filter(
        self, backends: Sequence[str], queues: Sequence[str] | None, now: datetime
    ) -> tuple[str, list[Any]]:
        sql = (
            f"status = 'READY' AND backend_name IN ({_placeholders(backends)})"
            " AND (run_after IS NULL OR run_after <= %s)"
        )
        params: list[Any] = [*backends, self.dt(now)]
        if queues is not None:
            sql += f" AND queue_name IN ({_placeholders(queues)})"
            params += queues
        return sql, params

    def select_next(
        self, backends: Sequence[str], queues: Sequence[str] | None, now: datetime
    ) -> str | None:
        """The id of the row a claim would take now (a read: no lock taken)."""
        where, params = self._ready_filter(backends, queues, now)
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {self.table} WHERE {where}{_NEXT}", params)
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
            with self.connection.cursor() as cursor:
                cursor.execute(*finish.sql(self))
                return cursor.rowcount == 1, None
        if self.postgres:
            return self._finish_and_claim_postgres(finish, claim)
        with self.transaction() as cursor:
            written = False
            if finish is not None:
                cursor.execute(*finish.sql(self))
                written = cursor.rowcount == 1
            where, where_params = self._ready_filter(
                claim.backends, claim.queues, claim.now
            )
            set_sql, set_params = claim.set_clause(self)
            cursor.execute(
                f"UPDATE {self.table} SET {set_sql} WHERE id = "
                f"(SELECT id FROM {self.table} WHERE {where}{_NEXT}) RETURNING {self.columns}",
                [*set_params, *where_params],
            )
            return written, self._fetch_row(cursor)

    def _finish_and_claim_postgres(
        self, finish: Finish | None, claim: Claim
    ) -> tuple[bool, Row | None]:
        ctes, params = [], []
        if finish is not None:
            finish_sql, finish_params = finish.sql(self)
            ctes.append(f"done AS ({finish_sql} RETURNING 1)")
            params += finish_params
        where, where_params = self._ready_filter(
            claim.backends, claim.queues, claim.now
        )
        # SKIP LOCKED: a row another worker is claiming right now is passed
        # over, not waited for.
        ctes.append(
            f"next AS (SELECT id FROM {self.table} WHERE {where}{_NEXT} FOR UPDATE SKIP LOCKED)"
        )
        params += where_params
        set_sql, set_params = claim.set_clause(self)
        returning = ", ".join(f"r.{column}" for column in COLUMNS)
        ctes.append(
            f"claimed AS (UPDATE {self.table} AS r SET {set_sql} FROM next"
            f" WHERE r.id = next.id RETURNING {returning})"
        )
        params += set_params
        written = "(SELECT count(*) FROM done)" if finish is not None else "0"
        # Exactly one row back, claimed or not, with the outcome's fate.
        sql = (
            f"WITH {', '.join(ctes)} SELECT {written}, claimed.*"
            " FROM (SELECT 1) AS one LEFT JOIN claimed ON TRUE"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            values = cursor.fetchone()
        row = None if values[1] is None else Row.from_db(values[1:])
        return values[0] == 1, row

    def next_due(
        self, backends: Sequence[str], queues: Sequence[str] | None, now: datetime
    ) -> datetime | None:
        """When the earliest deferred row becomes due (None: none is waiting)."""
        sql = (
            f"SELECT MIN(run_after) FROM {self.table} WHERE status = 'READY'"
            f" AND backend_name IN ({_placeholders(backends)}) AND run_after > %s"
        )
        params: list[Any] = [*backends, self.dt(now)]
        if queues is not None:
            sql += f" AND queue_name IN ({_placeholders(queues)})"
            params += queues
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
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
        self, cursor: Any, backends: Sequence[str], now: datetime, limit: int
    ) -> list[tuple[Row, datetime | None]]:
        """RUNNING rows whose lease has expired, with that expiry (locked on PostgreSQL)."""
        sql = (
            f"SELECT {self.columns}, lease_expires_at FROM {self.table}"
            " WHERE status = 'RUNNING' AND lease_expires_at < %s"
            f" AND backend_name IN ({_placeholders(backends)}) LIMIT %s"
        )
        if self.postgres:
            sql += " FOR UPDATE SKIP LOCKED"
        cursor.execute(sql, [self.dt(now), *backends, limit])
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
        sql = (
            f"DELETE FROM {self.table} WHERE status IN ({_placeholders(statuses)})"
            " AND finished_at < %s"
        )
        params: list[Any] = [*statuses, self.dt(before)]
        if backends is not None:
            sql += f" AND backend_name IN ({_placeholders(backends)})"
            params += backends
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.rowcount)
