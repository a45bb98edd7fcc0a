"""JSON arguments (specs/json.toml)."""

from __future__ import annotations

import contextlib
import functools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import evidence, tasks
from conformance.driver import Driver
from conformance.jobs import new_token
from conformance.strategies import (
    AWKWARD_TEXT,
    UNSERIALIZABLE,
    awkward_arguments,
    json_kwargs,
    json_values,
    poisoned_json,
)
from conformance.support import (
    Api,
    SignalLog,
    answer_or_none,
    answer_or_not_applicable,
    check_raises,
    clause,
    json_difference,
    json_round_trip,
    outcome_of,
    refused_not_applicable,
)
from conformance.violation import attribute, check, describe_exception


def _call(api: Api, args: Any, kwargs: Any) -> str:
    shown = ", ".join(
        [*map(repr, args), *(f"**{{{k!r}: {v!r}}}" for k, v in kwargs.items())]
    )
    return f"tasks.echo.{api.name('enqueue')}({shown})"


def _check_same_json(
    result: Any, args: Any, kwargs: Any, where: str, repro: str
) -> None:
    __tracebackhide__ = True
    for name, sent in (("args", list(args)), ("kwargs", kwargs)):
        expected = json_round_trip(sent)
        difference = json_difference(expected, attribute(result, name), name)
        check(
            difference is None,
            expected=f"{where}.{name} == json.loads(json.dumps({name})) = {expected!r}",
            observed=difference or "",
            repro=repro,
        )


@clause("JSON-VALUES-PRESERVED")
@given(args=st.lists(json_values(), max_size=4), kwargs=json_kwargs())
def test_json_values_preserved(
    api: Api, args: list[Any], kwargs: dict[str, Any]
) -> None:
    result = api.enqueue(tasks.echo, *args, **kwargs)
    _check_same_json(result, args, kwargs, "result", _call(api, args, kwargs))


def _enqueue_awkward(api: Api, name: str) -> tuple[Any, Any, Any]:
    """``echo`` enqueued with :data:`~conformance.strategies.AWKWARD_TEXT`
    ``name``: ``(result, args, kwargs)``; "n/a" where enqueue refuses it."""
    args, kwargs = awkward_arguments(name)
    result, error = outcome_of(lambda: api.enqueue(tasks.echo, *args, **kwargs))
    refused_not_applicable(error, f"{name} text in the arguments")
    return result, args, kwargs


@clause("JSON-VALUES-PRESERVED")
@pytest.mark.parametrize("name", sorted(AWKWARD_TEXT))
def test_awkward_text_preserved(api: Api, name: str) -> None:
    result, args, kwargs = _enqueue_awkward(api, name)
    _check_same_json(result, args, kwargs, "result", _call(api, args, kwargs))


@clause("JSON-GET-RESULT-PRESERVES")
@pytest.mark.parametrize("name", sorted(AWKWARD_TEXT))
def test_get_result_preserves_awkward_text(
    api: Api, task_backend: Any, name: str
) -> None:
    result, args, kwargs = _enqueue_awkward(api, name)
    _check_fetched_same_json(api, task_backend, result, args, kwargs)


