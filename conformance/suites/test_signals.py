"""The task_enqueued signal (specs/signals.toml, SIGNALS-ENQUEUED-*)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from conformance import compat, tasks
from conformance.settings_file import ALIAS_SECONDARY
from conformance.support import Api, SignalLog, clause, json_difference, not_applicable
from conformance.violation import check, describe_exception

#: What each test enqueues: name -> (Task on an alias, args).
ENQUEUES: dict[str, tuple[Callable[[], Any], tuple[Any, ...]]] = {
    "noop": (lambda: tasks.noop, ()),
    "echo": (lambda: tasks.echo, (1, [2], {"three": 3})),
    "fail": (lambda: tasks.fail, ()),
    "secondary_alias": (lambda: tasks.noop.using(backend=ALIAS_SECONDARY), ()),
}


@contextmanager
def enqueued_signals() -> Iterator[list[tuple[Any, Any]]]:
    """``(sender, task_result)`` of every task_enqueued sent meanwhile."""
    sent: list[tuple[Any, Any]] = []

    def receive(sender: Any, task_result: Any = None, **kwargs: Any) -> None:
        sent.append((sender, task_result))

    uid = f"conformance-enqueued-{id(sent)}"
    compat.task_enqueued.connect(receive, weak=False, dispatch_uid=uid)
    try:
        yield sent
    finally:
        compat.task_enqueued.disconnect(dispatch_uid=uid)


@clause("SIGNALS-ENQUEUED-ONCE")
def test_enqueued_sent_once_per_enqueue(api: Api, signal_log: SignalLog) -> None:
    results = []
    for build, args in ENQUEUES.values():
        task = build()
        results.append((task, api.enqueue(task, *args)))
        # By the time enqueue returns: a receiver may rely on it.
        task, result = results[-1]
        count = sum(e.signal == "enqueued" for e in signal_log.for_result(result.id))
        check(
            count == 1,
            expected=f"task_enqueued sent once for {result.id!r} when "
            f"{api.name('enqueue')} returns",
            observed=f"sent {count} times",
            repro=f"tasks.{task.name}.{api.name('enqueue')}() with a task_enqueued receiver",
        )
    enqueued = [e for e in signal_log.events if e.signal == "enqueued"]
    check(
        len(enqueued) == len(results),
        expected=f"{len(results)} task_enqueued signals for {len(results)} enqueues",
        observed=f"{len(enqueued)}, for ids {[e.result_id for e in enqueued]!r} "
        f"(results: {[r.id for _, r in results]!r})",
        repro="\n".join(
            f"tasks.{task.name}.{api.name('enqueue')}()" for task, _ in results
        ),
    )


def _signals_of(
    api: Api, name: str, **kwargs: Any
) -> tuple[Any, Any, list[tuple[Any, Any]]]:
    """Enqueue ENQUEUES[name]: the Task, the result, the task_enqueued sent.

    "n/a" when none was sent: SIGNALS-ENQUEUED-ONCE fails then.
    """
    build, args = ENQUEUES[name]
    task = build()
    with enqueued_signals() as sent:
        result = api.enqueue(task, *args, **kwargs)
    if not sent:
        not_applicable("no task_enqueued was sent (SIGNALS-ENQUEUED-ONCE)")
    return task, result, sent


@clause("SIGNALS-ENQUEUED-SENDER-CLASS")
@pytest.mark.parametrize("name", sorted(ENQUEUES))
def test_enqueued_sender_is_a_backend_class(api: Api, name: str) -> None:
    _, _, sent = _signals_of(api, name)
    senders = [sender for sender, _ in sent]
    check(
        all(
            isinstance(s, type) and issubclass(s, compat.BaseTaskBackend)
            for s in senders
        ),
        expected="sender is a BaseTaskBackend subclass (the class, not an instance)",
        observed=f"senders {senders!r}",
        repro=f"{name}: {api.name('enqueue')}() with a task_enqueued receiver",
    )


@clause("SIGNALS-ENQUEUED-SENDER-IS-BACKEND-CLASS")
@pytest.mark.parametrize("name", sorted(ENQUEUES))
def test_enqueued_sender_is_the_backend_class(api: Api, name: str) -> None:
    task, _, sent = _signals_of(api, name)
    expected = type(compat.task_backends[task.backend])
    senders = [sender for sender, _ in sent]
    check(
        all(s is expected for s in senders),
        expected=f"sender is {expected.__module__}.{expected.__qualname__}",
        observed=f"senders {senders!r}",
        repro=f"{name}: {api.name('enqueue')}() with a task_enqueued receiver",
    )


@clause("SIGNALS-ENQUEUED-RESULT")
@pytest.mark.parametrize("name", sorted(ENQUEUES))
def test_enqueued_carries_the_result(api: Api, name: str) -> None:
    task, result, sent = _signals_of(api, name, flag=True)
    args = ENQUEUES[name][1]
    repro = f"tasks.{task.name}.{api.name('enqueue')}(*{args!r}, flag=True)"
    for _, sent_result in sent:
        problems = []
        if not isinstance(sent_result, compat.TaskResult):
            problems.append(f"task_result is {sent_result!r}, not a TaskResult")
        else:
            if sent_result.id != result.id:
                problems.append(f"id {sent_result.id!r} != {result.id!r}")
            if sent_result.task.func != task.func:
                problems.append(f"task function {sent_result.task.func!r}")
            if sent_result.backend != task.backend:
                problems.append(f"backend {sent_result.backend!r} != {task.backend!r}")
            for field, want in (("args", list(args)), ("kwargs", {"flag": True})):
                difference = json_difference(want, getattr(sent_result, field), field)
                if difference:
                    problems.append(difference)
        check(
            not problems,
            expected="task_result is the enqueued result (id, task, args, kwargs, backend)",
            observed="; ".join(problems),
            repro=repro,
        )


def _tampered(field: str, value: Any) -> Any:
    """A Task made invalid after validation: the backend must refuse it."""
    task = tasks.noop.using(queue_name="queue-a")
    object.__setattr__(task, field, value)
    return task


@clause("SIGNALS-ENQUEUED-NOT-SENT-ON-ERROR")
@pytest.mark.parametrize(
    "cause", ["set_argument", "nested_object", "queue", "priority"]
)
def test_no_signal_when_enqueue_raises(
    api: Api, signal_log: SignalLog, cause: str
) -> None:
    task: Any = tasks.echo
    args: tuple[Any, ...] = ()
    if cause == "set_argument":
        args = ({1, 2},)
    elif cause == "nested_object":
        args = ([{"deep": object()}],)
    elif cause == "queue":
        task = _tampered("queue_name", "no-such-queue")
    else:
        task = _tampered("priority", 10_000)
    try:
        api.enqueue(task, *args)
    except Exception as exc:
        error = describe_exception(exc)
    else:
        not_applicable(f"the backend accepted the enqueue ({cause})")
    # Only task_enqueued counts: a backend that runs tasks on its own may be
    # finishing earlier tasks (task_started/finished) meanwhile.
    sent = [e for e in signal_log.events if e.signal == "enqueued"]
    check(
        not sent,
        expected=f"no task_enqueued when {api.name('enqueue')} raises ({error})",
        observed=", ".join(f"task_{e.signal} for {e.result_id!r}" for e in sent),
        repro=f"{cause}: {api.name('enqueue')}() raising, with signal receivers",
    )
