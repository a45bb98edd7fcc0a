"""Backends right in the easy case only: each passes a kit that checks its
clause in one situation, and breaks in the variation the kit now also runs
(issue 14: time zones, sub-second run_after, queue names, priority across
queues, awkward values, tracebacks, signal timing, copies, stalls, ids from
several processes, RUNNING before the start, RUNNING seen from another
process, bad records in every position, tampered paths whatever the worker
calls).

Most break one rule on top of :class:`tests.memory_backend.MemoryBackend`,
run with ``--task-worker`` (or its adapter, for the stored records). The
docstring says which variation finds it.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import random
import time
import traceback
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.module_loading import import_string

from conformance import compat
from reference_backends._lifecycle import update
from tests.memory_backend import MemoryBackend, UnresolvableTask

from .expect import Expect
from .storing import AlteringDummy

WORKER = ("--task-worker=tests.memory_backend.run_ready",)
#: For the stored-record clauses: the adapter that can rewrite a record.
ADAPTER = ("--task-adapter=tests.memory_backend.MemoryAdapter", "--task-timeout=1")


def _queue_hash(queue_name: str) -> str:
    """How :class:`MemoryBackend` names a queue in its ready index."""
    return hashlib.sha1(queue_name.encode("utf-8")).hexdigest()[:12]


class _ReadsTheIndex(MemoryBackend):
    """A worker that claims from the ready index by its own rule (:meth:`takes`)."""

    expect: Expect | None = None

    def takes(
        self, record: dict[str, Any], due: bool, queue_names: Sequence[str] | None
    ) -> bool:
        raise NotImplementedError

    def ready_in_order(
        self, queue_names: Sequence[str] | None
    ) -> Iterator[dict[str, Any]]:
        now = timezone.now()
        for name in self.store.ready_names():
            result_id = name.split(".")[4]
            record = self.store.load(result_id)
            due = self.is_due(int(name.split(".")[2]), now)
            if record is None or not self.takes(record, due, queue_names):
                continue
            if self.store.claim(name):
                yield record

    @staticmethod
    def served(record: dict[str, Any], queue_names: Sequence[str] | None) -> bool:
        return queue_names is None or record["queue_name"] in queue_names


# -- time --------------------------------------------------------------------------
class LocalClockAsUtc(MemoryBackend):
    """Compares run_after with the local wall clock taken as UTC
    (``datetime.now().replace(tzinfo=UTC)``): right when TIME_ZONE is UTC,
    5 h 45 early in Asia/Kathmandu."""

    expect = Expect(
        "defer", fails={"DEFER-NOT-EARLY", "DEFER-RUNS-WHEN-DUE"}, options=WORKER
    )

    def is_due(self, due_microseconds: int, now: datetime) -> bool:
        local_as_utc = datetime.now().replace(tzinfo=UTC)  # the bug
        return super().is_due(due_microseconds, local_as_utc)


class WholeSecondRunAfter(MemoryBackend):
    """Keeps run_after to the second, cut down: up to a second early. A kit
    that defers only to whole seconds never sees it."""

    expect = Expect("defer", fails={"DEFER-NOT-EARLY"}, options=WORKER)

    def is_due(self, due_microseconds: int, now: datetime) -> bool:
        whole = due_microseconds // 1_000_000 * 1_000_000
        return super().is_due(whole, now)


# -- processes -----------------------------------------------------------------------
#: Seeded once per process, the same way in each ("reproducible test runs").
_ID_RANDOM = random.Random("conformance-ids")


class SeededRandomIds(AlteringDummy):
    """UUIDs drawn from a generator seeded with a constant: unique within a
    process, its threads and aliases (one shared generator), and the same
    sequence in every process."""

    expect = Expect("ENQUEUE-ID-UNIQUE", fails={"ENQUEUE-ID-UNIQUE"})

    def alter(self, result: Any) -> None:
        update(result, id=str(uuid.UUID(int=_ID_RANDOM.getrandbits(128))))


# -- running means started -----------------------------------------------------------
class ClaimsBatchAsRunning(MemoryBackend):
    """Claims every ready task of a pass at once and marks the batch RUNNING
    (one UPDATE of the status), then runs them one by one: a task waiting
    behind a long one reads RUNNING before its function begins."""

    expect = Expect(
        "lifecycle",
        fails={"LIFECYCLE-READY-UNTIL-RUN"},
        options=(*WORKER, "--task-timeout=2"),
    )

    def run_ready(self, queue_names: Sequence[str] | None = None) -> int:
        worker_id = self.new_worker_id()
        count = 0
        while batch := list(self.ready_in_order(queue_names)):
            for record in batch:
                record["status"] = compat.TaskResultStatus.RUNNING.value
                self.store.save(record)
            for record in batch:
                self.execute(record, worker_id)
            count += len(batch)
        return count


class RunningInTheWorkersMemory(MemoryBackend):
    """Keeps a RUNNING record in the worker's process and stores it only when
    it finishes: this process (any thread) reads RUNNING while the function
    runs; another process reads READY. Seen only from another process while
    a task runs."""

    expect = Expect(
        "results-elsewhere", fails={"RESULTS-ELSEWHERE-PROCESS"}, options=WORKER
    )

    def start(self, record: dict[str, Any], worker_id: str) -> None:
        started = timezone.now()
        record["status"] = compat.TaskResultStatus.RUNNING.value
        record["started_at"] = record["started_at"] or started.isoformat()
        record["last_attempted_at"] = started.isoformat()
        record["worker_ids"].append(worker_id)
        _RUNNING[record["id"]] = record  # not stored: the finish stores it

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        _RUNNING.pop(record["id"], None)
        super().finish(record, error)

    def get_result(self, result_id: str) -> Any:
        running = _RUNNING.get(result_id)
        if running is not None:
            return self.to_result(running)
        return super().get_result(result_id)


#: RunningInTheWorkersMemory's records while they run (in this process only).
_RUNNING: dict[str, dict[str, Any]] = {}


# -- names ---------------------------------------------------------------------------
class PrefixQueueMatch(_ReadsTheIndex):
    """Selects queues by prefix (a ``LIKE 'name%'`` or a key-pattern scan): a
    worker for "queue" also runs "queue-a"."""

    expect = Expect("worker-queues", fails={"WORKER-QUEUES-SELECTED"}, options=WORKER)

    def takes(
        self, record: dict[str, Any], due: bool, queue_names: Sequence[str] | None
    ) -> bool:
        name = record["queue_name"]
        return due and (
            queue_names is None or any(name.startswith(q) for q in queue_names)
        )


class CaseInsensitiveQueueMatch(_ReadsTheIndex):
    """Selects queues ignoring case (a case-insensitive collation): a worker
    for "queue-a" also runs "QUEUE-A"."""

    expect = Expect("worker-queues", fails={"WORKER-QUEUES-SELECTED"}, options=WORKER)

    def takes(
        self, record: dict[str, Any], due: bool, queue_names: Sequence[str] | None
    ) -> bool:
        name = record["queue_name"].casefold()
        return due and (
            queue_names is None or name in {q.casefold() for q in queue_names}
        )


class DueTasksIgnoreQueue(_ReadsTheIndex):
    """Selects queues for tasks ready at once, but a deferred task that came
    due is taken by whichever worker finds it (a scheduler that promotes due
    tasks into the queue of the worker that promotes them)."""

    expect = Expect("worker-queues", fails={"WORKER-QUEUES-SELECTED"}, options=WORKER)

    def takes(
        self, record: dict[str, Any], due: bool, queue_names: Sequence[str] | None
    ) -> bool:
        return due and (bool(record["run_after"]) or self.served(record, queue_names))


# -- order ---------------------------------------------------------------------------
class PriorityWithinEachQueue(MemoryBackend):
    """Serves its queues one after the other, by name, highest priority first
    within each: right while every task is in one queue."""

    expect = Expect("ordering", fails={"ORDERING-PRIORITY"}, options=WORKER)

    def ready_in_order(
        self, queue_names: Sequence[str] | None
    ) -> Iterator[dict[str, Any]]:
        from conformance.settings_file import QUEUES

        for queue in sorted(queue_names or QUEUES):
            yield from super().ready_in_order([queue])


class PriorityAsText(MemoryBackend):
    """Sorts priorities as text: the index key is the priority unpadded, so
    "-1" comes before "10", and "9" after "10"."""

    expect = Expect("ordering", fails={"ORDERING-PRIORITY"}, options=WORKER)

    def ready_name(self, record: dict[str, Any]) -> str:
        _, rest = super().ready_name(record).split(".", 1)
        return f"{100 - int(record['priority'])}.{rest}"


# -- values --------------------------------------------------------------------------
def _map_text(value: Any, change: Any) -> Any:
    """``value`` with ``change`` applied to every string in it, keys too."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_map_text(item, change) for item in value]
    if isinstance(value, dict):
        return {change(k): _map_text(item, change) for k, item in value.items()}
    return value


