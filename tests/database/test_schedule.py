"""The schedule in one process: entries read and checked, due times, a tick.

The real-worker tests (three ``task_worker`` processes, SQLite and
PostgreSQL) are in ``test_periodic_workers.py``; here a tick is given the
time it acts at, so nothing depends on the clock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings

from reference_backends.database.backend import DatabaseBackend
from reference_backends.database.models import ScheduleState, TaskRecord
from reference_backends.database.schedule import (
    Entry,
    ScheduleError,
    parse_entry,
    parse_schedule,
)
from reference_backends.database.scheduler import Scheduler

RECORD = "tests.database.tasks.record"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- reading SCHEDULE --------------------------------------------------------------
def test_a_valid_schedule() -> None:
    entries, problems = parse_schedule(
        {
            "nightly": {"task": RECORD, "cron": "0 3 * * *", "args": ("n",)},
            "ping": {
                "task": RECORD,
                "every": "1.5m",
                "kwargs": {"token": "p"},
                "queue_name": "other",
                "priority": 5,
            },
        }
    )
    assert problems == []
    nightly, ping = entries
    assert (nightly.cron, nightly.every, nightly.args) == ("0 3 * * *", None, ["n"])
    assert ping.every == timedelta(seconds=90)
    assert (ping.kwargs, ping.queue_name, ping.priority) == ({"token": "p"}, "other", 5)
    assert ping.expression == "every 0:01:30"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"task": RECORD, "cron": "61 * * * *"}, "bad cron expression '61 * * * *'"),
        ({"task": RECORD, "cron": "* * *"}, "bad cron expression"),
        ({"task": RECORD, "cron": 5}, "'cron' must be a string"),
        ({"task": RECORD, "every": "30"}, "'30' is not a duration"),
        ({"task": RECORD, "every": 30}, "30 is not a duration"),
        ({"task": RECORD, "every": "0.5s"}, "at least 1s"),
        ({"task": RECORD, "every": "1.5s"}, "whole number of seconds"),
        ({"task": RECORD}, "exactly one of 'cron' and 'every'"),
        ({"task": RECORD, "cron": "* * * * *", "every": "1m"}, "exactly one"),
        ({"cron": "* * * * *"}, "'task' (the dotted path of a Task) is required"),
        (
            {"task": RECORD, "every": "1m", "sometimes": 1},
            "unknown key(s) ['sometimes']",
        ),
        ({"task": RECORD, "every": "1m", "args": "x"}, "'args' must be a list"),
        ({"task": RECORD, "every": "1m", "kwargs": {1: 2}}, "string keys"),
        ({"task": RECORD, "every": "1m", "args": [{1, 2}]}, "must be JSON"),
        ({"task": RECORD, "every": "1m", "queue_name": 1}, "'queue_name' must be"),
        ({"task": RECORD, "every": "1m", "priority": True}, "'priority' must be"),
        ("every minute", "an entry is a dict, not str"),
    ],
)
def test_an_invalid_entry_says_why(spec: Any, problem: str) -> None:
    entries, problems = parse_schedule(
        {"bad": spec, "good": {"task": RECORD, "every": "1m"}}
    )
    assert [entry.name for entry in entries] == ["good"]  # the others still run
    assert len(problems) == 1
    assert problems[0].startswith("SCHEDULE['bad']: ")
    assert problem in problems[0]


def test_names_and_the_option_itself() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        parse_entry("", {"task": RECORD, "every": "1m"})
    assert parse_schedule(["x"]) == (
        [],
        ["SCHEDULE must be a dict of entries, not list"],
    )


# -- due times ---------------------------------------------------------------------
def test_every_is_aligned_on_the_epoch() -> None:
    entry = Entry("e", RECORD, every=timedelta(seconds=30))
    assert entry.latest_due(at("2026-12-03 07:41:29.999")) == at("2026-12-03 07:41:00")
    assert entry.latest_due(at("2026-12-03 07:41:30")) == at("2026-12-03 07:41:30")
    assert entry.next_due(at("2026-12-03 07:41:30")) == at("2026-12-03 07:42:00")
    daily = Entry("d", RECORD, every=timedelta(days=1))
    assert daily.latest_due(at("2026-12-03 07:41:00")) == at("2026-12-03 00:00:00")


def test_cron_due_times() -> None:
    entry = Entry("c", RECORD, cron="*/5 * * * *")
    assert entry.latest_due(at("2026-12-03 07:44:59.9")) == at("2026-12-03 07:40:00")
    assert entry.latest_due(at("2026-12-03 07:45:00")) == at("2026-12-03 07:45:00")
    assert entry.next_due(at("2026-12-03 07:45:00")) == at("2026-12-03 07:50:00")
    seconds = Entry("s", RECORD, cron="*/10 * * * * *")  # six fields: seconds first
    assert seconds.latest_due(at("2026-12-03 07:44:59.9")) == at("2026-12-03 07:44:50")


@override_settings(TIME_ZONE="Europe/Paris")
def test_cron_reads_the_project_time_zone_and_its_dst_changes() -> None:
    three_am = Entry("c", RECORD, cron="0 3 * * *")
    # 3 AM in Paris (UTC+1 in December) is 02:00 UTC.
    assert three_am.latest_due(at("2026-12-03 07:00:00")) == at("2026-12-03 02:00:00")
    # 2:30 does not exist on 29 March 2026 (clocks jump 2:00 -> 3:00): due at 3:00.
    skipped = Entry("s", RECORD, cron="30 2 * * *")
    assert skipped.next_due(at("2026-03-28 23:00:00")) == at("2026-03-29 01:00:00")
    # 2:30 happens twice on 25 October 2026: the first one is the due time,
    # and the latest due time never reaches the second one.
    repeated = [
        skipped.latest_due(at("2026-10-25 00:30:00") + timedelta(minutes=m))
        for m in range(0, 120, 10)
    ]
    assert max(repeated) == at("2026-10-25 00:30:00")


# -- the task an entry names ---------------------------------------------------------
def test_task_for(tasks: Any) -> None:
    from conformance import compat

    backend = compat.task_backends["default"]
    entry = parse_entry("e", {"task": RECORD, "every": "1m", "queue_name": "other"})
    task = entry.task_for(backend)
    assert (task.module_path, task.queue_name, task.backend) == (
        RECORD,
        "other",
        "default",
    )
    problems = {
        "tests.database.nowhere.task": "does not import",
        "tests.database.tasks.not_a_task": "is not a Task",
    }
    for path, problem in problems.items():
        with pytest.raises(ScheduleError, match=problem):
            Entry("e", path, every=timedelta(minutes=1)).task_for(backend)
    with pytest.raises(ScheduleError, match="Queue 'nope'"):
        Entry("e", RECORD, every=timedelta(minutes=1), queue_name="nope").task_for(
            backend
        )


# -- a tick, in this process -------------------------------------------------------------
def backend_with(schedule: dict[str, Any]) -> DatabaseBackend:
    """The "default" alias's settings with ``schedule``: enqueues land in "default"."""
    return DatabaseBackend(
        "default", {"QUEUES": ["default", "other"], "OPTIONS": {"SCHEDULE": schedule}}
    )


