"""Adapters for third-party backends: found by class path, never a dependency."""

from __future__ import annotations

import subprocess
import sys

from conformance.adapters import Adapter, adapter_class_for


def _named(path: str) -> type:
    """A class with ``path``'s module and name, as the registry sees classes."""
    module, name = path.rsplit(".", 1)
    return type(name, (), {"__module__": module, "__qualname__": name})


def test_django_tasks_db_is_driven_by_its_adapter_and_subclasses_too() -> None:
    from conformance.adapters.django_tasks_db import DjangoTasksDbAdapter

    backend = _named("django_tasks_db.backend.DatabaseBackend")
    subclass = type("MyBackend", (backend,), {})
    assert adapter_class_for(backend) is DjangoTasksDbAdapter
    assert adapter_class_for(subclass) is DjangoTasksDbAdapter
    adapter = DjangoTasksDbAdapter()
    assert (adapter.executes, adapter.worker_driven, adapter.record_access) == (
        True,
        True,
        True,
    )
    assert (
        adapter.selects_queues,
        adapter.runs_in_other_threads,
        adapter.runs_concurrently,
    ) == (True, True, True)
    assert adapter_class_for(_named("elsewhere.DatabaseBackend")) is Adapter


def test_the_kit_imports_no_third_party_backend() -> None:
    """The adapter module imports django-tasks-db only when it runs tasks."""
    code = (
        "import sys, conformance.adapters.django_tasks_db;"
        "print('django_tasks_db' in sys.modules)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert imported == "False"


def test_django_tasks_redis_runs_its_command_and_rewrites_records() -> None:
    from conformance.adapters.command import CommandWorker
    from conformance.adapters.django_tasks_redis import (
        WORKER_COMMAND,
        DjangoTasksRedisAdapter,
    )

    backend = _named("django_tasks_redis.backends.RedisTaskBackend")
    assert adapter_class_for(backend) is DjangoTasksRedisAdapter
    adapter = DjangoTasksRedisAdapter()
    assert (adapter.executes, adapter.worker_driven, adapter.record_access) == (
        True,
        True,
        True,
    )
    # Its command serves every queue: the queue-selection clause is n/a.
    assert (
        adapter.selects_queues,
        adapter.runs_in_other_threads,
        adapter.runs_concurrently,
    ) == (False, True, True)
    assert f"worker=command {WORKER_COMMAND!r} (batch)" in adapter.describe()
    # A command the user gives wins, and says what it can do.
    given = CommandWorker("run_redis_tasks --queue={queue} --backend={backend}")
    assert DjangoTasksRedisAdapter(worker=given).selects_queues is True


def test_the_redis_adapter_imports_no_third_party_backend() -> None:
    code = (
        "import sys, conformance.adapters.django_tasks_redis;"
        "print('django_tasks_redis' in sys.modules)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert imported == "False"
