"""``manage.py prune_task_results``: delete old finished results."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from .... import compat
from ...._lifecycle import now
from ...backend import DatabaseBackend
from ...durations import parse_duration
from ...queries import FINISHED


def age(text: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``7d`` or ``2w``: the unit is required."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ArgumentTypeError(str(exc).replace("a duration", "an age")) from exc


class Command(BaseCommand):
    help = "Delete finished (SUCCESSFUL or FAILED) task results older than an age."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--older-than",
            type=age,
            default=timedelta(days=7),
            help="Finished at least this long ago: 90s, 15m, 12h, 7d, 2w (default 7d).",
        )
        parser.add_argument(
            "--backend",
            default=compat.DEFAULT_TASK_BACKEND_ALIAS,
            metavar="ALIAS",
            help="TASKS alias whose results to prune (default 'default').",
        )
        parser.add_argument(
            "--status",
            choices=FINISHED,
            default=None,
            help="Only results with this status (default both).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["backend"]
        try:
            backend = compat.task_backends[alias]
        except Exception as exc:
            raise CommandError(f"unknown TASKS alias {alias!r}: {exc}") from exc
        if not isinstance(backend, DatabaseBackend):
            raise CommandError(f"TASKS[{alias!r}] is not a DatabaseBackend")
        queries = backend.queries()  # refuses a backend whose app is missing
        older_than: timedelta = options["older_than"]
        before = now() - older_than
        statuses = (options["status"],) if options["status"] else FINISHED
        what = (
            f"{'/'.join(statuses)} result(s) of TASKS[{alias!r}] finished more than "
            f"{older_than} ago (before {before:%Y-%m-%d %H:%M:%S %Z})"
        )
        if options["dry_run"]:
            from ...models import TaskRecord

            count = (
                TaskRecord.objects.using(backend.settings.database)
                .filter(backend_name=alias, status__in=statuses, finished_at__lt=before)
                .count()
            )
            self.stdout.write(f"would delete {count} {what}")
            return
        count = queries.prune(before=before, backends=[alias], statuses=statuses)
        self.stdout.write(f"deleted {count} {what}")
