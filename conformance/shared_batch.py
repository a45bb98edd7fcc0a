"""The shared batches: every task the outcome clauses read, run once.

Most execution clauses read the same kind of evidence, so the suites share
one :class:`~conformance.jobs.Batch`: every task they need enqueued (in both
forms), one worker pass, every result observed once. A suite asks for a job
by its :class:`Label`.
"""

from __future__ import annotations

import functools
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from . import evidence, strategies
from .driver import Driver
from .jobs import Batch, Job

if TYPE_CHECKING:
    from .adapters import Adapter


class Label(StrEnum):
    """The jobs of the shared batches."""

    CAPTURE = "capture"  # tasks.capture(token, *CAPTURE_ARGS, **CAPTURE_KWARGS)
    RETURN_NONE = "return-none"
    RETURN_TUPLE = "return-tuple"
    RETURN_SAMPLE = "return-sample"  # returns RETURN_SAMPLE
    RETURN_EMPTY_LIST = "return-empty-list"  # the FALSY_RETURNS
    RETURN_EMPTY_DICT = "return-empty-dict"
    RETURN_ZERO = "return-zero"
    RETURN_EMPTY_TEXT = "return-empty-text"
    RETURN_FALSE = "return-false"
    CAPTURE_AWKWARD = "capture-awkward"  # capture(token, *AWKWARD_ARGS, ...)
    RETURN_AWKWARD = "return-awkward"  # returns AWKWARD_RETURN
    FAIL_TASK_FAILURE = "fail-TaskFailure"
    FAIL_NESTED = "fail-nested"
    FAIL_DEEP = "fail-deep"  # raised a dozen calls down
    FAIL_VALUE_ERROR = "fail-ValueError"
    FAIL_NOT_AN_EXCEPTION = "fail-NotAnException"
    FAIL_SYSTEM_EXIT = "fail-SystemExit"
    UNSERIALIZABLE_SET = "unserializable-set"
    UNSERIALIZABLE_OBJECT = "unserializable-object"
    UNSERIALIZABLE_NESTED = "unserializable-nested"
    CONTEXT = "context"  # tasks.capture_context(token, *CONTEXT_ARGS, ...)
    ASYNC_ECHO = "async-echo"
    ASYNC_FAIL = "async-fail"
    ASYNC_CONTEXT = "async-context"
    AFTER = "after"  # enqueued last: it runs only if the worker survived the rest
    AFTER_BASE = "after-base"  # the same, after the BaseException kinds


#: What ``capture`` is given in the shared batch: every JSON kind, tuples inside.
CAPTURE_ARGS: tuple[Any, ...] = (
    1,
    "two",
    [3, (4, 5)],
    {"six": 6.0, "seven": None, "eight": True},
    -0.5,
    "ünï ✓",
    2**53 - 1,
)
CAPTURE_KWARGS: dict[str, Any] = {
    "key": "value",
    "nested": {"a": (1, 2), "b": [False, 0, 0.0, ""]},
    "token": "a keyword named like the positional-only parameter",
}
#: What ``return_decoded`` returns in the shared batch.
RETURN_SAMPLE: Any = {
    "tuple": (1, (2, 3)),
    "list": [True, None, 1.5, -7, 0.0, 0],
    "text": "ünïcode ✓",
    "nested": {"deep": [{"x": 0.25}], "empty": {}},
    "big": 2**53 - 1,
}
#: What ``return_decoded`` returns in the falsy jobs: values, not absences.
FALSY_RETURNS: dict[Label, Any] = {
    Label.RETURN_EMPTY_LIST: [],
    Label.RETURN_EMPTY_DICT: {},
    Label.RETURN_ZERO: 0,
    Label.RETURN_EMPTY_TEXT: "",
    Label.RETURN_FALSE: False,
}
#: Every string of :data:`conformance.strategies.AWKWARD_TEXT`, as arguments
#: (CAPTURE_AWKWARD) and as a return value (RETURN_AWKWARD).
AWKWARD_ARGS: tuple[Any, ...] = tuple(strategies.AWKWARD_TEXT.values())
AWKWARD_KWARGS: dict[str, Any] = {
    text: {"nested": [text]} for text in strategies.AWKWARD_TEXT.values()
}
AWKWARD_RETURN: Any = {"texts": list(AWKWARD_ARGS), "keys": AWKWARD_KWARGS}
CONTEXT_ARGS: tuple[Any, ...] = (1, [2, (3,)])
CONTEXT_KWARGS: dict[str, Any] = {"key": {"k": (4,)}}

#: Failing jobs -> the kind of :data:`conformance.tasks.EXCEPTIONS` each raises.
FAILURE_KINDS: dict[Label, str] = {
    Label.FAIL_TASK_FAILURE: "TaskFailure",
    Label.FAIL_NESTED: "nested",
    Label.FAIL_DEEP: "TaskFailure",
    Label.FAIL_VALUE_ERROR: "ValueError",
    Label.FAIL_NOT_AN_EXCEPTION: "NotAnException",
    Label.FAIL_SYSTEM_EXIT: "SystemExit",
}
#: Failing jobs -> the function whose frame raised (the traceback's last).
RAISING_FRAMES: dict[Label, str] = {
    label: "raise_exception" for label in FAILURE_KINDS if label != Label.FAIL_DEEP
} | {Label.FAIL_DEEP: "_raise_at_the_bottom", Label.ASYNC_FAIL: "async_fail"}
#: Jobs whose task returns what JSON cannot hold -> that task's name.
UNSERIALIZABLE_TASKS: dict[Label, str] = {
    Label.UNSERIALIZABLE_SET: "return_unserializable",
    Label.UNSERIALIZABLE_OBJECT: "return_opaque",
    Label.UNSERIALIZABLE_NESTED: "return_nested_unserializable",
}
#: Jobs whose exception is a BaseException but not an Exception: a worker
#: that lets one escape dies. They run in a batch of their own, so that such a
#: worker fails the clauses about them, not every clause of the main batch.
BASE_EXCEPTION_FAILURES = (Label.FAIL_NOT_AN_EXCEPTION, Label.FAIL_SYSTEM_EXIT)
BASE_EXCEPTION_LABELS = frozenset({*BASE_EXCEPTION_FAILURES, Label.AFTER_BASE})


