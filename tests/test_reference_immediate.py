"""Unit tests of ``reference_backends.immediate.ImmediateBackend``.

The kit checks the contract (tests/test_reference_kit.py); these tests pin
down every branch of the backend itself, in this process.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone
from hypothesis import HealthCheck, given, settings

from conformance import compat, strategies
from conformance.support import SignalLog
from reference_backends.immediate import ImmediateBackend

Status = compat.TaskResultStatus


@pytest.fixture
def backend(reference_tasks: Any) -> ImmediateBackend:
    instance = compat.task_backends["default"]
    assert type(instance) is ImmediateBackend
    return instance


@pytest.fixture
def signals() -> Any:
    with SignalLog.recording() as log:
        yield log


def _lifecycle(log: SignalLog, result_id: str) -> list[tuple[str, str]]:
    return [(e.signal, e.status) for e in log.for_result(result_id)]


FULL_LIFECYCLE_OK = [
    ("enqueued", "READY"),
    ("started", "RUNNING"),
    ("finished", "SUCCESSFUL"),
]
FULL_LIFECYCLE_FAILED = [*FULL_LIFECYCLE_OK[:2], ("finished", "FAILED")]


# -- flags -----------------------------------------------------------------
def test_flags_declare_exactly_what_the_backend_honours() -> None:
    assert ImmediateBackend.supports_defer is False
    assert ImmediateBackend.supports_async_task is True
    assert ImmediateBackend.supports_get_result is False
    assert ImmediateBackend.supports_priority is True


def test_each_instance_has_its_own_worker_id(backend: ImmediateBackend) -> None:
    other = ImmediateBackend("other", {})
    assert isinstance(backend.worker_id, str)
    assert backend.worker_id
    assert len(backend.worker_id) < 64
    assert other.worker_id != backend.worker_id


# -- the successful lifecycle ------------------------------------------------
def test_enqueue_runs_the_task_to_success(
    reference_tasks: Any, backend: ImmediateBackend, signals: SignalLog
) -> None:
    before = timezone.now()
    result = reference_tasks.add.enqueue(2, 3)
    after = timezone.now()

    assert result.status == Status.SUCCESSFUL
    assert result.is_finished
    assert result.return_value == 5
    assert result.errors == []
    assert result.worker_ids == [backend.worker_id]
    assert result.attempts == 1
    assert result.backend == "default"
    assert result.args == [2, 3]
    assert result.kwargs == {}
    assert 0 < len(result.id) < 64
    assert timezone.is_aware(result.enqueued_at)
    assert (
        before
        <= result.enqueued_at
        <= result.started_at
        <= result.last_attempted_at
        <= result.finished_at
        <= after
    )
    assert _lifecycle(signals, result.id) == FULL_LIFECYCLE_OK
    assert {e.sender for e in signals.events} == {ImmediateBackend}


def test_result_ids_are_unique(reference_tasks: Any, backend: ImmediateBackend) -> None:
    ids = {reference_tasks.add.enqueue(1, 1).id for _ in range(200)}
    assert len(ids) == 200


def test_arguments_and_return_value_go_through_json(reference_tasks: Any) -> None:
    result = reference_tasks.echo.enqueue((1, 2), key=(3, {"nested": (4,)}))
    assert result.args == [[1, 2]]
    assert result.kwargs == {"key": [3, {"nested": [4]}]}
    assert result.return_value == {
        "args": [[1, 2]],
        "kwargs": {"key": [3, {"nested": [4]}]},
    }
    assert reference_tasks.return_tuple.enqueue().return_value == [1, 2]


def _as_stored(value: Any) -> Any:
    """``value`` with every tuple turned into a list, as JSON does."""
    if isinstance(value, list | tuple):
        return [_as_stored(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_stored(item) for key, item in value.items()}
    return value


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    args=strategies.json_values(tuples=True),
    kwargs=strategies.json_kwargs(tuples=True),
)
def test_any_json_value_reaches_the_task_and_comes_back(
    reference_tasks: Any, args: Any, kwargs: dict[str, Any]
) -> None:
    result = reference_tasks.echo.enqueue(args, **kwargs)
    expected = {"args": [_as_stored(args)], "kwargs": _as_stored(kwargs)}
    assert result.status == Status.SUCCESSFUL
    assert result.args == expected["args"]
    assert result.kwargs == expected["kwargs"]
    assert result.return_value == expected


def test_task_mutating_its_arguments_does_not_change_the_result(
    reference_tasks: Any,
) -> None:
    items: list[Any] = ["a"]
    mapping: dict[str, Any] = {"b": 1}
    result = reference_tasks.mutate_arguments.enqueue(items, mapping)
    assert result.status == Status.SUCCESSFUL
    assert result.args == [["a"], {"b": 1}]
    assert items == ["a"]
    assert mapping == {"b": 1}


def test_context_holds_the_live_running_result(
    reference_tasks: Any, backend: ImmediateBackend
) -> None:
    result = reference_tasks.context_view.enqueue("x")
    assert result.status == Status.SUCCESSFUL
    assert result.return_value == {
        "label": "x",
        "id": result.id,
        "attempt": 1,
        "status": "RUNNING",
        "worker_ids": [backend.worker_id],
    }
    # The context is not an argument: it is not stored.
    assert result.args == ["x"]


# -- failures ------------------------------------------------------------------
def test_exception_fails_the_task_with_its_class_path_and_traceback(
    reference_tasks: Any, signals: SignalLog
) -> None:
    result = reference_tasks.fail.enqueue()
    assert result.status == Status.FAILED
    assert result.is_finished
    assert result.finished_at >= result.started_at
    [error] = result.errors
    assert error.exception_class_path == "tests.reference_tasks.Boom"
    assert error.exception_class is reference_tasks.Boom
    assert "Traceback" in error.traceback
    assert "boom" in error.traceback
    with pytest.raises(ValueError):
        result.return_value  # noqa: B018
    assert _lifecycle(signals, result.id) == FULL_LIFECYCLE_FAILED


def test_base_exception_fails_the_task(reference_tasks: Any) -> None:
    result = reference_tasks.exit_process.enqueue()
    assert result.status == Status.FAILED
    assert result.errors[0].exception_class_path == "builtins.SystemExit"


def test_failed_signal_is_sent_while_the_exception_is_being_handled(
    reference_tasks: Any,
) -> None:
    seen: list[Any] = []

    def receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        import sys

        seen.append(sys.exc_info()[0])

    compat.task_finished.connect(receiver, dispatch_uid="exc-info-test")
    try:
        reference_tasks.fail.enqueue()
        reference_tasks.add.enqueue(1, 2)
    finally:
        compat.task_finished.disconnect(dispatch_uid="exc-info-test")
    assert seen == [reference_tasks.Boom, None]


def test_keyboard_interrupt_propagates_and_does_not_finish(
    reference_tasks: Any, signals: SignalLog
) -> None:
    with pytest.raises(KeyboardInterrupt):
        reference_tasks.interrupt.enqueue()
    assert [e.signal for e in signals.events] == ["enqueued", "started"]


def test_unserializable_return_value_fails_the_task(reference_tasks: Any) -> None:
    result = reference_tasks.return_set.enqueue()
    assert result.status == Status.FAILED
    assert result.errors[0].exception_class_path == "builtins.TypeError"
    with pytest.raises(ValueError):
        result.return_value  # noqa: B018


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (({1, 2},), {}),
        ((), {"when": datetime(2030, 1, 1, tzinfo=UTC)}),
        ((float("nan"),), {}),
        ((), {"key": {(1, 2): "tuple key"}}),
        ((b"bytes",), {}),
    ],
    ids=["set", "datetime", "nan", "tuple-key", "bytes"],
)
def test_unserializable_arguments_are_refused_before_anything_happens(
    reference_tasks: Any,
    signals: SignalLog,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    with pytest.raises((TypeError, ValueError)):
        reference_tasks.echo.enqueue(*args, **kwargs)
    assert signals.events == []


def test_enqueue_validates_the_task_again(
    reference_tasks: Any, backend: ImmediateBackend, signals: SignalLog
) -> None:
    # A Task is frozen and validated when built; tamper with one to check
    # that enqueue does not trust that.
    tampered = dataclasses.replace(reference_tasks.add)
    object.__setattr__(tampered, "queue_name", "no-such-queue")
    with pytest.raises(compat.InvalidTask):
        backend.enqueue(tampered, [1, 2], {})
    with pytest.raises(compat.InvalidTask):
        async_to_sync(backend.aenqueue)(tampered, [1, 2], {})
    assert signals.events == []


# -- the async path ------------------------------------------------------------
def test_aenqueue_awaits_a_coroutine_task(
    reference_tasks: Any, backend: ImmediateBackend, signals: SignalLog
) -> None:
    result = async_to_sync(reference_tasks.async_add.aenqueue)(4, 5)
    assert result.status == Status.SUCCESSFUL
    assert result.return_value == 9
    assert result.worker_ids == [backend.worker_id]
    assert _lifecycle(signals, result.id) == FULL_LIFECYCLE_OK


def test_aenqueue_runs_a_plain_function_task(reference_tasks: Any) -> None:
    result = async_to_sync(reference_tasks.add.aenqueue)(1, 2)
    assert result.return_value == 3


def test_enqueue_runs_a_coroutine_task_to_completion(reference_tasks: Any) -> None:
    assert reference_tasks.async_add.enqueue(1, 2).return_value == 3


def test_aenqueue_passes_the_context(reference_tasks: Any) -> None:
    result = async_to_sync(reference_tasks.async_context_view.aenqueue)()
    assert result.return_value == {"attempt": 1, "status": "RUNNING"}


def test_aenqueue_records_a_failure(reference_tasks: Any, signals: SignalLog) -> None:
    result = async_to_sync(reference_tasks.async_fail.aenqueue)()
    assert result.status == Status.FAILED
    assert result.errors[0].exception_class_path == "tests.reference_tasks.Boom"
    assert _lifecycle(signals, result.id) == FULL_LIFECYCLE_FAILED


def test_aenqueue_fails_on_unserializable_return_value(reference_tasks: Any) -> None:
    result = async_to_sync(reference_tasks.return_set.aenqueue)()
    assert result.status == Status.FAILED
    assert result.errors[0].exception_class_path == "builtins.TypeError"


def test_aenqueue_refuses_unserializable_arguments(
    reference_tasks: Any, signals: SignalLog
) -> None:
    with pytest.raises(TypeError):
        async_to_sync(reference_tasks.echo.aenqueue)({1})
    assert signals.events == []


def test_aenqueue_lets_keyboard_interrupt_through(
    reference_tasks: Any, signals: SignalLog
) -> None:
    with pytest.raises(KeyboardInterrupt):
        async_to_sync(reference_tasks.async_interrupt.aenqueue)()
    assert [e.signal for e in signals.events] == ["enqueued", "started"]


def test_cancellation_fails_the_task_and_reaches_the_caller(
    reference_tasks: Any, signals: SignalLog
) -> None:
    async def enqueue_then_cancel() -> None:
        pending = asyncio.ensure_future(reference_tasks.async_wait_forever.aenqueue())
        while not reference_tasks.WAITING:  # until the task itself is running
            await asyncio.sleep(0)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending

    reference_tasks.WAITING.clear()
    async_to_sync(enqueue_then_cancel)()
    [result_id] = reference_tasks.WAITING
    assert _lifecycle(signals, result_id) == FULL_LIFECYCLE_FAILED


def test_task_raising_cancelled_error_propagates_it(
    reference_tasks: Any, signals: SignalLog
) -> None:
    with pytest.raises(asyncio.CancelledError):
        async_to_sync(reference_tasks.async_cancelled.aenqueue)()
    assert [e.status for e in signals.events if e.signal == "finished"] == ["FAILED"]


# -- results cannot be fetched again ---------------------------------------------
def test_get_result_raises_not_implemented(
    reference_tasks: Any, backend: ImmediateBackend
) -> None:
    result = reference_tasks.add.enqueue(1, 2)
    with pytest.raises(NotImplementedError):
        backend.get_result(result.id)
    with pytest.raises(NotImplementedError):
        async_to_sync(backend.aget_result)(result.id)
    with pytest.raises(NotImplementedError):
        result.refresh()
    with pytest.raises(NotImplementedError):
        reference_tasks.add.get_result(result.id)
