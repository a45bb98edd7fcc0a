"""Backends and task classes that get result fetching wrong (specs/get_result.toml)."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta
from typing import Any, ClassVar

from conformance import compat
from reference_backends._lifecycle import new_result, snapshot, update
from reference_backends.dummy import DummyBackend
from reference_backends.immediate import ImmediateBackend

from .expect import Expect
from .storing import AlteringDummy


class NoneForUnknown(DummyBackend):
    """get_result returns None for an id it does not know."""

    expect = Expect(
        "get_result",
        fails={
            "GET-RESULT-ID-EXACT",
            "GET-RESULT-MALFORMED-ID",
            "GET-RESULT-UNKNOWN-ID",
        },
        outcomes={"GET-RESULT-ID-CASE-EXACT": "note"},
    )

    def get_result(self, result_id: str) -> Any:
        try:
            return super().get_result(result_id)
        except compat.TaskResultDoesNotExist:
            return None


class KeyErrorForUnknown(DummyBackend):
    """Results in a dict: an unknown id raises KeyError."""

    expect = Expect(
        "get_result",
        fails={
            "GET-RESULT-ID-EXACT",
            "GET-RESULT-MALFORMED-ID",
            "GET-RESULT-UNKNOWN-ID",
        },
        outcomes={"GET-RESULT-ID-CASE-EXACT": "note"},
    )

    def get_result(self, result_id: str) -> Any:
        return snapshot({r.id: r for r in self._results}[result_id])


class PrefixMatch(DummyBackend):
    """Finds the first result whose id starts with the one asked for (a LIKE query)."""

    expect = Expect(
        "get_result", fails={"GET-RESULT-ID-EXACT", "GET-RESULT-MALFORMED-ID"}
    )

    def get_result(self, result_id: str) -> Any:
        for result in self._results:
            if result.id.startswith(result_id):
                return snapshot(result)
        raise compat.TaskResultDoesNotExist(result_id)


class CaseInsensitive(DummyBackend):
    """Compares ids without case (a case-insensitive collation): a portability
    note, since Django says nothing about letter case, never a failure."""

    expect = Expect("get_result", outcomes={"GET-RESULT-ID-CASE-EXACT": "note"})

    def get_result(self, result_id: str) -> Any:
        for result in self._results:
            if result.id.lower() == result_id.lower():
                return snapshot(result)
        raise compat.TaskResultDoesNotExist(result_id)


class NoMismatchCheckTask(compat.Task):  # type: ignore[misc]
    """Task.get_result without the check that the result is this task's."""

    __slots__ = ()

    def get_result(self, result_id: str) -> Any:
        return self.get_backend().get_result(result_id)

    async def aget_result(self, result_id: str) -> Any:
        return await self.get_backend().aget_result(result_id)


class NoMismatchCheck(DummyBackend):
    expect = Expect("get_result", fails={"GET-RESULT-MISMATCH"})
    task_class = NoMismatchCheckTask


class WholeTaskMatchTask(compat.Task):  # type: ignore[misc]
    """Task.get_result that wants the very same Task, not the same function."""

    __slots__ = ()

    def _matching(self, result: Any) -> Any:
        if result.task != self:
            raise compat.TaskResultMismatch(result.id)
        return result

    def get_result(self, result_id: str) -> Any:
        return self._matching(self.get_backend().get_result(result_id))

    async def aget_result(self, result_id: str) -> Any:
        return self._matching(await self.get_backend().aget_result(result_id))


class WholeTaskMatch(DummyBackend):
    expect = Expect(
        "get_result",
        fails={"GET-RESULT-SAME-FIELDS", "GET-RESULT-SAME-FUNCTION-MATCHES"},
    )
    task_class = WholeTaskMatchTask


class ClaimsGetResultInOneThread(DummyBackend):
    """Says supports_get_result, but keeps results in the enqueuing thread's instance."""

    expect = Expect("get_result", fails={"GET-RESULT-OTHER-THREAD"})

    supports_get_result = True


