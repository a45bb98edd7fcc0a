"""Worker-based backends that get execution wrong (tests/test_broken_execution.py).

Each class breaks one rule on top of :class:`tests.memory_backend.MemoryBackend`,
which passes the whole kit. Run them with ``--task-worker`` (or the
``MemoryAdapter`` for the security ones).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from traceback import format_tb
from typing import Any

from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

from conformance import compat
from tests.memory_backend import MemoryBackend, UnresolvableTask, iter_records

from .expect import Expect

#: How the kit drives these backends: a worker callable, or the adapter
#: that can also rewrite stored records.
WORKER = ("--task-worker=tests.memory_backend.run_ready",)
ADAPTER = ("--task-adapter=tests.memory_backend.MemoryAdapter",)

RUNNING = compat.TaskResultStatus.RUNNING.value
READY = compat.TaskResultStatus.READY.value


def _coerce_floats(value: Any) -> Any:
    """1.0 -> 1: what a store that does not keep the int/float distinction does."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_coerce_floats(item) for item in value]
    if isinstance(value, dict):
        return {key: _coerce_floats(item) for key, item in value.items()}
    return value


# -- ordering and deferral -----------------------------------------------------
class IgnoresPriority(MemoryBackend):
    """Runs tasks in enqueue order, whatever their priority."""

    expect = Expect("ordering", fails={"ORDERING-PRIORITY"}, options=WORKER)

    def ready_name(self, record: dict[str, Any]) -> str:
        return super().ready_name({**record, "priority": 0})


class TiesLastInFirstOut(MemoryBackend):
    """Honours priority, but runs equal priorities newest first."""

    expect = Expect("ordering", warns={"ORDERING-TIES-FIFO"}, options=WORKER)

    def ready_name(self, record: dict[str, Any]) -> str:
        return super().ready_name({**record, "sequence": 10**19 - record["sequence"]})


class RunsDeferredEarly(MemoryBackend):
    """The worker ignores run_after."""

    expect = Expect(
        "defer", fails={"DEFER-NOT-EARLY", "DEFER-RUNS-WHEN-DUE"}, options=WORKER
    )

    def is_due(self, due_microseconds: int, now: datetime) -> bool:
        return True


class NeverRunsDeferred(MemoryBackend):
    """A task with a run_after never becomes due."""

    expect = Expect("defer", fails={"DEFER-RUNS-WHEN-DUE"}, options=WORKER)

    def is_due(self, due_microseconds: int, now: datetime) -> bool:
        return due_microseconds == 0


class NaiveRunAfter(MemoryBackend):
    """Drops run_after's UTC offset: hours early or late away from UTC."""

    expect = Expect(
        "defer", fails={"DEFER-NOT-EARLY", "DEFER-RUNS-WHEN-DUE"}, options=WORKER
    )

    def ready_name(self, record: dict[str, Any]) -> str:
        if record["run_after"]:
            wall = datetime.fromisoformat(record["run_after"]).replace(tzinfo=UTC)
            record = {**record, "run_after": wall.isoformat()}
        return super().ready_name(record)


class DeferredBlocksQueue(MemoryBackend):
    """Stops the pass at the first task that is not due yet."""

    expect = Expect(
        "defer",
        fails={"DEFER-DOES-NOT-BLOCK", "DEFER-RUNS-WHEN-DUE"},
        options=WORKER,
    )

    def ready_in_order(
        self, queue_names: Sequence[str] | None
    ) -> Iterator[dict[str, Any]]:
        now = timezone.now()
        for name in self.store.ready_names():
            if not self.is_due(int(name.split(".")[2]), now):
                return
            if self.store.claim(name):
                record = self.store.load(name.split(".")[4])
                if record is not None:
                    yield record


