"""The worker protocol: how the kit makes a backend run its tasks.

Backends run tasks in very different ways. An adapter tells the kit the one
thing it cannot learn from the Tasks API itself: how to get ready tasks
executed, and whether the backend executes at all.

Three ways a backend can run tasks, and how the kit drives each:

* synchronously, inside ``enqueue`` (Django's ImmediateBackend):
  ``synchronous = True``, nothing to drive;
* on its own, in the background (a thread pool, an always-on worker): the
  kit polls ``refresh()`` until the result is finished or ``timeout`` passes;
* only when a worker is told to (a queue and a worker command):
  ``worker_driven = True``, and :meth:`Adapter.run_ready` runs the worker.
  Ordering, deferral and queue-selection clauses need this mode: they enqueue
  first, then let the worker go.

An adapter the kit does not know (the default :class:`Adapter`, without a
``--task-worker``) is *unsettled*: :meth:`Adapter.probe` enqueues one task
before the first clause runs and settles which of the three it is, or that
the kit cannot see the backend execute anything (then execution clauses are
"n/a" and :attr:`Adapter.hint` says to pass ``--task-worker``).
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .. import guide

#: ``worker(backend, queue_names)`` runs every task that is ready now and
#: returns when none is left; ``queue_names`` None means every queue.
WorkerCallable = Callable[[Any, Sequence[str] | None], None]


#: The worker capabilities an adapter or a ``--task-worker`` callable declares.
CAPABILITIES = (
    "selects_queues",
    "runs_in_other_threads",
    "runs_concurrently",
    "orders_across_queues",
)


def rewrite_task_path(rows: Any, result_id: str, path: str) -> None:
    """Set ``task_path`` on the one stored row the queryset ``rows`` selects
    (the security clauses' tampering); ``LookupError`` when it selects none."""
    if rows.update(task_path=path) != 1:
        raise LookupError(f"no stored result {result_id!r}")


def sibling_aliases(backend: Any, shares: Callable[[Any], bool]) -> list[str]:
    """``backend``'s alias first, then every other ``TASKS`` alias whose
    backend ``shares`` its storage.

    The kit enqueues through several aliases of the backend under test
    (``conformance-open-queues``, ``conformance-secondary``) and expects one
    worker call to run them all: an adapter whose worker serves one alias at
    a time serves each of these.
    """
    from django.conf import settings

    from .. import compat

    aliases = [backend.alias]
    for alias in settings.TASKS:
        if alias != backend.alias and shares(compat.task_backends[alias]):
            aliases.append(alias)
    return aliases


#: Signals a worker may take over while it runs in the kit's main thread.
_HANDLED_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGQUIT", "SIGHUP")
    if hasattr(signal, name)
)


@contextmanager
def signal_handlers_kept() -> Iterator[None]:
    """A worker that installs signal handlers (a graceful stop) must not leave
    them in the kit's process: pytest's Ctrl-C must still work."""
    if threading.current_thread() is not threading.main_thread():
        # Handlers belong to the main thread: a worker called from another
        # thread cannot install any (signal.signal raises there).
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in _HANDLED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


class RecordAccessUnsupported(NotImplementedError):
    """The adapter cannot reach the backend's stored task records."""


