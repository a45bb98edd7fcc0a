"""Time limits: the thread pool in this process, the process pool in real workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance import compat
from reference_backends.database.worker import Worker
from tests.database.test_workers import DATABASES, stop, wait_for

Status = compat.TaskResultStatus
TIME_LIMIT_ERROR = "reference_backends.database.time_limits.TimeLimitExceeded"


@pytest.fixture
def retry_tasks(tasks: Any) -> Any:
    from tests.database import retry_tasks as module

    return module


def run(*aliases: str) -> int:
    return Worker(aliases or ("default",), batch=True, worker_id="test-worker").run()


def fetch(result: Any, alias: str = "default") -> Any:
    return compat.task_backends[alias].get_result(result.id)


# -- the thread pool -------------------------------------------------------------------
def test_an_async_task_is_cancelled_at_its_limit(retry_tasks: Any, tasks: Any) -> None:
    result = retry_tasks.async_sleeps.enqueue(60)
    after = tasks.add.enqueue(1, 2)
    started = time.monotonic()
    run()
    # Not the 60 s it asked for: it was stopped (a generous bound, not a speed test).
    assert time.monotonic() - started < 30
    failed = fetch(result)
    assert failed.status == Status.FAILED
    [error] = failed.errors
    assert error.exception_class_path == TIME_LIMIT_ERROR
    assert "time limit of 0.3 s; it was cancelled" in error.traceback
    assert fetch(after).status == Status.SUCCESSFUL  # the worker went on


def test_an_async_task_that_ignores_cancellation_still_fails(retry_tasks: Any) -> None:
    result = retry_tasks.ignores_cancellation.enqueue()
    run()
    failed = fetch(result)
    assert failed.status == Status.FAILED
    assert "it did not stop when cancelled" in failed.errors[0].traceback


def test_an_async_task_within_its_limit_succeeds(retry_tasks: Any) -> None:
    result = retry_tasks.async_sleeps.enqueue(0)
    run()
    assert fetch(result).return_value == "woke"


def test_a_tasks_own_timeout_error_is_not_a_time_limit(retry_tasks: Any) -> None:
    result = retry_tasks.raises_its_own_timeout.enqueue()
    run()
    [error] = fetch(result).errors
    assert error.exception_class is TimeoutError


def test_a_plain_function_over_its_limit_runs_to_its_end_then_fails(
    retry_tasks: Any, tasks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    result = retry_tasks.sync_sleeps.enqueue(0.6)
    after = tasks.add.enqueue(1, 2)
    run()
    failed = fetch(result)
    assert failed.status == Status.FAILED
    [error] = failed.errors
    assert error.exception_class_path == TIME_LIMIT_ERROR
    assert "the thread pool cannot stop a plain function" in error.traceback
    with pytest.raises(ValueError):
        failed.return_value  # noqa: B018 - discarded
    # Said while it was still running, not only afterwards.
    assert "is over its time limit of 0.2 s" in caplog.text
    assert fetch(after).status == Status.SUCCESSFUL


def test_a_plain_function_within_its_limit_succeeds(retry_tasks: Any) -> None:
    result = retry_tasks.sync_sleeps.enqueue(0)
    run()
    assert fetch(result).return_value == "woke"


def test_the_backend_time_limit_applies_to_tasks_without_their_own(
    tasks: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFERENCE_TASKS_LOG", str(tmp_path / "log"))
    # TIME_LIMIT=0.2 on the "limited" alias.
    result = tasks.sleep_and_record.using(backend="limited").enqueue("s", 0.5)
    quick = tasks.add.using(backend="limited").enqueue(1, 1)
    run("limited")
    [error] = fetch(result, "limited").errors
    assert error.exception_class_path == TIME_LIMIT_ERROR
    assert fetch(quick, "limited").status == Status.SUCCESSFUL


# -- the process pool (real worker processes) -------------------------------------------
@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    cluster = request.getfixturevalue("postgres_cluster")
    return str(cluster.create_database(f"limits_{time.monotonic_ns()}"))


ENQUEUE = """
from tests.database import retry_tasks, tasks
retry_tasks.sleeps_with_a_second.enqueue("killed", 60)
retry_tasks.exits_its_process.enqueue()
retry_tasks.flaky_in_a_child.enqueue("flaky")
tasks.record.enqueue("after")
"""


@pytest.mark.slow
def test_the_process_pool_kills_a_task_at_its_limit(
    kit_env: Any, database_url: str | None
) -> None:
    env = kit_env(database_url)
    env.python(ENQUEUE)
    env.manage("task_worker", "--batch", "--pool", "process")
    rows = {
        path.rsplit(".", 1)[1]: (status, attempts, errors, return_value)
        for path, status, attempts, errors, return_value in env.query(
            "SELECT task_path, status, attempts, errors, return_value"
            " FROM reference_tasks_taskrecord"
        )
    }
    status, attempts, errors, _ = rows["sleeps_with_a_second"]
    assert (status, attempts) == ("FAILED", 1)
    assert TIME_LIMIT_ERROR in errors
    assert "its process was killed" in errors
    # Killed mid-sleep: it never reached its end.
    assert "start killed" in env.executions()
    assert "end killed" not in env.executions()
    status, _, errors, _ = rows["exits_its_process"]
    assert status == "FAILED"
    assert "ChildProcessLost" in errors
    assert "code 7" in errors
    # A retry runs in a child too; the worker is not the process that ran it.
    status, attempts, errors, child_pid = rows["flaky_in_a_child"]
    assert (status, attempts) == ("SUCCESSFUL", 2)
    assert errors.count("exception_class_path") == 1
    [(worker_ids,)] = env.query(
        "SELECT worker_ids FROM reference_tasks_taskrecord"
        " WHERE task_path LIKE '%flaky_in_a_child'"
    )
    worker_pid = worker_ids.split("\n")[0].split(":")[1]  # host:pid:random
    assert child_pid != worker_pid
    assert rows["record"][0] == "SUCCESSFUL"
    assert env.statuses().keys() == {"SUCCESSFUL", "FAILED"}  # nothing RUNNING


DIES_BETWEEN_TASKS = """
from datetime import timedelta
from django.utils import timezone
from tests.database import retry_tasks, tasks
retry_tasks.kills_its_process_soon.enqueue()
tasks.record.using(run_after=timezone.now() + timedelta(seconds=1.5)).enqueue("next")
"""


@pytest.mark.slow
def test_a_child_that_died_between_tasks_is_replaced(kit_env: Any) -> None:
    env = kit_env()
    env.python(DIES_BETWEEN_TASKS)
    worker = env.worker("--pool", "process")
    try:
        wait_for(lambda: "next" in env.executions(), 60, "the next task")
        wait_for(lambda: env.statuses() == {"SUCCESSFUL": 2}, 10, "its outcome")
    finally:
        output = stop(worker)
    assert worker.returncode == 0, output
    [(errors,)] = env.query(
        "SELECT errors FROM reference_tasks_taskrecord WHERE task_path LIKE '%record'"
    )
    assert errors == "[]"  # the next task was not sent to the dead child


SAYS_WHERE = """
from tests.database import retry_tasks
retry_tasks.sleeps_and_says_where.enqueue("one", {seconds})
retry_tasks.sleeps_and_says_where.enqueue("two", {seconds})
"""


def _child_pids(env: Any) -> list[int]:
    return [int(line.rsplit(" ", 1)[1]) for line in env.executions() if " pid " in line]


@pytest.mark.slow
def test_each_worker_thread_has_its_own_child(kit_env: Any) -> None:
    env = kit_env()
    # Each waits for the other: under load one thread's child may start long
    # after the other's, which must not take both tasks meanwhile.
    env.python(
        "from tests.database import retry_tasks\n"
        "for token in ('one', 'two'):\n"
        "    retry_tasks.says_where_in_company.enqueue(token, 2, 120)\n"
    )
    env.manage("task_worker", "--batch", "--pool", "process", "--concurrency", "2")
    assert env.statuses() == {"SUCCESSFUL": 2}
    assert len(set(_child_pids(env))) == 2


@pytest.mark.slow
def test_a_child_does_not_outlive_its_killed_worker(kit_env: Any) -> None:
    env = kit_env()
    env.python(SAYS_WHERE.format(seconds=60))
    worker = env.worker("--pool", "process")
    try:
        wait_for(lambda: len(_child_pids(env)) == 1, 60, "the task to start")
    finally:
        stop(worker, signal.SIGKILL)
    [child] = _child_pids(env)

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        # Exited, not yet reaped by whoever adopted it (no init in a container).
        stat = Path(f"/proc/{child}/stat")
        with contextlib.suppress(OSError):
            return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
        return False

    # The task's lease will be settled by another worker: it must not run on.
    wait_for(gone, 10, f"child {child} to exit")


@pytest.mark.slow
def test_a_stop_sent_to_the_process_group_lets_the_child_finish(kit_env: Any) -> None:
    """A service manager or a terminal signals every process of the group:
    the child ignores it, the worker waits for the task, then stops."""
    env = kit_env()
    env.python(SAYS_WHERE.format(seconds=1))
    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "task_worker", "--pool", "process"],
        env=env.env,
        cwd=env.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, children included
    )
    try:
        wait_for(lambda: len(_child_pids(env)) == 1, 60, "the task to start")
        os.killpg(worker.pid, signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, output
    assert "SIGTERM received" in output
    # The running task finished in the child; the next one was never claimed.
    assert env.statuses() == {"SUCCESSFUL": 1, "READY": 1}


@pytest.mark.slow
def test_a_forced_stop_kills_the_child(kit_env: Any) -> None:
    env = kit_env()
    env.python(ENQUEUE)
    worker = env.worker("--pool", "process", "--worker-id", "w")
    try:
        wait_for(lambda: "start killed" in env.executions(), 60, "the task to start")
        worker.send_signal(signal.SIGINT)
        time.sleep(0.3)
    finally:
        output = stop(worker, signal.SIGINT)
    assert worker.returncode == 130, output
    assert "forced stop after" in output
    assert "end killed" not in env.executions()
    assert env.statuses() == {"FAILED": 1, "READY": 3}


def test_the_process_pool_refuses_to_start_without_settings_for_its_children(
    tasks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process was set up with settings.configure(): a child cannot be."""
    from reference_backends.database.process_pool import ChildStartError

    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    result = tasks.add.enqueue(1, 2)
    with pytest.raises(ChildStartError, match="could not set Django up"):
        Worker(["default"], batch=True, pool="process").run()
    assert fetch(result).status == Status.READY  # nothing was claimed


def test_a_child_that_fails_loses_the_attempt_and_the_worker_goes_on(
    tasks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replacement child that cannot start (or a child that answers
    nonsense) loses that attempt; the worker neither dies nor leaves it RUNNING."""
    from reference_backends.database import process_pool

    def broken_run(self: Any, alias: str, row: Any, limit: Any) -> Any:
        raise process_pool.ChildStartError("a replacement child took too long")

    monkeypatch.setattr(process_pool.ChildProcess, "start", lambda self: None)
    monkeypatch.setattr(process_pool.ChildProcess, "run", broken_run)
    first, second = tasks.add.enqueue(1, 2), tasks.add.enqueue(3, 4)
    assert Worker(["default"], batch=True, pool="process").run() == 2
    for result in (first, second):
        done = fetch(result)
        assert done.status == Status.FAILED
        assert "took too long" in done.errors[-1].traceback