class PushesBeforeChecking(MemoryBackend):
    """Queues the task first and checks its arguments after (a broker publish
    with a lenient encoder): enqueue raises TypeError, yet the worker later
    runs what it refused. No signal, no result to fetch: only running tells."""

    expect = Expect("json", fails={"JSON-UNSERIALIZABLE-NOT-STORED"}, options=WORKER)

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        self.validate_task(task)
        lenient = json.loads(json.dumps([list(args), dict(kwargs)], default=repr))
        record = self.new_record(task, lenient[0], lenient[1])
        self.store.save(record)
        self.store.mark_ready(self.ready_name(record))
        json.dumps([list(args), dict(kwargs)])  # TypeError now: the task is out
        result = self.to_result(record, task)
        compat.task_enqueued.send(type(self), task_result=result)
        return result


class PushesUndecodable(MemoryBackend):
    """Queues the task before encoding its arguments, and an encoder that
    fails drops them: enqueue raises TypeError, and the worker takes a
    message no enqueue returned, cannot call the function without its
    arguments, and stores a FAILED result. Nothing runs: only the worker's
    adapter, which knows what it took, tells."""

    expect = Expect("json", fails={"JSON-UNSERIALIZABLE-NOT-STORED"}, options=ADAPTER)

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        try:
            json.dumps([list(args), dict(kwargs)])
        except (TypeError, ValueError):
            self.validate_task(task)
            record = self.new_record(task, [], {})
            self.store.save(record)
            self.store.mark_ready(self.ready_name(record))
            raise
        return super().enqueue(task, args, kwargs)


class ServesWrongQueues(MemoryBackend):
    """The worker runs every queue, whichever it was asked for."""

    expect = Expect("worker-queues", fails={"WORKER-QUEUES-SELECTED"}, options=WORKER)

    def ready_in_order(
        self, queue_names: Sequence[str] | None
    ) -> Iterator[dict[str, Any]]:
        return super().ready_in_order(None)


# -- running the function -------------------------------------------------------
class LosesWorkerIds(MemoryBackend):
    """Never records which worker ran the task."""

    expect = Expect(
        "success",
        "failure",
        "context",
        "async-execution",
        fails={
            "ASYNC-EXECUTION-CONTEXT",
            "CONTEXT-ATTEMPT",
            "FAILURE-ERRORS",
            "SUCCESS-WORKER-IDS",
        },
        options=WORKER,
    )

    def start(self, record: dict[str, Any], worker_id: str) -> None:
        super().start(record, worker_id)
        record["worker_ids"].clear()
        self.store.save(record)


class RunsTwice(MemoryBackend):
    """Calls the function a second time (a retry after success)."""

    expect = Expect("success", fails={"SUCCESS-EXACTLY-ONCE"}, options=WORKER)

    def call(self, task: Any, result: Any) -> Any:
        super().call(task, result)
        return super().call(task, result)


class ReRunsFinished(MemoryBackend):
    """A task that finished goes back to the queue: the next worker run reruns it."""

    expect = Expect(
        "lifecycle",
        "success",
        fails={"LIFECYCLE-TRANSITIONS", "SUCCESS-EXACTLY-ONCE"},
        options=WORKER,
    )

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.requeue: list[str] = []

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        super().finish(record, error)
        if len(record["worker_ids"]) == 1:
            record["sequence"] += 1
            self.requeue.append(self.ready_name(record))

    def run_ready(self, queue_names: Sequence[str] | None = None) -> int:
        while self.requeue:
            self.store.mark_ready(self.requeue.pop())
        return super().run_ready(queue_names)


class NeverStoresRunning(MemoryBackend):
    """Stores only the outcome: get_result says READY while the function runs."""

    expect = Expect(
        "lifecycle", fails={"LIFECYCLE-RUNNING-WHILE-EXECUTING"}, options=WORKER
    )

    def start(self, record: dict[str, Any], worker_id: str) -> None:
        started = timezone.now().isoformat()
        record["started_at"] = record["started_at"] or started
        record["last_attempted_at"] = started
        record["worker_ids"].append(worker_id)
        record["status"] = RUNNING  # in memory only: never saved