def failure_message(token: str) -> str:
    """The message a failing job's exception carries (its traceback shows it)."""
    return f"conformance failure {token}"


class SharedBatches:
    """The batches the outcome clauses read, each built and run on first use."""

    def __init__(self, adapter: Adapter, backend: Any) -> None:
        self.adapter = adapter
        self.backend = backend
        self.groups: dict[str, Batch] = {}

    def group(self, name: str) -> Batch:
        batch = self.groups.get(name)
        if batch is None:
            batch = self.groups[name] = Batch(Driver(self.adapter, self.backend))
            if name == "main":
                _fill_main(batch, self.backend)
            else:
                _fill_base_exceptions(batch)
            batch.execute()
        return batch

    def job(self, label: Label, form: str) -> Job:
        __tracebackhide__ = True
        name = "base-exceptions" if label in BASE_EXCEPTION_LABELS else "main"
        return self.group(name).job(label, form)

    def finished(self, label: Label, form: str) -> tuple[Job, Any]:
        """The job and its result, checked to be finished (:meth:`Job.finished`)."""
        __tracebackhide__ = True
        job = self.job(label, form)
        return job, job.finished(self.backend)

    @property
    def patience(self) -> float:
        """:attr:`Driver.patience <conformance.driver.Driver.patience>`."""
        return Driver(self.adapter, self.backend).patience

    @property
    def rerun_error(self) -> BaseException | None:
        return self.group("main").rerun_error


_SHARED: dict[int, SharedBatches] = {}


def shared_batch(adapter: Adapter, backend: Any) -> SharedBatches:
    """The shared batches of this session."""
    shared = _SHARED.get(id(adapter))
    if shared is None:
        shared = _SHARED[id(adapter)] = SharedBatches(adapter, backend)
    return shared


def _fill_main(batch: Batch, backend: Any) -> None:
    from . import tasks

    batch.add(
        Label.CAPTURE, lambda t: (tasks.capture, (t, *CAPTURE_ARGS), CAPTURE_KWARGS)
    )
    batch.add(Label.RETURN_NONE, lambda t: (tasks.noop, (), {}))
    for label, value in FALSY_RETURNS.items():
        batch.add(label, functools.partial(_returning, value))
    batch.add(
        Label.CAPTURE_AWKWARD,
        lambda t: (tasks.capture, (t, *AWKWARD_ARGS), AWKWARD_KWARGS),
    )
    batch.add(Label.RETURN_AWKWARD, functools.partial(_returning, AWKWARD_RETURN))
    batch.add(Label.RETURN_TUPLE, lambda t: (tasks.return_tuple, (), {}))
    batch.add(Label.RETURN_SAMPLE, functools.partial(_returning, RETURN_SAMPLE))
    for label in FAILURE_KINDS:
        if label not in BASE_EXCEPTION_LABELS:
            batch.add(label, functools.partial(_raising, label))
    for label, name in UNSERIALIZABLE_TASKS.items():
        batch.add(label, functools.partial(_returning_from, name))
    batch.add(
        Label.CONTEXT,
        lambda t: (tasks.capture_context, (t, *CONTEXT_ARGS), CONTEXT_KWARGS),
    )
    if getattr(backend, "supports_async_task", False):
        from . import async_tasks

        batch.add(
            Label.ASYNC_ECHO,
            lambda t: (async_tasks.async_echo, CAPTURE_ARGS, {"key": [1, (2,)]}),
        )
        batch.add(
            Label.ASYNC_FAIL,
            lambda t: (async_tasks.async_fail, (failure_message(t),), {}),
        )
        batch.add(
            Label.ASYNC_CONTEXT, lambda t: (async_tasks.async_with_context, (), {})
        )
    # Enqueued last: it runs only if the worker survived everything above.
    batch.add(Label.AFTER, lambda t: (tasks.capture, (t,), {}))


def _fill_base_exceptions(batch: Batch) -> None:
    from . import tasks

    for label in BASE_EXCEPTION_FAILURES:
        batch.add(label, functools.partial(_raising, label))
    batch.add(Label.AFTER_BASE, lambda t: (tasks.capture, (t,), {}))


def _raising(label: Label, token: str) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    from . import tasks

    raising = tasks.raise_deep if label == Label.FAIL_DEEP else tasks.raise_exception
    return raising, (FAILURE_KINDS[label], failure_message(token)), {}


def _returning(value: Any, token: str) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """``return_decoded`` of ``value``: it returns ``value``, tuples and all."""
    from . import tasks

    return tasks.return_decoded, (json.dumps(evidence.encode(value)),), {}


def _returning_from(
    name: str, token: str
) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    from . import tasks

    return getattr(tasks, name), (), {}
