"""Immutable objects (specs/immutability.toml)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conformance import compat, tasks
from conformance.driver import Driver
from conformance.statuses import SUCCESSFUL
from conformance.support import (
    RESULT_FIELDS,
    TASK_FIELDS,
    Api,
    answer_or_not_applicable,
    clause,
    not_applicable,
    outcome_of,
)
from conformance.violation import check, describe_exception

# Fields must refuse with AttributeError (FrozenInstanceError is one). Read-only
# properties must refuse too, but CPython's frozen slots dataclasses raise
# TypeError for them (Django's own classes do), so any exception will do there.
TASK_PROPERTIES = ("name",)
RESULT_PROPERTIES = ("return_value", "is_finished", "attempts")
ERROR_FIELDS = ("exception_class_path", "traceback")


class _Sentinel:
    def __repr__(self) -> str:
        return "<conformance sentinel>"


def _read(obj: Any, name: str) -> Any:
    """The attribute's value, or what reading it raised (return_value may raise)."""
    value, error = outcome_of(lambda: getattr(obj, name))
    return ("raises", type(error)) if error is not None else ("value", value)


def _assign(obj: Any, name: str) -> None:
    setattr(obj, name, _Sentinel())


def _delete(obj: Any, name: str) -> None:
    delattr(obj, name)


def check_frozen(
    obj: Any, fields: tuple[str, ...], properties: tuple[str, ...], expression: str
) -> None:
    """Assigning to and deleting each attribute raises; nothing changes.

    Fields must raise AttributeError, read-only properties any exception.
    """
    __tracebackhide__ = True
    kind = type(obj).__name__
    for name in (*fields, *properties):
        refusal = AttributeError if name in fields else Exception
        for action, verb, statement in (
            (_assign, "assignment", f"{expression}.{name} = object()"),
            (_delete, "deletion", f"del {expression}.{name}"),
        ):
            before = _read(obj, name)
            _, error = outcome_of(lambda: action(obj, name))  # noqa: B023 - called at once
            check(
                isinstance(error, refusal),
                expected=f"{verb} of {kind}.{name} raises {refusal.__name__}",
                observed=describe_exception(error),
                repro=statement,
            )
            after = _read(obj, name)
            check(
                after == before,
                expected=f"{kind}.{name} unchanged after the refused {verb}",
                observed=f"{before[1]!r} became {after[1]!r}",
                repro=statement,
            )


@clause("IMMUTABILITY-TASK")
@pytest.mark.parametrize("name", ["noop", "with_context", "derived"])
def test_task_is_frozen(name: str) -> None:
    if name == "derived":
        task, expression = (
            tasks.echo.using(queue_name="queue-a"),
            "tasks.echo.using(queue_name='queue-a')",
        )
    else:
        task, expression = getattr(tasks, name), f"tasks.{name}"
    check_frozen(task, TASK_FIELDS, TASK_PROPERTIES, expression)


@clause("IMMUTABILITY-TASK")
def test_result_task_is_frozen(api: Api) -> None:
    # The Task a backend puts in a result (maybe rebuilt from storage) too.
    derived = tasks.echo.using(queue_name="queue-a")
    call = f"tasks.echo.using(queue_name='queue-a').{api.name('enqueue')}(1)"
    result = api.enqueue(derived, 1)
    check_frozen(result.task, TASK_FIELDS, TASK_PROPERTIES, f"({call}).task")
    fetched, error = outcome_of(lambda: api.get_result(tasks.echo, result.id))
    if error is None:  # where get_result works at all
        expression = f"tasks.echo.{api.name('get_result')}(result.id).task"
        check_frozen(fetched.task, TASK_FIELDS, TASK_PROPERTIES, expression)


@clause("IMMUTABILITY-RESULT")
def test_enqueued_result_is_frozen(api: Api) -> None:
    result = api.enqueue(tasks.echo, 1, "two", key=[3])
    check_frozen(
        result,
        RESULT_FIELDS,
        RESULT_PROPERTIES,
        f"tasks.echo.{api.name('enqueue')}(1, 'two', key=[3])",
    )


def _fetch(api: Api, task_backend: Any, result_id: str) -> Any:
    __tracebackhide__ = True
    return answer_or_not_applicable(
        lambda: api.get_result(tasks.echo, result_id),
        task_backend,
        what=api.name("get_result"),
        expected=f"{api.name('get_result')}(id) returns the TaskResult",
        repro=f"tasks.echo.{api.name('get_result')}(result.id)",
    )


@clause("IMMUTABILITY-RESULT")
def test_fetched_result_is_frozen(api: Api, task_backend: Any) -> None:
    result = api.enqueue(tasks.echo, 1, "two", key=[3])
    fetched = _fetch(api, task_backend, result.id)
    check_frozen(
        fetched,
        RESULT_FIELDS,
        RESULT_PROPERTIES,
        f"tasks.echo.{api.name('get_result')}(result.id)",
    )


@clause("IMMUTABILITY-RESULT", requires=["executes"])
def test_finished_result_is_frozen(api: Api, task_driver: Driver) -> None:
    result = task_driver.finished(api, tasks.echo, 1)
    check_frozen(result, RESULT_FIELDS, RESULT_PROPERTIES, "result  # finished")


@clause("IMMUTABILITY-ERROR")
def test_task_error_is_frozen(api: Api, task_driver: Driver) -> None:
    result = task_driver.finished(api, tasks.fail)
    if not result.errors:
        not_applicable(f"the failed result holds no TaskError (status {result.status})")
    for error in result.errors:
        check_frozen(error, ERROR_FIELDS, (), "result.errors[0]")