class Adapter:
    """Default behaviour: a backend that executes on its own, polled until done."""

    #: False for backends that never run tasks (a dummy): execution clauses n/a.
    executes: bool = True
    #: True when tasks only run when :meth:`run_ready` is called. Ordering and
    #: deferral clauses need this: they enqueue first, then let the worker go.
    worker_driven: bool = False
    #: True when the backend runs each task inside ``enqueue`` (the result
    #: ``enqueue`` returns is already finished). Clauses that need a task to
    #: wait (priority order, RUNNING seen from outside) do not apply.
    synchronous: bool = False
    #: True when :meth:`set_task_path` can rewrite a stored record.
    record_access: bool = False
    #: False until the execution mode is known. Only the default adapter
    #: without a worker starts unsettled; :meth:`probe` settles it.
    settled: bool = True
    #: Why the kit could not see the backend execute, and what to do about it.
    hint: str = ""

    # What the worker can do. Workers are the backend's, not part of Django's
    # contract: a clause that needs a capability the worker lacks is "n/a",
    # never a failure. A ``--task-worker`` callable declares them as
    # attributes of the same names (``worker.selects_queues = False``).
    #: The worker runs only the queues it is given (``queue_names``).
    selects_queues: bool = True
    #: The worker may be called from a thread other than the one that enqueued.
    runs_in_other_threads: bool = True
    #: Two calls of the worker may run at the same time.
    runs_concurrently: bool = True
    #: One call for several queues orders their tasks by priority together.
    #: False for a worker that takes its queues one after another (a worker
    #: of one queue, or queue order before priority, as configured): Django
    #: says nothing of how a worker interleaves queues, so priority is then
    #: checked within one queue.
    orders_across_queues: bool = True

    @property
    def pass_allowance(self) -> float:
        """Seconds one worker pass may take beyond ``timeout`` (--task-timeout):
        what the worker needs around the waiting (a process to start, one to
        stop). The kit's limit on a pass is ``timeout`` plus this. A
        ``--task-worker`` callable declares it as an attribute."""
        return float(getattr(self._worker, "pass_allowance", 0.0) or 0.0)

    @property
    def bounds_own_passes(self) -> bool:
        """True when :meth:`run_ready` gives up waiting by itself, within the
        kit's limit, and stops its worker: once a pass stalled, later passes
        keep their whole limit instead of :data:`conformance.driver.STALLED_LIMIT`
        (a worker started per pass needs more than that just to start)."""
        return bool(getattr(self._worker, "bounds_own_passes", False))

    def __init__(self, worker: WorkerCallable | None = None, timeout: float = 10.0):
        self._worker = worker
        self.timeout = timeout
        self._probe_outcome = ""
        if worker is not None:
            self.worker_driven = True
            for capability in CAPABILITIES:
                declared = getattr(worker, capability, None)
                if declared is not None:
                    setattr(self, capability, bool(declared))
        elif type(self) is Adapter:
            # An unknown backend and no worker: find out how it executes.
            self.settled = False

    # -- execution -------------------------------------------------------
    def run_ready(self, backend: Any, queue_names: Sequence[str] | None = None) -> None:
        """Run every task that is ready now; return when none is left."""
        if self._worker is not None:
            self._worker(backend, queue_names)

    # -- probing an unknown backend ---------------------------------------
    def probe(self, backend: Any) -> None:
        """Settle how an unknown backend executes, by enqueueing one task.

        * the result ``enqueue`` returns is finished: synchronous;
        * it runs within ``timeout`` on its own (the task records its run, or
          the refreshed result is finished): executes on its own;
        * otherwise the kit cannot make it run: ``executes`` becomes False
          and :attr:`hint` says to pass ``--task-worker``.

        Called once, before the first clause runs (the database is migrated
        by then). Never raises: a backend that cannot even enqueue fails the
        enqueue clauses, not the probe.
        """
        if self.settled:
            return
        self.settled = True
        from .. import evidence, tasks

        token = uuid.uuid4().hex
        try:
            result = tasks.capture.using(backend=backend.alias).enqueue(token)
        except Exception as exc:
            self._probe_outcome = f"probe: enqueue raised {type(exc).__name__}"
            return
        if result.is_finished:
            self.synchronous = True
            self._probe_outcome = "probe: runs tasks inside enqueue"
            return
        # Did it run? The task's own record says so even where results cannot
        # be refreshed (no get_result).
        deadline = time.monotonic() + self.timeout
        refreshable = True
        while time.monotonic() <= deadline:
            if evidence.runs(token) or result.is_finished:
                self._probe_outcome = "probe: executes tasks on its own"
                return
            if refreshable:
                try:
                    result.refresh()
                except Exception:
                    refreshable = False
            time.sleep(0.05)
        self.executes = False
        self._probe_outcome = "probe: no execution observed"
        self.hint = (
            f"no task ran within {self.timeout:g} s, and no worker was given: pass "
            "--task-worker=module.callable (the worker protocol: "
            f"{guide.command('worker-protocol')})"
        )

    # -- the end of the run --------------------------------------------------
    def close(self, backend: Any) -> None:
        """Called once, after the last clause: remove what the run left in
        services it shares with others (a broker's queues, result keys).
        Must not raise; the default has nothing to remove."""

    def unannounced_ids(self, backend: Any) -> set[str]:
        """Ids of tasks the worker took that no enqueue of the run announced
        (``task_enqueued``): a message sent by an ``enqueue`` that then
        raised. Empty where the adapter cannot tell."""
        return set()

    # -- stored records (security and robustness clauses) ----------------
    def set_task_path(self, backend: Any, result_id: str, path: str) -> None:
        """Rewrite the task path stored for ``result_id`` (a tampered row)."""
        raise RecordAccessUnsupported(type(self).__name__)

    def describe(self) -> str:
        parts = [type(self).__name__]
        describe = getattr(self._worker, "describe", None)
        if callable(describe):
            parts.append(f"worker={describe()}")
        elif self._worker is not None:
            name = getattr(self._worker, "__qualname__", repr(self._worker))
            parts.append(f"worker={getattr(self._worker, '__module__', '?')}.{name}")
        lacks = [name for name in CAPABILITIES if not getattr(self, name)]
        if self.worker_driven and lacks:
            parts.append(f"(worker: not {', not '.join(lacks)})")
        if not self.settled:
            parts.append("(execution mode probed before the first clause)")
        elif self._probe_outcome:
            parts.append(f"({self._probe_outcome})")
        return " ".join(parts)
