"""Lost tasks: taken by a worker that returned (or died) leaving them RUNNING.

A worker call returns only once the tasks it took have finished (the worker
protocol). A result still RUNNING after it returned, and after the kit waited
``--task-timeout`` for it, will not finish: the kit records it here, once,
under the clause at hand. From then on the kit waits for nothing after a
worker call has returned (a worker that lost one task may be jammed; waiting
out the timeout in every later test costs minutes and shows nothing new), and
every other clause that fails names the lost task as its likely cause.

One registry per process: a kit run tests one backend.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .violation import check

#: How a failure names what may have caused it (the report keeps that line).
LIKELY_CAUSE = "likely cause: "


@dataclass(frozen=True)
class LostTask:
    result_id: str
    task: str
    #: The clause whose test was running when the task was found lost.
    clause: str

    def describe(self) -> str:
        where = f" (found under {self.clause})" if self.clause else ""
        return f"{self.task} (result {self.result_id}){where}"


class LostTasks:
    """The tasks found lost in this run, and the clause at hand."""

    def __init__(self) -> None:
        self._lost: dict[str, LostTask] = {}
        self._lock = threading.Lock()
        #: Set by the plugin before each test: the clause it checks.
        self.at_hand = ""

    def __bool__(self) -> bool:
        return bool(self._lost)

    def holds(self, result_id: str) -> bool:
        return result_id in self._lost

    def add(self, result: Any) -> LostTask:
        task = getattr(getattr(result, "task", None), "name", "a task")
        with self._lock:
            found = self._lost.setdefault(
                result.id, LostTask(str(result.id), str(task), self.at_hand)
            )
        return found

    def all(self) -> list[LostTask]:
        return list(self._lost.values())

    def likely_cause(self, text: str = "") -> str:
        """The line a failure gets while tasks are lost ("" if none, or if
        ``text``, the failure, is about the lost task itself)."""
        lost = [task for task in self.all() if task.result_id not in text]
        if not lost or len(lost) < len(self._lost):
            return ""
        named = "; ".join(task.describe() for task in lost[:3])
        more = f" and {len(lost) - 3} more" if len(lost) > 3 else ""
        return (
            f"{LIKELY_CAUSE}the worker lost {named}{more}: left RUNNING after "
            "the worker returned, so later tasks may never have run"
        )


LOST = LostTasks()


def observed(result: Any, summary: str) -> str:
    """``summary`` of ``result``, saying so if it is lost."""
    if LOST.holds(result.id):
        return (
            f"{summary}; lost: left RUNNING after the worker returned (the kit "
            "stopped waiting for it)"
        )
    return summary


def check_not_lost(result: Any, *, what: str, repro: str = "") -> None:
    """A result the kit found lost fails the clause at hand."""
    __tracebackhide__ = True
    check(
        not LOST.holds(result.id),
        expected=f"{what}: finishes once the worker has returned",
        observed=observed(result, f"status {result.status}"),
        repro=repro,
    )
