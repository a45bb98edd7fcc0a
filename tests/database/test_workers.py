"""Real worker processes (``manage.py task_worker``) on SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.database.conftest import KitEnv

pytestmark = pytest.mark.slow

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite (a file per test), else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    cluster = request.getfixturevalue("postgres_cluster")
    return str(cluster.create_database(f"workers_{time.monotonic_ns()}"))


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        # Hung: the traceback of each of its threads says where (faulthandler).
        process.send_signal(signal.SIGABRT)
        output, _ = process.communicate(timeout=30)
        raise AssertionError(
            f"worker still running 30 s after {signal.Signals(sig).name}; "
            f"its output and threads:\n{output}"
        ) from None
    return output


def stop_all(processes: list[subprocess.Popen[str]]) -> list[str]:
    """Stop every one, even when one of them hangs (then fail, with its stacks)."""
    outputs: list[str] = []
    failure: AssertionError | None = None
    for process in processes:
        try:
            outputs.append(stop(process))
        except AssertionError as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return outputs


ENQUEUE = """
from tests.database import tasks
for i in range({n}):
    tasks.record.enqueue(f"t{{i}}")
"""


def test_two_workers_run_each_task_exactly_once(
    kit_env: Any, database_url: str | None
) -> None:
    env = kit_env(database_url)
    env.python(ENQUEUE.format(n=2000))
    workers = [env.worker("--worker-id", f"w{n}", "-v0") for n in (1, 2)]
    try:
        wait_for(lambda: env.statuses().get("SUCCESSFUL") == 2000, 120, "2,000 tasks")
    finally:
        outputs = stop_all(workers)
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    counts = Counter(env.executions())
    assert len(counts) == 2000
    assert set(counts.values()) == {1}
    assert env.statuses() == {"SUCCESSFUL": 2000}
    per_worker = dict(
        env.query(
            "SELECT worker_ids, count(*) FROM reference_tasks_taskrecord GROUP BY worker_ids"
        )
    )
    assert set(per_worker) == {"w1\n", "w2\n"}, (
        per_worker
    )  # both took part, one attempt each


SLOW = """
from tests.database import tasks
tasks.slow_first_attempt.enqueue("slow", {seconds})
tasks.record.enqueue("after")
"""


def test_sigterm_lets_the_running_task_finish(
    kit_env: Any, database_url: str | None
) -> None:
    env = kit_env(database_url)
    env.python(SLOW.format(seconds=1.0))
    worker = env.worker("--worker-id", "w1")
    try:
        wait_for(lambda: "start slow 1" in env.executions(), 30, "the task to start")
    finally:
        output = stop(worker)
    assert worker.returncode == 0, output
    assert env.executions() == ["start slow 1", "end slow 1"]
    assert env.statuses() == {"SUCCESSFUL": 1, "READY": 1}
    assert "SIGTERM received" in output


def test_second_sigint_is_a_forced_stop(kit_env: Any) -> None:
    env = kit_env()
    env.python(SLOW.format(seconds=30.0))
    worker = env.worker("--worker-id", "w1")
    try:
        wait_for(lambda: "start slow 1" in env.executions(), 30, "the task to start")
        worker.send_signal(signal.SIGINT)
        time.sleep(0.8)
    finally:
        output = stop(worker, signal.SIGINT)
    assert worker.returncode == 130, output
    assert "Traceback" not in output
    forced = [line for line in output.splitlines() if "forced stop after" in line]
    assert len(forced) == 1, output
    milliseconds = float(forced[0].split("forced stop after ")[1].split()[0])
    assert 800 <= milliseconds < 30_000, forced
    assert "worker w1: forced stop" in output
    assert env.statuses() == {"FAILED": 1, "READY": 1}


@pytest.mark.parametrize(
    ("delivery", "final", "runs"),
    [
        ("at-most-once", "FAILED", ["start slow 1"]),
        ("at-least-once", "SUCCESSFUL", None),
    ],
)
def test_sigkill_during_a_task(
    kit_env: Any,
    database_url: str | None,
    delivery: str,
    final: str,
    runs: list[str] | None,
) -> None:
    env = kit_env(database_url, DELIVERY=delivery, LEASE_SECONDS=1)
    env.python(SLOW.format(seconds=60))
    doomed = env.worker("--worker-id", "doomed", "--queue", "default")
    try:
        wait_for(lambda: "start slow 1" in env.executions(), 30, "the task to start")
    finally:
        stop(doomed, signal.SIGKILL)
    survivor = env.worker("--worker-id", "survivor")
    try:
        # One snapshot: two reads could straddle RUNNING -> READY (recovery).
        wait_for(
            lambda: not {"READY", "RUNNING"} & env.statuses().keys(),
            30,
            "the lost task to settle",
        )
    finally:
        output = stop(survivor)
    assert survivor.returncode == 0, output
    [(status, attempts, worker_ids, errors)] = env.query(
        "SELECT status, attempts, worker_ids, errors FROM reference_tasks_taskrecord"
        " WHERE task_path LIKE '%slow_first_attempt'"
    )
    assert status == final
    assert "WorkerLost" in errors
    assert errors.count("exception_class_path") == 1
    if delivery == "at-most-once":
        assert env.executions().count("start slow 1") == 1
        assert not [line for line in env.executions() if "slow 2" in line]
        assert (attempts, worker_ids) == (1, "doomed\n")
    else:
        assert "end slow 2" in env.executions()
        assert (attempts, worker_ids) == (2, "doomed\nsurvivor\n")
    assert "after" in env.executions()


@pytest.mark.parametrize("migrated_to", [None, "0001"])
def test_worker_refuses_a_database_that_is_not_migrated(
    tmp_path: Path, migrated_to: str | None
) -> None:
    env = KitEnv(tmp_path, f"sqlite:///{tmp_path / 'never.sqlite3'}", {})
    if migrated_to is not None:
        env.manage("migrate", "-v0", "reference_tasks", migrated_to)
    worker = env.worker("--batch")
    try:
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:  # it retried "no such table" for ever
            worker.kill()
            worker.communicate()
    assert worker.returncode == 1, output
    assert "is not ready for tasks" in output
    assert "Run 'manage.py migrate --database default' first." in output
    assert "reconnecting" not in output
    if migrated_to:
        assert "0002_priority_range" in output


@pytest.mark.postgres
def test_sigterm_stops_a_worker_whose_database_is_gone(
    kit_env: Any, postgres_cluster: Any
) -> None:
    """SIGTERM ends the reconnect loop of a worker whose server is down."""
    env = kit_env(postgres_cluster.create_database(f"gone_{time.monotonic_ns()}"))
    env.python(ENQUEUE.format(n=1))
    worker = env.worker("--worker-id", "w1")
    try:
        # Its outcome stored, not only its function run: a worker stopped
        # with an outcome still to write rightly keeps trying (STOP_DEADLINE).
        wait_for(lambda: env.statuses() == {"SUCCESSFUL": 1}, 30, "the task's outcome")
        postgres_cluster.stop()
        try:
            time.sleep(3)  # idle, the server gone: into the reconnect loop
            started = time.monotonic()
            output = stop(worker)
            elapsed = time.monotonic() - started
        finally:
            postgres_cluster.start()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, output
    assert elapsed < 10, output
    assert "reconnecting in" in output
    assert "nothing to write, stopping now" in output
    assert "Traceback" not in output
