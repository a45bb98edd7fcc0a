"""Pickling (specs/pickling.toml): Django 6.1 and later."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from conformance import tasks
from conformance.driver import Driver
from conformance.result_comparison import field_differences
from conformance.settings_file import ALIAS_SECONDARY
from conformance.support import (
    RESULT_FIELDS,
    TASK_FIELDS,
    Api,
    check_returns,
    clause,
    every_option,
    outcome_of,
    using_text,
)
from conformance.violation import attribute, check

PROTOCOLS = list(range(pickle.HIGHEST_PROTOCOL + 1))
#: Compared after a round trip: the fields, and the properties derived from them.
COMPARED = (*RESULT_FIELDS, "is_finished", "attempts")


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: attribute(obj, name) for name in names}


def _differences(expected: dict[str, Any], observed: dict[str, Any]) -> str:
    """Only the fields that differ: whole results drown the message."""
    return "; ".join(field_differences(expected, observed, sides=("was", "now")))


def _result_fields(result: Any) -> dict[str, Any]:
    """The result's fields, and its return value or what reading it raises."""
    value, error = outcome_of(lambda: result.return_value)
    shown = ("raises", type(error)) if error else ("value", value)
    return {**_fields(result, COMPARED), "return_value": shown}


def _round_trip(obj: Any, protocol: int, expression: str) -> Any:
    __tracebackhide__ = True
    return check_returns(
        lambda: pickle.loads(pickle.dumps(obj, protocol=protocol)),
        expected=f"{expression} pickles and unpickles with protocol {protocol}",
        repro=f"pickle.loads(pickle.dumps({expression}, protocol={protocol}))",
    )


def _task(name: str, backend: Any) -> tuple[Any, str]:
    if name != "derived":
        return getattr(tasks, name), f"tasks.{name}"
    changes = {**every_option(backend), "backend": ALIAS_SECONDARY}
    return tasks.echo.using(**changes), f"tasks.echo.{using_text(changes)}"


@clause("PICKLING-TASK-ROUND-TRIP")
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", ["noop", "with_context", "derived"])
def test_task_round_trip(task_backend: Any, name: str, protocol: int) -> None:
    task, expression = _task(name, task_backend)
    copy = _round_trip(task, protocol, expression)
    expected, observed = _fields(task, TASK_FIELDS), _fields(copy, TASK_FIELDS)
    check(
        type(copy) is type(task) and observed == expected and copy == task,
        expected=f"an equal {type(task).__name__}",
        observed=f"a {type(copy).__name__}; {_differences(expected, observed)}",
        repro=f"pickle.loads(pickle.dumps({expression}, protocol={protocol}))",
    )


def _check_result_round_trip(result: Any, protocol: int, expression: str) -> None:
    __tracebackhide__ = True
    copy = _round_trip(result, protocol, expression)
    expected, observed = _result_fields(result), _result_fields(copy)
    check(
        type(copy) is type(result) and observed == expected,
        expected=f"a {type(result).__name__} with equal fields",
        observed=f"a {type(copy).__name__}; {_differences(expected, observed)}",
        repro=f"pickle.loads(pickle.dumps({expression}, protocol={protocol}))",
    )


@clause("PICKLING-RESULT-ROUND-TRIP")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_enqueued_result_round_trip(api: Api, task_backend: Any, protocol: int) -> None:
    derived, expression = _task("derived", task_backend)
    call = f"{expression}.{api.name('enqueue')}(1, 'two', key=[3])"
    result = api.enqueue(derived, 1, "two", key=[3])
    _check_result_round_trip(result, protocol, call)


@clause("PICKLING-RESULT-ROUND-TRIP", requires=["executes"])
@pytest.mark.parametrize("task_name", ["echo", "fail"])
def test_finished_result_round_trip(
    api: Api, task_driver: Driver, task_name: str
) -> None:
    args = ("x",) if task_name == "echo" else ()
    result = task_driver.finished(api, getattr(tasks, task_name), *args)
    _check_result_round_trip(
        result, pickle.HIGHEST_PROTOCOL, f"<finished result of tasks.{task_name}>"
    )
