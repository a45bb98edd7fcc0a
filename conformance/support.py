"""Helpers shared by every suite: one place for each, never copied."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import pytest
from asgiref.sync import async_to_sync

from . import compat
from .violation import attribute, check, describe_exception

T = TypeVar("T")


def clause(clause_id: str, *, requires: Iterable[str] = ()) -> pytest.MarkDecorator:
    """Tie a test to the spec clause it checks: ``@clause("PRIORITY-IN-RANGE")``.

    ``requires`` names what this test needs beyond the clause's own
    requirements (the same names, "not X" negates; see
    :mod:`conformance.requirements`): where one does not hold, the test is
    "n/a" with the reason, decided before it runs.
    """
    return pytest.mark.clause(clause_id, requires=tuple(requires))


def requires(*names: str) -> pytest.MarkDecorator:
    """What one parametrized case needs, gated like :func:`clause`'s ``requires``.

    ``pytest.param("deferred", marks=requires("supports_defer"))``
    """
    return pytest.mark.requires(*names)


def not_applicable(reason: str) -> None:
    """Declare at run time that the clause does not apply ("n/a" in the report)."""
    __tracebackhide__ = True
    pytest.skip(f"n/a: {reason}")


#: The two forms of every call: ``enqueue`` and ``aenqueue``, and so on.
FORMS = ("sync", "async")


class Api:
    """The sync or async form of the calls every enqueue/result clause makes.

    Suites take the ``api`` fixture, parametrised over both forms, so each
    clause is checked through ``enqueue`` and ``aenqueue`` alike.
    """

    def __init__(self, form: str) -> None:
        assert form in FORMS
        self.form = form

    @property
    def is_async(self) -> bool:
        return self.form == "async"

    def enqueue(self, task: Any, /, *args: Any, **kwargs: Any) -> Any:
        if self.is_async:
            return async_to_sync(task.aenqueue)(*args, **kwargs)
        return task.enqueue(*args, **kwargs)

    def get_result(self, source: Any, result_id: str) -> Any:
        """``source`` is a Task or a backend: both have (a)get_result."""
        if self.is_async:
            return async_to_sync(source.aget_result)(result_id)
        return source.get_result(result_id)

    def refresh(self, result: Any) -> None:
        if self.is_async:
            async_to_sync(result.arefresh)()
        else:
            result.refresh()

    def name(self, method: str) -> str:
        """``enqueue`` or ``aenqueue``, for messages and reproductions."""
        return f"a{method}" if self.is_async else method


@dataclass(frozen=True)
class SignalEvent:
    signal: str  # "enqueued", "started" or "finished"
    sender: Any
    result_id: str
    status: str


class SignalLog:
    """Records task_enqueued/started/finished while connected, from any thread."""

    SIGNALS = {
        "enqueued": compat.task_enqueued,
        "started": compat.task_started,
        "finished": compat.task_finished,
    }

    def __init__(self) -> None:
        self.events: list[SignalEvent] = []
        self._lock = threading.Lock()
        self._receivers: dict[str, Any] = {}

    def _receiver_for(self, name: str) -> Any:
        def receive(sender: Any, task_result: Any = None, **kwargs: Any) -> None:
            event = SignalEvent(
                name,
                sender,
                getattr(task_result, "id", None) or "",
                str(getattr(task_result, "status", "")),
            )
            with self._lock:
                self.events.append(event)

        return receive

    def connect(self) -> None:
        for name, signal in self.SIGNALS.items():
            receiver = self._receivers[name] = self._receiver_for(name)
            signal.connect(
                receiver, weak=False, dispatch_uid=f"conformance-{id(self)}-{name}"
            )

    def disconnect(self) -> None:
        for name, signal in self.SIGNALS.items():
            signal.disconnect(dispatch_uid=f"conformance-{id(self)}-{name}")

    def for_result(self, result_id: str) -> list[SignalEvent]:
        with self._lock:
            return [e for e in self.events if e.result_id == result_id]

    @classmethod
    @contextmanager
    def recording(cls) -> Iterator[SignalLog]:
        log = cls()
        log.connect()
        try:
            yield log
        finally:
            log.disconnect()


@contextmanager
def no_task_signal_receivers() -> Iterator[None]:
    """No receiver of task_enqueued, task_started or task_finished in this
    process meanwhile, Django's own logging receivers included; they are put
    back after (with any connected meanwhile).

    A worker may be kept from running a bad record by a receiver that raises
    on it (Django's logging receivers read ``task.module_path``): a project
    that removed or replaced them would run it.
    """
    signals = tuple(SignalLog.SIGNALS.values())
    saved: list[list[Any]] = []
    for signal in signals:
        with signal.lock:
            saved.append(signal.receivers)
            signal.receivers = []
            signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for signal, receivers in zip(signals, saved, strict=True):
            with signal.lock:
                keys = {entry[0] for entry in receivers}
                added = [entry for entry in signal.receivers if entry[0] not in keys]
                signal.receivers = receivers + added
                signal.sender_receivers_cache.clear()


def result_summary(result: Any) -> str:
    """A one-line picture of a TaskResult for failure messages."""
    fields = (
        "id",
        "status",
        "enqueued_at",
        "started_at",
        "last_attempted_at",
        "finished_at",
    )
    shown = ", ".join(f"{name}={attribute(result, name)!r}" for name in fields)
    return f"TaskResult({shown}, worker_ids={getattr(result, 'worker_ids', None)!r})"


def outcome_of(action: Callable[[], Any]) -> tuple[Any, Exception | None]:
    """``(value, None)`` when ``action()`` returns, ``(None, error)`` when it raises."""
    try:
        return action(), None
    except Exception as exc:
        return None, exc


def refused_not_applicable(error: BaseException | None, what: str) -> None:
    """ "n/a" when a store refused (``error``) values it cannot hold.

    For values Django is silent on (NUL, lone surrogates): refusing them with
    an error is the store's limit, reported; changing them is a failure.
    """
    if error is not None:
        not_applicable(
            f"{what} refused ({describe_exception(error)}): a store may refuse "
            "what it cannot hold, never change it"
        )


def _brief(value: Any, limit: int = 160) -> str:
    """``repr(value)``, cut short: a whole TaskResult drowns the message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_raises(
    action: Callable[[], Any],
    exception: type[BaseException] | tuple[type[BaseException], ...],
    *,
    expected: str,
    repro: str = "",
) -> BaseException:
    """Check that ``action()`` raises ``exception``; return what it raised."""
    __tracebackhide__ = True
    value, error = outcome_of(action)
    check(
        isinstance(error, exception),
        expected=expected,
        observed=describe_exception(error) if error else f"returned {_brief(value)}",
        repro=repro,
    )
    assert error is not None
    return error


def check_returns(action: Callable[[], T], *, expected: str, repro: str = "") -> T:
    """Check that ``action()`` returns without raising; return its value.

    The twin of :func:`check_raises`: ``expected`` says what returning means
    ("using(priority=3) returns a Task").
    """
    __tracebackhide__ = True
    value, error = outcome_of(action)
    check(
        error is None,
        expected=expected,
        observed=describe_exception(error),
        repro=repro,
    )
    return cast(T, value)  # None only where action() returned None


def json_round_trip(value: Any) -> Any:
    """``value`` after JSON storage: what result.args/kwargs must equal."""
    return json.loads(json.dumps(value))


def _json_kind(value: Any) -> str:
    # bool before int: True == 1 in Python, but not in JSON.
    for kind, types in (
        ("bool", bool),
        ("int", int),
        ("float", float),
        ("str", str),
        ("list", list),
        ("dict", dict),
    ):
        if isinstance(value, types):
            return kind
    return "null" if value is None else type(value).__qualname__


def json_difference(expected: Any, observed: Any, where: str = "value") -> str | None:
    """Where ``observed`` differs from the JSON value ``expected``; None if nowhere.

    Stricter than ``==``, as JSON is: ``True`` is not ``1``, ``1`` is not
    ``1.0``, a tuple is not a list.
    """
    kind, seen = _json_kind(expected), _json_kind(observed)
    if kind != seen:
        return f"{where}: expected {kind} {expected!r}, observed {seen} {observed!r}"
    if kind == "list":
        if len(observed) != len(expected):
            return f"{where}: expected {expected!r}, observed {observed!r}"
        for index, (want, got) in enumerate(zip(expected, observed, strict=True)):
            difference = json_difference(want, got, f"{where}[{index}]")
            if difference:
                return difference
        return None
    if kind == "dict":
        if set(observed) != set(expected):
            return f"{where}: expected keys {sorted(expected)!r}, observed {list(observed)!r}"
        for key, want in expected.items():
            difference = json_difference(want, observed[key], f"{where}[{key!r}]")
            if difference:
                return difference
        return None
    if observed == expected:
        return None
    return f"{where}: expected {expected!r}, observed {observed!r}"


def check_json(
    want: Any, got: Any, where: str = "value", *, expected: str = "", repro: str = ""
) -> None:
    """``got`` is the JSON value ``want``, to the type (:func:`json_difference`)."""
    __tracebackhide__ = True
    difference = json_difference(want, got, where)
    check(
        difference is None,
        expected=expected or repr(want),
        observed=difference or "",
        repro=repro,
    )


def check_received(received: Any, args: Any, kwargs: Any, *, repro: str) -> None:
    """A task's recorded run (``received``) got the JSON round-trip of
    ``args`` and ``kwargs``."""
    __tracebackhide__ = True
    expected = {"args": json_round_trip(list(args)), "kwargs": json_round_trip(kwargs)}
    # The function's *args is a tuple by Python's rules: compare its items.
    observed = {"args": list(received["args"]), "kwargs": received["kwargs"]}
    check_json(expected, observed, "received", repro=repro)


def answer_or_none(
    action: Callable[[], T],
    backend: Any,
    *,
    what: str,
    expected: str = "",
    repro: str = "",
) -> T | None:
    """``action()`` (a get_result or refresh); None where it may be unsupported.

    The kit's decisions (supports_get_result; ``python -m conformance.guide
    decisions``): with ``supports_get_result = False`` get_result and refresh
    MAY raise ``NotImplementedError``; with True they MUST answer. Any other
    exception fails the clause (``expected``: what answering means).
    """
    __tracebackhide__ = True
    try:
        return action()
    except NotImplementedError as exc:
        check(
            not getattr(backend, "supports_get_result", False),
            expected=f"{what} answers: the backend has supports_get_result=True",
            observed=describe_exception(exc),
            repro=repro,
        )
        return None
    except Exception as exc:
        check(
            False,
            expected=expected or f"{what} answers",
            observed=describe_exception(exc),
            repro=repro,
        )
        raise  # not reached: check(False) raises


def answer_or_not_applicable(
    action: Callable[[], T],
    backend: Any,
    *,
    what: str,
    expected: str = "",
    repro: str = "",
) -> T:
    """:func:`answer_or_none`, "n/a" where the backend may not answer."""
    __tracebackhide__ = True
    answered: list[T] = []  # not the value itself: refresh() answers None
    answer_or_none(
        lambda: answered.append(action()),
        backend,
        what=what,
        expected=expected,
        repro=repro,
    )
    if not answered:
        not_applicable(f"{what} raises NotImplementedError (supports_get_result=False)")
    return answered[0]


def in_other_thread(action: Callable[[], T], timeout: float = 30.0) -> T:
    """``action()`` run in a new thread (with its own backend instances).

    Django hands each thread its own backend instances and database
    connections; the thread closes its connections before it ends.
    """
    __tracebackhide__ = True
    from django.db import connections

    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(action())
        except BaseException as exc:  # handed back to the caller below
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="conformance-other-thread", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"the other thread did not finish within {timeout} s")
    if failure:
        raise failure[0]
    return outcome[0]


