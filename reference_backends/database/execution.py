"""One attempt of a task: call it, and put what came out in plain values.

The worker runs an attempt in its own thread (:func:`run_here`) or hands it
to a child process (:mod:`.process_pool`), which runs :func:`run_here` too
and sends the :class:`Attempt` back. Either way the worker then sees the
same thing: the return value as JSON text, or the error entry it stores,
with the classes that were raised (what ``autoretry_for`` is matched on).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import compat
from .._lifecycle import error_entry, to_json_text
from . import time_limits
from .retries import exception_paths


@dataclasses.dataclass
class Attempt:
    """What one attempt produced: a return value, or an error."""

    return_value: str | None = None  # JSON text, when it succeeded
    error: dict[str, str] | None = None  # the stored TaskError entry
    raised: list[str] = dataclasses.field(default_factory=list)  # MRO paths
    exc: BaseException | None = None  # in this process only: for the log

    @property
    def failed(self) -> bool:
        return self.error is not None

    @classmethod
    def failure(cls, exc: BaseException) -> Attempt:
        return cls(error=error_entry(exc), raised=exception_paths(exc), exc=exc)

    def message(self) -> dict[str, Any]:
        """The attempt as plain values a pipe can carry (no exception object)."""
        return {
            "return_value": self.return_value,
            "error": self.error,
            "raised": self.raised,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Attempt:
        return cls(
            return_value=message["return_value"],
            error=message["error"],
            raised=list(message["raised"]),
        )


def run_here(task: Any, result: Any, limit: float | None) -> Attempt:
    """Call ``task`` with ``result``'s arguments in this thread.

    Anything it raises is a failed attempt, ``SystemExit`` included, except
    ``KeyboardInterrupt``: someone is stopping this process, and the caller
    records the attempt as lost.
    """
    args = list(result.args)
    if task.takes_context:
        args.insert(0, compat.TaskContext(task_result=result))
    try:
        # ASYNC-EXECUTION-CONTEXT: Task.call runs a coroutine function to
        # completion with the same context as a plain one.
        value = time_limits.call(task, args, result.kwargs, limit)
        return Attempt(return_value=to_json_text(compat.normalize_json(value)))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit included: the task failed
        # SECURITY-WORKER-SURVIVES: whatever the task raised, the loop goes on.
        return Attempt.failure(exc)
