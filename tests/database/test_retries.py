"""Retries: which errors come back, how often, when, and what the result shows."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from conformance import compat
from conformance.support import SignalLog
from conformance.versions import TASK_DECORATOR_FORWARDS_KWARGS
from reference_backends.database import DatabaseBackend
from reference_backends.database.backend import Options
from reference_backends.database.models import TaskRecord
from reference_backends.database.retries import RetryPolicy, exception_paths
from reference_backends.database.worker import Worker
from tests.database.test_workers import DATABASES, stop_all, wait_for

Status = compat.TaskResultStatus


@pytest.fixture
def retry_tasks(tasks: Any) -> Any:
    from tests.database import retry_tasks as module

    return module


def run(*aliases: str, **kwargs: Any) -> int:
    kwargs.setdefault("batch", True)
    kwargs.setdefault("worker_id", "test-worker")
    return Worker(aliases or ("default",), **kwargs).run()


def fetch(result: Any, alias: str = "default") -> Any:
    return compat.task_backends[alias].get_result(result.id)


def test_a_task_that_succeeds_on_its_third_attempt(
    retry_tasks: Any, log_file: Path
) -> None:
    result = retry_tasks.succeeds_on_third.enqueue("t")
    with SignalLog.recording() as log:
        run()
    done = fetch(result)
    assert done.status == Status.SUCCESSFUL
    assert done.return_value == 3
    assert done.attempts == 3
    assert done.worker_ids == ["test-worker"] * 3
    # One error per failed attempt, the successful one adds none.
    assert [e.exception_class for e in done.errors] == [retry_tasks.FlakierStill] * 2
    assert "attempt 1" in done.errors[0].traceback
    assert "attempt 2" in done.errors[1].traceback
    assert log_file.read_text().split("\n")[:-1] == ["t 1", "t 2", "t 3"]
    # started_at is the first attempt's, last_attempted_at the third's.
    assert done.enqueued_at <= done.started_at < done.last_attempted_at
    assert done.last_attempted_at <= done.finished_at
    events = [(e.signal, e.status) for e in log.for_result(result.id)]
    # task_started per attempt; task_finished once, for the final outcome.
    assert events == [("started", "RUNNING")] * 3 + [("finished", "SUCCESSFUL")]


def test_a_task_that_exhausts_its_retries(retry_tasks: Any, log_file: Path) -> None:
    result = retry_tasks.always_flaky.enqueue("x")
    with SignalLog.recording() as log:
        run()
    failed = fetch(result)
    assert failed.status == Status.FAILED
    # max_retries=2: the first attempt and two retries.
    assert failed.attempts == 3 == len(failed.errors)
    assert [e.exception_class for e in failed.errors] == [retry_tasks.Flaky] * 3
    assert log_file.read_text().split("\n")[:-1] == ["x 1", "x 2", "x 3"]
    assert failed.started_at < failed.last_attempted_at <= failed.finished_at
    events = [(e.signal, e.status) for e in log.for_result(result.id)]
    assert events == [("started", "RUNNING")] * 3 + [("finished", "FAILED")]


def test_an_exception_not_listed_is_not_retried(retry_tasks: Any) -> None:
    result = retry_tasks.raises_not_listed.enqueue()
    run()
    failed = fetch(result)
    assert failed.status == Status.FAILED
    assert failed.attempts == 1
    [error] = failed.errors
    assert error.exception_class is retry_tasks.NotListed


def test_between_attempts_the_result_is_ready_until_its_retry_time(
    retry_tasks: Any,
) -> None:
    result = retry_tasks.backs_off.enqueue()
    before = timezone.now()
    assert run() == 1  # the retry is not due: the batch worker stops
    waiting = fetch(result)
    assert waiting.status == Status.READY
    assert not waiting.is_finished
    assert waiting.attempts == 1 == len(waiting.errors)
    assert waiting.finished_at is None
    # The result still carries its task as enqueued; the retry time is the row's.
    assert waiting.task.run_after is None
    row = TaskRecord.objects.get(id=result.id)
    assert row.retry_at is not None
    # retry_backoff=60 without jitter: exactly 60 s after the failure.
    assert before + timedelta(seconds=60) <= row.retry_at
    assert row.retry_at <= timezone.now() + timedelta(seconds=60)
    assert (row.claimed_by, row.lease_expires_at) == (None, None)
    # Once due, a worker takes it again.
    TaskRecord.objects.filter(id=result.id).update(
        retry_at=timezone.now() - timedelta(seconds=1)
    )
    assert run() == 1
    assert fetch(result).attempts == 2


def test_an_idle_worker_sleeps_until_the_retry_is_due(retry_tasks: Any) -> None:
    result = retry_tasks.backs_off.enqueue()
    run()
    TaskRecord.objects.filter(id=result.id).update(
        retry_at=timezone.now() + timedelta(seconds=0.3)
    )
    worker = Worker(["default"], worker_id="idle", poll_interval=30)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        for _ in range(100):
            if fetch(result).attempts == 2:
                break
            threading.Event().wait(0.05)
    finally:
        worker.stop()
        thread.join(10)
    # Woken by the retry coming due, not by the 30 s poll.
    assert fetch(result).attempts == 2


def test_backend_options_retry_tasks_that_leave_it_unset(
    tasks: Any, retry_tasks: Any
) -> None:
    # AUTORETRY_FOR=[Boom], MAX_RETRIES=2 on the "retrying" alias.
    result = tasks.fail.using(backend="retrying").enqueue("again")
    plain = tasks.add.using(backend="retrying").enqueue(1, 2)
    run("retrying")
    failed = fetch(result, "retrying")
    assert failed.status == Status.FAILED
    assert failed.attempts == 3 == len(failed.errors)
    assert fetch(plain, "retrying").attempts == 1
    # The same task on a backend without retry options: one attempt.
    once = tasks.fail.enqueue()
    run()
    assert fetch(once).attempts == 1


def test_a_task_option_overrides_the_backend_option(retry_tasks: Any) -> None:
    result = retry_tasks.never_retried.using(backend="retrying").enqueue()
    run("retrying")
    assert fetch(result, "retrying").attempts == 1


@pytest.mark.parametrize("concurrency", [1, 4])
def test_retried_tasks_run_each_attempt_once(
    retry_tasks: Any, log_file: Path, concurrency: int
) -> None:
    results = [retry_tasks.succeeds_on_third.enqueue(f"t{i}") for i in range(12)]
    run(concurrency=concurrency)
    lines = Counter(log_file.read_text().split("\n")[:-1])
    assert set(lines.values()) == {1}  # no attempt of any task ran twice
    assert len(lines) == 36
    for result in results:
        assert fetch(result).attempts == 3
        assert fetch(result).status == Status.SUCCESSFUL


def test_a_lost_retry_is_recovered(retry_tasks: Any) -> None:
    """A worker that dies during a retry: its lease settles the row as usual."""
    result = retry_tasks.backs_off.enqueue()
    run()
    TaskRecord.objects.filter(id=result.id).update(
        status="RUNNING",
        attempts=2,
        claimed_by="dead",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        retry_at=timezone.now() - timedelta(seconds=60),
    )
    Worker(["default"], batch=True, worker_id="w").recover_expired()
    lost = fetch(result)
    assert lost.status == Status.FAILED  # at-most-once: never run twice
    assert [e.exception_class_path.rsplit(".", 1)[1] for e in lost.errors] == [
        "Flaky",
        "WorkerLost",
    ]


# -- the policy: backoff and jitter bounds ---------------------------------------------
def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(retry_backoff=3, retry_backoff_max=20, retry_jitter=False)
    assert [policy.delay(n) for n in range(1, 6)] == [3, 6, 12, 20, 20]
    assert policy.delay(10_000) == 20  # no overflow however many attempts
    assert RetryPolicy(retry_jitter=False).delay(3) == 0  # no backoff: at once


def test_jitter_draws_below_the_backoff() -> None:
    policy = RetryPolicy(retry_backoff=2, retry_backoff_max=100, retry_jitter=True)
    rng = random.Random(7)
    for attempt in range(1, 8):
        bound = min(100, 2 * 2 ** (attempt - 1))
        draws = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= bound for d in draws)
        # Spread over the range, not stuck at one end.
        assert min(draws) < bound * 0.2
        assert max(draws) > bound * 0.8


def test_retries_match_subclasses_and_stop_at_max_retries() -> None:
    policy = RetryPolicy(autoretry_for=(OSError,), max_retries=2)
    raised = exception_paths(ConnectionResetError("x"))
    assert [policy.retries(raised, n) for n in (1, 2, 3)] == [True, True, False]
    assert not policy.retries(exception_paths(ValueError("x")), 1)
    assert not RetryPolicy(max_retries=5).retries(raised, 1)  # nothing listed


# -- options ----------------------------------------------------------------------------
def test_options_are_parsed() -> None:
    options, problems = Options.parse(
        {
            "AUTORETRY_FOR": ["builtins.ConnectionError", TimeoutError],
            "MAX_RETRIES": 0,
            "RETRY_BACKOFF": True,
            "RETRY_BACKOFF_MAX": 30,
            "RETRY_JITTER": False,
            "TIME_LIMIT": 2.5,
        }
    )
    assert problems == []
    assert options.retry_policy == RetryPolicy(
        autoretry_for=(ConnectionError, TimeoutError),
        max_retries=0,
        retry_backoff=1.0,
        retry_backoff_max=30.0,
        retry_jitter=False,
    )
    assert options.time_limit == 2.5
    assert Options.parse({"RETRY_BACKOFF": False})[0].retry_backoff == 0
    defaults = Options.parse({})[0]
    assert defaults.retry_policy == RetryPolicy()
    assert defaults.time_limit is None


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("AUTORETRY_FOR", ["Error"], "not a dotted path"),
        ("AUTORETRY_FOR", [int], "exception classes"),
        ("AUTORETRY_FOR", KeyboardInterrupt, "never retried"),
        ("AUTORETRY_FOR", 3, "a list of classes"),
        ("MAX_RETRIES", -1, ">= 0"),
        ("MAX_RETRIES", None, ">= 0"),
        ("RETRY_BACKOFF", -2, ">= 0"),
        ("RETRY_BACKOFF_MAX", 0, "> 0"),
        ("RETRY_JITTER", "yes", "True or False"),
        ("TIME_LIMIT", float("nan"), "number of seconds"),
    ],
)
def test_invalid_options_are_reported(key: str, value: Any, says: str) -> None:
    _, [problem] = Options.parse({key: value})
    assert problem.startswith(f"invalid {key}: ")
    assert says in problem


def test_check_reports_invalid_retry_options(tasks: Any) -> None:
    backend = DatabaseBackend("bad", {"QUEUES": [], "OPTIONS": {"MAX_RETRIES": "3"}})
    [message] = [m for m in backend.check() if m.id == "reference_tasks.E001"]
    assert "MAX_RETRIES" in message.msg


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("tests.database.no_such_module.Error", "does not import"),
        ("builtins.KeyboardInterrupt", "never retried"),
        ("builtins.len", "exception classes"),
    ],
)
def test_autoretry_paths_are_imported_when_first_needed(
    tasks: Any, monkeypatch: pytest.MonkeyPatch, path: str, says: str
) -> None:
    """The backend may be set up while the module of a listed class is still
    being imported (its tasks use the backend): no import when parsing."""
    backend = DatabaseBackend(
        "late", {"QUEUES": [], "OPTIONS": {"AUTORETRY_FOR": [path]}}
    )
    assert backend.option_problems == []
    assert backend.settings.autoretry_for == (path,)
    # What cannot be used is reported by check, and refused by a worker.
    [message] = [m for m in backend.check() if m.id == "reference_tasks.E001"]
    assert "AUTORETRY_FOR" in message.msg
    assert says in message.msg
    monkeypatch.setattr(compat.task_backends["retrying"], "settings", backend.settings)
    with pytest.raises(ValueError, match=f"AUTORETRY_FOR.*{says}"):
        Worker(["retrying"])


@pytest.mark.skipif(
    not TASK_DECORATOR_FORWARDS_KWARGS, reason="@task takes no options on Django 6.0"
)
def test_task_decorator_passes_the_options(retry_tasks: Any) -> None:
    flaky = retry_tasks.always_flaky  # @task(autoretry_for=Flaky, max_retries=2)
    assert type(flaky).__name__ == "DatabaseTask"
    assert flaky.autoretry_for == (retry_tasks.Flaky,)  # one class: a tuple
    assert flaky.max_retries == 2
    assert retry_tasks.sync_sleeps.time_limit == 0.2
    # using() keeps them; unset options stay None (the backend's).
    assert flaky.using(priority=3).max_retries == 2
    assert flaky.retry_backoff is None
    assert retry_tasks.tasks_module_add().max_retries is None


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"autoretry_for": ["ValueError"]}, "invalid autoretry_for"),
        ({"autoretry_for": (KeyboardInterrupt,)}, "never retried"),
        ({"max_retries": -1}, "invalid max_retries"),
        ({"max_retries": 1.5}, "whole number"),
        ({"retry_backoff": "1"}, "invalid retry_backoff"),
        ({"retry_backoff_max": -1}, "invalid retry_backoff_max"),
        ({"retry_jitter": 1}, "invalid retry_jitter"),
        ({"time_limit": 0}, "invalid time_limit"),
    ],
)
def test_invalid_task_options_are_refused(
    tasks: Any, options: dict[str, Any], says: str
) -> None:
    from tests.database.retry_tasks import database_task

    def stand_in() -> None: ...

    stand_in.__module__ = "tests.database.tasks"  # module-level, for validation
    stand_in.__qualname__ = "add"
    with pytest.raises(compat.InvalidTask) as raised:
        database_task(**options)(stand_in)
    assert says in str(raised.value)
    assert "tests.database.tasks.add" in str(raised.value)


# -- PostgreSQL ---------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.parametrize("concurrency", [1, 4])
def test_retries_on_postgres(
    pg: Any, retry_tasks: Any, log_file: Path, concurrency: int
) -> None:
    # One statement writes an attempt's outcome and claims the next row: it
    # cannot see the retry it released, and a batch worker must look again.
    results = [
        retry_tasks.succeeds_on_third.using(backend="postgres").enqueue(f"t{i}")
        for i in range(8)
    ]
    failing = retry_tasks.always_flaky.using(backend="postgres").enqueue("x")
    run("postgres", concurrency=concurrency)
    for result in results:
        done = fetch(result, "postgres")
        assert (done.status, done.attempts, len(done.errors)) == (
            Status.SUCCESSFUL,
            3,
            2,
        )
    failed = fetch(failing, "postgres")
    assert (failed.status, failed.attempts, len(failed.errors)) == (Status.FAILED, 3, 3)
    lines = Counter(log_file.read_text().split("\n")[:-1])
    assert set(lines.values()) == {1}
    assert len(lines) == 27


# -- real worker processes ------------------------------------------------------------
ENQUEUE_FLAKY = """
from tests.database import retry_tasks
for i in range({n}):
    retry_tasks.succeeds_on_third.enqueue(f"t{{i}}")
