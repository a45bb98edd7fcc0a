"""Adapters for third-party backends: found by class path, never a dependency."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conformance.adapters import Adapter, adapter_class_for
from conformance.adapters.command import CommandTemplate, CommandWorker


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


@pytest.mark.parametrize(
    ("backend_path", "adapter_path", "selects_queues"),
    [
        (
            "django_tasks_redis.backends.RedisTaskBackend",
            "conformance.adapters.django_tasks_redis.DjangoTasksRedisAdapter",
            False,  # --queue takes one name: it runs every queue
        ),
        (
            "django_task_psql.backend.PostgresBackend",
            "conformance.adapters.django_task_psql.DjangoTaskPsqlAdapter",
            True,
        ),
        (
            "django_ox.backend.OxBackend",
            "conformance.adapters.django_ox.DjangoOxAdapter",
            True,
        ),
    ],
)
def test_a_package_command_adapter_runs_its_command_and_rewrites_records(
    backend_path: str, adapter_path: str, selects_queues: bool
) -> None:
    from django.utils.module_loading import import_string

    adapter_class = import_string(adapter_path)
    assert adapter_class_for(_named(backend_path)) is adapter_class
    adapter = adapter_class()
    assert (adapter.executes, adapter.worker_driven, adapter.record_access) == (
        True,
        True,
        True,
    )
    assert (
        adapter.selects_queues,
        adapter.runs_in_other_threads,
        adapter.runs_concurrently,
    ) == (selects_queues, True, True)
    assert f"worker=command {adapter_class.command!r}" in adapter.describe()
    assert f"({adapter_class.mode})" in adapter.describe()
    # A command the user gives wins, and says what it can do.
    given = CommandWorker("w --batch")
    assert adapter_class(worker=given).selects_queues is False


def test_every_queue_of_django_task_psql_names_the_kits_queues() -> None:
    # Its runworker serves only the queues it is told (default: "default").
    from conformance.adapters.django_task_psql import DjangoTaskPsqlAdapter
    from conformance.settings_file import QUEUES

    every = CommandTemplate.parse(DjangoTaskPsqlAdapter.every_queue_command or "")
    assert every.arguments(None, "default") == [
        "--batch",
        "--backend=default",
        "--queues",
        *QUEUES,
    ]


@pytest.mark.parametrize(
    ("module", "package"),
    [
        ("django_tasks_redis", "django_tasks_redis"),
        ("django_task_psql", "django_task_psql"),
        ("django_ox", "django_ox"),
    ],
)
def test_the_package_command_adapters_import_no_third_party_backend(
    module: str, package: str
) -> None:
    code = (
        f"import sys, conformance.adapters.{module};print({package!r} in sys.modules)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert imported == "False"
