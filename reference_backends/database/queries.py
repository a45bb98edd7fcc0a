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

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from .records import COLUMNS, Row, db_datetime

#: The LISTEN/NOTIFY channel on PostgreSQL; the payload is the queue name.
CHANNEL = "reference_tasks"

FINISHED = ("SUCCESSFUL", "FAILED")


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


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
    def begin(self, cursor: Any) -> None:
        """Open a write transaction (on SQLite, take the write lock now)."""
        cursor.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")

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
            " VALUES (%s, %s, %s, %s, %s, %s, 'READY', %s, %s, '[]', '[]', %s, 0)"
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
        self,
        cursor: Any,
        backends: Sequence[str],
        queues: Sequence[str] | None,
        now: datetime,
        *,
        lock: bool,
    ) -> Row | None:
        """The next row to run: highest priority, then oldest, due now.

        ``lock`` (inside a write transaction): on PostgreSQL the row stays
        locked until commit, and rows other workers hold are skipped.
        """
        where, params = self._ready_filter(backends, queues, now)
        sql = (
            f"SELECT {self.columns} FROM {self.table} WHERE {where}"
            " ORDER BY priority DESC, enqueued_at LIMIT 1"
        )
        if lock and self.postgres:
            sql += " FOR UPDATE SKIP LOCKED"
        cursor.execute(sql, params)
        return self._fetch_row(cursor)

    def mark_running(
        self,
        cursor: Any,
        row: Row,
        *,
        worker_ids: str,
        lease_expires_at: datetime,
    ) -> None:
        """Record the claim ``row`` already carries (attempts, times, worker)."""
        cursor.execute(
            f"UPDATE {self.table} SET status = 'RUNNING', attempts = %s, claimed_by = %s,"
            " lease_expires_at = %s, started_at = %s, last_attempted_at = %s, worker_ids = %s"
            " WHERE id = %s",
            [
                row.attempts,
                row.claimed_by,
                self.dt(lease_expires_at),
                self.dt(row.started_at),
                self.dt(row.last_attempted_at),
                worker_ids,
                row.id,
            ],
        )

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

    # -- the end of an attempt ---------------------------------------------------
    def finish(
        self,
        cursor: Any,
        *,
        result_id: str,
        worker_id: str,
        attempt: int,
        status: str,
        finished_at: datetime | None,
        return_value: str | None,
        errors: str | None,
    ) -> bool:
        """Write the outcome of the attempt ``(worker_id, attempt)``.

        Fenced: if the lease expired and the row was recovered (or claimed
        again) meanwhile, nothing is written and False is returned.
        ``status`` READY releases the row for another attempt.
        """
        sets = (
            "status = %s, finished_at = %s, claimed_by = NULL, lease_expires_at = NULL"
        )
        params: list[Any] = [status, self.dt(finished_at)]
        if return_value is not None:
            sets += ", return_value = %s"
            params.append(return_value)
        if errors is not None:
            sets += ", errors = %s"
            params.append(errors)
        cursor.execute(
            f"UPDATE {self.table} SET {sets}"
            " WHERE id = %s AND status = 'RUNNING' AND claimed_by = %s AND attempts = %s",
            [*params, result_id, worker_id, attempt],
        )
        return bool(cursor.rowcount == 1)

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
