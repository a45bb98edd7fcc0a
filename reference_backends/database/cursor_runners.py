"""Cursor runners: how a statement that runs once per task reaches the driver.

Django's cursor is built for statements that vary: it rewrites ``%s`` for
the driver on every call (a regex on SQLite), merges parameters into the
text in Python (psycopg's client-side binding), and, on PostgreSQL, Django
turns psycopg's statement preparation off (``prepare_threshold=None``) so
that transaction-mode connection poolers keep working. The database then
parses and plans the same claim statement for every task.

The few statements the backend runs per task (enqueue, claim, finish) have
a fixed text, so they go straight to the driver on the connection Django
opened (same settings, same transaction, same error classes):

* PostgreSQL (psycopg 3): a server-side binding cursor with
  ``prepare=True``: parsed and planned once per connection. Turned off by
  the backend's ``PREPARED_STATEMENTS: False`` (poolers that cannot keep
  prepared statements), and unavailable on psycopg2.
* SQLite: the ``sqlite3`` cursor with ``?`` placeholders, rewritten once;
  ``sqlite3`` keeps compiled statements in its own per-connection cache.

Whenever something watches the connection (``DEBUG`` or
``assertNumQueries`` logging queries, an ``execute_wrapper`` installed), the
statements go through Django's cursor instead, so they are seen like any
other query.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from django.db.backends.base.base import BaseDatabaseWrapper


class Runner(Protocol):
    """Executes one statement (``%s`` placeholders); returns the cursor."""

    def execute(self, sql: str, params: Sequence[Any]) -> Any: ...


class _DjangoRunner:
    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any]) -> Any:
        self.cursor.execute(sql, params)
        return self.cursor


class _PreparingRunner:
    """psycopg 3: each statement prepared on first use, per connection."""

    def __init__(self, connection: BaseDatabaseWrapper, cursor: Any) -> None:
        self.connection = connection
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any]) -> Any:
        with self.connection.wrap_database_errors:
            self.cursor.execute(sql, params, prepare=True)
        return self.cursor


class _SqliteRunner:
    """sqlite3: ``?`` placeholders; the driver caches compiled statements."""

    _qmark: dict[str, str] = {}  # process-wide: statement texts are few and fixed

    def __init__(self, connection: BaseDatabaseWrapper, cursor: Any) -> None:
        self.connection = connection
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any]) -> Any:
        query = self._qmark.get(sql)
        if query is None:
            # Our statements hold no literal '%' or '?': a plain replace is exact.
            query = self._qmark[sql] = sql.replace("%s", "?")
        with self.connection.wrap_database_errors:
            self.cursor.execute(query, params)
        return self.cursor


#: The preparing cursor of each Django connection (per thread), replaced when
#: Django reconnects. Keyed by Django's wrapper, not the driver's connection,
#: which the cursor refers to (that would keep every dead connection alive).
_cursors: weakref.WeakKeyDictionary[BaseDatabaseWrapper, Any] = (
    weakref.WeakKeyDictionary()
)


def _watched(connection: BaseDatabaseWrapper) -> bool:
    return bool(connection.queries_logged or connection.execute_wrappers)


@contextmanager
def runner(connection: BaseDatabaseWrapper, *, prepare: bool) -> Iterator[Runner]:
    """A :class:`Runner` on ``connection``; ``prepare``: allowed to prepare."""
    if not _watched(connection):
        connection.ensure_connection()
        connection.validate_thread_sharing()
        connection.validate_no_broken_transaction()
        raw = connection.connection
        if connection.vendor == "sqlite":
            with connection.wrap_database_errors:
                cursor = raw.cursor()
            try:
                yield _SqliteRunner(connection, cursor)
            finally:
                cursor.close()
            return
        # Never imported here: a PostgreSQL connection made by psycopg 3 means
        # Django already imported it (importing it costs SQLite users 9 MiB).
        psycopg: Any = sys.modules.get("psycopg")
        if prepare and psycopg is not None and isinstance(raw, psycopg.Connection):
            if raw.prepare_threshold is None:
                # Django's "never prepare" also ignores prepare=True. A huge
                # threshold keeps every other statement unprepared (Django's
                # cursors bind client-side and are never prepared anyway).
                raw.prepare_threshold = sys.maxsize
            cursor = _cursors.get(connection)
            if cursor is None or cursor.closed or cursor.connection is not raw:
                # One cursor per connection, reused: psycopg sets up its
                # parameter dumpers and result loaders once, not per task.
                cursor = _cursors[connection] = psycopg.Cursor(raw)
            yield _PreparingRunner(connection, cursor)
            return
    with connection.cursor() as cursor:
        yield _DjangoRunner(cursor)
