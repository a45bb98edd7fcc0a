"""The tasks a worker must finish before the kit stops it.

A worker that only runs continuously cannot say "nothing is left": the kit
stops it once every task it enqueued that is due (no ``run_after``, or one
that has passed) and in the queues asked for has finished, as far as
``get_result`` shows. The kit knows what it enqueued from ``task_enqueued``
(Django's and the backport's), which every backend sends; what it has seen
finish it forgets.

A marker task, enqueued last at the lowest priority in each queue asked for,
makes sure the worker has looked at its queues at all: a worker stopped
before its first look would "pass" clauses about what a worker must *not*
run (a rejected enqueue that was queued all the same).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from . import compat, evidence
from .statuses import FINISHED

if TYPE_CHECKING:
    from .adapters.enqueued import Enqueued


class Pending:
    """Results the kit enqueued (in this process) and has not seen finish.

    Built on :class:`~conformance.adapters.enqueued.EnqueuedLog`, which hears
    Django's ``task_enqueued`` and the ``django-tasks`` backport's: a backend
    written for the backport is waited for too.
    """

    def __init__(self) -> None:
        from .adapters.enqueued import EnqueuedLog

        self.log = EnqueuedLog()

    def connect(self) -> None:
        self.log.listen()

    def disconnect(self) -> None:
        self.log.stop()

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
        waiting = []
        for entry in self.log.entries():
            if queue_names is not None and entry.queue_name not in queue_names:
                continue
            if not entry.due(now):
                continue
            if ignored(entry.id) or self._finished(entry):
                continue
            waiting.append(entry.id)
        return waiting

    def _finished(self, entry: Enqueued) -> bool:
        try:
            fresh = compat.task_backends[entry.backend].get_result(entry.id)
            finished = fresh.status in FINISHED
        except Exception:
            finished = True  # cannot be fetched: cannot be waited for
        if finished:
            self.log.forget({entry.id})
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
