"""Unit tests of ``reference_backends.dummy.DummyBackend``.

The kit checks the contract (tests/test_reference_kit.py); these tests pin
down the helpers and every branch of the backend itself, in this process.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from conformance import compat
from conformance.support import SignalLog
from reference_backends.dummy import DummyBackend

Status = compat.TaskResultStatus
LATER = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def backend(reference_tasks: Any) -> DummyBackend:
    instance = compat.task_backends["dummy"]
    assert type(instance) is DummyBackend
    return instance


@pytest.fixture
def tasks(reference_tasks: Any) -> Any:
    """The reference tasks, each bound to the "dummy" alias."""

    class Dummied:
        def __getattr__(self, name: str) -> Any:
            return getattr(reference_tasks, name).using(backend="dummy")

    return Dummied()


@pytest.fixture
def signals() -> Any:
    with SignalLog.recording() as log:
        yield log


# -- flags -----------------------------------------------------------------
def test_flags_declare_exactly_what_the_backend_honours() -> None:
    assert DummyBackend.supports_defer is True
    assert DummyBackend.supports_async_task is True
    assert DummyBackend.supports_get_result is False
    assert DummyBackend.supports_priority is True


# -- enqueue stores, never runs ------------------------------------------------
def test_enqueue_stores_a_ready_result_and_never_runs_it(
    tasks: Any, backend: DummyBackend, signals: SignalLog
) -> None:
    before = timezone.now()
    result = tasks.fail.enqueue()  # would raise if it ran
    assert result.status == Status.READY
    assert not result.is_finished
    assert before <= result.enqueued_at <= timezone.now()
    assert timezone.is_aware(result.enqueued_at)
    assert (result.started_at, result.last_attempted_at, result.finished_at) == (
        None,
        None,
        None,
    )
    assert result.errors == []
    assert result.worker_ids == []
    assert result.backend == "dummy"
    assert 0 < len(result.id) < 64
    with pytest.raises(ValueError):
        result.return_value  # noqa: B018
    assert [r.id for r in backend.results] == [result.id]
    assert [(e.signal, e.sender, e.status) for e in signals.events] == [
        ("enqueued", DummyBackend, "READY")
    ]


def test_aenqueue_stores_a_coroutine_task(
    tasks: Any, backend: DummyBackend, signals: SignalLog
) -> None:
    result = async_to_sync(tasks.async_fail.aenqueue)()
    assert result.status == Status.READY
    assert [r.id for r in backend.results] == [result.id]
    assert [(e.signal, e.sender) for e in signals.events] == [
        ("enqueued", DummyBackend)
    ]


def test_arguments_go_through_json(tasks: Any, backend: DummyBackend) -> None:
    result = tasks.echo.enqueue((1, 2), key=(3,))
    assert result.args == [[1, 2]]
    assert result.kwargs == {"key": [3]}
    assert backend.get_result(result.id).args == [[1, 2]]


@pytest.mark.parametrize("form", ["sync", "async"])
def test_unserializable_arguments_are_refused_and_not_stored(
    tasks: Any, backend: DummyBackend, signals: SignalLog, form: str
) -> None:
    enqueue = (
        tasks.echo.enqueue if form == "sync" else async_to_sync(tasks.echo.aenqueue)
    )
    with pytest.raises(TypeError):
        enqueue({1, 2})
    with pytest.raises(ValueError):
        enqueue(float("inf"))
    assert backend.results == []
    assert signals.events == []


def test_enqueue_validates_the_task_again(
    reference_tasks: Any, backend: DummyBackend
) -> None:
    tampered = dataclasses.replace(reference_tasks.add)
    object.__setattr__(tampered, "priority", 1000)
    with pytest.raises(compat.InvalidTask):
        backend.enqueue(tampered, [1, 2], {})
    assert backend.results == []


def test_run_after_and_priority_are_kept(tasks: Any, backend: DummyBackend) -> None:
    result = tasks.add.using(run_after=LATER, priority=7, queue_name="other").enqueue(
        1, 2
    )
    stored = backend.get_result(result.id)
    assert stored.task.run_after == LATER
    assert stored.task.priority == 7
    assert stored.task.queue_name == "other"
    assert stored.status == Status.READY


# -- get_result returns copies -----------------------------------------------------
@pytest.mark.parametrize("form", ["sync", "async"])
def test_get_result_returns_an_equal_copy(
    tasks: Any, backend: DummyBackend, form: str
) -> None:
    get = backend.get_result if form == "sync" else async_to_sync(backend.aget_result)
    tasks.add.enqueue(1, 2)  # stored first: the lookup must pass over it
    result = tasks.echo.enqueue([1], key={"a": 1})
    fetched = get(result.id)
    assert fetched is not result
    assert fetched == result
    assert get(result.id) is not fetched


def test_changing_a_returned_result_does_not_change_the_store(
    tasks: Any, backend: DummyBackend
) -> None:
    returned = tasks.echo.enqueue([1], key={"a": 1})
    for result in (returned, backend.get_result(returned.id), backend.results[0]):
        result.args[0].append("changed")
        result.kwargs["key"]["b"] = 2
        result.errors.append("not an error")
        result.worker_ids.append("not a worker")
        object.__setattr__(result, "status", Status.SUCCESSFUL)
        object.__setattr__(result, "_return_value", {"changed": True})
    stored = backend.get_result(returned.id)
    assert stored.args == [[1]]
    assert stored.kwargs == {"key": {"a": 1}}
    assert stored.errors == []
    assert stored.worker_ids == []
    assert stored.status == Status.READY


def test_refresh_reads_the_store(tasks: Any, backend: DummyBackend) -> None:
    result = tasks.add.enqueue(1, 2)
    object.__setattr__(result, "status", Status.SUCCESSFUL)
    result.refresh()
    assert result.status == Status.READY
    object.__setattr__(result, "status", Status.SUCCESSFUL)
    async_to_sync(result.arefresh)()
    assert result.status == Status.READY


@pytest.mark.parametrize("form", ["sync", "async"])
def test_unknown_id_does_not_exist(backend: DummyBackend, form: str) -> None:
    get = backend.get_result if form == "sync" else async_to_sync(backend.aget_result)
    with pytest.raises(compat.TaskResultDoesNotExist):
        get("no-such-id")


def test_task_get_result_checks_the_task(tasks: Any) -> None:
    result = tasks.add.enqueue(1, 2)
    assert tasks.add.get_result(result.id).id == result.id
    with pytest.raises(compat.TaskResultMismatch):
        tasks.echo.get_result(result.id)


# -- helpers for an application's tests ----------------------------------------------
def test_results_are_copies_in_enqueue_order(tasks: Any, backend: DummyBackend) -> None:
    ids = [tasks.add.enqueue(i, i).id for i in range(5)]
    listed = backend.results
    assert [r.id for r in listed] == ids
    listed.clear()  # a new list each time: the store is untouched
    assert [r.id for r in backend.results] == ids
    assert backend.results[0] is not backend.results[0]


def test_results_for_filters_by_task_including_variants(
    tasks: Any, backend: DummyBackend
) -> None:
    first = tasks.add.enqueue(1, 2)
    tasks.echo.enqueue("other")
    variant = tasks.add.using(priority=5).enqueue(3, 4)
    assert [r.id for r in backend.results_for(tasks.add)] == [first.id, variant.id]
    assert [r.args for r in backend.results_for(tasks.echo)] == [["other"]]
    assert backend.results_for(tasks.fail) == []


def test_clear_forgets_everything(tasks: Any, backend: DummyBackend) -> None:
    result = tasks.add.enqueue(1, 2)
    backend.clear()
    assert backend.results == []
    with pytest.raises(compat.TaskResultDoesNotExist):
        backend.get_result(result.id)
