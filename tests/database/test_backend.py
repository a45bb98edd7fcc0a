"""``DatabaseBackend`` in this process: enqueue, get_result, checks, options."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError
from django.utils import timezone

from conformance import compat
from reference_backends.database import DatabaseBackend
from reference_backends.database.backend import Options, _sqlite_checks
from reference_backends.database.models import TaskRecord

Status = compat.TaskResultStatus


@pytest.fixture
def backend(tasks: Any) -> DatabaseBackend:
    instance = compat.task_backends["default"]
    assert isinstance(instance, DatabaseBackend)
    return instance


def test_flags(backend: DatabaseBackend) -> None:
    assert backend.supports_defer
    assert backend.supports_async_task
    assert backend.supports_get_result
    assert backend.supports_priority
    assert not backend.supports_metadata


def test_package_reexports_the_backend() -> None:
    import reference_backends.database as package

    assert package.DatabaseBackend is DatabaseBackend
    with pytest.raises(AttributeError):
        package.Missing  # noqa: B018


def test_enqueue_stores_a_ready_row(tasks: Any, backend: DatabaseBackend) -> None:
    result = tasks.add.using(priority=7, queue_name="other").enqueue(1, b=2)
    assert result.status == Status.READY
    assert len(result.id) == 32
    assert int(result.id, 16) >= 0
    assert result.enqueued_at is not None
    assert result.started_at is None
    assert result.args == [1]
    assert result.kwargs == {"b": 2}
    row = TaskRecord.objects.get(id=result.id)
    assert row.task_path == "tests.database.tasks.add"
    assert (row.priority, row.queue_name, row.backend_name) == (7, "other", "default")
    assert (row.status, row.attempts, row.worker_ids) == ("READY", 0, "")


def test_ids_are_unique_and_ordered(tasks: Any) -> None:
    ids = [tasks.add.enqueue(1, 2).id for _ in range(50)]
    assert len(set(ids)) == 50
    # Time-ordered to the millisecond: new rows go to the end of the index.
    prefixes = [i[:12] for i in ids]
    assert prefixes == sorted(prefixes)
    assert all(len(i) == 32 for i in ids)


def test_get_result_round_trips(tasks: Any, backend: DatabaseBackend) -> None:
    result = tasks.echo.enqueue((1, 2), {"k": [None, True, 1.5]}, key="value")
    fetched = backend.get_result(result.id)
    assert fetched.id == result.id
    assert fetched.args == [[1, 2], {"k": [None, True, 1.5]}]
    assert fetched.kwargs == {"key": "value"}
    assert fetched.task.func is tasks.echo.func
    assert fetched.status == Status.READY
    assert fetched.enqueued_at == result.enqueued_at
    assert tasks.echo.get_result(result.id).id == result.id
    assert async_to_sync(backend.aget_result)(result.id).id == result.id
    with pytest.raises(compat.TaskResultMismatch):
        tasks.add.get_result(result.id)


def test_aenqueue(tasks: Any, backend: DatabaseBackend) -> None:
    result = async_to_sync(tasks.add.aenqueue)(2, 3)
    assert backend.get_result(result.id).args == [2, 3]


@pytest.mark.parametrize(
    "bad_id",
    [
        None,
        123,
        "",
        "x",
        "0" * 31,
        "0" * 33,
        "A" * 32,
        "g" * 32,
        "\x00" * 32,
        "../" * 11,
    ],
)
def test_unknown_and_malformed_ids_do_not_exist(
    backend: DatabaseBackend, bad_id: Any
) -> None:
    with pytest.raises(compat.TaskResultDoesNotExist):
        backend.get_result(bad_id)


def test_well_formed_unknown_id(backend: DatabaseBackend, tasks: Any) -> None:
    known = tasks.add.enqueue(1, 1).id
    for candidate in (
        "0" * 32,
        known.upper(),
        known[:-1] + ("0" if known[-1] != "0" else "1"),
    ):
        with pytest.raises(compat.TaskResultDoesNotExist):
            backend.get_result(candidate)


@pytest.mark.parametrize("value", [{1, 2}, timezone.now(), object(), b"\xff"])
def test_unserializable_arguments_are_refused(tasks: Any, value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        tasks.echo.enqueue(value)
    assert not TaskRecord.objects.exists()


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_json_floats_are_refused(tasks: Any, value: float) -> None:
    with pytest.raises(ValueError):
        tasks.echo.enqueue(value)
    assert not TaskRecord.objects.exists()


def test_result_shows_arguments_as_stored(tasks: Any, backend: DatabaseBackend) -> None:
    result = tasks.echo.enqueue({1: "int key"})
    assert result.args == [{"1": "int key"}]
    assert backend.get_result(result.id).args == result.args


def test_deferred_task_is_stored_with_run_after(
    tasks: Any, backend: DatabaseBackend
) -> None:
    when = timezone.now() + timedelta(hours=1)
    result = tasks.add.using(run_after=when).enqueue(1, 2)
    assert result.status == Status.READY
    assert backend.get_result(result.id).task.run_after == when


def test_invalid_tasks_are_refused(tasks: Any) -> None:
    with pytest.raises(compat.InvalidTask):
        tasks.add.using(queue_name="nope")
    with pytest.raises(compat.InvalidTask):
        tasks.add.using(priority=101)
    with pytest.raises(compat.InvalidTask):
        tasks.add.using(run_after=timezone.now().replace(tzinfo=None))
    assert not TaskRecord.objects.exists()


def test_enqueue_signal(tasks: Any) -> None:
    from conformance.support import SignalLog

    with SignalLog.recording() as log:
        result = tasks.add.enqueue(1, 2)
    events = log.for_result(result.id)
    assert [(e.signal, e.sender, e.status) for e in events] == [
        ("enqueued", DatabaseBackend, "READY")
    ]


def test_row_whose_task_is_gone_still_reads(
    tasks: Any, backend: DatabaseBackend
) -> None:
    result = tasks.add.using(priority=3).enqueue(1, 2)
    TaskRecord.objects.filter(id=result.id).update(task_path="tests.database.gone.task")
    fetched = backend.get_result(result.id)
    assert fetched.task.module_path == "tests.database.gone.task"
    assert fetched.task.priority == 3
    assert fetched.args == [1, 2]
    with pytest.raises(ImportError):
        fetched.task.call()
    with pytest.raises(compat.TaskResultMismatch):
        tasks.add.get_result(result.id)


@pytest.mark.parametrize(
    "path",
    [
        "os.system",
        "tests.database.tasks.not_a_task",
        "tests.database.tasks.alias_of_add",
        "x",
    ],
)
def test_tampered_row_still_reads(
    tasks: Any, backend: DatabaseBackend, path: str
) -> None:
    result = tasks.add.enqueue(1, 2)
    TaskRecord.objects.filter(id=result.id).update(task_path=path)
    assert backend.get_result(result.id).id == result.id


def test_damaged_columns_still_read(tasks: Any, backend: DatabaseBackend) -> None:
    result = tasks.add.enqueue(1, 2)
    TaskRecord.objects.filter(id=result.id).update(
        args="{not json", kwargs="[]", errors="oops", queue_name="gone"
    )
    fetched = backend.get_result(result.id)
    assert (fetched.args, fetched.kwargs, fetched.errors) == ([], {}, [])
    assert fetched.task.module_path == "tests.database.tasks.add"


@pytest.mark.parametrize(
    ("edge", "beyond"),
    [
        (compat.TASK_MIN_PRIORITY, compat.TASK_MIN_PRIORITY - 1),
        (compat.TASK_MAX_PRIORITY, compat.TASK_MAX_PRIORITY + 1),
    ],
)
def test_database_refuses_a_priority_out_of_range(
    tasks: Any, edge: int, beyond: int
) -> None:
    """Enqueue validates the range; the table's CHECK refuses a row written around it."""
    result = tasks.add.using(priority=edge).enqueue(1, 2)
    stored = TaskRecord.objects.filter(id=result.id)
    with pytest.raises(IntegrityError):
        stored.update(priority=beyond)
    assert stored.get().priority == edge


