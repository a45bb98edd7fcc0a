"""The backend on a real PostgreSQL (a throwaway cluster), in this process."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connections
from django.utils import timezone

from conformance import compat
from reference_backends.database.models import TaskRecord
from reference_backends.database.worker import Worker

pytestmark = pytest.mark.postgres
Status = compat.TaskResultStatus


def test_enqueue_run_and_read(pg: Any, tasks: Any) -> None:
    result = tasks.echo.using(backend="postgres", priority=5).enqueue(
        (1,), key={"a": None}
    )
    assert pg.get_result(result.id).status == Status.READY
    assert Worker(["postgres"], batch=True, worker_id="pg").run() == 1
    done = pg.get_result(result.id)
    assert done.status == Status.SUCCESSFUL
    assert done.return_value == {"args": [[1]], "kwargs": {"key": {"a": None}}}
    assert done.worker_ids == ["pg"]
    assert done.enqueued_at <= done.started_at <= done.finished_at
    for bad in ("0" * 32, "\x00" * 32, "Z" * 32):
        with pytest.raises(compat.TaskResultDoesNotExist):
            pg.get_result(bad)
    assert list(pg.check()) == []


def test_database_refuses_a_priority_out_of_range(pg: Any, tasks: Any) -> None:
    result = tasks.add.using(backend="postgres").enqueue(1, 2)
    stored = TaskRecord.objects.using("postgres").filter(id=result.id)
    for beyond in (compat.TASK_MIN_PRIORITY - 1, compat.TASK_MAX_PRIORITY + 1):
        with pytest.raises(IntegrityError):
            stored.update(priority=beyond)


def test_priority_order_and_deferral(
    pg: Any, tasks: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    log = tmp_path / "log"
    log.touch()
    monkeypatch.setenv("REFERENCE_TASKS_LOG", str(log))
    record = tasks.record.using(backend="postgres")
    record.using(run_after=timezone.now() + timedelta(hours=1)).enqueue("later")
    for token, priority in [("a", 0), ("b", 9), ("c", 0), ("d", -9)]:
        record.using(priority=priority).enqueue(token)
    Worker(["postgres"], batch=True).run()
    assert log.read_text().split() == ["b", "a", "c", "d"]


def test_bad_rows_fail(pg: Any, tasks: Any) -> None:
    add = tasks.add.using(backend="postgres")
    gone, tampered, bad_json = add.enqueue(1, 1), add.enqueue(1, 1), add.enqueue(1, 1)
    rows = TaskRecord.objects.using("postgres")
    rows.filter(id=gone.id).update(task_path="tests.database.tasks.gone")
    rows.filter(id=tampered.id).update(task_path="os.system")
    rows.filter(id=bad_json.id).update(args="[1,")
    Worker(["postgres"], batch=True).run()
    for result in (gone, tampered, bad_json):
        assert pg.get_result(result.id).status == Status.FAILED


def test_idle_worker_wakes_on_notify(pg: Any, tasks: Any) -> None:
    """Picked up in well under the 5 s poll interval: LISTEN/NOTIFY did it."""
    worker = Worker(["postgres"], poll_interval=5.0, worker_id="listener")
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        time.sleep(0.3)  # idle, listening
        latencies = []
        for _ in range(5):
            result = tasks.add.using(backend="postgres").enqueue(1, 1)
            deadline = time.monotonic() + 3
            while pg.get_result(result.id).status != Status.SUCCESSFUL:
                assert time.monotonic() < deadline, "not picked up"
                time.sleep(0.005)
            done = pg.get_result(result.id)
            latencies.append((done.started_at - done.enqueued_at).total_seconds())
            time.sleep(0.1)  # idle again
    finally:
        worker.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert sorted(latencies)[2] < 0.5, latencies


def test_a_notify_wake_up_is_logged_at_debug(
    pg: Any, tasks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """What task_worker -v 2 shows (-v 1 leaves DEBUG out)."""
    caplog.set_level(logging.DEBUG, logger="reference_backends.database.worker")
    worker = Worker(["postgres"], poll_interval=5.0, worker_id="listener")
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        time.sleep(0.3)  # idle, listening
        result = tasks.add.using(backend="postgres").enqueue(1, 1)
        deadline = time.monotonic() + 3
        while pg.get_result(result.id).status != Status.SUCCESSFUL:
            assert time.monotonic() < deadline, "not picked up"
            time.sleep(0.005)
    finally:
        worker.stop()
        thread.join(10)
    woken = [
        r
        for r in caplog.records
        if r.getMessage() == "worker listener: woken by NOTIFY"
    ]
    assert woken, caplog.text
    assert {r.levelno for r in woken} == {logging.DEBUG}


def test_reconnects_after_the_connection_drops(pg: Any, tasks: Any) -> None:
    import psycopg

    first = tasks.add.using(backend="postgres").enqueue(1, 1)
    Worker(["postgres"], batch=True).run()
    # Kill this thread's server connection, as a server restart would.
    with connections["postgres"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with psycopg.connect(_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    result = _enqueue_via_new_connection(tasks)
    # The claim fails on the dead connection; the worker reconnects, goes on.
    assert Worker(["postgres"], batch=True).run() == 1
    assert pg.get_result(result).status == Status.SUCCESSFUL
    assert pg.get_result(first.id).status == Status.SUCCESSFUL


def _url() -> str:
    config = connections["postgres"].settings_dict
    return f"postgres://{config['USER']}@{config['HOST']}:{config['PORT']}/{config['NAME']}"


def _enqueue_via_new_connection(tasks: Any) -> str:
    """Enqueue from a separate thread (its own, healthy connection)."""
    ids: list[str] = []

    def enqueue() -> None:
        try:
            ids.append(tasks.add.using(backend="postgres").enqueue(2, 2).id)
        finally:
            connections.close_all()

    thread = threading.Thread(target=enqueue)
    thread.start()
    thread.join()
    return ids[0]


def test_threads_claim_each_row_once(
    pg: Any, tasks: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    log = tmp_path / "log"
    log.touch()
    monkeypatch.setenv("REFERENCE_TASKS_LOG", str(log))
    tokens = [f"t{i}" for i in range(300)]
    for token in tokens:
        tasks.record.using(backend="postgres").enqueue(token)
    assert Worker(["postgres"], batch=True, concurrency=4).run() == 300
    assert sorted(log.read_text().split()) == sorted(tokens)


def test_lost_worker_recovery(pg: Any, tasks: Any) -> None:
    result = tasks.add.using(backend="postgres").enqueue(1, 1)
    past = timezone.now() - timedelta(minutes=1)
    TaskRecord.objects.using("postgres").filter(id=result.id).update(
        status="RUNNING",
        attempts=1,
        claimed_by="dead",
        worker_ids="dead\n",
        lease_expires_at=past,
    )
    assert Worker(["postgres"], worker_id="w").recover_expired() == 1
    lost = pg.get_result(result.id)
    assert lost.status == Status.FAILED
    assert lost.errors[0].exception_class_path.endswith("WorkerLost")


@pytest.mark.parametrize(
    "misbehaving", ["leave_transaction_open", "turn_autocommit_off"]
)
def test_task_cannot_break_the_workers_connection(
    pg: Any, tasks: Any, misbehaving: str
) -> None:
    from django.db import connection

    # The task uses the "default" alias; the worker's is "postgres": make the
    # task misbehave on the worker's own connection.
    bad = getattr(tasks, misbehaving).using(backend="postgres").enqueue()
    after = tasks.add.using(backend="postgres").enqueue(1, 1)
    assert connection.alias == "default"
    with pytest.MonkeyPatch.context() as patch:
        import django.db

        patch.setattr(django.db, "connection", connections["postgres"])
        patch.setattr(
            "django.db.transaction.get_connection",
            lambda using=None: connections["postgres"],
        )
        assert Worker(["postgres"], batch=True).run() == 2
    assert pg.get_result(bad.id).status == Status.SUCCESSFUL
    assert pg.get_result(after.id).status == Status.SUCCESSFUL


# -- prepared statements ----------------------------------------------------------
def _prepared_statements() -> list[str]:
    """The statements prepared on this thread's "postgres" server session."""
    with connections["postgres"].cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_per_task_statements_are_prepared(pg: Any, tasks: Any) -> None:
    """Enqueue and the worker's claim+finish: parsed and planned once per session."""
    connections["postgres"].close()  # a fresh session: nothing prepared yet
    ids = [tasks.add.using(backend="postgres").enqueue(n, 1).id for n in range(5)]
    assert Worker(["postgres"], batch=True).run() == 5
    assert [pg.get_result(i).return_value for i in ids] == [1, 2, 3, 4, 5]
    prepared = _prepared_statements()
    assert any("INSERT INTO" in s and "pg_notify" in s for s in prepared), prepared
    assert any("FOR UPDATE SKIP LOCKED" in s for s in prepared), prepared
    # One text per shape, reused: not one prepared statement per task.
    assert len(prepared) <= 4, prepared


