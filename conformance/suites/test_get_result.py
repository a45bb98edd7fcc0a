"""Fetching results (specs/get_result.toml)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from conformance import compat, tasks
from conformance.support import (
    WHEN,
    Api,
    answer_or_not_applicable,
    check_raises,
    check_returns,
    clause,
    deferred,
    every_option,
    in_other_thread,
    json_difference,
    not_applicable,
    outcome_of,
    task_differences,
    using_text,
)
from conformance.violation import check, describe_exception

#: Ids no backend hands out. Ids are opaque, so "malformed" means only
#: "cannot be one of ours" for most backends; each must still raise
#: TaskResultDoesNotExist (ids come from URLs and forms: user input).
MALFORMED_IDS: dict[str, str] = {
    "empty": "",
    "space": " ",
    "newline": "\n",
    "65_chars": "a" * 65,
    "very_long": "f" * 100_000,
    "non_ascii": "résultat-日本語-🙂",
    "path": "../../../etc/passwd",
    "sql_quote": "' OR '1'='1",
    "sql_comment": '"; DROP TABLE tasks; --',
    "like_wildcards": "%",
    "underscore_wildcard": "_",
    "glob": "*",
    "nul": "a\x00b",
    "negative": "-1",
    "null_word": "null",
}

#: How far the fetched enqueued_at may be from the original: a store may
#: keep fewer digits than Python.
STORED_TIME_TOLERANCE = timedelta(seconds=1)


def _unknown_ids() -> dict[str, str]:
    """Well-formed ids for common schemes, freshly random: nobody enqueued them."""
    fresh = uuid.uuid4()
    return {"uuid_hex": fresh.hex, "uuid": str(fresh), "token": fresh.hex[:30] + "zz"}


def _sources(backend: Any) -> dict[str, tuple[Any, str]]:
    return {
        "backend": (backend, 'task_backends["default"]'),
        "task": (tasks.noop, "tasks.noop"),
    }


def _check_does_not_exist(
    api: Api, backend: Any, source: Any, result_id: str, repro: str
) -> None:
    """``get_result(result_id)`` raises TaskResultDoesNotExist (or is unsupported)."""
    __tracebackhide__ = True
    if backend.supports_get_result:
        refusals: tuple[type[Exception], ...] = (compat.TaskResultDoesNotExist,)
        expected = "TaskResultDoesNotExist (supports_get_result=True)"
    else:
        refusals = (compat.TaskResultDoesNotExist, NotImplementedError)
        expected = "TaskResultDoesNotExist, or NotImplementedError"
    check_raises(
        lambda: api.get_result(source, result_id),
        refusals,
        expected=expected,
        repro=repro,
    )


@clause("GET-RESULT-UNKNOWN-ID")
@pytest.mark.parametrize("source_name", ["backend", "task"])
def test_unknown_id_does_not_exist(
    api: Api, task_backend: Any, source_name: str
) -> None:
    api.enqueue(tasks.noop)  # a store with something in it
    source, expression = _sources(task_backend)[source_name]
    for result_id in _unknown_ids().values():
        repro = f"{expression}.{api.name('get_result')}({result_id!r})"
        _check_does_not_exist(api, task_backend, source, result_id, repro)


@clause("GET-RESULT-MALFORMED-ID")
@pytest.mark.parametrize("source_name", ["backend", "task"])
@pytest.mark.parametrize("kind", sorted(MALFORMED_IDS))
def test_malformed_id_does_not_exist(
    api: Api, task_backend: Any, source_name: str, kind: str
) -> None:
    api.enqueue(tasks.noop)
    source, expression = _sources(task_backend)[source_name]
    result_id = MALFORMED_IDS[kind]
    shown = (
        repr(result_id)
        if len(result_id) < 80
        else f"{result_id[:1]!r} * {len(result_id)}"
    )
    repro = f"{expression}.{api.name('get_result')}({shown})"
    _check_does_not_exist(api, task_backend, source, result_id, repro)


def _id_variants(result_id: str) -> dict[str, str]:
    return {
        "truncated": result_id[:-1],
        "prefix": result_id[: max(1, len(result_id) // 4)],
        "without_first": result_id[1:],
        "extended": result_id + "0",
        "prefixed": "0" + result_id,
        "doubled": result_id * 2,
    }


def _check_variants_not_confused(
    api: Api, backend: Any, variants: dict[str, str], original: str
) -> None:
    __tracebackhide__ = True
    for kind, variant in variants.items():
        if variant == original:
            continue
        repro = (
            f"result = tasks.noop.{api.name('enqueue')}()  # id {original!r}\n"
            f'task_backends["default"].{api.name("get_result")}({variant!r})'
        )
        found, error = outcome_of(lambda: api.get_result(backend, variant))  # noqa: B023 - called at once
        if error is not None:
            check(
                isinstance(error, compat.TaskResultDoesNotExist | NotImplementedError),
                expected=f"TaskResultDoesNotExist for the {kind} id",
                observed=describe_exception(error),
                repro=repro,
            )
            continue
        check(
            getattr(found, "id", None) == variant,
            expected=f"get_result({variant!r}) ({kind} id) raises TaskResultDoesNotExist "
            "or returns a result with that very id",
            observed=f"returned the result with id {getattr(found, 'id', None)!r}",
            repro=repro,
        )


@clause("GET-RESULT-ID-EXACT")
def test_id_variants_not_confused(api: Api, task_backend: Any) -> None:
    result = api.enqueue(tasks.noop)
    answer_or_not_applicable(
        lambda: api.get_result(task_backend, result.id), task_backend, what="get_result"
    )
    _check_variants_not_confused(api, task_backend, _id_variants(result.id), result.id)


@clause("GET-RESULT-ID-CASE-EXACT")
def test_case_and_whitespace_variants_not_confused(api: Api, task_backend: Any) -> None:
    result = api.enqueue(tasks.noop)
    answer_or_not_applicable(
        lambda: api.get_result(task_backend, result.id), task_backend, what="get_result"
    )
    variants = {
        "upper_case": result.id.upper(),
        "lower_case": result.id.lower(),
        "trailing_space": result.id + " ",
        "leading_space": " " + result.id,
        "trailing_newline": result.id + "\n",
    }
    _check_variants_not_confused(api, task_backend, variants, result.id)


@clause("GET-RESULT-TASK-RESULT-OR-NOT-IMPLEMENTED")
@pytest.mark.parametrize("source_name", ["backend", "task"])
def test_answer_is_result_or_not_implemented(
    api: Api, task_backend: Any, source_name: str
) -> None:
    result = api.enqueue(tasks.noop)
    source, expression = _sources(task_backend)[source_name]
    repro = (
        f"result = tasks.noop.{api.name('enqueue')}()\n"
        f"{expression}.{api.name('get_result')}(result.id)"
    )
    found, error = outcome_of(lambda: api.get_result(source, result.id))
    if error is not None:
        check(
            isinstance(error, NotImplementedError),
            expected="a TaskResult or NotImplementedError",
            observed=describe_exception(error),
            repro=repro,
        )
        return
    check(
        isinstance(found, compat.TaskResult) and found.id == result.id,
        expected=f"a TaskResult with id {result.id!r}, or NotImplementedError",
        observed=f"returned {found!r}",
        repro=repro,
    )


def _enqueue_variant(api: Api, backend: Any) -> tuple[Any, Any, str]:
    """A task with every option the backend supports, enqueued with arguments."""
    options = every_option(backend)
    task = tasks.echo.using(**options)
    result = api.enqueue(task, 1, [2.5, None], flag=True, nested={"k": ["v"]})
    repro = (
        f"result = tasks.echo.{using_text(options)}.{api.name('enqueue')}"
        "(1, [2.5, None], flag=True, nested={'k': ['v']})"
    )
    return task, result, repro


def _same_fields(task: Any, original: Any, found: Any) -> list[str]:
    """What differs between the enqueued result and a fetched one."""
    problems = []
    if not isinstance(found, compat.TaskResult):
        return [f"not a TaskResult: {found!r}"]
    if found.id != original.id:
        problems.append(f"id {found.id!r} != {original.id!r}")
    difference = task_differences(task, found.task)
    if difference:
        problems.append(f"task: {difference}")
    for name in ("args", "kwargs"):
        difference = json_difference(
            getattr(original, name), getattr(found, name), name
        )
        if difference:
            problems.append(difference)
    if found.backend != original.backend:
        problems.append(f"backend {found.backend!r} != {original.backend!r}")
    if not isinstance(found.status, compat.TaskResultStatus):
        problems.append(f"status {found.status!r} is not a TaskResultStatus")
    before, after = original.enqueued_at, found.enqueued_at
    if before is None or after is None:
        if before is not after:
            problems.append(f"enqueued_at {after!r}, enqueue returned {before!r}")
    elif abs(after - before) > STORED_TIME_TOLERANCE:
        problems.append(f"enqueued_at {after!r}, enqueue returned {before!r}")
    return problems


@clause("GET-RESULT-SAME-FIELDS")
@pytest.mark.parametrize("source_name", ["backend", "task"])
def test_fetched_result_has_the_same_fields(
    api: Api, task_backend: Any, source_name: str
) -> None:
    task, result, repro = _enqueue_variant(api, task_backend)
    source = task_backend if source_name == "backend" else tasks.echo
    expression = (
        'task_backends["default"]' if source_name == "backend" else "tasks.echo"
    )
    repro += f"\nfound = {expression}.{api.name('get_result')}(result.id)"
    found = answer_or_not_applicable(
        lambda: api.get_result(source, result.id),
        task_backend,
        what="get_result",
        repro=repro,
    )
    problems = _same_fields(task, result, found)
    check(
        not problems,
        expected="the fetched result matches the enqueued one",
        observed="; ".join(problems),
        repro=repro,
    )


@clause("GET-RESULT-ANY-TASK")
@pytest.mark.parametrize("task_name", ["noop", "echo", "add", "fail", "with_context"])
def test_backend_answers_for_every_task(
    api: Api, task_backend: Any, task_name: str
) -> None:
    task = getattr(tasks, task_name)
    args = (1, 2) if task_name == "add" else ()
    result = api.enqueue(task, *args)
    repro = (
        f"result = tasks.{task_name}.{api.name('enqueue')}{args or '()'}\n"
        f'task_backends["default"].{api.name("get_result")}(result.id)'
    )
    found = answer_or_not_applicable(
        lambda: api.get_result(task_backend, result.id),
        task_backend,
        what="get_result",
        repro=repro,
    )
    check(
        isinstance(found, compat.TaskResult)
        and found.id == result.id
        and getattr(found.task, "func", None) == task.func,
        expected=f"the result of tasks.{task_name}, id {result.id!r}",
        observed=repr(found),
        repro=repro,
    )


@clause("GET-RESULT-OTHER-THREAD")
@pytest.mark.parametrize("direction", ["fetched_elsewhere", "enqueued_elsewhere"])
def test_result_visible_from_another_thread(api: Api, direction: str) -> None:
    def enqueue() -> Any:
        return api.enqueue(tasks.echo, "across", threads=[1, 2])

    def fetch(result_id: str) -> Any:
        return api.get_result(compat.task_backends["default"], result_id)

    repro = (
        f"result = tasks.echo.{api.name('enqueue')}('across', threads=[1, 2])\n"
        f"# then, in a {'new thread' if direction == 'fetched_elsewhere' else 'second thread'}:\n"
        f'task_backends["default"].{api.name("get_result")}(result.id)'
    )

    def found_by_id(result_id: str) -> Any:
        return check_returns(
            lambda: fetch(result_id),
            expected="the result is found from another thread (supports_get_result=True)",
            repro=repro,
        )

    if direction == "fetched_elsewhere":
        result = enqueue()
        found = in_other_thread(lambda: found_by_id(result.id))
    else:
        result = in_other_thread(enqueue)
        found = found_by_id(result.id)
    check(
        found.id == result.id
        and json_difference(result.args, found.args) is None
        and json_difference(result.kwargs, found.kwargs) is None,
        expected=f"id {result.id!r}, args {result.args!r}, kwargs {result.kwargs!r}",
        observed=f"id {found.id!r}, args {found.args!r}, kwargs {found.kwargs!r}",
        repro=repro,
    )


@clause("GET-RESULT-MISMATCH")
@pytest.mark.parametrize(
    ("enqueued", "asked"),
    [("noop", "echo"), ("echo", "noop"), ("add", "with_context")],
)
def test_other_functions_result_mismatch(
    api: Api, task_backend: Any, enqueued: str, asked: str
) -> None:
    args = (1, 2) if enqueued == "add" else ()
    result = api.enqueue(getattr(tasks, enqueued), *args)
    answer_or_not_applicable(
        lambda: api.get_result(task_backend, result.id), task_backend, what="get_result"
    )
    repro = (
        f"result = tasks.{enqueued}.{api.name('enqueue')}{args or '()'}\n"
        f"tasks.{asked}.{api.name('get_result')}(result.id)"
    )
    check_raises(
        lambda: api.get_result(getattr(tasks, asked), result.id),
        compat.TaskResultMismatch,
        expected="TaskResultMismatch",
        repro=repro,
    )


@clause("GET-RESULT-SAME-FUNCTION-MATCHES")
def test_own_results_match(api: Api, task_backend: Any) -> None:
    _task, result, repro = _enqueue_variant(api, task_backend)
    repro += f"\ntasks.echo.{api.name('get_result')}(result.id)"
    found = answer_or_not_applicable(
        lambda: api.get_result(tasks.echo, result.id),
        task_backend,
        what="get_result",
        expected="the result of a using() variant of tasks.echo",
        repro=repro,
    )
    check(
        isinstance(found, compat.TaskResult) and found.id == result.id,
        expected=f"the result with id {result.id!r}",
        observed=repr(found),
        repro=repro,
    )


@clause("GET-RESULT-REFRESH-KEEPS-IDENTITY")
@pytest.mark.parametrize("when", WHEN)
def test_refresh_keeps_identity(api: Api, task_backend: Any, when: str) -> None:
    task = tasks.echo if when == "now" else deferred(tasks.echo)
    result = api.enqueue(task, "keep", me={"as": [1, True]})
    if result.status != compat.TaskResultStatus.READY:
        not_applicable(f"enqueue returned {result.status}, not READY")
    before_id, before_args, before_kwargs = (
        result.id,
        list(result.args),
        dict(result.kwargs),
    )
    repro = (
        f"result = tasks.echo{'.using(run_after=...)' if when == 'deferred' else ''}"
        f".{api.name('enqueue')}('keep', me={{'as': [1, True]}})\n"
        f"result.{api.name('refresh')}()"
    )
    answer_or_not_applicable(
        lambda: api.refresh(result), task_backend, what="refresh", repro=repro
    )
    problems = [
        difference
        for difference in (
            None if result.id == before_id else f"id {before_id!r} -> {result.id!r}",
            task_differences(task, result.task),
            json_difference(before_args, result.args, "args"),
            json_difference(before_kwargs, result.kwargs, "kwargs"),
            None
            if isinstance(result.status, compat.TaskResultStatus)
            else f"status {result.status!r} is not a TaskResultStatus",
        )
        if difference
    ]
    check(
        not problems,
        expected="refresh keeps id, task, args and kwargs",
        observed="; ".join(problems),
        repro=repro,
    )
