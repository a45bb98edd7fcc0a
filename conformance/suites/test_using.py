"""Task.using() (specs/using.toml)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import compat, tasks
from conformance.settings_file import ALIAS_OPEN_QUEUES, ALIAS_SECONDARY, QUEUES
from conformance.strategies import aware_datetimes, unknown_queue_names
from conformance.support import (
    Api,
    check_raises,
    check_returns,
    check_using_refused,
    clause,
    every_option,
    open_queue_task,
    using_text,
)
from conformance.violation import attribute, check

#: What using() may change, and what it must carry over.
CHANGEABLE = ("priority", "queue_name", "run_after", "backend")
SNAPSHOT = ("func", "name", "module_path", "takes_context", *CHANGEABLE)


def snapshot(task: Any) -> dict[str, Any]:
    """Every attribute using() touches or must keep, by name."""
    return {name: attribute(task, name) for name in SNAPSHOT}


def full_changes(backend: Any) -> dict[str, Any]:
    """A value for every attribute the backend lets using() set (none is a default)."""
    return {**every_option(backend), "backend": ALIAS_SECONDARY}


def changes_strategy(backend: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Any valid combination of using() keywords for ``backend`` (keys omitted, never None)."""
    values: dict[str, st.SearchStrategy[Any]] = {
        "queue_name": st.sampled_from(QUEUES),
        "backend": st.sampled_from(
            [compat.DEFAULT_TASK_BACKEND_ALIAS, ALIAS_SECONDARY]
        ),
        "priority": (
            st.integers(compat.TASK_MIN_PRIORITY, compat.TASK_MAX_PRIORITY)
            if backend.supports_priority
            else st.just(compat.DEFAULT_TASK_PRIORITY)
        ),
    }
    if backend.supports_defer:
        values["run_after"] = aware_datetimes()
    return st.fixed_dictionaries({}, optional=values)


#: Tasks to derive from: defaults, a context task, and one far from defaults.
BASES = ["noop", "with_context", "derived"]


def base_task(name: str, backend: Any) -> tuple[Any, str]:
    """The Task named ``name`` and the expression that builds it."""
    if name == "derived":
        changes = full_changes(backend)
        return tasks.echo.using(**changes), f"tasks.echo.{using_text(changes)}"
    return getattr(tasks, name), f"tasks.{name}"


def _drawn(
    backend: Any, base: str, data: st.DataObject
) -> tuple[Any, str, dict[str, Any]]:
    """The Task named ``base``, its expression, and using() keywords drawn for it."""
    original, expression = base_task(base, backend)
    return original, expression, data.draw(changes_strategy(backend), label="changes")


def _derive(original: Any, changes: dict[str, Any], expression: str) -> Any:
    __tracebackhide__ = True
    return check_returns(
        lambda: original.using(**changes),
        expected=f"{expression}.{using_text(changes)} returns a Task",
        repro=f"{expression}.{using_text(changes)}",
    )


@clause("USING-RETURNS-NEW-TASK")
@pytest.mark.parametrize("base", BASES)
@given(data=st.data())
def test_using_returns_new_task(
    task_backend: Any, base: str, data: st.DataObject
) -> None:
    original, expression, changes = _drawn(task_backend, base, data)
    before = snapshot(original)
    if all(before[name] == value for name, value in changes.items()):
        return  # nothing differs: returning an equal object is not observable
    derived = _derive(original, changes, expression)
    check(
        derived is not original and type(derived) is type(original),
        expected=f"a new {type(original).__name__}, not the original object",
        observed=(
            "the original object itself"
            if derived is original
            else f"an object of type {type(derived)!r}"
        ),
        repro=f"t = {expression}\nt.{using_text(changes)} is t",
    )


@clause("USING-ORIGINAL-UNCHANGED")
@pytest.mark.parametrize("base", BASES)
@given(data=st.data())
def test_using_leaves_original_unchanged(
    task_backend: Any, base: str, data: st.DataObject
) -> None:
    original, expression, changes = _drawn(task_backend, base, data)
    before = snapshot(original)
    _derive(original, changes, expression)
    after = snapshot(original)
    check(
        after == before,
        expected=f"the original Task unchanged: {before}",
        observed=f"{after}",
        repro=f"t = {expression}\nt.{using_text(changes)}\nt  # changed",
    )


@clause("USING-APPLIES-CHANGES")
@pytest.mark.parametrize("base", BASES)
@given(data=st.data())
def test_using_applies_changes(
    task_backend: Any, base: str, data: st.DataObject
) -> None:
    original, expression, changes = _drawn(task_backend, base, data)
    expected = {**snapshot(original), **changes}
    derived = _derive(original, changes, expression)
    observed = snapshot(derived)
    check(
        observed == expected,
        expected=f"{expected}",
        observed=f"{observed}",
        repro=f"{expression}.{using_text(changes)}",
    )


@clause("USING-NONE-MEANS-UNCHANGED")
@pytest.mark.parametrize("none_for", [*CHANGEABLE, "all"])
def test_using_none_keeps_value(task_backend: Any, none_for: str) -> None:
    original, expression = base_task("derived", task_backend)
    changes = {name: None for name in CHANGEABLE if none_for in (name, "all")}
    derived = _derive(original, changes, expression)
    check(
        snapshot(derived) == snapshot(original),
        expected=f"every attribute kept: {snapshot(original)}",
        observed=f"{snapshot(derived)}",
        repro=f"{expression}.{using_text(changes)}",
    )