#: The dataclass fields of a TaskResult (``return_value`` and the other
#: properties derive from them).
RESULT_FIELDS = (
    "task",
    "id",
    "status",
    "enqueued_at",
    "started_at",
    "finished_at",
    "last_attempted_at",
    "args",
    "kwargs",
    "backend",
    "errors",
    "worker_ids",
)

#: The fields that make a Task what it is (``name`` and paths derive from func).
TASK_FIELDS = (
    "func",
    "priority",
    "queue_name",
    "backend",
    "run_after",
    "takes_context",
)


def task_differences(expected: Any, observed: Any) -> str | None:
    """How ``observed`` (a result's task) differs from the Task ``expected``."""
    wrong = [
        f"{name}: expected {getattr(expected, name)!r}, observed "
        f"{attribute(observed, name)!r}"
        for name in TASK_FIELDS
        if attribute(observed, name) != getattr(expected, name)
    ]
    return "; ".join(wrong) or None


def in_an_hour() -> datetime:
    """An aware (when USE_TZ) run_after an hour ahead, in whole seconds.

    Whole seconds, so that a store keeping only seconds still round-trips it.
    """
    from django.utils import timezone

    return (timezone.now() + timedelta(hours=1)).replace(microsecond=0)


def whole_seconds_after(seconds: float) -> datetime:
    """An instant at least ``seconds`` ahead, in whole seconds (any store keeps it)."""
    from django.utils import timezone

    return (timezone.now() + timedelta(seconds=seconds + 1)).replace(microsecond=0)