"""


@pytest.mark.slow
@pytest.mark.parametrize("database", DATABASES)
def test_two_worker_processes_run_each_attempt_once(
    kit_env: Any, request: pytest.FixtureRequest, database: str
) -> None:
    url = None
    if database == "postgres":
        cluster = request.getfixturevalue("postgres_cluster")
        url = str(cluster.create_database(f"retries_{time.monotonic_ns()}"))
    env = kit_env(url)
    env.python(ENQUEUE_FLAKY.format(n=200))
    workers = [env.worker("--worker-id", f"w{n}", "-v0") for n in (1, 2)]
    try:
        # -v0: nothing reads their output until they stop; a full pipe would
        # block them (a retry is logged at -v1).
        wait_for(lambda: env.statuses() == {"SUCCESSFUL": 200}, 120, "200 tasks")
    finally:
        outputs = stop_all(workers)
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    attempts = Counter(env.executions())
    assert len(attempts) == 600  # "t0 1", "t0 2", "t0 3", ...
    assert set(attempts.values()) == {1}  # no attempt ran twice
    rows = env.query("SELECT attempts, worker_ids FROM reference_tasks_taskrecord")
    assert {row[0] for row in rows} == {3}
    # Both took part: retries are claimed by whichever worker is free.
    assert {w for _, ids in rows for w in ids.split()} == {"w1", "w2"}
