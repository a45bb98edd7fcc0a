"""``DatabaseBackend``: results stored in a table that is also the queue.

``enqueue`` inserts a READY row (one statement); workers started with
``manage.py task_worker`` claim rows, run them and write the outcome;
``get_result`` reads the row back from any thread or process.

Settings::

    TASKS = {
        "default": {
            "BACKEND": "reference_backends.database.DatabaseBackend",
            "QUEUES": ["default", "emails"],   # [] accepts any queue name
            "OPTIONS": {
                "DATABASE": "default",          # alias in DATABASES
                "DELIVERY": "at-most-once",     # or "at-least-once"
                "LEASE_SECONDS": 30,            # a dead worker is noticed after this
                "MAX_ATTEMPTS": None,           # at-least-once: give up after N runs
                "POLL_INTERVAL": None,          # seconds; None = 1.0 on PostgreSQL
                                                #   (LISTEN/NOTIFY wakes workers), 0.05 on SQLite
                "PREPARED_STATEMENTS": True,    # PostgreSQL + psycopg 3: prepare the
                                                #   per-task statements; False behind a
                                                #   pooler that cannot keep them
                "SCHEDULE": {},                 # periodic tasks: see schedule.py
                # Defaults for tasks that do not set their own (task_class.py):
                "AUTORETRY_FOR": [],            # exception classes or dotted paths
                "MAX_RETRIES": 3,               # retries after the first attempt
                "RETRY_BACKOFF": False,         # seconds before the first retry, doubled
                "RETRY_BACKOFF_MAX": 600,       # the backoff's cap, seconds
                "RETRY_JITTER": True,           # wait a random part of the backoff
                "TIME_LIMIT": None,             # seconds an attempt may take
            },
        }
    }
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from .. import compat
from .._lifecycle import ready_result, to_json_text, update
from . import records, retries
from .queries import Queries
from .schedule import Entry, ScheduleError, parse_schedule
from .task_class import DatabaseTask

AT_MOST_ONCE = "at-most-once"
AT_LEAST_ONCE = "at-least-once"
#: Where a worker runs tasks: in its threads, or each in a child process
#: (``task_worker --pool``; the worker module is imported only when it runs).
POOLS = ("thread", "process")
APP = "reference_backends.database"

# Ids this backend hands out are 32 lowercase hex characters; anything else
# "does not exist", without a query (PostgreSQL would reject it as a UUID).
_ID_SHAPE = re.compile(r"[0-9a-f]{32}")


@dataclasses.dataclass(frozen=True)
class Options:
    """The backend's ``OPTIONS``, validated."""

    database: str = "default"
    delivery: str = AT_MOST_ONCE
    lease_seconds: float = 30.0
    max_attempts: int | None = None
    poll_interval: float | None = None
    prepared_statements: bool = True
    #: The raw ``SCHEDULE``; :func:`.schedule.parse_schedule` reads its entries.
    schedule: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Retries and time limits: defaults for tasks that do not set their own
    # (see task_class.py). No AUTORETRY_FOR: nothing is retried.
    # Classes, or dotted paths imported when the policy is first needed.
    autoretry_for: tuple[type[BaseException] | str, ...] = ()
    max_retries: int = retries.DEFAULT_MAX_RETRIES
    retry_backoff: float = 0.0
    retry_backoff_max: float = retries.DEFAULT_BACKOFF_MAX
    retry_jitter: bool = retries.DEFAULT_JITTER
    time_limit: float | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> tuple[Options, list[str]]:
        """The options, and a message for each invalid one (its default is used)."""
        problems: list[str] = []
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in _OPTIONS:
                problems.append(f"unknown option {key!r}")
                continue
            name, convert = _OPTIONS[key]
            try:
                values[name] = convert(value)
            except ValueError as exc:  # RetryOptionError and _Invalid
                detail = f" ({exc})" if str(exc) else ""
                problems.append(f"invalid {key}: {value!r}{detail}")
        return cls(**values), problems

    @property
    def heartbeat_seconds(self) -> float:
        """How often a worker renews its leases: three chances per lease."""
        return self.lease_seconds / 3

    @functools.cached_property
    def retry_policy(self) -> retries.RetryPolicy:
        """The retry options every task of the backend starts from.

        Raises :class:`~.retries.RetryOptionError` if a path of
        ``AUTORETRY_FOR`` does not import (``check()`` and the worker say so).
        """
        return retries.RetryPolicy(
            autoretry_for=retries.exception_classes(
                self.autoretry_for, allow_paths=True
            ),
            max_retries=self.max_retries,
            retry_backoff=self.retry_backoff,
            retry_backoff_max=self.retry_backoff_max,
            retry_jitter=self.retry_jitter,
        )

    def autoretry_problem(self) -> str | None:
        """Why ``AUTORETRY_FOR`` cannot be used (a path that does not import), or None."""
        try:
            self.retry_policy  # noqa: B018 - resolved here, then cached
        except retries.RetryOptionError as exc:
            return f"invalid AUTORETRY_FOR ({exc})"
        return None