def test_prepared_statements_can_be_turned_off(pg: Any, tasks: Any) -> None:
    """PREPARED_STATEMENTS: False (connection poolers) prepares nothing."""
    connections["postgres"].close()
    add = tasks.add.using(backend="postgres-unprepared")
    ids = [add.enqueue(n, 1).id for n in range(3)]
    assert Worker(["postgres-unprepared"], batch=True).run() == 3
    assert [pg.get_result(i).status for i in ids] == [Status.SUCCESSFUL] * 3
    assert _prepared_statements() == []


def test_watched_connection_sees_every_statement(pg: Any, tasks: Any) -> None:
    """Query logging and execute wrappers see the per-task statements."""
    from django.test.utils import CaptureQueriesContext

    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    connection = connections["postgres"]
    with CaptureQueriesContext(connection) as captured:
        result = tasks.add.using(backend="postgres").enqueue(2, 3)
    assert any("INSERT INTO" in q["sql"] for q in captured.captured_queries)
    with connection.execute_wrapper(wrapper):
        assert Worker(["postgres"], batch=True).run() == 1
    assert any("FOR UPDATE SKIP LOCKED" in sql for sql in seen), seen
    assert pg.get_result(result.id).return_value == 5


def test_a_due_time_held_by_a_worker_that_dies_is_taken_by_another(
    pg: Any, postgres_alias: str
) -> None:
    """A scheduler that finds the entry's row locked looks again soon: if the
    holder dies before its commit, the due time is not lost."""
    from django.db import transaction

    from reference_backends.database.backend import DatabaseBackend
    from reference_backends.database.models import ScheduleState
    from reference_backends.database.scheduler import RETRY_SLEEP, Scheduler

    ScheduleState.objects.using(postgres_alias).all().delete()
    backend = DatabaseBackend(
        "postgres",
        {
            "QUEUES": ["default", "other"],
            "OPTIONS": {
                "DATABASE": postgres_alias,
                "SCHEDULE": {
                    "e": {"task": "tests.database.tasks.record", "every": "1h"}
                },
            },
        },
    )
    scheduler = Scheduler([backend], postgres_alias)
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    scheduler.tick(start + timedelta(minutes=59))  # registers the entry
    due = start + timedelta(hours=1)
    locked, release = threading.Event(), threading.Event()

    def dying_holder() -> None:
        try:
            with transaction.atomic(using=postgres_alias):
                row = ScheduleState.objects.using(postgres_alias).select_for_update()
                list(row.filter(name="e"))
                locked.set()
                release.wait(10)
                raise RuntimeError("the holder dies before its commit")
        except RuntimeError:
            pass
        finally:
            connections[postgres_alias].close()

    holder = threading.Thread(target=dying_holder)
    holder.start()
    assert locked.wait(10)
    try:
        assert scheduler.tick(due + timedelta(seconds=1)) <= RETRY_SLEEP
        assert not TaskRecord.objects.using(postgres_alias).exists()
    finally:
        release.set()
        holder.join(10)
    scheduler.tick(due + timedelta(seconds=2))
    runs = TaskRecord.objects.using(postgres_alias).values_list("run_after", flat=True)
    assert list(runs) == [due]