@clause("IMMUTABILITY-CONTEXT")
def test_context_is_frozen(api: Api, task_driver: Driver) -> None:
    result = task_driver.finished(api, tasks.try_mutating_context)
    if result.status != compat.TaskResultStatus.SUCCESSFUL:
        errors = [e.exception_class_path for e in result.errors]
        not_applicable(f"try_mutating_context ended {result.status} {errors}")
    fields = [f"context.task_result.{n}" for n in tasks.CONTEXT_RESULT_ATTRIBUTES]
    fields.append("context.task_result")
    observed = result.return_value
    # context.attempt is a property: any exception refuses it (see TASK_PROPERTIES).
    refused = isinstance(observed, dict) and observed.get("context.attempt") not in (
        None,
        "assigned",
    )
    check(
        refused
        and {label: observed.get(label) for label in fields}
        == dict.fromkeys(fields, "AttributeError"),
        expected="every field assignment inside the task raises AttributeError, "
        "and assigning context.attempt raises",
        observed=f"{observed}",
        repro=(
            "@task(takes_context=True)\ndef t(context):\n"
            "    context.task_result.status = context.task_result.status  # must raise\n"
            "(see conformance.tasks.try_mutating_context)"
        ),
    )


@clause("IMMUTABILITY-RESULT-ARGS-ISOLATED")
def test_mutating_enqueued_args_does_not_reach_store(
    api: Api, task_backend: Any
) -> None:
    result = api.enqueue(tasks.echo, [1, 2], key={"a": [3]})
    args, kwargs = copy.deepcopy(result.args), copy.deepcopy(result.kwargs)
    result.args[0].append(99)
    result.args.append("extra")
    result.kwargs["key"]["a"].append(4)
    result.kwargs["extra"] = True
    fetched = _fetch(api, task_backend, result.id)
    observed = {"args": fetched.args, "kwargs": fetched.kwargs}
    check(
        observed == {"args": args, "kwargs": kwargs},
        expected=f"get_result() still gives args={args!r}, kwargs={kwargs!r}",
        observed=f"{observed}",
        repro=(
            f"result = tasks.echo.{api.name('enqueue')}([1, 2], key={{'a': [3]}})\n"
            "result.args.append('extra')\n"
            f"tasks.echo.{api.name('get_result')}(result.id).args"
        ),
    )


def _mutate(result: Any) -> None:
    """Change what ``result`` holds in place: its lists, dicts and return value."""
    result.args.append("extra")
    result.kwargs["extra"] = True
    result.errors.append(compat.TaskError(exception_class_path="x.Y", traceback="x"))
    result.worker_ids.append("extra-worker")
    if result.status == SUCCESSFUL and isinstance(result.return_value, dict):
        result.return_value["extra"] = True


def _held(result: Any) -> dict[str, Any]:
    """A deep copy of what :func:`_mutate` changes."""
    held = {name: getattr(result, name) for name in ("args", "kwargs", "worker_ids")}
    held["errors"] = [(e.exception_class_path, e.traceback) for e in result.errors]
    if result.status == SUCCESSFUL:
        held["return_value"] = result.return_value
    return copy.deepcopy(held)


def _check_unchanged(
    api: Api, task_backend: Any, before: dict[str, Any], handed: str, repro: str
) -> None:
    """A later get_result still holds ``before``: what was ``handed`` out was a copy."""
    __tracebackhide__ = True
    later = _held(_fetch(api, task_backend, before["id"]))
    later["id"] = before["id"]
    check(
        later == before,
        expected=f"changing what {handed} handed out changes nothing get_result() "
        f"returns later: {before!r}",
        observed=f"{later!r}",
        repro=repro,
    )


@clause("IMMUTABILITY-RESULT-ARGS-ISOLATED", requires=["supports_get_result"])
def test_mutating_fetched_result_changes_nothing(api: Api, task_backend: Any) -> None:
    result = api.enqueue(tasks.echo, [1, 2], key={"a": [3]})
    fetched = _fetch(api, task_backend, result.id)
    before = {**_held(fetched), "id": result.id}
    _mutate(fetched)
    repro = (
        f"result = tasks.echo.{api.name('get_result')}(id)\n"
        "result.args.append('extra'); result.worker_ids.append('w')\n"
        f"tasks.echo.{api.name('get_result')}(id).args"
    )
    _check_unchanged(api, task_backend, before, api.name("get_result"), repro)


@clause(
    "IMMUTABILITY-RESULT-ARGS-ISOLATED", requires=["supports_get_result", "executes"]
)
def test_mutating_refreshed_result_changes_nothing(
    api: Api, task_driver: Driver
) -> None:
    backend = task_driver.backend
    result = task_driver.finished(api, tasks.echo, [1, 2], {"a": [3]})
    answer_or_not_applicable(
        lambda: api.refresh(result), backend, what=api.name("refresh")
    )
    before = {**_held(result), "id": result.id}
    _mutate(result)
    repro = (
        f"result = tasks.echo.{api.name('enqueue')}([1, 2], {{'a': [3]}})\n"
        f"# run the worker, then: result.{api.name('refresh')}()\n"
        "result.return_value['extra'] = True; result.errors.append(...)\n"
        f"tasks.echo.{api.name('get_result')}(result.id).return_value"
    )
    _check_unchanged(api, backend, before, api.name("refresh"), repro)