class ClaimsGetResultNotImplemented(ImmediateBackend):
    """Says supports_get_result, but get_result raises NotImplementedError."""

    expect = Expect(
        "get_result",
        fails={
            "GET-RESULT-ANY-TASK",
            "GET-RESULT-ID-EXACT",
            "GET-RESULT-MALFORMED-ID",
            "GET-RESULT-MISMATCH",
            "GET-RESULT-OTHER-THREAD",
            "GET-RESULT-SAME-FIELDS",
            "GET-RESULT-SAME-FUNCTION-MATCHES",
            "GET-RESULT-UNKNOWN-ID",
        },
        outcomes={"GET-RESULT-ID-CASE-EXACT": "note"},
    )

    supports_get_result = True


class DictWhenUnsupported(DummyBackend):
    """supports_get_result=False, and get_result answers with a dict."""

    expect = Expect(
        "get_result",
        fails={
            "GET-RESULT-ANY-TASK",
            "GET-RESULT-MISMATCH",
            "GET-RESULT-REFRESH-KEEPS-IDENTITY",
            "GET-RESULT-SAME-FIELDS",
            "GET-RESULT-SAME-FUNCTION-MATCHES",
            "GET-RESULT-TASK-RESULT-OR-NOT-IMPLEMENTED",
        },
    )

    def get_result(self, result_id: str) -> Any:
        found = super().get_result(result_id)
        return {"id": found.id, "status": found.status, "args": found.args}


class ForgetsArguments(AlteringDummy):
    """Stores the result without its args and kwargs."""

    expect = Expect("get_result", fails={"GET-RESULT-SAME-FIELDS"})

    def _store(self, task: Any, args: Any, kwargs: Any) -> Any:
        returned = super()._store(task, args, kwargs)
        update(self._results[-1], args=[], kwargs={})
        return returned


class RewritesEnqueuedAt(DummyBackend):
    """get_result reports enqueued_at an hour off."""

    expect = Expect("get_result", fails={"GET-RESULT-SAME-FIELDS"})

    def get_result(self, result_id: str) -> Any:
        found = super().get_result(result_id)
        update(found, enqueued_at=found.enqueued_at + timedelta(hours=1))
        return found


class ForgetfulResult(compat.TaskResult):  # type: ignore[misc]
    """A TaskResult whose refresh() also drops its kwargs."""

    __slots__ = ()

    def refresh(self) -> None:
        super().refresh()
        object.__setattr__(self, "kwargs", {})

    async def arefresh(self) -> None:
        await super().arefresh()
        object.__setattr__(self, "kwargs", {})


class ForgetfulRefresh(AlteringDummy):
    expect = Expect("get_result", fails={"GET-RESULT-REFRESH-KEEPS-IDENTITY"})

    def alter(self, result: Any) -> None:
        object.__setattr__(result, "__class__", ForgetfulResult)


class ProcessWideStore(DummyBackend):
    """A correct backend with supports_get_result: one store for the whole process.

    Not broken: the control that shows the get_result clauses can pass,
    from other threads too.
    """

    expect = Expect(
        "get_result",
        "json",
        outcomes={
            "GET-RESULT-OTHER-THREAD": "pass",
            "JSON-GET-RESULT-PRESERVES": "pass",
        },
    )

    supports_get_result = True
    _store_lock: ClassVar[threading.Lock] = threading.Lock()
    _shared: ClassVar[dict[str, Any]] = {}

    def _store(self, task: Any, args: Any, kwargs: Any) -> Any:
        self.validate_task(task)
        result = new_result(self, task, args, kwargs)
        with self._store_lock:
            self._shared[result.id] = result
        return snapshot(result)

    def get_result(self, result_id: str) -> Any:
        with self._store_lock:
            found = self._shared.get(result_id) if isinstance(result_id, str) else None
        if found is None:
            raise compat.TaskResultDoesNotExist(result_id)
        return copy.copy(snapshot(found))