def test_unconfigured_backend_alias_still_reads(
    tasks: Any, backend: DatabaseBackend
) -> None:
    result = tasks.add.enqueue(1, 2)
    TaskRecord.objects.filter(id=result.id).update(backend_name="removed-alias")
    fetched = backend.get_result(result.id)
    assert fetched.backend == "removed-alias"
    assert fetched.args == [1, 2]


def test_placeholder_for_an_unusable_path(tasks: Any, backend: DatabaseBackend) -> None:
    result = tasks.add.enqueue(1, 2)
    TaskRecord.objects.filter(id=result.id).update(
        task_path="<locals>", backend_name="gone"
    )
    assert backend.get_result(result.id).task.func.__name__ == "_unavailable"


def test_per_task_statements_are_seen_by_query_logging(
    backend: DatabaseBackend, tasks: Any
) -> None:
    """SQLite sends them straight to sqlite3, except when someone is watching."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(backend.connection) as captured:
        result = tasks.add.enqueue(1, 2)
    assert [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]]
    assert backend.get_result(result.id).status == Status.READY


# -- options and checks ------------------------------------------------------------
def test_options_parse() -> None:
    options, problems = Options.parse(
        {
            "DELIVERY": "at-least-once",
            "LEASE_SECONDS": 5,
            "MAX_ATTEMPTS": 2,
            "POLL_INTERVAL": 0.1,
            "PREPARED_STATEMENTS": False,
        }
    )
    assert problems == []
    assert (
        options.delivery,
        options.lease_seconds,
        options.max_attempts,
        options.prepared_statements,
    ) == ("at-least-once", 5, 2, False)
    assert Options().prepared_statements
    assert options.heartbeat_seconds == pytest.approx(5 / 3)
    _, problems = Options.parse(
        {
            "DELIVERY": "sometimes",
            "LEASE_SECONDS": True,
            "MAX_ATTEMPTS": 0,
            "COLOUR": 1,
            "PREPARED_STATEMENTS": "yes",
        }
    )
    assert len(problems) == 5


def test_bad_options_are_reported_and_refused(tasks: Any) -> None:
    backend = DatabaseBackend("bad", {"OPTIONS": {"DELIVERY": "sometimes"}})
    messages = list(backend.check())
    assert [m.id for m in messages] == ["reference_tasks.E001"]
    with pytest.raises(ImproperlyConfigured):
        backend.get_result("0" * 32)


def test_check_passes_on_the_test_settings(backend: DatabaseBackend) -> None:
    assert list(backend.check()) == []


def test_check_unknown_database_alias() -> None:
    backend = DatabaseBackend("x", {"OPTIONS": {"DATABASE": "nowhere"}})
    assert [m.id for m in backend.check()] == ["reference_tasks.E003"]


def test_check_app_not_installed(
    backend: DatabaseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.apps import apps

    monkeypatch.setattr(apps, "is_installed", lambda name: False)
    assert [m.id for m in backend.check()] == ["reference_tasks.E002"]


def test_check_other_vendor(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.conf import settings

    monkeypatch.setitem(
        settings.DATABASES, "mysql", {"ENGINE": "django.db.backends.mysql"}
    )
    backend = DatabaseBackend("x", {"OPTIONS": {"DATABASE": "mysql"}})
    assert [m.id for m in backend.check()] == ["reference_tasks.W003"]


def test_sqlite_checks() -> None:
    wal = {"init_command": "PRAGMA journal_mode = WAL;"}
    assert list(_sqlite_checks("t", "d", {"NAME": "/x.db", "OPTIONS": wal})) == []
    ids = [m.id for m in _sqlite_checks("t", "d", {"NAME": ":memory:"})]
    assert ids == ["reference_tasks.E004", "reference_tasks.W001"]
    ids = [
        m.id
        for m in _sqlite_checks(
            "t", "d", {"NAME": "file:x?mode=memory", "OPTIONS": wal}
        )
    ]
    assert ids == ["reference_tasks.E004"]


def test_django_check_framework_reports_backend_messages(tasks: Any) -> None:
    from django.core import checks

    messages = [
        m for m in checks.run_checks() if (m.id or "").startswith("reference_tasks.")
    ]
    # Only the "postgres" alias may complain: its database exists once the
    # PostgreSQL tests have started a server.
    assert all("'postgres'" in m.msg for m in messages), messages
