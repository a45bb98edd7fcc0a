"""Queue names (specs/queues.toml)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from hypothesis import given

from conformance import compat, definition_targets, tasks
from conformance.settings_file import ALIAS_OPEN_QUEUES, QUEUES
from conformance.strategies import any_queue_names, unknown_queue_names
from conformance.support import (
    Api,
    check_raises,
    check_returns,
    check_using_refused,
    clause,
    open_queue_task,
)
from conformance.violation import check

#: Names stored by enqueue on the open alias: odd, but short enough for any
#: queue column (django-tasks-db allows 32 characters).
ODD_QUEUE_NAMES = ["conformance-open", "Q with spaces", "ünïcødé-队列", "x" * 32]


def _check_accepted(action: Any, what: str, queue_name: str, repro: str) -> Any:
    __tracebackhide__ = True
    task = check_returns(action, expected=f"{what} returns a Task", repro=repro)
    check(
        task.queue_name == queue_name,
        expected=f"queue_name {queue_name!r}",
        observed=f"queue_name {task.queue_name!r}",
        repro=repro,
    )
    return task


def _check_enqueued(api: Api, task: Any, queue_name: str, repro: str) -> None:
    __tracebackhide__ = True
    result = check_returns(
        lambda: api.enqueue(task),
        expected=f"{api.name('enqueue')}() accepts queue {queue_name!r}",
        repro=repro,
    )
    check(
        result.task.queue_name == queue_name,
        expected=f"the result's task keeps queue_name {queue_name!r}",
        observed=f"result.task.queue_name == {result.task.queue_name!r}",
        repro=repro,
    )


@clause("QUEUES-CONFIGURED-ACCEPTED")
@pytest.mark.parametrize("queue_name", QUEUES)
def test_configured_queue_accepted_by_decorator(queue_name: str) -> None:
    _check_accepted(
        lambda: compat.task(queue_name=queue_name)(definition_targets.plain),
        f"@task(queue_name={queue_name!r})",
        queue_name,
        f"@task(queue_name={queue_name!r})\ndef plain(): ...",
    )


@clause("QUEUES-CONFIGURED-ACCEPTED")
@pytest.mark.parametrize("queue_name", QUEUES)
def test_configured_queue_accepted_by_using_and_enqueue(
    api: Api, queue_name: str
) -> None:
    repro = f"tasks.echo.using(queue_name={queue_name!r})"
    derived = _check_accepted(
        lambda: tasks.echo.using(queue_name=queue_name),
        f"using(queue_name={queue_name!r})",
        queue_name,
        repro,
    )
    _check_enqueued(api, derived, queue_name, f"{repro}.{api.name('enqueue')}()")


@clause("QUEUES-UNKNOWN-REJECTED")
@given(queue_name=unknown_queue_names(QUEUES))
def test_unknown_queue_rejected_by_using(queue_name: str) -> None:
    check_using_refused(
        tasks.noop, "tasks.noop", why=f" (QUEUES={QUEUES})", queue_name=queue_name
    )


@clause("QUEUES-UNKNOWN-REJECTED")
@given(queue_name=unknown_queue_names(QUEUES))
def test_unknown_queue_rejected_by_decorator(queue_name: str) -> None:
    check_raises(
        lambda: compat.task(queue_name=queue_name)(definition_targets.plain),
        compat.InvalidTask,
        expected=f"@task(queue_name={queue_name!r}) raises InvalidTask (QUEUES={QUEUES})",
        repro=f"@task(queue_name={queue_name!r})\ndef plain(): ...",
    )


@clause("QUEUES-EMPTY-ACCEPTS-ANY")
@given(queue_name=any_queue_names())
def test_any_queue_accepted_where_queues_empty(queue_name: str) -> None:
    _check_accepted(
        lambda: compat.task(backend=ALIAS_OPEN_QUEUES, queue_name=queue_name)(
            definition_targets.plain
        ),
        f"@task(backend=ALIAS_OPEN_QUEUES, queue_name={queue_name!r})",
        queue_name,
        f"# TASKS[{ALIAS_OPEN_QUEUES!r}]['QUEUES'] == []\n"
        f"@task(backend={ALIAS_OPEN_QUEUES!r}, queue_name={queue_name!r})\n"
        "def plain(): ...",
    )
    _check_accepted(
        lambda: tasks.noop.using(backend=ALIAS_OPEN_QUEUES, queue_name=queue_name),
        f"using(backend=ALIAS_OPEN_QUEUES, queue_name={queue_name!r})",
        queue_name,
        f"tasks.noop.using(backend={ALIAS_OPEN_QUEUES!r}, queue_name={queue_name!r})",
    )


@clause("QUEUES-EMPTY-ACCEPTS-ANY")
@pytest.mark.parametrize("queue_name", ODD_QUEUE_NAMES)
def test_any_queue_enqueued_where_queues_empty(api: Api, queue_name: str) -> None:
    repro = (
        f"tasks.echo.using(backend={ALIAS_OPEN_QUEUES!r}, queue_name={queue_name!r})"
    )
    derived = _check_accepted(
        lambda: tasks.echo.using(backend=ALIAS_OPEN_QUEUES, queue_name=queue_name),
        f"using(backend=ALIAS_OPEN_QUEUES, queue_name={queue_name!r})",
        queue_name,
        repro,
    )
    _check_enqueued(api, derived, queue_name, f"{repro}.{api.name('enqueue')}()")


@clause("QUEUES-ENQUEUE-REVALIDATES")
def test_backend_enqueue_rejects_foreign_queue(api: Api) -> None:
    # Valid where QUEUES is [], so it exists; not valid for "default".
    foreign = open_queue_task("conformance-foreign")
    backend = compat.task_backends[compat.DEFAULT_TASK_BACKEND_ALIAS]
    method = api.name("enqueue")

    def enqueue() -> Any:
        if api.is_async:
            return async_to_sync(backend.aenqueue)(foreign, (), {})
        return backend.enqueue(foreign, (), {})

    check_raises(
        enqueue,
        compat.InvalidTask,
        expected=f"backend.{method}() of a Task on queue 'conformance-foreign' "
        f"raises InvalidTask (QUEUES={QUEUES})",
        repro=(
            f"task = tasks.noop.using(backend={ALIAS_OPEN_QUEUES!r}, "
            "queue_name='conformance-foreign')\n"
            f"task_backends['default'].{method}(task, (), {{}})"
        ),
    )
