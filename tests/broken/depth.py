"""Backends right in the easy case only: each passes a kit that checks its
clause in one situation, and breaks in the variation the kit now also runs
(issue 14: time zones, sub-second run_after, queue names, priority across
queues, awkward values, tracebacks, signal timing, copies, stalls).

Each breaks one rule on top of :class:`tests.memory_backend.MemoryBackend`,
run with ``--task-worker``. The docstring says which variation finds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from tests.memory_backend import MemoryBackend

from .expect import Expect

WORKER = ("--task-worker=tests.memory_backend.run_ready",)


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

    expect = Expect(
        "ordering",
        fails={"ORDERING-PRIORITY"},
        warns={"ORDERING-TIES-FIFO"},
        options=WORKER,
    )

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