def runs() -> list[tuple[str, datetime | None]]:
    """(args, run_after) of every stored result: which entry, for which due time."""
    return list(
        TaskRecord.objects.order_by("args", "run_after").values_list(
            "args", "run_after"
        )
    )


def test_a_new_entry_waits_for_its_next_due_time(tasks: Any) -> None:
    ScheduleState.objects.all().delete()
    schedule = {"e": {"task": RECORD, "every": "1m", "args": ["e"]}}
    scheduler = Scheduler([backend_with(schedule)], "default")
    sleep = scheduler.tick(at("2026-12-03 07:41:20"))
    assert runs() == []
    assert ScheduleState.objects.get().last_due_at == at("2026-12-03 07:41:00")
    assert sleep == 40.0  # until the next due time
    scheduler.tick(at("2026-12-03 07:42:00"))
    assert runs() == [('["e"]', at("2026-12-03 07:42:00"))]


def test_each_due_time_once_across_schedulers(tasks: Any) -> None:
    """Two workers' schedulers over the same entries: one run per due time."""
    ScheduleState.objects.all().delete()
    schedule = {
        "e": {"task": RECORD, "every": "1m", "args": ["e"]},
        "c": {"task": RECORD, "cron": "*/2 * * * *", "args": ["c"], "priority": 3},
    }
    first, second = (Scheduler([backend_with(schedule)], "default") for _ in "ab")
    start = at("2026-12-03 08:00:00")
    for minute in range(6):
        for scheduler in (first, second, first):
            scheduler.tick(start + timedelta(minutes=minute, seconds=1))
    every_minute = [('["e"]', start + timedelta(minutes=m)) for m in range(1, 6)]
    even_minutes = [('["c"]', start + timedelta(minutes=m)) for m in (2, 4)]
    assert runs() == sorted(even_minutes + every_minute)
    priorities = TaskRecord.objects.filter(args='["c"]').values_list(
        "priority", flat=True
    )
    assert set(priorities) == {3}
    state = ScheduleState.objects.get(name="e")
    assert state.last_due_at == start + timedelta(minutes=5)
    assert (
        TaskRecord.objects.get(id=state.last_result_id).run_after == state.last_due_at
    )