class ArgumentsCoerced(MemoryBackend):
    """Hands the function 1 for 1.0."""

    expect = Expect(
        "arguments", "context", fails={"ARGUMENTS-JSON-ROUND-TRIP"}, options=WORKER
    )

    def call(self, task: Any, result: Any) -> Any:
        args, kwargs = _coerce_floats(list(result.args)), _coerce_floats(result.kwargs)
        if task.takes_context:
            return task.call(self.context(result), *args, **kwargs)
        return task.call(*args, **kwargs)


class ContextAttemptZero(MemoryBackend):
    """Builds the context before the running attempt is counted."""

    expect = Expect(
        "context",
        "async-execution",
        fails={"ASYNC-EXECUTION-CONTEXT", "CONTEXT-ATTEMPT"},
        options=WORKER,
    )

    def context(self, result: Any) -> Any:
        early = dataclasses.replace(result, finished_at=None, errors=[], worker_ids=[])
        return compat.TaskContext(task_result=early)


class ContextNotRunning(MemoryBackend):
    """Hands the function the result as enqueued: READY, not started."""

    expect = Expect(
        "context",
        "async-execution",
        fails={"ASYNC-EXECUTION-CONTEXT", "CONTEXT-RUNNING"},
        options=WORKER,
    )

    def context(self, result: Any) -> Any:
        ready = dataclasses.replace(
            result,
            status=compat.TaskResultStatus.READY,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            errors=[],
            worker_ids=list(result.worker_ids),
        )
        return compat.TaskContext(task_result=ready)


class ContextForAnotherResult(MemoryBackend):
    """The context's task_result carries a fresh id."""

    expect = Expect(
        "context",
        "async-execution",
        fails={"ASYNC-EXECUTION-CONTEXT", "CONTEXT-DESCRIBES-RESULT"},
        options=WORKER,
    )

    def context(self, result: Any) -> Any:
        other = dataclasses.replace(result, id=get_random_string(32))
        return compat.TaskContext(task_result=other)


# -- outcomes -------------------------------------------------------------------
class SwallowsErrors(MemoryBackend):
    """A function that raised is reported SUCCESSFUL, returning None."""

    expect = Expect(
        "failure",
        "success",
        fails={
            "FAILURE-BASE-EXCEPTION",
            "FAILURE-ERRORS",
            "FAILURE-EXCEPTION-CLASS",
            "FAILURE-STATUS",
            "FAILURE-TIMESTAMPS",
            "FAILURE-TRACEBACK",
            "FAILURE-UNSERIALIZABLE-RETURN",
        },
        options=WORKER,
    )

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        if error is not None and not isinstance(error, UnresolvableTask):
            record["return_value"] = None
            error = None
        super().finish(record, error)


class ExceptionNameNotQualname(MemoryBackend):
    """Records ``module.__name__``: wrong for a nested exception class."""

    expect = Expect("failure", fails={"FAILURE-EXCEPTION-CLASS"}, options=WORKER)

    def error_entry(self, error: BaseException) -> list[str]:
        traceback = super().error_entry(error)[1]
        return [f"{type(error).__module__}.{type(error).__name__}", traceback]


class TracebackWithoutMessage(MemoryBackend):
    """Keeps the stack but not the final "Class: message" line."""

    expect = Expect("failure", fails={"FAILURE-TRACEBACK"}, options=WORKER)

    def error_entry(self, error: BaseException) -> list[str]:
        path, _ = super().error_entry(error)
        return [path, "".join(format_tb(error.__traceback__)) or "Traceback"]


class ReturnValueCoerced(MemoryBackend):
    """Stores 1 for 1.0 in return values."""

    expect = Expect("success", fails={"SUCCESS-RETURN-VALUE"}, options=WORKER)

    def serialise_return(self, value: Any) -> Any:
        return _coerce_floats(super().serialise_return(value))


class UnserializableStoredAsText(MemoryBackend):
    """Stores str() of what JSON cannot hold: the task 'succeeds'."""

    expect = Expect(
        "failure",
        "success",
        fails={"FAILURE-UNSERIALIZABLE-RETURN"},
        options=WORKER,
    )

    def serialise_return(self, value: Any) -> Any:
        return json.loads(json.dumps(value, default=str))


