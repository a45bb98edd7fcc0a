"""Enqueueing a task (specs/enqueue.toml)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from conformance import compat, tasks
from conformance.adapters import Adapter
from conformance.adapters.enqueued import Enqueued, heard_elsewhere
from conformance.processes import enqueue_in_processes
from conformance.settings_file import ALIAS_OPEN_QUEUES, ALIAS_SECONDARY
from conformance.support import (
    TASK_FIELDS,
    WHEN,
    Api,
    answer_or_none,
    check_return_value_refused,
    clause,
    deferred,
    in_an_hour,
    in_other_thread,
    json_difference,
    not_applicable,
    requires,
    result_summary,
    task_differences,
)
from conformance.versions import DEFAULT_ALIAS
from conformance.violation import attribute, check

#: How far enqueued_at may stray from the clock around the call: the
#: backend's clock (a database server's, say) may differ slightly from ours.
CLOCK_AHEAD = timedelta(seconds=2)
CLOCK_BEHIND = timedelta(seconds=5)

#: Enqueues for the uniqueness clause: enough to catch short or clock-based
#: ids, few enough to stay fast (the async form pays a thread hop per call).
UNIQUE_SYNC, UNIQUE_ASYNC, UNIQUE_ELSEWHERE = 2000, 300, 50
#: Processes that enqueue at once, and enqueues in each: one id apiece is
#: enough for a per-process counter or seed, a few hundred for clock-based ids.
UNIQUE_PROCESSES, UNIQUE_PER_PROCESS = 3, 200
#: Seconds the enqueuing processes may take to start together and set Django
#: up (three at once on a loaded CI machine; one worker process gets
#: worker_process.PROCESS_START).
ENQUEUERS_START = 60.0

FINISHED = ("SUCCESSFUL", "FAILED")


#: Task variants by name -> (build() -> Task, repro expression).
VARIANTS: dict[str, tuple[Callable[[], Any], str]] = {
    "defined": (lambda: tasks.noop, "tasks.noop"),
    "queue_name": (
        lambda: tasks.noop.using(queue_name="queue-b"),
        'tasks.noop.using(queue_name="queue-b")',
    ),
    "priority": (
        lambda: tasks.noop.using(priority=7),
        "tasks.noop.using(priority=7)",
    ),
    "run_after": (
        lambda: deferred(tasks.noop),
        "tasks.noop.using(run_after=timezone.now() + timedelta(hours=1))",
    ),
    "takes_context": (lambda: tasks.with_context, "tasks.with_context"),
    "another_function": (lambda: tasks.echo, "tasks.echo"),
}


@clause("ENQUEUE-RETURNS-RESULT")
@pytest.mark.parametrize("task_name", ["noop", "echo", "fail"])
def test_enqueue_returns_task_result(api: Api, task_name: str) -> None:
    result = api.enqueue(getattr(tasks, task_name))
    check(
        isinstance(result, compat.TaskResult),
        expected=f"{api.name('enqueue')}() returns a TaskResult",
        observed=f"{type(result).__module__}.{type(result).__qualname__}: {result!r}",
        repro=f"tasks.{task_name}.{api.name('enqueue')}()",
    )


@clause("ENQUEUE-RESULT-TASK")
@pytest.mark.parametrize(
    "variant",
    [
        "another_function",
        "defined",
        pytest.param("priority", marks=requires("supports_priority")),
        "queue_name",
        pytest.param("run_after", marks=requires("supports_defer")),
        "takes_context",
    ],
)
def test_result_task_is_the_enqueued_task(api: Api, variant: str) -> None:
    build, expression = VARIANTS[variant]
    task = build()
    fields_before = {name: getattr(task, name) for name in TASK_FIELDS}
    result = api.enqueue(task)
    repro = f"{expression}.{api.name('enqueue')}().task"
    changed = {
        name: getattr(task, name)
        for name, value in fields_before.items()
        if getattr(task, name) != value
    }
    check(
        not changed,
        expected="enqueue leaves the Task it was given unchanged",
        observed=f"the task now has {changed!r}, was {fields_before!r}",
        repro=repro,
    )
    check(
        isinstance(result.task, compat.Task),
        expected="result.task is a Task",
        observed=repr(result.task),
        repro=repro,
    )
    difference = task_differences(task, result.task)
    check(
        difference is None,
        expected="result.task has the enqueued task's " + ", ".join(TASK_FIELDS),
        observed=difference or "",
        repro=repro,
    )


@clause("ENQUEUE-RESULT-BACKEND")
def test_result_backend_is_the_alias(api: Api, task_backend: Any) -> None:
    result = api.enqueue(tasks.noop)
    check(
        result.backend == tasks.noop.backend == task_backend.alias,
        expected=f"result.backend == {tasks.noop.backend!r}",
        observed=f"result.backend == {result.backend!r}",
        repro=f"tasks.noop.{api.name('enqueue')}().backend",
    )


@clause("ENQUEUE-OTHER-ALIAS")
@pytest.mark.parametrize("alias", [ALIAS_SECONDARY, ALIAS_OPEN_QUEUES])
def test_enqueue_on_another_alias(api: Api, alias: str) -> None:
    task = tasks.echo.using(backend=alias)
    result = api.enqueue(task, "other-alias")
    repro = f'tasks.echo.using(backend="{alias}").{api.name("enqueue")}("other-alias")'
    check(
        result.backend == alias and result.task.backend == alias,
        expected=f"result.backend and result.task.backend are {alias!r}",
        observed=f"result.backend={result.backend!r}, "
        f"result.task.backend={result.task.backend!r}",
        repro=repro,
    )
    backend = compat.task_backends[alias]
    fetched = answer_or_none(
        lambda: api.get_result(backend, result.id),
        backend,
        what=f"task_backends[{alias!r}].{api.name('get_result')}(result.id)",
        expected=f"task_backends[{alias!r}].{api.name('get_result')}(result.id) "
        "finds the result enqueued on that alias",
        repro=repro,
    )
    if fetched is None:
        return  # this alias cannot look results up: nothing more to see
    check(
        getattr(fetched, "backend", None) == alias,
        expected=f"the stored result's backend is {alias!r}",
        observed=f"backend={attribute(fetched, 'backend')!r}",
        repro=repro,
    )


@clause("ENQUEUE-ARGS-KWARGS")
@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((1, "two", [3.5, None], {"four": True}), {}),
        ((), {"a": 1, "b": [False], "c": {"d": "e"}}),
        (
            (0, 1, False, True, 1.0),
            {"one": 1, "true": True, "float": 2.0, "none": None},
        ),
        # Keywords named like the backend's own parameters must not collide.
        (
            ("positional",),
            {
                "task": "t",
                "args": [1],
                "kwargs": {"k": 2},
                "priority": 3,
                "queue_name": "q",
                "backend": "b",
                "run_after": None,
                "result_id": "r",
            },
        ),
    ],
    ids=["none", "positional", "keyword", "lookalikes", "parameter_names"],
)
def test_args_and_kwargs_are_kept(
    api: Api, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    result = api.enqueue(tasks.echo, *args, **kwargs)
    call = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    repro = f"tasks.echo.{api.name('enqueue')}({call})"
    for name, want in (("args", list(args)), ("kwargs", kwargs)):
        got = attribute(result, name)
        difference = json_difference(want, got, f"result.{name}")
        check(
            difference is None,
            expected=f"result.{name} == {want!r} (a {type(want).__name__}, same types)",
            observed=difference or "",
            repro=repro,
        )


def _check_id_format(result_id: Any, repro: str, limit: int) -> None:
    __tracebackhide__ = True
    check(
        isinstance(result_id, str) and 0 < len(result_id) <= limit,
        expected=f"result.id is a non-empty str of at most {limit} characters",
        observed=f"{type(result_id).__name__} {result_id!r}"
        + (f" ({len(result_id)} characters)" if isinstance(result_id, str) else ""),
        repro=repro,
    )


@clause("ENQUEUE-ID-FORMAT")
@pytest.mark.parametrize("alias", ["default", ALIAS_SECONDARY])
def test_id_format(api: Api, alias: str) -> None:
    for task in (tasks.noop, tasks.echo, tasks.fail):
        result = api.enqueue(task.using(backend=alias))
        repro = f'tasks.{task.name}.using(backend="{alias}").{api.name("enqueue")}().id'
        _check_id_format(result.id, repro, 64)


@clause("ENQUEUE-ID-UNDER-64")
def test_id_under_64(api: Api) -> None:
    for task in (tasks.noop, tasks.echo):
        result = api.enqueue(task)
        _check_id_format(result.id, f"tasks.{task.name}.{api.name('enqueue')}().id", 63)


@clause("ENQUEUE-ID-UNIQUE")
def test_ids_unique(api: Api, task_backend: Any) -> None:
    count = UNIQUE_ASYNC if api.is_async else UNIQUE_SYNC
    # Deferred where possible: thousands of ready tasks left in a queue would
    # slow down every later clause that runs a worker.
    task = tasks.noop
    if task_backend.supports_defer:
        task = task.using(run_after=in_an_hour())
    ids = [api.enqueue(task).id for _ in range(count)]
    # Another alias and another thread have their own backend instances: a
    # per-instance counter or seed would repeat ids there.
    secondary = task.using(backend=ALIAS_SECONDARY)
    ids += [api.enqueue(secondary).id for _ in range(UNIQUE_ELSEWHERE)]
    ids += in_other_thread(
        lambda: [api.enqueue(task).id for _ in range(UNIQUE_ELSEWHERE)]
    )
    repeated = {rid: n for rid, n in Counter(ids).items() if n > 1}
    check(
        not repeated,
        expected=f"{len(ids)} enqueues give {len(ids)} distinct ids",
        observed=f"{len(repeated)} ids repeated, e.g. {dict(list(repeated.items())[:3])!r}",
        repro=f"ids = [tasks.noop.{api.name('enqueue')}().id for _ in range({count})]\n"
        "assert len(set(ids)) == len(ids)",
    )


@clause("ENQUEUE-ID-UNIQUE")
def test_ids_unique_across_processes(task_adapter: Adapter, task_backend: Any) -> None:
    defer = bool(task_backend.supports_defer)  # deferred: see test_ids_unique
    task = tasks.noop.using(run_after=in_an_hour()) if defer else tasks.noop
    found = enqueue_in_processes(
        DEFAULT_ALIAS,
        processes=UNIQUE_PROCESSES,
        count=UNIQUE_PER_PROCESS,
        defer=defer,
        timeout=max(task_adapter.timeout, ENQUEUERS_START),
        here=lambda: [task.enqueue().id for _ in range(UNIQUE_PER_PROCESS)],
    )
    # Unheard here (task_enqueued is per process): waited for by the next
    # pass over every queue, removed from a shared broker at the run's end.
    heard_elsewhere(
        [
            Enqueued(rid, task.queue_name, task.run_after, DEFAULT_ALIAS)
            for ids in found.ids[:-1]  # the last are this process's, heard
            for rid in ids
        ]
    )
    if found.problems:
        # Not this clause's finding: enqueue itself is checked elsewhere.
        not_applicable("enqueue in another process: " + found.problems[0])
    owners: dict[str, set[int]] = {}
    for process, ids in enumerate(found.ids):
        for result_id in ids:
            owners.setdefault(result_id, set()).add(process)
    shared = {rid: sorted(who) for rid, who in owners.items() if len(who) > 1}
    total = sum(map(len, found.ids))
    check(
        not shared,
        expected=f"{total} enqueues in {len(found.ids)} processes at once give "
        f"{total} distinct ids",
        observed=f"{len(shared)} ids given in more than one process, e.g. "
        f"{dict(list(shared.items())[:3])!r} (process numbers; "
        f"{len(found.ids) - 1} is the kit's)",
        repro=f"# in {UNIQUE_PROCESSES} processes at once, and in this one:\n"
        f"ids = [tasks.noop.enqueue().id for _ in range({UNIQUE_PER_PROCESS})]\n"
        "# no id is in two processes' lists",
    )


@clause("ENQUEUE-ENQUEUED-AT")
@pytest.mark.parametrize("when", WHEN)
def test_enqueued_at_is_the_time_of_enqueue(api: Api, when: str) -> None:
    task = tasks.noop if when == "now" else deferred(tasks.noop)
    before = timezone.now()
    result = api.enqueue(task)
    after = timezone.now()
    at = result.enqueued_at
    repro = f"tasks.noop{'' if when == 'now' else '.using(run_after=...)'}"
    repro += f".{api.name('enqueue')}().enqueued_at"
    check(
        isinstance(at, datetime),
        expected="enqueued_at is a datetime once enqueue returns",
        observed=repr(at),
        repro=repro,
    )
    if settings.USE_TZ:
        check(
            timezone.is_aware(at),
            expected="enqueued_at is timezone-aware (USE_TZ = True)",
            observed=f"naive {at!r}",
            repro=repro,
        )
    elif timezone.is_aware(at):
        at = timezone.make_naive(at)
    check(
        before - CLOCK_BEHIND <= at <= after + CLOCK_AHEAD,
        expected=f"enqueued_at between {before.isoformat()} and {after.isoformat()} "
        f"(tolerance -{CLOCK_BEHIND.seconds}s/+{CLOCK_AHEAD.seconds}s)",
        observed=at.isoformat(),
        repro=repro,
    )


@clause("ENQUEUE-STATUS-VALID")
@pytest.mark.parametrize(
    "variant",
    ["noop", "fail", pytest.param("deferred", marks=requires("supports_defer"))],
)
def test_status_is_a_member_consistent_with_is_finished(api: Api, variant: str) -> None:
    task = {
        "noop": lambda: tasks.noop,
        "fail": lambda: tasks.fail,
        "deferred": lambda: deferred(tasks.noop),
    }[variant]()
    result = api.enqueue(task)
    repro = f"result = tasks.{task.name}.{api.name('enqueue')}()"
    check(
        isinstance(result.status, compat.TaskResultStatus),
        expected="result.status is a TaskResultStatus member",
        observed=f"{type(result.status).__qualname__} {result.status!r}",
        repro=repro,
    )
    finished = result.status in FINISHED
    check(
        result.is_finished is finished,
        expected=f"result.is_finished is {finished} for status {result.status}",
        observed=f"result.is_finished == {result.is_finished!r}",
        repro=repro,
    )


def _enqueue_variant(api: Api, when: str) -> tuple[Any, str]:
    task = tasks.echo if when == "now" else deferred(tasks.echo)
    call = f"tasks.echo{'' if when == 'now' else '.using(run_after=...)'}"
    return api.enqueue(task, 1), f"result = {call}.{api.name('enqueue')}(1)"


@clause("ENQUEUE-READY-NOT-STARTED")
@pytest.mark.parametrize("when", WHEN)
def test_ready_result_has_not_run(api: Api, when: str) -> None:
    result, repro = _enqueue_variant(api, when)
    if result.status != compat.TaskResultStatus.READY:
        not_applicable(f"enqueue returned {result.status}, not READY")
    unstarted: dict[str, Any] = {
        "started_at": None,
        "last_attempted_at": None,
        "finished_at": None,
        "errors": [],
        "worker_ids": [],
    }
    wrong = {
        name: attribute(result, name)
        for name, want in unstarted.items()
        if attribute(result, name) != want
    }
    check(
        not wrong,
        expected="a READY result has no start/attempt/finish time, errors or worker ids",
        observed=", ".join(f"{k}={v!r}" for k, v in wrong.items()),
        repro=repro,
    )


@clause("ENQUEUE-DEFERRED-READY")
def test_deferred_task_is_ready(api: Api, task_backend: Any) -> None:
    run_after = in_an_hour()
    result = api.enqueue(tasks.noop.using(run_after=run_after))
    repro = f"tasks.noop.using(run_after={run_after!r}).{api.name('enqueue')}()"
    check(
        result.status == compat.TaskResultStatus.READY and not result.is_finished,
        expected="status READY, is_finished False: the task may not run for an hour",
        observed=result_summary(result),
        repro=repro,
    )
    check(
        result.task.run_after == run_after,
        expected=f"result.task.run_after == {run_after!r}",
        observed=repr(result.task.run_after),
        repro=repro,
    )


@clause("ENQUEUE-READY-UNLESS-SYNCHRONOUS")
def test_ready_unless_synchronous(api: Api) -> None:
    result = api.enqueue(tasks.noop)
    check(
        result.status == compat.TaskResultStatus.READY,
        expected="enqueue returns a READY result",
        observed=result_summary(result),
        repro=f"tasks.noop.{api.name('enqueue')}().status",
    )


@clause("ENQUEUE-RETURN-VALUE-UNFINISHED")
@pytest.mark.parametrize("when", WHEN)
def test_return_value_raises_until_finished(api: Api, when: str) -> None:
    result, repro = _enqueue_variant(api, when)
    if result.status in FINISHED:
        not_applicable(f"enqueue returned a finished result ({result.status})")
    check_return_value_refused(
        result,
        when=f"while status is {result.status}",
        repro=repro + "\nresult.return_value",
    )
