"""Task definition (specs/definition.toml).

Tasks are built inside each test, from the undecorated functions in
:mod:`conformance.definition_targets`, so the backend under test validates
them while the test watches. They are never enqueued.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from hypothesis import given

from conformance import compat, definition_targets, tasks
from conformance.settings_file import ALIAS_OPEN_QUEUES, ALIAS_SECONDARY
from conformance.strategies import aware_datetimes, naive_datetimes
from conformance.support import (
    check_raises,
    check_returns,
    check_using_refused,
    clause,
    not_applicable,
)
from conformance.violation import attribute, check

targets = definition_targets

#: The three spellings of the decorator, applied to a function.
DECORATOR_FORMS: dict[str, Callable[[Any], Any]] = {
    "@task": lambda func: compat.task(func),
    "@task()": lambda func: compat.task()(func),
    "@task(<standard arguments>)": lambda func: compat.task(
        priority=compat.DEFAULT_TASK_PRIORITY,
        queue_name=compat.DEFAULT_TASK_QUEUE_NAME,
        backend=compat.DEFAULT_TASK_BACKEND_ALIAS,
        takes_context=False,
    )(func),
}


def _check_refused(define: Callable[[], Any], what: str, repro: str) -> None:
    """``define()`` raises InvalidTask: ``what`` is not a valid Task."""
    __tracebackhide__ = True
    check_raises(
        define, compat.InvalidTask, expected=f"{what} raises InvalidTask", repro=repro
    )


def _defined(define: Callable[[], Any], what: str, repro: str) -> Any:
    """The Task ``define()`` returns; the clause fails where it raises."""
    __tracebackhide__ = True
    return check_returns(define, expected=f"{what} defines a Task", repro=repro)


@clause("DEFINITION-DECORATOR-RETURNS-TASK")
@pytest.mark.parametrize("form", DECORATOR_FORMS)
def test_decorator_returns_task_class_instance(form: str, task_backend: Any) -> None:
    repro = f"{form}\ndef plain(): ..."
    task = _defined(lambda: DECORATOR_FORMS[form](targets.plain), form, repro)
    task_class = task_backend.task_class
    check(
        isinstance(task_class, type)
        and isinstance(task, task_class)
        and isinstance(task, compat.Task),
        expected=f"an instance of the backend's task_class {task_class!r}, a Task",
        observed=f"{type(task)!r}",
        repro=repro,
    )


@clause("DEFINITION-DEFAULTS")
@pytest.mark.parametrize("form", ["@task", "@task()"])
def test_defaults(form: str) -> None:
    repro = f"{form}\ndef plain(): ..."
    task = _defined(lambda: DECORATOR_FORMS[form](targets.plain), form, repro)
    expected = {
        "priority": 0,
        "queue_name": "default",
        "backend": "default",
        "takes_context": False,
        "run_after": None,
    }
    observed = {name: attribute(task, name) for name in expected}
    check(
        observed == expected
        and type(observed["priority"]) is int
        and observed["takes_context"] is False,
        expected=f"{expected}",
        observed=f"{observed}",
        repro=repro,
    )


@clause("DEFINITION-FUNCTION-ATTRIBUTES")
@pytest.mark.parametrize(
    "func", [targets.plain, targets.with_arguments], ids=lambda f: f.__name__
)
def test_function_attributes_of_decorated_function(func: Any) -> None:
    repro = f"task(conformance.definition_targets.{func.__name__})"
    task = _defined(lambda: compat.task(func), "@task", repro)
    _check_function_attributes(task, func, repro)


@clause("DEFINITION-FUNCTION-ATTRIBUTES")
def test_function_attributes_of_module_task() -> None:
    # The kit's own task module: what a worker later resolves by path.
    func = tasks.echo.func
    _check_function_attributes(tasks.echo, func, "conformance.tasks.echo")
    check(
        tasks.echo.module_path == "conformance.tasks.echo",
        expected="module_path 'conformance.tasks.echo'",
        observed=repr(tasks.echo.module_path),
        repro="conformance.tasks.echo.module_path",
    )


def _check_function_attributes(task: Any, func: Any, repro: str) -> None:
    __tracebackhide__ = True
    path = f"{func.__module__}.{func.__qualname__}"
    observed: dict[str, Any] = {
        "func": attribute(task, "func"),
        "name": attribute(task, "name"),
        "module_path": attribute(task, "module_path"),
    }
    check(
        observed["func"] is func
        and observed["name"] == func.__name__
        and observed["module_path"] == path,
        expected=f"func is {func!r}, name {func.__name__!r}, module_path {path!r}",
        observed=f"{observed}",
        repro=repro,
    )


@clause("DEFINITION-DECORATOR-ARGUMENTS")
@pytest.mark.parametrize(
    ("queue_name", "backend", "takes_context"),
    [
        ("queue-a", ALIAS_SECONDARY, True),
        ("queue-b", "default", False),
        ("default", ALIAS_OPEN_QUEUES, True),
    ],
)
@pytest.mark.parametrize("priority_kind", ["low", "high"])
def test_decorator_arguments_set_attributes(
    task_backend: Any,
    queue_name: str,
    backend: str,
    takes_context: bool,
    priority_kind: str,
) -> None:
    priority = 0
    if task_backend.supports_priority:
        priority = compat.TASK_MIN_PRIORITY if priority_kind == "low" else 7
    func = targets.context_first_with_more if takes_context else targets.with_arguments
    arguments = {
        "priority": priority,
        "queue_name": queue_name,
        "backend": backend,
        "takes_context": takes_context,
    }
    repro = f"task(**{arguments!r})(conformance.definition_targets.{func.__name__})"
    task = _defined(
        lambda: compat.task(**arguments)(func), f"@task(**{arguments!r})", repro
    )
    observed = {name: attribute(task, name) for name in arguments}
    check(
        observed == arguments and task.func is func and task.run_after is None,
        expected=f"{arguments}, func {func.__name__}, run_after None",
        observed=f"{observed}, func {task.func!r}, run_after {task.run_after!r}",
        repro=repro,
    )


def _nested_function() -> Any:
    def nested() -> None:
        return None

    return nested


def _closure() -> Any:
    captured = [1]

    def closure() -> int:
        return captured[0]

    return closure


def _local_lambda() -> Any:
    return lambda: None


#: Callables that are not module-level functions, built on demand.
NOT_MODULE_LEVEL: dict[str, Callable[[], Any]] = {
    "nested function": _nested_function,
    "closure": _closure,
    "lambda inside a function": _local_lambda,
    "builtin function": lambda: len,
    "builtin method": lambda: [].append,
    "functools.partial": lambda: functools.partial(targets.partial_target, 1),
    "bound method": lambda: targets.NotAFunction().method,
    "classmethod": lambda: targets.NotAFunction.class_method,
    "class": lambda: targets.NotAFunction,
    "callable instance": lambda: targets.NotAFunction(),
}


@clause("DEFINITION-MODULE-LEVEL-ONLY")
@pytest.mark.parametrize("kind", NOT_MODULE_LEVEL)
@pytest.mark.parametrize("form", ["@task", "@task()"])
def test_not_module_level_function_rejected(kind: str, form: str) -> None:
    target = NOT_MODULE_LEVEL[kind]()
    _check_refused(
        lambda: DECORATOR_FORMS[form](target),
        f"{form} on a {kind}",
        f"{form} applied to a {kind}: {target!r}",
    )


#: Functions whose first parameter is not exactly ``context``.
NO_CONTEXT_PARAMETER = [
    targets.no_parameters,
    targets.context_misnamed_ctx,
    targets.context_misnamed_capitalised,
    targets.context_misnamed_suffix,
    targets.context_second,
]


@clause("DEFINITION-TAKES-CONTEXT-PARAMETER")
@pytest.mark.parametrize("func", NO_CONTEXT_PARAMETER, ids=lambda f: f.__name__)
def test_takes_context_without_context_parameter_rejected(func: Any) -> None:
    signature = f"def {func.__name__}{inspect.signature(func)}"
    # The same function is valid without takes_context: the rule under test
    # is the only reason to refuse it.
    check_returns(
        lambda: compat.task(func),
        expected=f"@task (takes_context=False) accepts {signature}",
        repro=f"@task\n{signature}: ...",
    )
    _check_refused(
        lambda: compat.task(takes_context=True)(func),
        f"@task(takes_context=True) on {signature}",
        f"@task(takes_context=True)\n{signature}: ...",
    )


@clause("DEFINITION-ASYNC-REJECTED")
@pytest.mark.parametrize(
    ("decorator", "func"),
    [
        ("@task", targets.coroutine),
        ("@task(backend=ALIAS_OPEN_QUEUES)", targets.coroutine),
        ("@task(takes_context=True)", targets.coroutine_with_context),
    ],
)
def test_coroutine_rejected_without_async_support(decorator: str, func: Any) -> None:
    decorators: dict[str, Callable[[Any], Any]] = {
        "@task": compat.task,
        "@task(backend=ALIAS_OPEN_QUEUES)": compat.task(backend=ALIAS_OPEN_QUEUES),
        "@task(takes_context=True)": compat.task(takes_context=True),
    }
    _check_refused(
        lambda: decorators[decorator](func),
        f"{decorator} on a coroutine function",
        f"{decorator}\nasync def {func.__name__}{inspect.signature(func)}: ...",
    )


@clause("DEFINITION-ASYNC-ACCEPTED")
@pytest.mark.parametrize(
    ("takes_context", "func"),
    [(False, targets.coroutine), (True, targets.coroutine_with_context)],
)
def test_coroutine_accepted_with_async_support(takes_context: bool, func: Any) -> None:
    decorator = f"@task(takes_context={takes_context})"
    repro = f"{decorator}\nasync def {func.__name__}{inspect.signature(func)}: ..."
    task = _defined(
        lambda: compat.task(takes_context=takes_context)(func),
        f"{decorator} on a coroutine function",
        repro,
    )
    check(
        isinstance(task, compat.Task)
        and task.func is func
        and inspect.iscoroutinefunction(task.func)
        and task.takes_context is takes_context,
        expected="a Task whose func is the coroutine function",
        observed=f"{type(task).__name__} with func {task.func!r}",
        repro=repro,
    )
    check_returns(
        lambda: task.using(queue_name="queue-a"),
        expected="using(queue_name='queue-a') on a coroutine Task returns a Task",
        repro=f"{repro}\n{func.__name__}.using(queue_name='queue-a')",
    )


@clause("DEFINITION-RUN-AFTER-ACCEPTED")
@given(run_after=aware_datetimes())
def test_aware_run_after_accepted(run_after: datetime) -> None:
    repro = f"tasks.noop.using(run_after={run_after!r})"
    derived = check_returns(
        lambda: tasks.noop.using(run_after=run_after),
        expected="using(run_after=<aware datetime>) returns a Task",
        repro=repro,
    )
    kept = derived.run_after
    check(
        isinstance(kept, datetime)
        and kept.utcoffset() is not None
        and kept == run_after,
        expected=f"run_after equal to {run_after!r} (an aware datetime)",
        observed=repr(kept),
        repro=repro,
    )


@clause("DEFINITION-RUN-AFTER-UNSUPPORTED-REJECTED")
@pytest.mark.parametrize(
    "run_after",
    [
        datetime.now(UTC) + timedelta(hours=1),
        datetime.now(UTC) - timedelta(days=1),
        datetime(2100, 1, 1),  # naive
    ],
    ids=["aware-future", "aware-past", "naive"],
)
def test_run_after_rejected_without_defer(run_after: datetime) -> None:
    check_using_refused(
        tasks.noop, "tasks.noop", why=" (supports_defer=False)", run_after=run_after
    )


@clause("DEFINITION-RUN-AFTER-NAIVE-REJECTED")
@given(run_after=naive_datetimes())
def test_naive_run_after_rejected(run_after: datetime) -> None:
    if not settings.USE_TZ:
        not_applicable("USE_TZ is False in the settings under test")
    check_using_refused(
        tasks.noop, "tasks.noop", why=" (naive, USE_TZ=True)", run_after=run_after
    )


@clause("DEFINITION-RUN-AFTER-NOT-IN-DECORATOR")
@pytest.mark.parametrize(
    "run_after", [datetime.now(UTC) + timedelta(hours=1), None], ids=["aware", "None"]
)
def test_run_after_in_decorator_is_type_error(run_after: datetime | None) -> None:
    check_raises(
        lambda: compat.task(run_after=run_after)(targets.plain),
        TypeError,
        expected="@task(run_after=...) raises TypeError",
        repro=f"@task(run_after={run_after!r})\ndef plain(): ...",
    )


@clause("DEFINITION-DECORATOR-FORWARDS-KWARGS")
def test_unknown_keyword_rejected_by_task_class(task_backend: Any) -> None:
    keyword = "conformance_unknown_option"
    parameters = inspect.signature(task_backend.task_class).parameters.values()
    if any(p.kind is p.VAR_KEYWORD or p.name == keyword for p in parameters):
        not_applicable(f"{task_backend.task_class!r} accepts any keyword argument")
    check_raises(
        lambda: compat.task(**{keyword: 1})(targets.plain),
        TypeError,
        expected=f"@task({keyword}=1) raises TypeError: task_class does not accept it",
        repro=f"@task({keyword}=1)\ndef plain(): ...",
    )


@clause("DEFINITION-DECORATOR-FORWARDS-KWARGS")
def test_extra_keyword_reaches_task_class(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = compat.task_backends[compat.DEFAULT_TASK_BACKEND_ALIAS]
    base = backend.task_class
    if not dataclasses.is_dataclass(base):
        not_applicable(f"{base!r} is not a dataclass: the kit cannot extend it")
    try:

        @dataclasses.dataclass(frozen=True, kw_only=True)
        class WithOption(base):  # type: ignore[misc, valid-type]
            conformance_option: int = 0

    except TypeError as exc:
        not_applicable(f"{base!r} cannot be extended with a field: {exc}")
    monkeypatch.setattr(backend, "task_class", WithOption)
    repro = (
        "backend.task_class = <task_class + field conformance_option>\n"
        "@task(conformance_option=7)\ndef plain(): ..."
    )
    task = _defined(
        lambda: compat.task(conformance_option=7)(targets.plain),
        "@task(conformance_option=7)",
        repro,
    )
    check(
        isinstance(task, WithOption) and task.conformance_option == 7,
        expected="a task_class instance with conformance_option == 7",
        observed=f"{type(task).__name__}, "
        f"conformance_option={attribute(task, 'conformance_option')!r}",
        repro=repro,
    )


@clause("DEFINITION-UNKNOWN-BACKEND-REJECTED")
def test_unknown_backend_alias_rejected_by_using() -> None:
    check_raises(
        lambda: tasks.noop.using(backend="conformance-no-such-alias"),
        compat.InvalidTaskBackend,
        expected="using(backend=<alias not in TASKS>) raises InvalidTaskBackend",
        repro="tasks.noop.using(backend='conformance-no-such-alias')",
    )


@clause("DEFINITION-UNKNOWN-BACKEND-REJECTED")
def test_unknown_backend_alias_rejected_by_decorator() -> None:
    check_raises(
        lambda: compat.task(backend="conformance-no-such-alias")(targets.plain),
        compat.InvalidTaskBackend,
        expected="@task(backend=<alias not in TASKS>) raises InvalidTaskBackend",
        repro="@task(backend='conformance-no-such-alias')\ndef plain(): ...",
    )