@clause("USING-NONE-MEANS-UNCHANGED")
@pytest.mark.parametrize("none_for", CHANGEABLE)
def test_using_none_beside_a_change(task_backend: Any, none_for: str) -> None:
    original, expression = base_task("derived", task_backend)
    # Another attribute really changes in the same call.
    other = "queue_name" if none_for != "queue_name" else "backend"
    value = {"queue_name": "queue-a", "backend": compat.DEFAULT_TASK_BACKEND_ALIAS}[
        other
    ]
    changes = {none_for: None, other: value}
    derived = _derive(original, changes, expression)
    expected = {**snapshot(original), other: value}
    check(
        snapshot(derived) == expected,
        expected=f"{none_for} kept, {other} changed: {expected}",
        observed=f"{snapshot(derived)}",
        repro=f"{expression}.{using_text(changes)}",
    )


@clause("USING-REVALIDATES")
@pytest.mark.parametrize("base", BASES)
@given(queue_name=unknown_queue_names(QUEUES))
def test_using_rejects_unknown_queue(
    task_backend: Any, base: str, queue_name: str
) -> None:
    original, expression = base_task(base, task_backend)
    check_using_refused(original, expression, queue_name=queue_name)


@clause("USING-REVALIDATES")
@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(
    "priority", [compat.TASK_MIN_PRIORITY - 1, compat.TASK_MAX_PRIORITY + 1, 0.5]
)
def test_using_rejects_invalid_priority(
    task_backend: Any, base: str, priority: float
) -> None:
    original, expression = base_task(base, task_backend)
    check_using_refused(original, expression, priority=priority)


@clause("USING-REVALIDATES")
@pytest.mark.parametrize("target", [compat.DEFAULT_TASK_BACKEND_ALIAS, ALIAS_SECONDARY])
def test_using_revalidates_against_new_backend(target: str) -> None:
    expression = (
        f"tasks.noop.using(backend={ALIAS_OPEN_QUEUES!r}, "
        "queue_name='conformance-elsewhere')"
    )
    # Valid where QUEUES is []: only the move makes it invalid.
    elsewhere = open_queue_task("conformance-elsewhere")
    check_raises(
        lambda: elsewhere.using(backend=target),
        compat.InvalidTask,
        expected=f"moving the Task to {target!r}, whose QUEUES lacks its queue, "
        "raises InvalidTask",
        repro=f"{expression}.using(backend={target!r})",
    )


@clause("USING-BACKEND-SWITCH")
def test_using_backend_selects_that_backend() -> None:
    default = compat.task_backends[compat.DEFAULT_TASK_BACKEND_ALIAS]
    secondary = compat.task_backends[ALIAS_SECONDARY]
    moved = tasks.echo.using(backend=ALIAS_SECONDARY)
    back = moved.using(backend=compat.DEFAULT_TASK_BACKEND_ALIAS)
    observed = {
        "original": tasks.echo.get_backend(),
        "moved": moved.get_backend(),
        "moved back": back.get_backend(),
    }
    expected = {"original": default, "moved": secondary, "moved back": default}
    check(
        all(observed[key] is expected[key] for key in expected),
        expected=f"get_backend() is task_backends[alias]: {expected}",
        observed=f"{observed}",
        repro=f"tasks.echo.using(backend={ALIAS_SECONDARY!r}).get_backend()",
    )


@clause("USING-BACKEND-SWITCH")
def test_using_backend_results_come_from_that_alias(api: Api) -> None:
    moved = tasks.echo.using(backend=ALIAS_SECONDARY)
    result = api.enqueue(moved, 1)
    observed = {
        "result.backend": result.backend,
        "result.task.backend": result.task.backend,
    }
    check(
        set(observed.values()) == {ALIAS_SECONDARY},
        expected=f"both {ALIAS_SECONDARY!r}",
        observed=f"{observed}",
        repro=f"tasks.echo.using(backend={ALIAS_SECONDARY!r}).{api.name('enqueue')}(1)",
    )


def _result_changes(backend: Any, kind: str) -> dict[str, Any]:
    full = full_changes(backend)
    if kind == "all":
        return full
    if kind == "priority":
        return {"priority": full.get("priority", 0)}
    if kind == "run_after" and "run_after" in full:
        return {"run_after": full["run_after"]}
    return {"queue_name": "queue-a"}


@clause("USING-RESULT-CARRIES-DERIVED")
@pytest.mark.parametrize("kind", ["queue", "priority", "run_after", "all"])
def test_enqueued_result_carries_derived_values(
    api: Api, task_backend: Any, kind: str
) -> None:
    changes = _result_changes(task_backend, kind)
    derived = tasks.echo.using(**changes)
    repro = f"tasks.echo.{using_text(changes)}.{api.name('enqueue')}(1)"
    result = api.enqueue(derived, 1)
    expected = {**snapshot(tasks.echo), **changes}
    observed = snapshot(result.task)
    check(
        observed == expected,
        expected=f"result.task: {expected}",
        observed=f"{observed}",
        repro=repro,
    )