@clause("JSON-TUPLES-BECOME-LISTS")
@given(
    args=st.lists(json_values(tuples=True), max_size=3).map(tuple),
    kwargs=json_kwargs(tuples=True),
)
def test_tuples_become_lists(
    api: Api, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    result = api.enqueue(tasks.echo, *args, **kwargs)
    _check_same_json(result, args, kwargs, "result", _call(api, args, kwargs))


@clause("JSON-TUPLES-BECOME-LISTS")
def test_nested_tuple_becomes_list(api: Api) -> None:
    # Always at least one tuple, whatever hypothesis draws above.
    args, kwargs = ((1, (2, 3)), {"t": 4}), {"k": ((5,), [6, (7,)])}
    result = api.enqueue(tasks.echo, *args, **kwargs)
    _check_same_json(result, args, kwargs, "result", _call(api, args, kwargs))


@clause("JSON-GET-RESULT-PRESERVES")
@given(
    args=st.lists(json_values(tuples=True), max_size=4), kwargs=json_kwargs(tuples=True)
)
def test_get_result_preserves_json(
    api: Api, task_backend: Any, args: list[Any], kwargs: dict[str, Any]
) -> None:
    result = api.enqueue(tasks.echo, *args, **kwargs)
    _check_fetched_same_json(api, task_backend, result, args, kwargs)


def _check_fetched_same_json(
    api: Api, task_backend: Any, result: Any, args: Any, kwargs: Any
) -> None:
    """``get_result`` of ``result`` holds the JSON round-trip of the arguments."""
    __tracebackhide__ = True
    repro = f"result = {_call(api, args, kwargs)}\ntasks.echo.{api.name('get_result')}(result.id)"
    fetched = answer_or_not_applicable(
        lambda: api.get_result(tasks.echo, result.id),
        task_backend,
        what="get_result",
        repro=repro,
    )
    _check_same_json(fetched, args, kwargs, "get_result(id)", repro)


def _placements(value: Any) -> dict[str, tuple[tuple[Any, ...], dict[str, Any]]]:
    """Where to put ``value``: as an argument, a keyword, deep inside either."""
    return {
        "arg": ((1, value), {}),
        "kwarg": ((), {"value": value}),
        "nested": (([{"a": [0, {"b": value}]}],), {}),
    }


def _check_refused(api: Api, args: Any, kwargs: Any, what: str = "") -> None:
    __tracebackhide__ = True
    check_raises(
        lambda: api.enqueue(tasks.echo, *args, **kwargs),
        (TypeError, ValueError),
        expected=f"{api.name('enqueue')} raises TypeError or ValueError{what}",
        repro=_call(api, args, kwargs),
    )


@clause("JSON-UNSERIALIZABLE-REJECTED")
@pytest.mark.parametrize("placement", ["arg", "kwarg", "nested"])
@pytest.mark.parametrize("kind", sorted(UNSERIALIZABLE))
def test_unserializable_rejected(api: Api, kind: str, placement: str) -> None:
    args, kwargs = _placements(UNSERIALIZABLE[kind]())[placement]
    _check_refused(api, args, kwargs, f" for a {kind}")


@clause("JSON-UNSERIALIZABLE-REJECTED")
@given(value=poisoned_json(), as_keyword=st.booleans())
def test_deeply_unserializable_rejected(api: Api, value: Any, as_keyword: bool) -> None:
    args, kwargs = ((), {"value": value}) if as_keyword else ((value,), {})
    _check_refused(api, args, kwargs)


def _stored_count(backend: Any) -> int | None:
    """How many results a dummy-style backend holds (``results``); None if unknown."""
    try:
        return len(backend.results)
    except Exception:  # no such attribute, or not a sized collection
        return None


def _unserializable_in(value: Any) -> str | None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        return describe_exception(exc)
    return None


@clause("JSON-UNSERIALIZABLE-NOT-STORED")
def test_unserializable_not_stored(api: Api, task_backend: Any) -> None:
    # One test over every value and placement: counting a dummy-style store
    # can cost a copy of every result, so it is counted once, around them all.
    stored_before = _stored_count(task_backend)
    accepted = 0
    for kind in sorted(UNSERIALIZABLE):
        for args, kwargs in _placements(UNSERIALIZABLE[kind]()).values():
            accepted += _check_not_stored(api, kind, args, kwargs)
    stored_after = _stored_count(task_backend)
    check(
        stored_after == (None if stored_before is None else stored_before + accepted),
        expected=f"refused enqueues add nothing to backend.results ({accepted} accepted)",
        observed=f"len(backend.results) went from {stored_before} to {stored_after}",
        repro=f"n = len(backend.results)\n{api.name('enqueue')} of each unserializable "
        "value (set, datetime, ...), each raising\nlen(backend.results) == n",
    )


@clause("JSON-UNSERIALIZABLE-NOT-STORED", requires=["worker_driven"])
def test_refused_enqueue_never_runs(api: Api, task_driver: Driver) -> None:
    """A refused enqueue leaves nothing a worker runs later (a message queued
    before the arguments were checked leaves no result to fetch, and runs)."""
    refused: dict[str, str] = {}
    for kind in sorted(UNSERIALIZABLE):
        token = new_token()
        _, error = outcome_of(
            functools.partial(api.enqueue, tasks.capture, token, UNSERIALIZABLE[kind]())
        )
        if error is not None:
            refused[kind] = token
    repro = (
        f"tasks.capture.{api.name('enqueue')}(token, {{1, 2}})  # raises\n"
        "worker(backend, None)  # then: did capture run?"
    )
    adapter, backend = task_driver.adapter, task_driver.backend
    strays = adapter.unannounced_ids(backend)
    task_driver.run_checked(repro=repro)
    ran = sorted(kind for kind, token in refused.items() if evidence.runs(token))
    check(
        not ran,
        expected="no task whose enqueue raised runs when the worker runs",
        observed=f"the worker ran the refused enqueues of: {', '.join(ran)}",
        repro=repro,
    )
    # Sent, then refused: the worker may fail to run it, and store that.
    taken = sorted(adapter.unannounced_ids(backend) - strays)
    check(
        not taken,
        expected="no message of a refused enqueue reaches the worker",
        observed=f"the worker took {len(taken)} task(s) that no enqueue returned: "
        + ", ".join(_stored_as(backend, rid) for rid in taken[:3]),
        repro=repro,
    )


def _stored_as(backend: Any, result_id: str) -> str:
    """``result_id`` and what the backend stored for it, if anything."""
    try:
        return f"{result_id} (stored {backend.get_result(result_id).status})"
    except Exception:
        return f"{result_id} (no stored result)"


def _check_not_stored(api: Api, kind: str, args: Any, kwargs: Any) -> int:
    """Check one enqueue of an unserializable value; 1 if it was accepted."""
    __tracebackhide__ = True
    repro = _call(api, args, kwargs)
    with SignalLog.recording() as log:
        result, error = outcome_of(lambda: api.enqueue(tasks.echo, *args, **kwargs))
    if error is not None:
        check(
            not log.events,
            expected=f"a refused enqueue ({describe_exception(error)}) sends no signal",
            observed=", ".join(
                f"task_{e.signal} for {e.result_id!r}" for e in log.events
            ),
            repro=repro,
        )
        return 0
    _check_only_json(result, "result", kind, repro)
    fetched = answer_or_none(
        lambda: api.get_result(tasks.echo, result.id),
        tasks.echo.get_backend(),
        what=api.name("get_result"),
        repro=repro,
    )
    if fetched is None:
        return 1
    repro += f"\ntasks.echo.{api.name('get_result')}(result.id)"
    _check_only_json(fetched, "get_result(id)", kind, repro)
    return 1


def _check_only_json(source: Any, where: str, kind: str, repro: str) -> None:
    """``source``'s args and kwargs hold only JSON, where the ``kind`` got in."""
    __tracebackhide__ = True
    for name in ("args", "kwargs"):
        value = getattr(source, name)
        problem = _unserializable_in(value)
        check(
            problem is None,
            expected=f"the {kind} is refused, or {where}.{name} holds only JSON",
            observed=f"{where}.{name} = {value!r}: {problem}",
            repro=repro,
        )


@clause("JSON-ARGS-SNAPSHOT")
def test_arguments_captured_at_enqueue(api: Api) -> None:
    inner = [1, {"deep": "original"}]
    positional = {"items": inner}
    result = api.enqueue(tasks.echo, positional, keyword=inner)
    expected_args = [{"items": [1, {"deep": "original"}]}]
    expected_kwargs = {"keyword": [1, {"deep": "original"}]}
    # Change everything the caller still holds.
    inner.append("appended")
    inner[1]["deep"] = "changed"  # type: ignore[index]
    positional["added"] = True  # type: ignore[assignment]
    repro = (
        "inner = [1, {'deep': 'original'}]; positional = {'items': inner}\n"
        f"result = tasks.echo.{api.name('enqueue')}(positional, keyword=inner)\n"
        "inner.append('appended'); inner[1]['deep'] = 'changed'; positional['added'] = True\n"
        "result.args, result.kwargs"
    )
    sources = [("result", result)]
    with contextlib.suppress(NotImplementedError):
        sources.append(("get_result(id)", api.get_result(tasks.echo, result.id)))
    for where, source in sources:
        for name, expected in (("args", expected_args), ("kwargs", expected_kwargs)):
            difference = json_difference(
                expected, getattr(source, name), f"{where}.{name}"
            )
            check(
                difference is None,
                expected=f"{where}.{name} is what was passed at enqueue: {expected!r}",
                observed=difference or "",
                repro=repro,
            )
