"""The tasks a worker must finish before the kit stops it.

A worker that only runs continuously cannot say "nothing is left": the kit
stops it once every task it enqueued that is due (no ``run_after``, or one
that has passed) and in the queues asked for has finished, as far as
``get_result`` shows. The kit knows what it enqueued from ``task_enqueued``,
which every backend sends; what it has seen finish it forgets.

A marker task, enqueued last at the lowest priority in each queue asked for,
makes sure the worker has looked at its queues at all: a worker stopped
before its first look would "pass" clauses about what a worker must *not*
run (a rejected enqueue that was queued all the same).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.utils import timezone

from . import compat, evidence
from .statuses import FINISHED


class Pending:
    """Results the kit enqueued (in this process) and has not seen finish."""

    def __init__(self) -> None:
        self._results: dict[str, Any] = {}
        self._lock = threading.Lock()

    def connect(self) -> None:
        compat.task_enqueued.connect(
            self._enqueued, weak=False, dispatch_uid=f"conformance-pending-{id(self)}"
        )

    def _enqueued(self, sender: Any, task_result: Any = None, **kwargs: Any) -> None:
        result_id = getattr(task_result, "id", None)
        if isinstance(result_id, str) and not task_result.is_finished:
            with self._lock:
                self._results[result_id] = task_result

    def unfinished(
        self,
        queue_names: Sequence[str] | None,
        ignored: Callable[[str], bool] = lambda result_id: False,
    ) -> list[str]:
        """Ids of the due results in ``queue_names`` (None: any) not finished yet.

        A result that is finished, or that ``get_result`` cannot fetch, is
        forgotten: there is nothing to wait for.
        """
        now = timezone.now()
        with self._lock:
            results = list(self._results.values())
        waiting = []
        for result in results:
            task = result.task
            if queue_names is not None and task.queue_name not in queue_names:
                continue
            if task.run_after is not None and task.run_after > now:
                continue
            if ignored(result.id) or self._finished(result):
                continue
            waiting.append(result.id)
        return waiting

    def _finished(self, result: Any) -> bool:
        try:
            fresh = compat.task_backends[result.backend].get_result(result.id)
            finished = fresh.status in FINISHED
        except Exception:
            finished = True  # cannot be fetched: cannot be waited for
        if finished:
            with self._lock:
                self._results.pop(result.id, None)
        return finished


def enqueue_markers(backend: Any, queue_names: Sequence[str] | None) -> list[str]:
    """One marker task per queue (the default queue for every queue), at the
    lowest priority the backend accepts; the tokens whose run marks it done."""
    from . import tasks

    priority = compat.TASK_MIN_PRIORITY if backend.supports_priority else 0
    tokens = []
    for queue in queue_names or [compat.DEFAULT_TASK_QUEUE_NAME]:
        token = uuid.uuid4().hex
        try:
            tasks.capture.using(
                backend=backend.alias, priority=priority, queue_name=queue
            ).enqueue(token)
        except Exception:
            continue  # a queue this alias refuses: nothing to mark
        tokens.append(token)
    return tokens


def markers_ran(tokens: Sequence[str]) -> bool:
    return all(evidence.runs(token) for token in tokens)
