"""From a stored row to the API's objects, and back: tasks, results, errors.

Everything here is pure Python over plain values, shared by the backend
(``get_result``) and the worker. The one rule that matters for safety lives
in :func:`resolve_task`: a stored path is only ever *called* when it names,
exactly, a Task object of the backend's task class. The JSON text, the
clock and the error entries are the ones every reference backend uses
(:mod:`reference_backends._lifecycle`), so a value or an error reads the same
from this backend as from the in-memory ones.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
import types
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

from .. import compat
from .._lifecycle import error_entry, from_json_text, now, to_json_text, update

#: The columns every query reads, in this order (see :class:`Row`).
COLUMNS = (
    "id",
    "backend_name",
    "task_path",
    "queue_name",
    "priority",
    "run_after",
    "status",
    "args",
    "kwargs",
    "return_value",
    "errors",
    "worker_ids",
    "enqueued_at",
    "started_at",
    "last_attempted_at",
    "finished_at",
    "attempts",
    "claimed_by",
)


class TaskPathError(ImportError):
    """The stored task path does not name a Task of the backend's task class.

    An ``ImportError`` because, to the worker, it is one: the path does not
    import as a task. The worker never calls what such a path names.
    """


class WorkerLost(Exception):
    """The worker running the task stopped renewing its lease (it died)."""


class InvalidRecord(ValueError):
    """A stored column cannot be decoded (for example, ``args`` is not JSON)."""


@dataclasses.dataclass(slots=True)
class Row:
    """One stored result, decoded from :data:`COLUMNS` (JSON still as text)."""

    id: str
    backend_name: str
    task_path: str
    queue_name: str
    priority: int
    run_after: datetime | None
    status: str
    args: str
    kwargs: str
    return_value: str | None
    errors: str
    worker_ids: str
    enqueued_at: datetime
    started_at: datetime | None
    last_attempted_at: datetime | None
    finished_at: datetime | None
    attempts: int
    claimed_by: str | None

    @classmethod
    def from_db(cls, values: Sequence[Any]) -> Row:
        row = cls(*values)
        if not isinstance(row.id, str):  # PostgreSQL returns uuid.UUID
            row.id = row.id.hex
        # Raw cursors return what the driver gives: text on SQLite, aware
        # datetimes on PostgreSQL. Normalise once, here.
        row.run_after = db_datetime(row.run_after)
        row.enqueued_at = db_datetime(row.enqueued_at) or now()
        row.started_at = db_datetime(row.started_at)
        row.last_attempted_at = db_datetime(row.last_attempted_at)
        row.finished_at = db_datetime(row.finished_at)
        return row


# -- ids, stored datetimes and JSON ------------------------------------------
def new_row_id() -> str:
    """32 hex characters: a millisecond clock, then 80 random bits.

    Time-ordered, so new rows land at the end of the primary-key index
    instead of at random pages (the in-memory backends' ``new_id`` is
    random); random enough that ids cannot be guessed.
    """
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def db_datetime(value: Any) -> datetime | None:
    """A datetime read by a raw cursor, as the ORM would return it."""
    if value is None:
        return None
    parsed: datetime | None = parse_datetime(value) if isinstance(value, str) else value
    if parsed is not None and settings.USE_TZ and timezone.is_naive(parsed):
        # SQLite stores naive UTC (the ORM's own format).
        return parsed.replace(tzinfo=UTC)
    return parsed


def decode_list(text: str, column: str) -> list[Any]:
    value = _decode(text, column)
    if not isinstance(value, list):
        raise InvalidRecord(
            f"column {column!r} holds {type(value).__name__}, not a list"
        )
    return value


def decode_dict(text: str, column: str) -> dict[str, Any]:
    value = _decode(text, column)
    if not isinstance(value, dict):
        raise InvalidRecord(
            f"column {column!r} holds {type(value).__name__}, not an object"
        )
    return value


def _decode(text: str, column: str) -> Any:
    try:
        return from_json_text(text)
    except (TypeError, ValueError) as exc:
        raise InvalidRecord(f"column {column!r} is not valid JSON: {exc}") from exc


# -- errors ------------------------------------------------------------------
def append_error(text: str, exc: BaseException) -> str:
    """The stored ``errors`` list ``text`` with the entry of ``exc`` appended."""
    return append_json(text, error_entry(exc))


def worker_lost(worker_id: str | None, lease_expired_at: datetime | None) -> WorkerLost:
    """The error recorded for an attempt whose worker's lease expired."""
    return WorkerLost(
        f"worker {worker_id!r} stopped renewing its lease (expired at "
        f"{lease_expired_at}); it was killed or lost its database connection"
    )


def decode_errors(text: str) -> list[Any]:
    """Stored errors as ``TaskError``; malformed entries are skipped."""
    try:
        entries = decode_list(text, "errors")
    except InvalidRecord:
        return []
    return [
        compat.TaskError(
            exception_class_path=str(entry.get("exception_class_path", "")),
            traceback=str(entry.get("traceback", "")),
        )
        for entry in entries
        if isinstance(entry, dict)
    ]