#: A fixed future instant, so that reproductions can be pasted as they are.
LATER = datetime(2099, 1, 1, 12, 0, tzinfo=UTC)


def every_option(backend: Any) -> dict[str, Any]:
    """``using()`` keywords away from the default for every option ``backend``
    supports: a queue always, a priority and a run_after where its flags say so.

    For clauses about carrying a Task's options over (results, pickles,
    derived Tasks): a default value would hide an option that is dropped.
    """
    options: dict[str, Any] = {"queue_name": "queue-b"}
    if backend.supports_priority:
        options["priority"] = -5
    if backend.supports_defer:
        options["run_after"] = LATER
    return options


def using_text(options: dict[str, Any]) -> str:
    """``using(k=v, ...)`` as source, for reproductions."""
    return "using(" + ", ".join(f"{k}={v!r}" for k, v in options.items()) + ")"


def check_using_refused(
    task: Any, expression: str, *, why: str = "", **options: Any
) -> None:
    """``task.using(**options)`` raises InvalidTask (``why``: which rule says so).

    ``expression`` builds ``task``, for the reproduction.
    """
    __tracebackhide__ = True
    call = using_text(options)
    check_raises(
        lambda: task.using(**options),
        compat.InvalidTask,
        expected=f"{call} raises InvalidTask{why}",
        repro=f"{expression}.{call}",
    )