def test_after_downtime_one_catch_up_run(tasks: Any) -> None:
    ScheduleState.objects.all().delete()
    schedule = {"h": {"task": RECORD, "cron": "0 * * * *", "args": ["h"]}}
    Scheduler([backend_with(schedule)], "default").tick(at("2026-12-03 01:30:00"))
    # Every worker down from 01:30 to 09:10: eight due times missed.
    for _ in range(3):
        Scheduler([backend_with(schedule)], "default").tick(at("2026-12-03 09:10:00"))
    assert runs() == [('["h"]', at("2026-12-03 09:00:00"))]


def test_a_bad_entry_never_stops_the_others(
    tasks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ScheduleState.objects.all().delete()
    schedule = {
        "gone": {"task": "tests.database.tasks.no_such_task", "every": "1m"},
        "bad": {"task": RECORD, "cron": "every minute"},
        "good": {"task": RECORD, "every": "1m", "args": ["good"]},
    }
    with caplog.at_level(logging.INFO, "reference_backends.database.scheduler"):
        scheduler = Scheduler([backend_with(schedule)], "default")
        scheduler.tick(at("2026-12-03 08:00:30"))
        scheduler.tick(at("2026-12-03 08:01:30"))
    assert runs() == [('["good"]', at("2026-12-03 08:01:00"))]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2, errors  # each bad entry once, not once per tick
    assert "SCHEDULE['bad']: bad cron expression" in errors[0]
    gone = "SCHEDULE['gone']: task 'tests.database.tasks.no_such_task' does not import"
    assert gone in errors[1]


def test_an_empty_schedule_is_no_scheduler(tasks: Any) -> None:
    assert not Scheduler([backend_with({})], "default")


def test_a_failed_enqueue_leaves_the_due_time_to_the_next_worker(
    tasks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An enqueue that raises (here a task_enqueued receiver) writes nothing."""
    from conformance import compat

    ScheduleState.objects.all().delete()
    schedule = {"e": {"task": RECORD, "every": "1m", "args": ["e"]}}
    Scheduler([backend_with(schedule)], "default").tick(at("2026-12-03 08:00:30"))

    def receiver(**kwargs: Any) -> None:
        raise RuntimeError("receiver failed")

    compat.task_enqueued.connect(receiver)
    try:
        with caplog.at_level(logging.ERROR, "reference_backends.database.scheduler"):
            Scheduler([backend_with(schedule)], "default").tick(
                at("2026-12-03 08:01:30")
            )
    finally:
        compat.task_enqueued.disconnect(receiver)
    assert runs() == []
    assert ScheduleState.objects.get().last_due_at == at("2026-12-03 08:00:00")
    [error] = [r.getMessage() for r in caplog.records]
    assert "enqueue for 2026-12-03T08:01:00+00:00 failed" in error
    assert "receiver failed" in error
    Scheduler([backend_with(schedule)], "default").tick(at("2026-12-03 08:01:30"))
    assert runs() == [('["e"]', at("2026-12-03 08:01:00"))]


def test_a_database_error_means_a_retry_soon(tasks: Any) -> None:
    """The table gone for a while (say, a migration running): ticks back off."""
    from django.db import connection

    ScheduleState.objects.all().delete()
    schedule = {"e": {"task": RECORD, "every": "1m", "args": ["e"]}}
    scheduler = Scheduler([backend_with(schedule)], "default")
    table = ScheduleState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO moved_away")
    try:
        sleeps = [scheduler.tick(at("2026-12-03 08:00:30")) for _ in range(3)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE moved_away RENAME TO {table}")
    assert sleeps == [0.5, 1.0, 2.0]
    assert scheduler.tick(at("2026-12-03 08:00:30")) == 30.0  # back to the due times
    assert scheduler.tick(at("2026-12-03 08:01:00")) == 60.0
    assert runs() == [('["e"]', at("2026-12-03 08:01:00"))]
