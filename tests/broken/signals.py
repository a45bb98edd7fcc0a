"""Backends that get the task_enqueued signal wrong (specs/signals.toml)."""

from __future__ import annotations

import dataclasses
from typing import Any

from conformance import compat
from reference_backends._lifecycle import (
    json_round_trip,
    new_id,
    new_result,
    snapshot,
    update,
)
from reference_backends.dummy import DummyBackend

from .expect import Expect

#: The task_enqueued clauses: what every backend here is run on.
ENQUEUED = (
    "SIGNALS-ENQUEUED-ONCE",
    "SIGNALS-ENQUEUED-SENDER-CLASS",
    "SIGNALS-ENQUEUED-SENDER-IS-BACKEND-CLASS",
    "SIGNALS-ENQUEUED-RESULT",
    "SIGNALS-ENQUEUED-NOT-SENT-ON-ERROR",
)


class _Signalling(DummyBackend):
    """The reference dummy, with how it signals in :meth:`announce`."""

    def announce(self, result: Any) -> None:
        compat.task_enqueued.send(type(self), task_result=result)

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        result = self._store(task, args, kwargs)
        self.announce(result)
        return result

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        return self.enqueue(task, args, kwargs)


class SenderIsInstance(_Signalling):
    """Sends the backend instance as sender (one third-party backend does)."""

    expect = Expect(
        *ENQUEUED,
        fails={"SIGNALS-ENQUEUED-SENDER-CLASS"},
        warns={"SIGNALS-ENQUEUED-SENDER-IS-BACKEND-CLASS"},
    )

    def announce(self, result: Any) -> None:
        compat.task_enqueued.send(self, task_result=result)


class SenderIsBaseClass(_Signalling):
    """Sends BaseTaskBackend itself as sender: a class, but not this backend's."""

    expect = Expect(
        *ENQUEUED,
        warns={"SIGNALS-ENQUEUED-SENDER-IS-BACKEND-CLASS"},
    )

    def announce(self, result: Any) -> None:
        compat.task_enqueued.send(compat.BaseTaskBackend, task_result=result)


class SentTwice(_Signalling):
    """Announces every enqueue twice."""

    expect = Expect(
        *ENQUEUED,
        fails={"SIGNALS-ENQUEUED-ONCE"},
    )

    def announce(self, result: Any) -> None:
        super().announce(result)
        super().announce(result)


class NeverSent(_Signalling):
    """Never sends task_enqueued."""

    expect = Expect(
        *ENQUEUED,
        fails={"SIGNALS-ENQUEUED-ONCE"},
    )

    def announce(self, result: Any) -> None:
        pass


class SilentWhenAsync(_Signalling):
    """Sends task_enqueued from enqueue, but not from aenqueue."""

    expect = Expect(
        *ENQUEUED,
        fails={"SIGNALS-ENQUEUED-ONCE"},
    )

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        return self._store(task, args, kwargs)


class AnnouncesAnotherResult(_Signalling):
    """Sends a copy of the result under a new id."""

    expect = Expect(
        *ENQUEUED,
        fails={"SIGNALS-ENQUEUED-ONCE", "SIGNALS-ENQUEUED-RESULT"},
    )

    def announce(self, result: Any) -> None:
        super().announce(dataclasses.replace(result, id=new_id()))


class AnnouncesWithoutArguments(_Signalling):
    """Sends the result with its args and kwargs left out."""

    expect = Expect(
        *ENQUEUED,
        fails={"SIGNALS-ENQUEUED-RESULT"},
    )

    def announce(self, result: Any) -> None:
        super().announce(dataclasses.replace(result, args=[], kwargs={}))


class SignalsBeforeValidating(DummyBackend):
    """Announces the result first, then validates the task and its arguments."""

    expect = Expect(
        "json",
        *ENQUEUED,
        fails={"JSON-UNSERIALIZABLE-NOT-STORED", "SIGNALS-ENQUEUED-NOT-SENT-ON-ERROR"},
    )

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        result = new_result(self, task, [], {})
        compat.task_enqueued.send(type(self), task_result=result)
        self.validate_task(task)
        update(
            result,
            args=json_round_trip(list(args)),
            kwargs=json_round_trip(dict(kwargs)),
        )
        self._results.append(result)
        return snapshot(result)

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        return self.enqueue(task, args, kwargs)
