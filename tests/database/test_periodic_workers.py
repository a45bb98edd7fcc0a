"""Periodic tasks with real workers: three ``task_worker`` processes share one
schedule, on SQLite and on a throwaway PostgreSQL.

Nothing here asserts how long anything takes: the tests wait for rows to
appear, then check which rows exist.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.database.conftest import KitEnv
from tests.database.test_workers import DATABASES, stop_all, wait_for

pytestmark = pytest.mark.slow

RECORD = "tests.database.tasks.record"
TABLE = "reference_tasks_taskrecord"
ENQUEUED = re.compile(r"SCHEDULE\['(\w+)'\] .*, enqueued (\w+)$")


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite (a file per test), else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    cluster = request.getfixturevalue("postgres_cluster")
    return str(cluster.create_database(f"periodic_{time.monotonic_ns()}"))


def runs(env: Any) -> dict[str, list[datetime]]:
    """The due time (``run_after``) of each stored run, per entry (its args)."""
    per_entry: dict[str, list[datetime]] = {}
    for args, run_after in env.query(f"SELECT args, run_after FROM {TABLE}"):
        entry = args.strip('[]"')
        per_entry.setdefault(entry, []).append(datetime.fromisoformat(str(run_after)))
    return per_entry


def test_three_workers_enqueue_each_due_time_once(
    kit_env: Any, database_url: str | None
) -> None:
    env = kit_env(
        database_url,
        SCHEDULE={
            "every": {"task": RECORD, "every": "1s", "args": ["every"]},
            "cron": {"task": RECORD, "cron": "* * * * * *", "args": ["cron"]},
        },
    )
    workers = [env.worker("--worker-id", f"w{n}") for n in (1, 2, 3)]
    try:
        wait_for(
            lambda: (
                min(map(len, runs(env).values()), default=0) >= 8
                and len(runs(env)) == 2
            ),
            120,
            "eight runs of each entry",
        )
    finally:
        outputs = stop_all(workers)
    assert [worker.returncode for worker in workers] == [0, 0, 0], outputs
    per_entry = runs(env)
    for entry, due_times in per_entry.items():
        # Each due time once: no two runs of an entry for the same due time.
        duplicates = [t for t, n in Counter(due_times).items() if n > 1]
        assert duplicates == [], (entry, duplicates)
        assert all(t.microsecond == 0 for t in due_times), due_times
    # Each run was enqueued by exactly one worker, which logged it.
    logged = Counter(
        (match[1], match[2], worker)
        for worker, output in enumerate(outputs, 1)
        for line in output.splitlines()
        if (match := ENQUEUED.search(line))
    )
    ids = {
        str(row_id).replace("-", "")
        for (row_id,) in env.query(f"SELECT id FROM {TABLE}")
    }
    assert sorted(row_id for _entry, row_id, _worker in logged) == sorted(ids)
    assert set(logged.values()) == {1}
    # The shared rows hold the latest due time of each entry.
    state = dict(
        env.query("SELECT name, last_due_at FROM reference_tasks_schedulestate")
    )
    for entry, due_times in per_entry.items():
        assert datetime.fromisoformat(str(state[entry])) == max(due_times)
    # The runs ran like any task: once each (those not yet claimed stay READY).
    statuses = env.statuses()
    assert set(statuses) <= {"SUCCESSFUL", "READY"}, statuses
    assert len(env.executions()) == statuses["SUCCESSFUL"]
    by_worker = Counter(worker for _entry, _id, worker in logged)
    print(f"runs enqueued per worker: {dict(sorted(by_worker.items()))}")


SEED = """
from datetime import timedelta
from django.utils import timezone
from conformance import compat
from reference_backends.database.models import ScheduleState

# As if every worker had been down through the last five due times.
backend = compat.task_backends["default"]
current = timezone.now()
for entry in backend.schedule:
    latest = missed = entry.latest_due(current)
    for _ in range(5):
        missed = entry.latest_due(missed - timedelta(seconds=1))
    ScheduleState.objects.create(
        backend_name="default", name=entry.name, last_due_at=missed
    )
    print(entry.name, latest.isoformat())
"""


def test_after_downtime_three_workers_make_one_catch_up_run(
    kit_env: Any, database_url: str | None
) -> None:
    env = kit_env(
        database_url,
        SCHEDULE={
            "yearly": {"task": RECORD, "cron": "0 0 1 1 *", "args": ["yearly"]},
            "weekly": {"task": RECORD, "every": "1w", "args": ["weekly"]},
        },
    )
    latest = {
        name: datetime.fromisoformat(text)
        for name, text in (line.split() for line in env.python(SEED).splitlines())
    }
    # Three workers start together; each ticks the schedule once, then runs
    # what is ready and exits (--batch).
    workers = [env.worker("--batch", "--worker-id", f"w{n}") for n in (1, 2, 3)]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], outputs
    per_entry = runs(env)
    assert sorted(per_entry) == ["weekly", "yearly"]
    for entry, due_times in per_entry.items():
        # One catch-up run, not one per missed due time: for the latest one
        # (a later one only if a due time passed while the test ran).
        assert len(due_times) == 1, (entry, due_times)
        assert due_times[0].replace(tzinfo=latest[entry].tzinfo) >= latest[entry]
    assert sorted(env.executions()) == ["weekly", "yearly"]
    assert env.statuses() == {"SUCCESSFUL": 2}


def test_a_bad_entry_stops_no_worker(tmp_path: Path) -> None:
    schedule = {
        "gone": {"task": "tests.database.tasks.no_such_task", "every": "1m"},
        "bad": {"task": RECORD, "cron": "61 * * * *"},
        "weekly": {"task": RECORD, "every": "1w", "args": ["weekly"]},
    }
    env = KitEnv(
        tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", {"SCHEDULE": schedule}
    )
    env.manage("migrate", "-v0", "--skip-checks")  # migrate runs the checks too
    # The system checks refuse to start a worker on a schedule with errors.
    refused = env.worker("--batch")
    output = refused.communicate(timeout=120)[0]
    assert refused.returncode == 1, output
    assert output.count("(reference_tasks.E005)") == 2 * 3, output  # 3 aliases
    assert "SCHEDULE['bad']: bad cron expression '61 * * * *'" in output
    assert "SCHEDULE['gone']: task 'tests.database.tasks.no_such_task'" in output
    # Started anyway, it logs each bad entry and runs the good one.
    env.python(SEED)
    worker = env.worker("--batch", "--skip-checks")
    output = worker.communicate(timeout=120)[0]
    assert worker.returncode == 0, output
    assert "Traceback" not in output
    assert "SCHEDULE['bad']: bad cron expression" in output
    assert "does not import" in output
    assert env.executions() == ["weekly"]