class _Invalid(ValueError):
    """An option value outside what it accepts (the message is in the key)."""


def _valid(test: Callable[[Any], bool]) -> Callable[[Any], Any]:
    """A converter that keeps a value ``test`` accepts and refuses the rest."""

    def convert(value: Any) -> Any:
        if not test(value):
            raise _Invalid()
        return value

    return convert


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


#: OPTIONS key: (Options field, converter raising ValueError when invalid).
_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "DATABASE": ("database", _valid(lambda v: isinstance(v, str) and v != "")),
    "DELIVERY": ("delivery", _valid(lambda v: v in (AT_MOST_ONCE, AT_LEAST_ONCE))),
    "LEASE_SECONDS": ("lease_seconds", _valid(lambda v: _is_number(v) and v >= 1)),
    "MAX_ATTEMPTS": (
        "max_attempts",
        _optional(lambda v: retries.whole_number(v, minimum=1)),
    ),
    "POLL_INTERVAL": (
        "poll_interval",
        _optional(_valid(lambda v: _is_number(v) and v > 0)),
    ),
    "PREPARED_STATEMENTS": (
        "prepared_statements",
        _valid(lambda v: isinstance(v, bool)),
    ),
    "AUTORETRY_FOR": (
        "autoretry_for",
        lambda v: retries.exception_specs(v, allow_paths=True),
    ),
    "MAX_RETRIES": ("max_retries", lambda v: retries.whole_number(v, minimum=0)),
    "RETRY_BACKOFF": ("retry_backoff", retries.backoff_seconds),
    "RETRY_BACKOFF_MAX": ("retry_backoff_max", retries.seconds),
    "RETRY_JITTER": ("retry_jitter", retries.boolean),
    "TIME_LIMIT": ("time_limit", _optional(retries.seconds)),
    # Its entries are checked one by one (E005): a bad entry must not take
    # the good ones down with it.
    "SCHEDULE": ("schedule", _valid(lambda v: isinstance(v, dict))),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class DatabaseBackend(compat.BaseTaskBackend):  # type: ignore[misc]
    """Tasks in a database table, run by ``manage.py task_worker``."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True
    # Task metadata exists only in Django versions newer than any this
    # backend runs on; it would need a column and is not stored.
    supports_metadata = False
    # @task(autoretry_for=..., time_limit=...) on Django 6.1 and the backport.
    task_class = DatabaseTask

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.settings, self.option_problems = Options.parse(dict(self.options))
        #: The periodic tasks workers enqueue, and what is wrong with the others.
        self.schedule: list[Entry]
        self.schedule, self.schedule_problems = parse_schedule(self.settings.schedule)

    # -- plumbing ------------------------------------------------------------
    @property
    def connection(self) -> BaseDatabaseWrapper:
        """This thread's connection to the backend's database."""
        return connections[self.settings.database]

    def queries(self) -> Queries:
        # Without its app the table's model cannot load: say what to do
        # rather than Django's "doesn't declare an explicit app_label".
        if not apps.is_installed(APP):
            raise ImproperlyConfigured(_app_missing(self.alias) + " " + _APP_HINT)
        if self.option_problems:
            raise ImproperlyConfigured(
                f"TASKS[{self.alias!r}]['OPTIONS']: {'; '.join(self.option_problems)}"
            )
        return Queries.of(self.connection, prepare=self.settings.prepared_statements)

    # -- the API -----------------------------------------------------------
    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """Store a READY row; the result comes back READY, never run here."""
        # LIFECYCLE-READY-UNTIL-RUN: only a worker changes the row's status.
        self.validate_task(task)
        # TaskResult normalises args (tuples to lists; sets and other types
        # raise TypeError), then strict JSON refuses what it cannot store.
        result = ready_result(self, task, args, kwargs, records.new_row_id())
        args_text = to_json_text(result.args)
        kwargs_text = to_json_text(result.kwargs)
        self.queries().insert(
            id=result.id,
            backend_name=self.alias,
            task_path=task.module_path,
            queue_name=task.queue_name,
            priority=task.priority,
            run_after=task.run_after,
            args=args_text,
            kwargs=kwargs_text,
            enqueued_at=result.enqueued_at,
        )
        # What a worker and get_result will see (int dict keys become str).
        update(
            result,
            args=records.decode_list(args_text, "args"),
            kwargs=records.decode_dict(kwargs_text, "kwargs"),
        )
        compat.task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: Any) -> Any:
        """The stored result, from any thread or process.

        A row whose task no longer imports (or was tampered with) still
        comes back, with a stand-in task that carries the stored path
        (SECURITY-GET-RESULT-NO-IMPORT-ERROR). One table read by every
        thread and process: RESULTS-ELSEWHERE-THREAD, RESULTS-ELSEWHERE-PROCESS.
        """
        # GET-RESULT-ANY-TASK, REFRESH-SHOWS-OUTCOME: the row as the worker
        # left it, for any task (refresh() reads through here);
        # GET-RESULT-REFRESH-KEEPS-IDENTITY: the id, task and arguments as
        # stored at enqueue.
        if not isinstance(result_id, str) or not _ID_SHAPE.fullmatch(result_id):
            raise compat.TaskResultDoesNotExist(result_id)
        row = self.queries().get(result_id)
        if row is None:
            raise compat.TaskResultDoesNotExist(result_id)
        return self.result_from_row(row)

    def result_from_row(self, row: records.Row) -> Any:
        backend = (
            self
            if row.backend_name == self.alias
            else _backend_or(row.backend_name, self)
        )
        try:
            task = records.resolve_task(backend, row)
        except Exception:  # ImportError, InvalidTask...: never leak them here
            task = records.placeholder_task(backend, row)
        return records.build_result(task, row, strict=False)

    # -- system checks -------------------------------------------------------
    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        yield from super().check(**kwargs)
        where = f"TASKS[{self.alias!r}]"
        for problem in self.option_problems:
            yield checks.Error(
                f"{where}['OPTIONS']: {problem}", id="reference_tasks.E001"
            )
        unusable = self.settings.autoretry_problem()
        if unusable is not None:
            yield checks.Error(
                f"{where}['OPTIONS']: {unusable}", id="reference_tasks.E001"
            )
        if not apps.is_installed(APP):
            yield checks.Error(
                _app_missing(self.alias), hint=_APP_HINT, id="reference_tasks.E002"
            )
        yield from self._schedule_checks(where)
        database = self.settings.database
        if database not in settings.DATABASES:
            yield checks.Error(
                f"{where}['OPTIONS']['DATABASE'] is {database!r}, not an alias in DATABASES.",
                id="reference_tasks.E003",
            )
            return
        config = settings.DATABASES[database]
        engine = str(config.get("ENGINE", ""))
        if engine.endswith("sqlite3"):
            yield from _sqlite_checks(where, database, config)
        elif not engine.endswith(("postgresql", "postgis")):
            yield checks.Warning(
                f"{where} stores tasks in {engine!r}: only SQLite and PostgreSQL are supported.",
                id="reference_tasks.W003",
            )

    def _schedule_checks(self, where: str) -> Iterable[checks.CheckMessage]:
        """E005: an entry that is malformed, or whose task does not resolve."""
        problems = list(self.schedule_problems)
        for entry in self.schedule:
            try:
                entry.task_for(self)  # imports the task module: checks run late
            except ScheduleError as exc:
                problems.append(f"SCHEDULE[{entry.name!r}]: {exc}")
        for problem in problems:
            yield checks.Error(
                f"{where}['OPTIONS']: {problem}",
                hint="Workers skip this entry (and log why); the others run.",
                id="reference_tasks.E005",
            )


_APP_HINT = f"Add {APP!r} to INSTALLED_APPS and run migrate."


def _app_missing(alias: str) -> str:
    return (
        f"TASKS[{alias!r}] uses the database backend but {APP!r} is not in "
        "INSTALLED_APPS."
    )


def _sqlite_checks(
    where: str, database: str, config: dict[str, Any]
) -> Iterable[checks.CheckMessage]:
    name = str(config.get("NAME", ""))
    if name in ("", ":memory:") or "mode=memory" in name:
        yield checks.Error(
            f"{where} stores tasks in an in-memory SQLite database ({database!r}): "
            "workers in other processes can never see them.",
            hint="Use a database file.",
            id="reference_tasks.E004",
        )
    init_command = str(config.get("OPTIONS", {}).get("init_command", ""))
    if "journal_mode=wal" not in init_command.lower().replace(" ", ""):
        yield checks.Warning(
            f"{where} uses SQLite database {database!r} without WAL: workers and the "
            'application will block each other ("database is locked").',
            hint=(
                "Set DATABASES[...]['OPTIONS'] = {'init_command': "
                "'PRAGMA journal_mode=WAL;', 'transaction_mode': 'IMMEDIATE', 'timeout': 20}."
            ),
            id="reference_tasks.W001",
        )


def _backend_or(alias: str, fallback: DatabaseBackend) -> Any:
    """The backend configured as ``alias``, or ``fallback`` if it is gone."""
    try:
        backend = compat.task_backends[alias]
    except Exception:
        return fallback
    return backend if isinstance(backend, DatabaseBackend) else fallback
