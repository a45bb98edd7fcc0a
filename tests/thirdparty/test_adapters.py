"""The adapters for Redis-backed backends, against a real Redis and real workers."""

from __future__ import annotations

import pytest

from tests.thirdparty.conftest import keys, needs, run_scenario

pytestmark = pytest.mark.redis


def test_rq_worker_runs_only_the_requested_queues(redis_url: str) -> None:
    needs("django_tasks_rq")
    outcome = run_scenario(
        "selected-queues",
        "django_tasks_rq.RQBackend",
        "tests.thirdparty.settings_rq",
        redis_url,
    )
    assert outcome["adapter"] == "RQAdapter"
    # The worker for queue-a left queue-b's task alone; the one for every
    # queue ran it.
    assert outcome["after_queue_a"] == {"a": "SUCCESSFUL", "b": "READY"}
    assert outcome["after_all"] == {"a": "SUCCESSFUL", "b": "SUCCESSFUL"}
    # RQ's SIGINT/SIGTERM handlers did not stay in the kit's main thread.
    assert outcome["handlers_kept"], outcome
    # close() removed the jobs, their results and the queues: only RQ's
    # own registry-cleaning lock is left, and it expires.
    assert set(keys(redis_url)) <= {"0:rq:clean_groups"}


def test_celery_driver_notices_a_dead_worker(redis_url: str) -> None:
    needs("django_tasks_fennel")
    outcome = run_scenario(
        "dead-worker",
        "django_tasks_fennel.CeleryBackend",
        "tests.thirdparty.settings_fennel",
        redis_url,
    )
    assert outcome["adapter"] == "FennelAdapter"
    assert outcome["task_started"], outcome
    # Killed while running a task that would have blocked for a minute: the
    # call returned at once (well within the timeout), saying why.
    assert outcome["returned"], outcome
    assert outcome["raised"].startswith("WorkerDied: the Celery worker exited"), outcome
    assert outcome["seconds_after_kill"] < outcome["timeout"] / 2, outcome
    # The task it took is left RUNNING (the backend's finding) and never
    # waited for again; no worker process is left behind.
    assert outcome["blocked"] == "RUNNING"
    assert outcome["second_call_seconds"] < 1.0, outcome
    assert outcome["workers_left"] == 0
