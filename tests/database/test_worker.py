"""The worker, in this process: claims, outcomes, bad rows, leases, delivery."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

from conformance import compat
from conformance.adapters.database import DatabaseAdapter, sibling_aliases
from conformance.support import SignalLog
from reference_backends.database import DatabaseBackend
from reference_backends.database.models import TaskRecord
from reference_backends.database.queries import Queries
from reference_backends.database.worker import Worker, default_worker_id

Status = compat.TaskResultStatus


def run(*aliases: str, **kwargs: Any) -> int:
    kwargs.setdefault("batch", True)
    kwargs.setdefault("worker_id", "test-worker")
    return Worker(aliases or ("default",), **kwargs).run()


def fetch(result: Any) -> Any:
    return compat.task_backends["default"].get_result(result.id)


def test_runs_a_task(tasks: Any) -> None:
    result = tasks.add.enqueue(2, 3)
    assert run() == 1
    done = fetch(result)
    assert done.status == Status.SUCCESSFUL
    assert done.return_value == 5
    assert done.worker_ids == ["test-worker"]
    assert done.attempts == 1
    assert (
        done.enqueued_at
        <= done.started_at
        <= done.last_attempted_at
        <= done.finished_at
    )
    assert done.errors == []
    row = TaskRecord.objects.get(id=result.id)
    assert (row.claimed_by, row.lease_expires_at) == (None, None)


def test_return_value_is_json(tasks: Any) -> None:
    result = tasks.echo.enqueue((1, 2), {"a": (3,)})
    run()
    assert fetch(result).return_value == {"args": [[1, 2], {"a": [3]}], "kwargs": {}}


def test_context_and_async(tasks: Any) -> None:
    with_context = tasks.context_info.enqueue()
    coroutine = tasks.async_add.enqueue(1, 2)
    run()
    assert fetch(with_context).return_value == {"attempt": 1, "id": with_context.id}
    assert fetch(coroutine).return_value == 3


def test_priority_then_oldest(tasks: Any, log_file: Path) -> None:
    for token, priority in [("a", 0), ("b", 10), ("c", 0), ("d", -5), ("e", 10)]:
        tasks.record.using(priority=priority).enqueue(token)
    run()
    assert log_file.read_text().split() == ["b", "e", "a", "c", "d"]


def test_deferred_only_when_due(tasks: Any) -> None:
    soon = tasks.add.using(run_after=timezone.now() + timedelta(seconds=0.5)).enqueue(
        1, 1
    )
    later = tasks.add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1, 1)
    past = tasks.add.using(run_after=timezone.now() - timedelta(hours=1)).enqueue(1, 1)
    assert run() == 1
    assert fetch(past).status == Status.SUCCESSFUL
    assert fetch(soon).status == Status.READY
    time.sleep(0.6)
    assert run() == 1
    assert fetch(soon).status == Status.SUCCESSFUL
    assert fetch(later).status == Status.READY


def test_idle_worker_wakes_for_a_deferred_task(tasks: Any) -> None:
    due = timezone.now() + timedelta(seconds=0.3)
    result = tasks.add.using(run_after=due).enqueue(1, 1)
    worker = Worker(["default"], poll_interval=5.0, max_tasks=1, worker_id="w")
    thread = threading.Thread(target=worker.run)
    thread.start()
    thread.join(3)
    assert not thread.is_alive()
    done = fetch(result)
    assert done.status == Status.SUCCESSFUL
    # Woken at run_after, not after the 5 s poll interval.
    assert done.started_at - due < timedelta(seconds=1)


def test_queue_and_backend_selection(tasks: Any) -> None:
    default = tasks.add.enqueue(1, 1)
    other = tasks.add.using(queue_name="other").enqueue(1, 1)
    elsewhere = tasks.add.using(backend="at-least-once").enqueue(1, 1)
    assert run(queue_names=["other"]) == 1
    assert fetch(other).status == Status.SUCCESSFUL
    assert fetch(default).status == Status.READY
    assert run("default") == 1
    assert fetch(elsewhere).status == Status.READY
    assert run("at-least-once") == 1
    assert fetch(elsewhere).status == Status.SUCCESSFUL


def test_max_tasks(tasks: Any) -> None:
    for _ in range(5):
        tasks.add.enqueue(1, 1)
    assert run(max_tasks=2) == 2
    assert TaskRecord.objects.filter(status="READY").count() == 3


def test_failure_records_the_error(tasks: Any) -> None:
    result = tasks.fail.enqueue("bad thing")
    exit_ = tasks.exit_.enqueue()
    after = tasks.add.enqueue(1, 1)
    run()
    failed = fetch(result)
    assert failed.status == Status.FAILED
    assert failed.finished_at is not None
    [error] = failed.errors
    assert error.exception_class_path == "tests.database.tasks.Boom"
    assert error.exception_class is tasks.Boom
    assert "bad thing" in error.traceback
    with pytest.raises(ValueError):
        failed.return_value  # noqa: B018
    assert fetch(exit_).errors[0].exception_class is SystemExit
    assert fetch(after).status == Status.SUCCESSFUL


def test_unserializable_return_value_fails(tasks: Any) -> None:
    result = tasks.return_set.enqueue()
    run()
    failed = fetch(result)
    assert failed.status == Status.FAILED
    assert issubclass(failed.errors[0].exception_class, TypeError)


def test_signals_in_order(tasks: Any) -> None:
    ok = tasks.add.enqueue(1, 1)
    bad = tasks.fail.enqueue()
    with SignalLog.recording() as log:
        run()
    for result, final in ((ok, "SUCCESSFUL"), (bad, "FAILED")):
        events = [(e.signal, e.sender, e.status) for e in log.for_result(result.id)]
        assert events == [
            ("started", DatabaseBackend, "RUNNING"),
            ("finished", DatabaseBackend, final),
        ]


def test_failing_signal_receiver_is_logged_not_fatal(
    tasks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("receiver")

    compat.task_started.connect(broken, dispatch_uid="broken")
    try:
        result = tasks.add.enqueue(1, 1)
        run()
    finally:
        compat.task_started.disconnect(dispatch_uid="broken")
    assert fetch(result).status == Status.SUCCESSFUL
    assert "signal receiver" in caplog.text


# -- bad rows ----------------------------------------------------------------------------
def _tamper(result: Any, **columns: Any) -> None:
    assert TaskRecord.objects.filter(id=result.id).update(**columns) == 1


@pytest.mark.parametrize(
    "path", ["tests.database.tasks.gone", "tests.database.nowhere.task", "nodots"]
)
def test_path_that_no_longer_imports_fails(tasks: Any, path: str) -> None:
    result = tasks.add.enqueue(1, 1)
    _tamper(result, task_path=path)
    after = tasks.add.enqueue(1, 1)
    with SignalLog.recording() as log:
        assert run() == 2
    failed = fetch(result)
    assert failed.status == Status.FAILED
    assert issubclass(failed.errors[0].exception_class, ImportError)
    assert failed.finished_at is not None
    assert log.for_result(result.id) == []  # it never started
    assert fetch(after).status == Status.SUCCESSFUL


@pytest.mark.parametrize(
    "path",
    [
        "tests.database.tasks.not_a_task",
        "tests.database.tasks.alias_of_add",
        "tests.database.tasks.add.func",
        "os.system",
    ],
)
def test_tampered_path_is_never_run(tasks: Any, tmp_path: Path, path: str) -> None:
    marker = tmp_path / "marker"
    result = tasks.echo.enqueue(str(marker))
    _tamper(result, task_path=path, args=json.dumps([f"touch {marker}"]))
    run()
    failed = fetch(result)
    assert failed.status == Status.FAILED
    assert issubclass(failed.errors[0].exception_class, ImportError)
    assert not marker.exists()


def test_module_failing_to_import_fails_the_task(tasks: Any, tmp_path: Path) -> None:
    result = tasks.add.enqueue(1, 1)
    _tamper(result, task_path="tests.database.broken_module.task")
    run()
    assert issubclass(fetch(result).errors[0].exception_class, ImportError)


@pytest.mark.parametrize(
    ("column", "value"),
    [("args", "{not json"), ("args", '{"a": 1}'), ("kwargs", "[1]"), ("kwargs", "")],
)
def test_undecodable_arguments_fail(tasks: Any, column: str, value: str) -> None:
    result = tasks.add.enqueue(1, 1)
    _tamper(result, **{column: value})
    run()
    failed = fetch(result)
    assert failed.status == Status.FAILED
    assert issubclass(failed.errors[0].exception_class, ValueError)


def test_stored_options_no_longer_valid_fail(tasks: Any) -> None:
    result = tasks.add.enqueue(1, 1)
    _tamper(result, queue_name="removed")
    run()
    assert fetch(result).errors[0].exception_class is compat.InvalidTask


# -- interruption, leases, delivery -----------------------------------------------------
@pytest.mark.parametrize(
    ("alias", "status"), [("default", "FAILED"), ("at-least-once", "READY")]
)
def test_keyboard_interrupt_stops_the_worker(
    tasks: Any, alias: str, status: str
) -> None:
    result = tasks.interrupt.using(backend=alias).enqueue()
    after = tasks.add.using(backend=alias).enqueue(1, 1)
    with pytest.raises(KeyboardInterrupt):
        run(alias)
    row = TaskRecord.objects.get(id=result.id)
    assert row.status == status
    assert "KeyboardInterrupt" in row.errors
    assert TaskRecord.objects.get(id=after.id).status == "READY"


def _orphan(result: Any, *, attempts: int = 1, expired: bool = True) -> None:
    """Make ``result`` look claimed by a worker that died mid-task."""
    started = timezone.now() - timedelta(minutes=5)
    lease = timezone.now() + timedelta(seconds=-1 if expired else 60)
    _tamper(
        result,
        status="RUNNING",
        attempts=attempts,
        claimed_by="dead-worker",
        worker_ids="dead-worker\n" * attempts,
        started_at=started,
        last_attempted_at=started,
        lease_expires_at=lease,
    )


def test_lost_worker_at_most_once(tasks: Any) -> None:
    result = tasks.add.enqueue(1, 1)
    _orphan(result)
    alive = tasks.add.enqueue(2, 2)
    _orphan(alive, expired=False)
    with SignalLog.recording() as log:
        assert Worker(["default"], worker_id="w").recover_expired() == 1
    lost = fetch(result)
    assert lost.status == Status.FAILED
    assert lost.finished_at is not None
    assert lost.errors[0].exception_class_path.endswith("records.WorkerLost")
    assert "dead-worker" in lost.errors[0].traceback
    assert [e.signal for e in log.for_result(result.id)] == ["finished"]
    assert fetch(alive).status == Status.RUNNING
    assert run() == 0  # a FAILED row is never run again


def test_lost_worker_at_least_once(tasks: Any) -> None:
    result = tasks.add.using(backend="at-least-once").enqueue(1, 1)
    _orphan(result)
    first_start = TaskRecord.objects.get(id=result.id).started_at
    assert run("at-least-once") == 1  # recovery, then the re-run
    done = compat.task_backends["at-least-once"].get_result(result.id)
    assert done.status == Status.SUCCESSFUL
    assert done.attempts == 2
    assert done.worker_ids == ["dead-worker", "test-worker"]
    assert done.started_at == first_start < done.last_attempted_at
    assert len(done.errors) == 1
    assert done.errors[0].exception_class_path.endswith("WorkerLost")


def test_at_least_once_gives_up_after_max_attempts(tasks: Any) -> None:
    result = tasks.add.using(backend="at-least-once").enqueue(1, 1)
    _orphan(result, attempts=3)  # MAX_ATTEMPTS is 3 for this alias
    run("at-least-once")
    row = TaskRecord.objects.get(id=result.id)
    assert row.status == "FAILED"


def test_outcome_of_a_lost_lease_is_discarded(
    tasks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    result = tasks.add.enqueue(1, 1)
    stolen = tasks.steal_own_lease.enqueue(result.id)
    _tamper(result, id=result.id)  # no-op: keep result first in order
    with SignalLog.recording() as log:
        run()
    row = TaskRecord.objects.get(id=stolen.id)
    # steal_own_lease changed claimed_by of the *other* row; its own finished.
    assert row.status == "SUCCESSFUL"
    # Now steal a row mid-run for real: claim, then take it away.
    victim = tasks.steal_own_lease.enqueue("placeholder")
    _tamper(victim, args=json.dumps([victim.id]))
    with SignalLog.recording() as log, caplog.at_level(logging.WARNING):
        run()
    assert TaskRecord.objects.get(id=victim.id).status == "RUNNING"
    assert "lost its lease" in caplog.text
    assert [e.signal for e in log.for_result(victim.id)] == ["started"]


def test_renew_leases(tasks: Any) -> None:
    result = tasks.add.enqueue(1, 1)
    worker = Worker(["default"], worker_id="renewer")
    _tamper(
        result,
        status="RUNNING",
        claimed_by="renewer",
        attempts=1,
        lease_expires_at=timezone.now(),
    )
    row = Queries(compat.task_backends["default"].connection).get(result.id)
    assert row is not None
    worker._track_running(row)
    worker.renew_leases()
    lease = TaskRecord.objects.get(id=result.id).lease_expires_at
    assert lease is not None
    assert lease > timezone.now() + timedelta(seconds=20)
    _tamper(result, claimed_by="someone-else")
    worker.renew_leases()  # logs the loss, does not fail
    worker._forget_running(row)
    worker.renew_leases()


def test_heartbeat_thread_renews_and_recovers(tasks: Any) -> None:
    lost = tasks.add.enqueue(1, 1)
    _orphan(lost)
    worker = Worker(["default"], worker_id="hb")
    worker._heartbeat_done = threading.Event()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            type(compat.task_backends["default"].settings), "heartbeat_seconds", 0.05
        )
        thread = threading.Thread(target=worker._heartbeat_loop)
        thread.start()
        deadline = time.monotonic() + 5
        while (
            TaskRecord.objects.get(id=lost.id).status == "RUNNING"
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        worker._heartbeat_done.set()
        thread.join()
    assert TaskRecord.objects.get(id=lost.id).status == "FAILED"


def test_database_errors_are_retried(
    tasks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = tasks.add.enqueue(1, 1)
    real = Queries.finish_and_claim
    failures = iter([True, True, False])

    def flaky(self: Queries, *args: Any) -> Any:
        if next(failures, False):
            raise OperationalError("server closed the connection unexpectedly")
        return real(self, *args)

    monkeypatch.setattr(Queries, "finish_and_claim", flaky)
    assert run() == 1
    assert fetch(result).status == Status.SUCCESSFUL


def test_stopping_worker_gives_up_on_a_dead_database(
    tasks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reference_backends.database import worker as module

    def down(self: Queries, *args: Any) -> Any:
        raise OperationalError("down")

    monkeypatch.setattr(Queries, "finish_and_claim", down)
    monkeypatch.setattr(module, "STOP_DEADLINE", 0.1)
    worker = Worker(["default"], batch=True, worker_id="w")
    worker.stop()
    # Holding an outcome: retried until the deadline, then the error.
    with pytest.raises(OperationalError):
        worker._retrying(worker._commit, None, True, holding=True)
    # Holding nothing: a stopping worker gives up at once.
    assert worker._retrying(worker._commit, None, True) is None


# -- concurrency and control --------------------------------------------------------------
def test_threads_run_each_task_exactly_once(tasks: Any, log_file: Path) -> None:
    tokens = [f"t{i}" for i in range(200)]
    for token in tokens:
        tasks.record.enqueue(token)
    assert run(concurrency=4) == 200
    assert sorted(log_file.read_text().split()) == sorted(tokens)
    assert not TaskRecord.objects.exclude(status="SUCCESSFUL").exists()


def test_sigterm_lets_the_running_task_finish(tasks: Any) -> None:
    result = tasks.stop_worker_signal.enqueue()
    waiting = tasks.add.enqueue(1, 1)
    worker = Worker(["default"], worker_id="w", poll_interval=0.05)
    with worker.signal_handlers():
        assert worker.run() == 1
    assert fetch(result).return_value == "finished"
    assert fetch(waiting).status == Status.READY


def test_second_sigint_interrupts(tasks: Any) -> None:
    import os
    import signal

    worker = Worker(["default"], worker_id="w")
    with worker.signal_handlers():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        assert worker.stopping
        # Python runs the handler as soon as os.kill returns.
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)


def test_worker_validation(tasks: Any) -> None:
    with pytest.raises(ValueError):
        Worker(["immediate"])
    with pytest.raises(ValueError):
        Worker([])
    with pytest.raises(ValueError):
        Worker(["default"], worker_id="a\nb")
    with pytest.raises(ValueError):
        Worker(["default"], worker_id="x" * 65)
    assert len(default_worker_id()) <= 64


def test_worker_across_databases_is_refused(
    tasks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = compat.task_backends["open"]
    monkeypatch.setattr(other, "settings", type(other.settings)(database="elsewhere"))
    with pytest.raises(ValueError):
        Worker(["default", "open"])


# -- the kit's adapter ---------------------------------------------------------------------
def test_adapter(tasks: Any) -> None:
    backend = compat.task_backends["default"]
    adapter = DatabaseAdapter()
    assert (adapter.executes, adapter.worker_driven, adapter.record_access) == (
        True,
        True,
        True,
    )
    assert sibling_aliases(backend) == [
        "default",
        "at-least-once",
        "open",
        "retrying",
        "limited",
    ]
    one = tasks.add.enqueue(1, 1)
    two = tasks.add.using(backend="open", queue_name="anything").enqueue(1, 1)
    adapter.run_ready(backend, ["default"])
    assert fetch(one).status == Status.SUCCESSFUL
    assert fetch(two).status == Status.READY
    adapter.run_ready(backend)
    assert fetch(two).status == Status.SUCCESSFUL
    three = tasks.add.enqueue(1, 1)
    adapter.set_task_path(backend, three.id, "os.system")
    assert TaskRecord.objects.get(id=three.id).task_path == "os.system"
    with pytest.raises(LookupError):
        adapter.set_task_path(backend, "0" * 32, "x")


@pytest.mark.parametrize(
    "misbehaving", ["leave_transaction_open", "turn_autocommit_off"]
)
def test_task_cannot_break_the_workers_connection(tasks: Any, misbehaving: str) -> None:
    bad = getattr(tasks, misbehaving).enqueue()
    after = tasks.add.enqueue(1, 1)
    assert run() == 2
    assert fetch(bad).status == Status.SUCCESSFUL
    assert fetch(after).status == Status.SUCCESSFUL


def test_worker_inside_a_callers_transaction(tasks: Any) -> None:
    from django.db import transaction

    with transaction.atomic():
        result = tasks.add.enqueue(1, 1)
        assert run() == 1
    assert fetch(result).status == Status.SUCCESSFUL


def test_a_failed_claim_is_rolled_back(
    tasks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reference_backends.database import records

    result = tasks.add.enqueue(1, 1)

    def broken(cls: Any, values: Any) -> Any:
        raise RuntimeError("decoding failed")

    monkeypatch.setattr(records.Row, "from_db", classmethod(broken))
    with pytest.raises(RuntimeError):
        run()
    monkeypatch.undo()
    assert TaskRecord.objects.get(id=result.id).status == "READY"
    assert run() == 1


def test_corrupted_errors_column_restarts_the_list(tasks: Any) -> None:
    result = tasks.fail.enqueue()
    _tamper(result, errors="not a list")
    run()
    assert len(fetch(result).errors) == 1


def test_heartbeat_survives_database_errors(
    tasks: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker(["default"], worker_id="hb")
    worker._heartbeat_done = threading.Event()
    calls = []

    def failing() -> None:
        calls.append(1)
        if len(calls) >= 2:
            worker._heartbeat_done.set()
        raise OperationalError("database is away")

    monkeypatch.setattr(worker, "renew_leases", failing)
    monkeypatch.setattr(
        type(compat.task_backends["default"].settings), "heartbeat_seconds", 0.01
    )
    with caplog.at_level(logging.WARNING):
        worker._heartbeat_loop()
    assert len(calls) >= 2
    assert "heartbeat failed" in caplog.text


def test_idle_worker_on_one_queue_waits_for_its_deferred_task(tasks: Any) -> None:
    due = timezone.now() + timedelta(seconds=0.2)
    mine = tasks.add.using(run_after=due, queue_name="other").enqueue(1, 1)
    tasks.add.using(run_after=due + timedelta(hours=1)).enqueue(1, 1)
    worker = Worker(["default"], queue_names=["other"], max_tasks=1, poll_interval=5.0)
    thread = threading.Thread(target=worker.run)
    thread.start()
    thread.join(3)
    assert not thread.is_alive()
    assert fetch(mine).status == Status.SUCCESSFUL


def test_a_plain_task_runs(tasks: Any) -> None:
    # @task builds its Task with the default backend's class; a task defined
    # while another backend is the default, then sent here with
    # .using(backend=...), is a plain Task, not a DatabaseTask: it runs.
    assert type(tasks.plain_add) is not type(tasks.add)
    result = tasks.plain_add.enqueue(2, 3)
    assert run() == 1
    done = fetch(result)
    assert done.status == Status.SUCCESSFUL, done.errors
    assert done.return_value == 5