class StuckRunningOnUnserializable(MemoryBackend):
    """A return value that cannot be stored leaves the record RUNNING."""

    expect = Expect(
        "failure",
        "success",
        fails={"FAILURE-UNSERIALIZABLE-RETURN"},
        options=(*WORKER, "--task-timeout=1"),
    )

    def serialise_return(self, value: Any) -> Any:
        try:
            return super().serialise_return(value)
        except (TypeError, ValueError) as exc:
            raise _Abandon from exc

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        if isinstance(error, _Abandon):
            return  # the worker moves on; the record stays RUNNING forever
        super().finish(record, error)


class _Abandon(Exception):
    pass


class NaiveFinishedAt(MemoryBackend):
    """finished_at is stored without a timezone."""

    expect = Expect(
        "success",
        "failure",
        fails={"FAILURE-TIMESTAMPS", "SUCCESS-TIMESTAMPS"},
        options=WORKER,
    )

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        super().finish(record, error)
        naive = timezone.make_naive(datetime.fromisoformat(record["finished_at"]), UTC)
        record["finished_at"] = naive.isoformat()
        self.store.save(record)


class FinishedBeforeStarted(MemoryBackend):
    """finished_at is taken from the claim time, before started_at."""

    expect = Expect(
        "success",
        "failure",
        fails={"FAILURE-TIMESTAMPS", "SUCCESS-TIMESTAMPS"},
        options=WORKER,
    )

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        super().finish(record, error)
        started = datetime.fromisoformat(record["started_at"])
        record["finished_at"] = (started - timedelta(milliseconds=5)).isoformat()
        self.store.save(record)


class FinishedAtMoves(MemoryBackend):
    """Every get_result reports a new finished_at for a finished task."""

    expect = Expect("lifecycle", fails={"LIFECYCLE-TRANSITIONS"}, options=WORKER)

    def to_result(self, record: dict[str, Any], task: Any = None) -> Any:
        if record["finished_at"]:
            record = {**record, "finished_at": timezone.now().isoformat()}
        return super().to_result(record, task)


class ForgetsKwargsAfterRun(MemoryBackend):
    """Drops the stored kwargs once the task finished."""

    expect = Expect("refresh", fails={"REFRESH-KEEPS-INPUTS"}, options=WORKER)

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        record["kwargs"] = {}
        super().finish(record, error)


# -- results elsewhere ------------------------------------------------------------
class _DictStore:
    """The FileStore interface over a dict: shared by whom the dict is shared by."""

    def __init__(self, records: dict[str, str], ready: set[str]) -> None:
        self._records = records
        self._ready = ready
        self._lock = threading.Lock()

    def save(self, record: dict[str, Any]) -> None:
        self._records[record["id"]] = json.dumps(record)

    def load(self, result_id: str) -> dict[str, Any] | None:
        text = self._records.get(result_id)
        return json.loads(text) if text is not None else None

    def mark_ready(self, name: str) -> None:
        self._ready.add(name)

    def ready_names(self) -> list[str]:
        return sorted(self._ready)

    def claim(self, name: str) -> bool:
        with self._lock:
            if name not in self._ready:
                return False
            self._ready.discard(name)
            return True


_PROCESS_RECORDS: dict[str, str] = {}
_PROCESS_READY: set[str] = set()
_THREAD = threading.local()


class ResultsOnlyInThisProcess(MemoryBackend):
    """Keeps results in a module-level dict: other processes never see them."""

    expect = Expect(
        "results-elsewhere", fails={"RESULTS-ELSEWHERE-PROCESS"}, options=WORKER
    )

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.store = _DictStore(_PROCESS_RECORDS, _PROCESS_READY)


