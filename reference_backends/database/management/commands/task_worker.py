"""``manage.py task_worker``: run the tasks of a database backend."""

from __future__ import annotations

import logging
import sys
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from .... import compat
from ...apps import DatabaseTasksConfig
from ...backend import POOLS, DatabaseBackend

LOGGER = "reference_backends.database"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ArgumentTypeError(f"must be positive, got {value}")
    return value


def _check_schema(database: str) -> None:
    """Refuse to start on a database without the task table, or behind on its
    migrations: the worker would otherwise retry "no such table" for ever."""
    from ...models import TaskRecord

    label = DatabaseTasksConfig.label
    connection = connections[database]
    try:
        executor = MigrationExecutor(connection)
        leaves = [key for key in executor.loader.graph.leaf_nodes() if key[0] == label]
        pending = [migration.name for migration, _ in executor.migration_plan(leaves)]
        table = TaskRecord._meta.db_table
        missing = table not in connection.introspection.table_names()
    except DatabaseError as exc:
        raise CommandError(f"cannot read database {database!r}: {exc}") from exc
    if pending or missing:
        what = (
            f"{len(pending)} unapplied migration(s) of {label} ({', '.join(pending)})"
            if pending
            else f"no table {table}"
        )
        raise CommandError(
            f"database {database!r} is not ready for tasks: {what}. "
            f"Run 'manage.py migrate --database {database}' first."
        )


class Command(BaseCommand):
    help = (
        "Run tasks stored by reference_backends.database.DatabaseBackend. "
        "SIGTERM or Ctrl-C stops it once the running task(s) finish."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--backend",
            dest="backends",
            action="append",
            metavar="ALIAS",
            help="TASKS alias to serve (repeatable; default: 'default').",
        )
        parser.add_argument(
            "--queue",
            dest="queues",
            action="append",
            metavar="NAME",
            help="Queue to serve (repeatable; default: every queue).",
        )
        parser.add_argument(
            "--concurrency",
            type=_positive_int,
            default=1,
            help="Tasks run at once, each in its own thread and connection (default 1).",
        )
        parser.add_argument(
            "--pool",
            choices=POOLS,
            default="thread",
            help="Where tasks run: in the worker's threads (default), or each in a "
            "child process, which is killed when a task passes its time limit.",
        )
        parser.add_argument(
            "--batch", action="store_true", help="Exit once no task is ready to run."
        )
        parser.add_argument(
            "--max-tasks",
            type=_positive_int,
            default=None,
            help="Exit after this many tasks.",
        )
        parser.add_argument(
            "--poll-interval",
            type=_positive_float,
            default=None,
            help="Seconds between looks for work when idle (default: the backend's "
            "POLL_INTERVAL, else 1.0 on PostgreSQL, which also wakes on NOTIFY, "
            "and 0.05 on SQLite).",
        )
        parser.add_argument(
            "--worker-id",
            default=None,
            help="This worker's id in results' worker_ids (default host:pid:random; "
            "at most 64 characters).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from ...process_pool import ChildStartError
        from ...worker import Worker

        aliases = options["backends"] or [compat.DEFAULT_TASK_BACKEND_ALIAS]
        for alias in aliases:
            try:
                backend = compat.task_backends[alias]
            except Exception as exc:
                raise CommandError(f"unknown TASKS alias {alias!r}: {exc}") from exc
            if not isinstance(backend, DatabaseBackend):
                raise CommandError(
                    f"TASKS[{alias!r}] is {type(backend).__name__}, not a DatabaseBackend"
                )
        worker_id = options["worker_id"]
        if worker_id is not None and not 0 < len(worker_id) <= 64:
            raise CommandError("--worker-id must be 1 to 64 characters")
        self._configure_logging(int(options["verbosity"]))
        try:
            worker = Worker(
                aliases,
                queue_names=options["queues"],
                concurrency=options["concurrency"],
                batch=options["batch"],
                max_tasks=options["max_tasks"],
                poll_interval=options["poll_interval"],
                worker_id=worker_id,
                pool=options["pool"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        _check_schema(worker.database)
        with worker.signal_handlers():
            try:
                worker.run()
            except ChildStartError as exc:
                raise CommandError(
                    f"--pool process: {exc} (child processes set Django up from "
                    "DJANGO_SETTINGS_MODULE, as manage.py does)"
                ) from exc
            except DatabaseError as exc:
                # Given up on writing an outcome while stopping: say so plainly.
                raise CommandError(f"database {worker.database!r}: {exc}") from exc
            except KeyboardInterrupt:
                # A second Ctrl-C: the interrupted task is recorded (and
                # logged); a traceback would only hide that line.
                logging.getLogger(LOGGER).warning(
                    "worker %s: forced stop", worker.worker_id
                )
                sys.exit(130)

    def _configure_logging(self, verbosity: int) -> None:
        """One format on stderr for every line the worker prints.

        -v 0: warnings and errors; -v 1: also a line per task; -v 2 and up:
        also claims, lease renewals and NOTIFY wake-ups, and Django's own
        task log lines. A logger that LOGGING gave handlers is left alone.
        """
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        ours = logging.getLogger(LOGGER)
        ours.setLevel(
            {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
        )
        if _unconfigured(ours):
            ours.handlers = [handler]
        # Django logs each task's start and end (logger "django.tasks"), which
        # the worker's own line per task already says; with DEBUG = True its
        # console handler printed them unformatted between the worker's lines.
        django_tasks = logging.getLogger(compat.LOGGER_NAME)
        if _unconfigured(django_tasks):
            django_tasks.handlers = [handler]
            django_tasks.propagate = False
            django_tasks.setLevel(logging.DEBUG if verbosity >= 2 else logging.CRITICAL)


_HANDLER = "reference_tasks.task_worker"


def _unconfigured(logger: logging.Logger) -> bool:
    """No handlers but the worker's own (from an earlier run in this process)."""
    return all(handler.get_name() == _HANDLER for handler in logger.handlers)
