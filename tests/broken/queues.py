"""Backends that get queue-name validation wrong."""

from __future__ import annotations

from typing import Any

from conformance import compat
from reference_backends._lifecycle import new_result
from reference_backends.immediate import ImmediateBackend

from .expect import Expect
from .lenient import validate_except


class IgnoresQueues(ImmediateBackend):
    """Accepts any queue name, whatever QUEUES says."""

    expect = Expect(
        "queues",
        fails={"QUEUES-UNKNOWN-REJECTED"},
        warns={"QUEUES-ENQUEUE-REVALIDATES"},
    )

    def validate_task(self, task: Any) -> None:
        validate_except(super().validate_task, task, "Queue")


class CaseInsensitiveQueues(ImmediateBackend):
    """Compares queue names without case: "DEFAULT" passes for "default"."""

    expect = Expect("queues", fails={"QUEUES-UNKNOWN-REJECTED"})

    def validate_task(self, task: Any) -> None:
        if task.queue_name.lower() in {queue.lower() for queue in self.queues}:
            validate_except(super().validate_task, task, "Queue")
        else:
            super().validate_task(task)


class EmptyQueuesMeansDefault(ImmediateBackend):
    """Reads QUEUES [] as "the default queue only" instead of "any queue"."""

    expect = Expect(
        "queues",
        fails={"QUEUES-EMPTY-ACCEPTS-ANY"},
        outcomes={"QUEUES-ENQUEUE-REVALIDATES": "n/a"},
    )

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.queues: set[str] = self.queues or {compat.DEFAULT_TASK_QUEUE_NAME}


class TrustsTheTask(ImmediateBackend):
    """Never validates in enqueue: a Task checked by another alias gets in."""

    expect = Expect("queues", warns={"QUEUES-ENQUEUE-REVALIDATES"})

    def _new_result(self, task: Any, args: Any, kwargs: Any) -> Any:
        return new_result(self, task, args, kwargs)


class SingleQueue(ImmediateBackend):
    """Accepts every configured queue, then runs everything on "default"."""

    expect = Expect(
        "queues",
        fails={"QUEUES-CONFIGURED-ACCEPTED", "QUEUES-EMPTY-ACCEPTS-ANY"},
        warns={"QUEUES-ENQUEUE-REVALIDATES"},
    )

    def _new_result(self, task: Any, args: Any, kwargs: Any) -> Any:
        return super()._new_result(
            task.using(queue_name=compat.DEFAULT_TASK_QUEUE_NAME), args, kwargs
        )