class ResultsOnlyInThisThread(MemoryBackend):
    """Keeps results per thread (as DummyBackend does) yet says supports_get_result."""

    expect = Expect(
        "results-elsewhere",
        fails={"RESULTS-ELSEWHERE-PROCESS", "RESULTS-ELSEWHERE-THREAD"},
        options=WORKER,
    )

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        if not hasattr(_THREAD, "records"):
            _THREAD.records, _THREAD.ready = {}, set()
        self.store = _DictStore(_THREAD.records, _THREAD.ready)


# -- signals ----------------------------------------------------------------------
class SignalsOutOfOrder(MemoryBackend):
    """Sends task_started after task_finished."""

    expect = Expect(
        "signals-execution", fails={"SIGNALS-EXECUTION-ORDER"}, options=WORKER
    )

    def send_started(self, result: Any) -> None:
        self._pending = result

    def send_finished(self, result: Any) -> None:
        super().send_finished(result)
        super().send_started(self._pending)


class NoStartedSignal(MemoryBackend):
    """Never sends task_started."""

    expect = Expect(
        "signals-execution",
        fails={
            "SIGNALS-EXECUTION-ONCE-EACH",
            "SIGNALS-EXECUTION-ORDER",
            "SIGNALS-EXECUTION-STATUS",
        },
        options=WORKER,
    )

    def send_started(self, result: Any) -> None:
        pass


class RetriesOnce(MemoryBackend):
    """Not broken: retries a failing task once, task_started per attempt.

    docs/decisions.md (retries) lets a backend that retries send task_started
    for each attempt, as long as task_finished goes out once, for the final
    outcome.
    """

    expect = Expect("signals-execution", options=WORKER)

    def execute(self, record: dict[str, Any], worker_id: str) -> None:
        self.start(record, worker_id)
        try:
            task = self.resolve(record)
        except UnresolvableTask as exc:
            self.finish(record, error=exc)
            return
        for attempt in (1, 2):
            result = self.to_result(record, task)
            self.send_started(result)
            try:
                record["return_value"] = self.serialise_return(self.call(task, result))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                if attempt == 2:
                    self.finish(record, error=exc)
                    break
                record["errors"].append(self.error_entry(exc))
                self.before_retry(record, task)
                self.start(record, worker_id)
            else:
                self.finish(record)
                break
        self.send_finished(self.to_result(record, task))

    def before_retry(self, record: dict[str, Any], task: Any) -> None:
        pass


class FinishedSignalPerAttempt(RetriesOnce):
    """Sends task_finished for the failed attempt it then retries."""

    expect = Expect(
        "signals-execution", fails={"SIGNALS-EXECUTION-ONCE-EACH"}, options=WORKER
    )

    def before_retry(self, record: dict[str, Any], task: Any) -> None:
        record["status"] = "FAILED"
        record["finished_at"] = record["last_attempted_at"]
        self.store.save(record)
        self.send_finished(self.to_result(record, task))
        record["finished_at"] = None


class SignalSenderInstance(MemoryBackend):
    """Sends the backend instance, not its class."""

    expect = Expect(
        "signals-execution", fails={"SIGNALS-EXECUTION-SENDER"}, options=WORKER
    )

    def send_started(self, result: Any) -> None:
        compat.task_started.send(self, task_result=result)

    def send_finished(self, result: Any) -> None:
        compat.task_finished.send(self, task_result=result)


class StartedSignalNotRunning(MemoryBackend):
    """task_started carries the result as enqueued (READY)."""

    expect = Expect(
        "signals-execution", fails={"SIGNALS-EXECUTION-STATUS"}, options=WORKER
    )

    def send_started(self, result: Any) -> None:
        record = self.store.load(result.id) or {}
        super().send_started(self.to_result({**record, "status": READY}, result.task))