def append_json(text: str, item: Any) -> str:
    """``text`` (a JSON list) with ``item`` appended; a corrupted list restarts."""
    try:
        items = decode_list(text, "list")
    except InvalidRecord:
        items = []
    items.append(item)
    return to_json_text(items)


# -- tasks -------------------------------------------------------------------
def is_task(found: Any) -> bool:
    """Whether ``found`` is a Task, the only kind of object a worker calls.

    Any Task, not only the backend's ``task_class``: ``@task`` builds its
    Task with the *default* backend's class, and ``.using(backend=...)``
    keeps it, so a task defined for another backend is a plain Task here.
    """
    return isinstance(found, compat.Task)


def resolve_task(backend: Any, row: Row) -> Any:
    """The Task ``row`` names, with the row's priority, queue and run_after.

    Raises :class:`TaskPathError` unless ``row.task_path`` imports as a
    Task (see :func:`is_task`) whose own path is exactly
    ``row.task_path`` (an alias such as ``pkg.reexported_name`` or a path to
    the Task's ``func`` is refused: enqueue never stores those). Raises
    ``InvalidTask`` if the stored options are no longer valid.
    """
    try:
        found = import_string(row.task_path)
    except ImportError as exc:
        raise TaskPathError(
            f"task path {row.task_path!r} does not import: {exc}"
        ) from exc
    except Exception as exc:  # a module that fails while importing
        raise TaskPathError(f"importing {row.task_path!r} failed: {exc!r}") from exc
    if not is_task(found) or found.module_path != row.task_path:
        raise TaskPathError(f"{row.task_path!r} is not a Task: refusing to run it")
    return dataclasses.replace(
        found,
        priority=row.priority,
        queue_name=row.queue_name,
        backend=row.backend_name,
        run_after=row.run_after,
    )


def _unavailable(*args: Any, **kwargs: Any) -> Any:
    raise TaskPathError("this task's function is no longer available")


def placeholder_task(backend: Any, row: Row) -> Any:
    """A Task standing in for one whose path no longer resolves.

    ``get_result`` must still return the stored result. Its ``func`` raises
    :class:`TaskPathError` if called and carries the stored path as its
    ``module_path``, so the result says which task it was.
    """
    module, _, qualname = row.task_path.rpartition(".")
    func: Any = types.FunctionType(
        _unavailable.__code__, _unavailable.__globals__, qualname or "unavailable"
    )
    func.__module__ = module or __name__
    func.__qualname__ = qualname or "unavailable"
    stored = {
        "priority": row.priority,
        "queue_name": row.queue_name,
        "backend": row.backend_name,
        "run_after": row.run_after,
    }
    # Stored options the backend no longer accepts (or a tampered path that
    # is not a valid function name): fall back until something validates.
    # Every field spelled out: Django 6.0's Task has no defaults.
    queue = compat.DEFAULT_TASK_QUEUE_NAME
    if backend.queues and queue not in backend.queues:
        queue = sorted(backend.queues)[0]
    fallback = {
        "priority": compat.DEFAULT_TASK_PRIORITY,
        "queue_name": queue,
        "backend": backend.alias,
        "run_after": None,
    }
    attempts = (
        (func, stored),
        (func, fallback),
        (_unavailable, fallback),
    )
    for candidate, options in attempts[:-1]:
        try:
            return backend.task_class(func=candidate, **options)
        except Exception:  # InvalidTask, or an alias no longer configured
            continue
    candidate, options = attempts[-1]
    return backend.task_class(func=candidate, **options)


def build_result(task: Any, row: Row, *, strict: bool) -> Any:
    """The ``TaskResult`` for ``row``.

    ``strict`` (the worker) raises :class:`InvalidRecord` for corrupted
    arguments; otherwise (``get_result``) they read as empty, so a damaged
    row can still be looked at.
    """
    # JSON-GET-RESULT-PRESERVES: the arguments as enqueue stored them, JSON.
    try:
        args: list[Any] = decode_list(row.args, "args")
        kwargs: dict[str, Any] = decode_dict(row.kwargs, "kwargs")
    except InvalidRecord:
        if strict:
            raise
        args, kwargs = [], {}
    worker_ids = row.worker_ids.splitlines()
    result = compat.TaskResult(
        task=task,
        id=row.id,
        status=compat.TaskResultStatus(row.status),
        enqueued_at=row.enqueued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        last_attempted_at=row.last_attempted_at,
        args=args,
        kwargs=kwargs,
        backend=row.backend_name,
        errors=decode_errors(row.errors),
        worker_ids=worker_ids,
    )
    if row.status == "SUCCESSFUL" and row.return_value is not None:
        # A corrupted return value reads as None.
        with contextlib.suppress(ValueError):
            update(result, _return_value=from_json_text(row.return_value))
    return result
