"""Periodic tasks: the ``SCHEDULE`` option, read and checked; its due times.

The schedule lives in the backend's settings::

    "OPTIONS": {
        "SCHEDULE": {
            "nightly-report": {"task": "reports.tasks.nightly", "cron": "0 3 * * *"},
            "ping": {
                "task": "monitoring.tasks.ping",
                "every": "30s",
                "args": ["db"],          # default []
                "kwargs": {},            # default {}
                "queue_name": "pings",   # default: the task's own
                "priority": 10,          # default: the task's own
            },
        },
    }

This module is plain Python: what an entry says, and which instants are its
*due times*. Which worker enqueues a due time, exactly once, is
:mod:`.scheduler`'s job.

Due times are a pure function of the entry and the clock, so every worker
computes the same ones without talking to the others:

* ``cron``: the instants the expression matches, read in Django's
  ``TIME_ZONE`` ("0 3 * * *" is 3 AM where the project is). Parsing and
  matching are `cronsim`_'s (the library Healthchecks.io uses), which also
  decides daylight-saving changes the way Debian's cron does: a time that is
  skipped runs at the first minute after the gap, a time that repeats runs
  once. Five fields, or six with seconds first.
* ``every``: multiples of the interval since the Unix epoch (UTC): "30s" is
  due at :00 and :30 of every minute, "1h" on the hour, "1d" at midnight UTC.

.. _cronsim: https://pypi.org/project/cronsim/
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cronsim import CronSim, CronSimError
from django.utils import timezone
from django.utils.module_loading import import_string

from .._lifecycle import to_json_text
from . import records
from .durations import parse_duration

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEYS = {"task", "cron", "every", "args", "kwargs", "queue_name", "priority"}


class ScheduleError(Exception):
    """An entry that cannot be enqueued: its task does not resolve, or is invalid."""


@dataclass(frozen=True, eq=False)
class Entry:
    """One entry of ``SCHEDULE``, valid in itself (its task is resolved later)."""

    name: str
    task_path: str
    cron: str | None = None
    every: timedelta | None = None
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue_name: str | None = None
    priority: int | None = None

    @property
    def expression(self) -> str:
        """How the entry says when it runs, for log lines."""
        return f"cron {self.cron!r}" if self.cron is not None else f"every {self.every}"

    # -- due times -------------------------------------------------------------
    def latest_due(self, now: datetime) -> datetime:
        """The latest due time at or before ``now`` (aware, UTC)."""
        if self.every is not None:
            return EPOCH + ((now - EPOCH) // self.every) * self.every
        assert self.cron is not None
        # cronsim steps back from its start, whole seconds: start one second
        # after ``now`` (in UTC, where adding a second is unambiguous) so
        # that a due time equal to ``now`` is found.
        start = (now.replace(microsecond=0) + timedelta(seconds=1)).astimezone(_zone())
        return next(CronSim(self.cron, start, reverse=True)).astimezone(UTC)

    def next_due(self, now: datetime) -> datetime:
        """The first due time after ``now`` (aware, UTC)."""
        if self.every is not None:
            return self.latest_due(now) + self.every
        assert self.cron is not None
        return next(CronSim(self.cron, now.astimezone(_zone()))).astimezone(UTC)

    # -- the task --------------------------------------------------------------
    def task_for(self, backend: Any) -> Any:
        """The Task to enqueue, on ``backend``, with the entry's queue and priority.

        Raises :class:`ScheduleError` when the path does not import as a Task
        of the backend's task class (a stored or configured path is only
        ever called when it names one) or when the backend refuses it.
        """
        try:
            found = import_string(self.task_path)
        except Exception as exc:  # ImportError, or a module that fails to import
            raise ScheduleError(
                f"task {self.task_path!r} does not import: {exc}"
            ) from exc
        if not records.is_task(found):
            raise ScheduleError(
                f"{self.task_path!r} is not a Task (decorate the function with @task)"
            )
        changes: dict[str, Any] = {"backend": backend.alias}
        if self.queue_name is not None:
            changes["queue_name"] = self.queue_name
        if self.priority is not None:
            changes["priority"] = self.priority
        try:
            return found.using(**changes)
        except Exception as exc:  # InvalidTask: a queue or priority refused
            raise ScheduleError(f"{self.task_path!r}: {exc}") from exc


def _zone() -> Any:
    # Read when used, not at import: settings may change (tests override them).
    return timezone.get_default_timezone()


# -- reading the option ------------------------------------------------------------
def parse_schedule(raw: Any) -> tuple[list[Entry], list[str]]:
    """The valid entries of ``SCHEDULE``, and a message for each invalid one.

    An invalid entry is left out: the others still run.
    """
    if not isinstance(raw, dict):
        return [], [f"SCHEDULE must be a dict of entries, not {type(raw).__name__}"]
    entries: list[Entry] = []
    problems: list[str] = []
    for name, spec in raw.items():
        try:
            entries.append(parse_entry(name, spec))
        except ValueError as exc:
            problems.append(f"SCHEDULE[{name!r}]: {exc}")
    return entries, problems


def parse_entry(name: Any, spec: Any) -> Entry:
    """One entry; ``ValueError`` saying what is wrong with it."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("an entry's name must be a non-empty string")
    if not isinstance(spec, dict):
        raise ValueError(f"an entry is a dict, not {type(spec).__name__}")
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown}; known: {sorted(KEYS)}")
    task_path = spec.get("task")
    if not isinstance(task_path, str) or not task_path:
        raise ValueError("'task' (the dotted path of a Task) is required")
    if ("cron" in spec) == ("every" in spec):
        raise ValueError("give exactly one of 'cron' and 'every'")
    cron = spec.get("cron")
    every = None
    if cron is not None:
        _check_cron(cron)
    else:
        every = _interval(spec["every"])
    args = spec.get("args", [])
    if isinstance(args, tuple):
        args = list(args)
    if not isinstance(args, list):
        raise ValueError(f"'args' must be a list, not {type(args).__name__}")
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ValueError("'kwargs' must be a dict with string keys")
    try:
        to_json_text([args, kwargs])  # what enqueue will store
    except (TypeError, ValueError) as exc:
        raise ValueError(f"'args' and 'kwargs' must be JSON: {exc}") from exc
    queue_name = spec.get("queue_name")
    if queue_name is not None and not isinstance(queue_name, str):
        raise ValueError("'queue_name' must be a string")
    priority = spec.get("priority")
    if priority is not None and (
        not isinstance(priority, int) or isinstance(priority, bool)
    ):
        raise ValueError("'priority' must be an integer")
    return Entry(
        name=name,
        task_path=task_path,
        cron=cron,
        every=every,
        args=args,
        kwargs=kwargs,
        queue_name=queue_name,
        priority=priority,
    )


def _check_cron(cron: Any) -> None:
    if not isinstance(cron, str):
        raise ValueError(f"'cron' must be a string, not {type(cron).__name__}")
    try:
        CronSim(cron, datetime.now(UTC))
    except CronSimError as exc:
        raise ValueError(f"bad cron expression {cron!r}: {exc}") from exc


def _interval(text: Any) -> timedelta:
    every = parse_duration(text)  # its ValueError says what a duration is
    if every < timedelta(seconds=1) or every % timedelta(seconds=1):
        raise ValueError(
            f"'every' must be a whole number of seconds, at least 1s: {text!r}"
        )
    return every