def deferred(task: Any) -> Any:
    """``task`` to run in an hour (gate the test on ``supports_defer``)."""
    return task.using(run_after=in_an_hour())


#: ``when`` for tests of a task enqueued to run now and one deferred by an hour
#: (:func:`deferred`): the deferred case needs ``supports_defer``.
WHEN = ["now", pytest.param("deferred", marks=requires("supports_defer"))]


def open_queue_task(queue_name: str) -> Any:
    """``tasks.noop`` on a queue only the alias with ``QUEUES: []`` accepts.

    "n/a" when that alias refuses it: QUEUES-EMPTY-ACCEPTS-ANY fails then,
    and the clause needing this Task cannot be judged.
    """
    from .settings_file import ALIAS_OPEN_QUEUES
    from .tasks import noop

    task, error = outcome_of(
        lambda: noop.using(backend=ALIAS_OPEN_QUEUES, queue_name=queue_name)
    )
    if error is not None:
        not_applicable(
            f"the alias with QUEUES [] refuses queue {queue_name!r}: "
            f"{describe_exception(error)}"
        )
    return task


def check_return_value_refused(result: Any, *, when: str, repro: str) -> None:
    """``result.return_value`` must raise ValueError (``when`` says why)."""
    __tracebackhide__ = True
    check_raises(
        lambda: result.return_value,
        ValueError,
        expected=f"return_value raises ValueError {when}",
        repro=repro,
    )
