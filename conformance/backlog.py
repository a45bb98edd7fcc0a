"""How many tasks a worker pass over every queue may find waiting.

Clauses that only enqueue leave their tasks READY; the next pass over every
queue runs them all, and at full depth, on a loaded machine, that can take
longer than ``--task-timeout``. The pass is then not stalled, it is busy: a
pass's time limit grows by :data:`SECONDS_PER_TASK` for each task enqueued
since the last pass over every queue returned.

Counted from ``task_enqueued`` (the backend sends it in the kit's process,
where nearly every enqueue of the run happens; the clause that enqueues in
other processes announces those, ``enqueued.heard_elsewhere``); a backend that sends no signal gets
no allowance, and fails the signal clauses instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .adapters.enqueued import Enqueued, EnqueuedListener

#: The time one waiting task may add to a pass: about ten times what a kit
#: task took on two CPUs shared by five busy processes (11 ms).
SECONDS_PER_TASK = 0.1

#: Tasks deferred further than this are not waiting for the next pass (the
#: defer clauses park thousands an hour ahead).
HORIZON = timedelta(minutes=1)


def _parked(entry: Enqueued | None) -> bool:
    """Deferred beyond the horizon. Never raises: a receiver that raised
    would break the backend's enqueue (``Signal.send``)."""
    run_after: Any = entry.run_after if entry is not None else None
    try:
        return bool(run_after > datetime.now(UTC) + HORIZON)
    except Exception:  # None, a naive datetime: not parked
        return False


class Backlog(EnqueuedListener):
    """Tasks enqueued since the last pass over every queue returned."""

    def __init__(self) -> None:
        super().__init__()
        self._count = 0

    def record(self, entry: Enqueued | None) -> None:
        # Counted even unreadable: a task was announced, a pass may find it.
        if not _parked(entry):
            self.add(1)

    def add(self, count: int) -> None:
        """``count`` more tasks may be waiting."""
        with self._lock:
            self._count += count

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def allowance(self) -> float:
        """Seconds a pass may add for the tasks it may find waiting."""
        return self.count * SECONDS_PER_TASK

    def drained(self, seen: int) -> None:
        """A pass over every queue returned: the ``seen`` tasks enqueued
        before it began are no longer waiting (later ones may be)."""
        with self._lock:
            self._count = max(self._count - seen, 0)


#: The run's one backlog (a kit run drives one backend).
BACKLOG = Backlog()