class _LossyText(MemoryBackend):
    """Passes every stored string, arguments and return value, through :meth:`clean`."""

    expect: Expect | None = None

    def clean(self, text: str) -> str:
        raise NotImplementedError

    def new_record(
        self, task: Any, stored_args: list[Any], stored_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        return super().new_record(
            task,
            _map_text(stored_args, self.clean),
            _map_text(stored_kwargs, self.clean),
        )

    def serialise_return(self, value: Any) -> Any:
        return _map_text(super().serialise_return(value), self.clean)


#: What a lossy text store breaks: the function's arguments, result.args
#: (from enqueue and get_result) and the return value.
_LOSSY = {
    "ARGUMENTS-JSON-ROUND-TRIP",
    "JSON-GET-RESULT-PRESERVES",
    "JSON-VALUES-PRESERVED",
    "SUCCESS-RETURN-VALUE",
}


class StripsNul(_LossyText):
    """Removes NUL from stored strings (PostgreSQL text cannot hold it), silently."""

    expect = Expect("arguments", "json", "success", fails=_LOSSY, options=WORKER)

    def clean(self, text: str) -> str:
        return text.replace("\x00", "")


class ReplacesLoneSurrogates(_LossyText):
    """Stores strings as UTF-8 with errors="replace": a lone surrogate becomes "?"."""

    expect = Expect("arguments", "json", "success", fails=_LOSSY, options=WORKER)

    def clean(self, text: str) -> str:
        return text.encode("utf-8", "replace").decode("utf-8")


class FalsyReturnIsNone(MemoryBackend):
    """Stores ``value or None``: [], {}, 0, "" and False come back None."""

    expect = Expect("success", fails={"SUCCESS-RETURN-VALUE"}, options=WORKER)

    def serialise_return(self, value: Any) -> Any:
        return super().serialise_return(value) or None


# -- errors --------------------------------------------------------------------------
class TracebackIsLastLine(MemoryBackend):
    """Keeps only "module.Class: message" (``format_exception_only``): the
    class name and the message are there, the traceback is not."""

    expect = Expect("failure", fails={"FAILURE-TRACEBACK"}, options=WORKER)

    def error_entry(self, error: BaseException) -> list[str]:
        path, _ = super().error_entry(error)
        return [path, "".join(traceback.format_exception_only(error))]


class TracebackCutShort(MemoryBackend):
    """Keeps the first four frames (``format_exception(limit=4)``, to save
    space): whole for a task that raises in its own body, cut above the
    raising frame for a deep call chain or a coroutine."""

    expect = Expect("failure", fails={"FAILURE-TRACEBACK"}, options=WORKER)

    def error_entry(self, error: BaseException) -> list[str]:
        path, _ = super().error_entry(error)
        return [path, "".join(traceback.format_exception(error, limit=4))]


# -- signal timing -------------------------------------------------------------------
class EnqueuedBeforeStored(MemoryBackend):
    """Sends task_enqueued, then stores the result: a receiver's get_result
    finds nothing. The order of the three signals is right."""

    expect = Expect(
        "signals-execution", warns={"SIGNALS-EXECUTION-STATE-STORED"}, options=WORKER
    )

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        self.validate_task(task)
        record = self.new_record(
            task, json.loads(json.dumps(list(args))), json.loads(json.dumps(kwargs))
        )
        result = self.to_result(record, task)
        compat.task_enqueued.send(type(self), task_result=result)
        self.store.save(record)
        self.store.mark_ready(self.ready_name(record))
        return result


class StartedAfterTheBody(MemoryBackend):
    """Sends task_started (carrying RUNNING) once the function has returned,
    still before task_finished."""

    expect = Expect(
        "signals-execution", fails={"SIGNALS-EXECUTION-ORDER"}, options=WORKER
    )

    def send_started(self, result: Any) -> None:
        self.started = result

    def call(self, task: Any, result: Any) -> Any:
        try:
            return super().call(task, result)
        finally:
            super().send_started(self.started)


class FinishedBeforeStored(MemoryBackend):
    """Sends task_finished (carrying the final state), then stores that state:
    a receiver's get_result still reads RUNNING."""

    expect = Expect(
        "signals-execution", warns={"SIGNALS-EXECUTION-STATE-STORED"}, options=WORKER
    )

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        save, self.store.save = self.store.save, lambda record: None
        try:
            super().finish(record, error)  # the final state, in memory only
        finally:
            self.store.save = save
        super().send_finished(self.to_result(record))
        save(record)

    def send_finished(self, result: Any) -> None:
        pass  # sent by finish(), before the save


# -- copies --------------------------------------------------------------------------
_RESULTS: dict[str, Any] = {}


class HandsOutItsCache(MemoryBackend):
    """Keeps the TaskResults it read, by id, and hands the same object out
    again while the status is unchanged: what a caller appends to its
    args, errors or worker_ids, or changes in its return value, the next
    get_result shows. enqueue's result is a fresh one (the kit's one check
    of copies)."""

    expect = Expect(
        "immutability", warns={"IMMUTABILITY-RESULT-ARGS-ISOLATED"}, options=WORKER
    )

    def get_result(self, result_id: str) -> Any:
        fresh = super().get_result(result_id)
        cached = _RESULTS.get(result_id)
        if cached is not None and cached.status == fresh.status:
            return cached
        _RESULTS[result_id] = fresh
        return fresh


# -- bad records, in every position -------------------------------------------------
class SkipsTheTaskAfterABadRecord(MemoryBackend):
    """On a bad record, fails it and advances the claim iterator once more
    (``next(rows)``, meant to step over the bad one): the task after it is
    claimed and never run. Two bad records in a row before a good one, as
    the old kit had them, lose only the second bad record."""

    expect = Expect(
        "security",
        fails={"SECURITY-WORKER-SURVIVES"},
        warns={"SECURITY-TAMPERED-PATH-FAILS", "SECURITY-MISSING-TASK-FAILS"},
        options=ADAPTER,
    )

    def run_ready(self, queue_names: Sequence[str] | None = None) -> int:
        worker_id = self.new_worker_id()
        count = 0
        while True:
            ran = 0
            rows = self.ready_in_order(queue_names)
            for record in rows:
                ran += 1
                try:
                    self.resolve(record)
                except UnresolvableTask as exc:
                    self.start(record, worker_id)
                    self.finish(record, error=exc)
                    next(rows, None)  # the bug
                    continue
                self.execute(record, worker_id)
            if not ran:
                return count
            count += ran


class RollsBackTheBatchOnABadRecord(MemoryBackend):
    """Runs each listing as one transaction, and a bad record rolls it back:
    the good tasks run before it in the listing are READY again, and run a
    second time. Bad records at the head of the queue, as the old kit had
    them, roll back nothing."""

    expect = Expect("security", fails={"SECURITY-WORKER-SURVIVES"}, options=ADAPTER)

    def run_ready(self, queue_names: Sequence[str] | None = None) -> int:
        worker_id = self.new_worker_id()
        count = 0
        while True:
            ran = 0
            done: list[dict[str, Any]] = []  # this transaction's records, as claimed
            for record in self.ready_in_order(queue_names):
                claimed = copy.deepcopy(record)
                try:
                    self.resolve(record)
                except UnresolvableTask:
                    for before in done:  # the rollback: back to READY
                        self.store.save(before)
                        self.store.mark_ready(self.ready_name(before))
                    done = []
                else:
                    done.append(claimed)
                self.execute(record, worker_id)
                ran += 1
            if not ran:
                return count
            count += ran


# -- tampered paths, whatever the worker calls ---------------------------------------
class CallsWhatItFinds(MemoryBackend):
    """Runs whatever callable a stored path names (``obj(*args)``), and
    fails a task whose signals raise. Django's logging receiver raises on a
    plain function (no ``module_path``): only that keeps it from running
    one. The old kit's look-alike was not callable."""

    expect = Expect(
        "security",
        fails={"SECURITY-TAMPERED-PATH-NOT-EXECUTED"},
        warns={"SECURITY-TAMPERED-PATH-FAILS"},
        options=ADAPTER,
    )

    def runs(self, found: Any) -> bool:
        """Whether a non-Task ``found`` at a stored path is run."""
        return callable(found)

    def resolve(self, record: dict[str, Any]) -> Any:
        try:
            return super().resolve(record)
        except UnresolvableTask as exc:
            if isinstance(exc.__cause__, ImportError):
                raise
            found = import_string(record["path"])
            if not self.runs(found):
                raise
            return found

    def call(self, task: Any, result: Any) -> Any:
        if isinstance(task, self.task_class):
            return super().call(task, result)
        return task(*result.args, **result.kwargs)

    def execute(self, record: dict[str, Any], worker_id: str) -> None:
        try:
            super().execute(record, worker_id)
        except Exception as exc:  # a receiver raised: the task fails
            self.finish(record, error=exc)


class RunsPlainFunctions(CallsWhatItFinds):
    """Still runs plain functions at a stored path ("tasks from before
    django.tasks"), nothing else that is not a Task: only Django's logging
    receiver, raising on the function's missing ``module_path``, keeps it
    from running one. Without other receivers, it runs."""

    expect = Expect(
        "security",
        fails={"SECURITY-TAMPERED-PATH-NOT-EXECUTED"},
        warns={"SECURITY-TAMPERED-PATH-FAILS"},
        options=ADAPTER,
    )

    def runs(self, found: Any) -> bool:
        return inspect.isfunction(found)


# -- stalls --------------------------------------------------------------------------
class WaitsForTheHead(MemoryBackend):
    """Before each pass, sleeps until the task at the head of its queues is
    due (a blocking pop on a delay queue): a task deferred by an hour at the
    head holds the worker, and everything behind it, for an hour."""

    expect = Expect(
        "defer",
        fails={"DEFER-DOES-NOT-BLOCK", "DEFER-NOT-EARLY", "DEFER-RUNS-WHEN-DUE"},
        options=(*WORKER, "--task-timeout=1"),
    )

    def run_ready(self, queue_names: Sequence[str] | None = None) -> int:
        served = None if queue_names is None else set(map(_queue_hash, queue_names))
        for name in self.store.ready_names():
            _, _, due, queue, _ = name.split(".")
            if served is None or queue in served:
                now = int(timezone.now().timestamp() * 1_000_000)
                time.sleep(max(0, int(due) - now) / 1_000_000)
                break
        return super().run_ready(queue_names)