# -- stored records ------------------------------------------------------------------
class ExecutesTamperedPath(MemoryBackend):
    """Runs whatever callable a stored path names (the unwrapped ``func`` too),
    wrapped in a Task: a callable object is no function, building that Task
    raises InvalidTask out of the worker, and what is behind it stays READY."""

    expect = Expect(
        "security",
        fails={"SECURITY-TAMPERED-PATH-NOT-EXECUTED", "SECURITY-WORKER-SURVIVES"},
        warns={"SECURITY-TAMPERED-PATH-FAILS", "SECURITY-MISSING-TASK-FAILS"},
        options=ADAPTER,
    )

    def resolve(self, record: dict[str, Any]) -> Any:
        try:
            return super().resolve(record)
        except UnresolvableTask:
            try:
                found = import_string(record["path"])
            except ImportError as exc:
                raise UnresolvableTask(str(exc)) from exc
            func = getattr(found, "func", found)
            # Every field: Django 6.0's Task has no defaults.
            return self.task_class(
                func=func,
                backend=record["backend"],
                priority=0,
                queue_name="default",
                run_after=None,
            )


class CrashesOnMissingTask(MemoryBackend):
    """An ImportError from a stale path escapes the worker (the record stays
    RUNNING, and a tampered record behind it READY)."""

    expect = Expect(
        "security",
        fails={"SECURITY-WORKER-SURVIVES"},
        warns={"SECURITY-MISSING-TASK-FAILS", "SECURITY-TAMPERED-PATH-FAILS"},
        options=(*ADAPTER, "--task-timeout=1"),
    )

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        if isinstance(error, UnresolvableTask) and isinstance(
            error.__cause__, ImportError
        ):
            raise error.__cause__
        super().finish(record, error)


class GetResultLeaksImportError(MemoryBackend):
    """get_result raises ImportError for a record whose task no longer imports."""

    expect = Expect(
        "security",
        # The record did end FAILED: only get_result's ImportError is reported.
        warns={"SECURITY-GET-RESULT-NO-IMPORT-ERROR"},
        options=ADAPTER,
    )

    def task_for_result(self, record: dict[str, Any]) -> Any:
        import_string(record["path"])
        return super().task_for_result(record)


class OnlyCatchesException(MemoryBackend):
    """``except Exception`` in the worker: SystemExit from a task kills it."""

    expect = Expect(
        "failure",
        "success",
        fails={
            "FAILURE-BASE-EXCEPTION",
            "FAILURE-ERRORS",
            "FAILURE-EXCEPTION-CLASS",
            "FAILURE-STATUS",
            "FAILURE-TIMESTAMPS",
            "FAILURE-TRACEBACK",
        },
        options=(*WORKER, "--task-timeout=1"),
    )

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        if error is not None and not isinstance(error, Exception):
            raise error
        super().finish(record, error)


class ReclaimsStaleRows(MemoryBackend):
    """A record whose task no longer imports is left RUNNING, and the next
    worker call claims it again ("recovering" it), for ever: every call
    returns, the good tasks all run, only that record never finishes.

    Before LIFECYCLE-NOTHING-LEFT-RUNNING the kit saw only the SHOULD clause
    that such a record ends FAILED.
    """

    expect = Expect(
        "lifecycle",
        "security",
        fails={"LIFECYCLE-NOTHING-LEFT-RUNNING"},
        warns={"SECURITY-MISSING-TASK-FAILS"},
        options=(*ADAPTER, "--task-timeout=1"),
    )

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        if isinstance(error, UnresolvableTask) and isinstance(
            error.__cause__, ImportError
        ):
            return  # left RUNNING: "a later call will retry it"
        super().finish(record, error)

    def run_ready(self, queue_names: Sequence[str] | None = None) -> int:
        for record in iter_records(self):
            if record["status"] == RUNNING:
                self.store.mark_ready(self.ready_name(record))  # claimed again
        return super().run_ready(queue_names)


class NonAtomicClaim(MemoryBackend):
    """Checks a task is free, then takes it: two workers can both take it."""

    expect = Expect("success", fails={"SUCCESS-EXACTLY-ONCE"}, options=WORKER)

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        store = self.store
        original = store.claim

        def claim(name: str) -> bool:
            if not (store.ready / name).exists():
                return False
            time.sleep(0.002)  # the window between the check and the take
            original(name)
            return True

        store.claim = claim
