"""Making the backend run its tasks, and waiting for what became of them.

The suites never call the backend's worker, or the adapter, directly: a
:class:`Driver` holds the adapter (see :mod:`conformance.adapters`) and runs
ready tasks the way the adapter says.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from .backlog import BACKLOG
from .lost import LOST, check_not_lost
from .statuses import RUNNING
from .support import Api, not_applicable
from .violation import check, describe_exception

if TYPE_CHECKING:
    from .adapters import Adapter


#: Worker calls under way in this process (any driver, any thread): a result
#: is only lost once no worker call that could still finish it is running.
_IN_FLIGHT = {"calls": 0}
_IN_FLIGHT_LOCK = threading.Lock()


class WorkerStalled(BaseException):
    """Raised into a worker pass that outlived its time (:func:`time_limit`).

    A BaseException: a worker's ``except Exception`` around a task does not
    swallow it (and it is raised again every 50 ms until the pass ends).
    """


#: After a pass stalled, later passes get this long at most (plus the
#: adapter's ``pass_allowance``): a backend whose worker blocks is reported
#: once at --task-timeout, not at every clause. Not for adapters that bound
#: their own passes (``bounds_own_passes``).
STALLED_LIMIT = 1.0

#: ``id()`` of the adapters whose worker stalled in this run.
_STALLED: set[int] = set()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`WorkerStalled` into the body after ``seconds`` (SIGALRM).

    Only in the main thread, where signals are delivered, and where the
    platform has ``setitimer``; elsewhere the body runs unlimited. A SIGALRM
    handler and timer set before are put back afterwards.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return
    armed = True

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if armed:
            raise WorkerStalled(f"the worker did not return within {seconds:g} s")

    began = time.monotonic()
    previous = signal.signal(signal.SIGALRM, interrupt)
    pending, interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if pending:  # someone else's timer (pytest-timeout, say): put it back
            left = max(pending - (time.monotonic() - began), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, interval)


class Driver:
    """Runs ready tasks through the adapter and waits for results.

    No worker pass may take longer than the adapter's ``timeout``
    (``--task-timeout``): a worker that blocks is a failure of the clause at
    hand (:class:`WorkerStalled`), and the run goes on.
    """

    def __init__(self, adapter: Adapter, backend: Any) -> None:
        self.adapter = adapter
        self.backend = backend
        BACKLOG.listen()

    @property
    def worker_driven(self) -> bool:
        return bool(self.adapter.executes and self.adapter.worker_driven)

    def run(self, queue_names: Sequence[str] | None = None) -> BaseException | None:
        """One worker pass (nothing to do unless worker-driven).

        Returns what the worker raised instead of raising it: a worker that
        dies is a finding for the clause at hand, not a crash of the kit.
        """
        if not self.worker_driven:
            return None
        return self._pass(queue_names)

    def offer(self, *, repro: str = "") -> None:
        """One pass of the adapter's worker, if it has one, even where the
        backend does not execute (the clause that such a backend leaves its
        tasks READY offers them to a worker all the same); it must return."""
        __tracebackhide__ = True
        check_worker_returned(self._pass(None), repro=repro)

    @property
    def pass_limit(self) -> float:
        """How long one worker pass may take: the timeout and the adapter's
        allowance (a worker to start or stop), plus a little per task that
        may be waiting (:mod:`conformance.backlog`); once one stalled, at
        most :data:`STALLED_LIMIT` and those allowances, unless the adapter
        bounds its own passes (it gives up by itself, and needs its allowance)."""
        adapter = self.adapter
        waiting = adapter.timeout
        if id(adapter) in _STALLED and not adapter.bounds_own_passes:
            waiting = min(waiting, STALLED_LIMIT)
        return waiting + adapter.pass_allowance + BACKLOG.allowance()

    def _pass(self, queue_names: Sequence[str] | None) -> BaseException | None:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT["calls"] += 1
        waiting = BACKLOG.count
        try:
            with time_limit(self.pass_limit):
                self.adapter.run_ready(
                    self.backend, list(queue_names) if queue_names else None
                )
            if not queue_names:
                BACKLOG.drained(waiting)
        except KeyboardInterrupt:
            raise
        except WorkerStalled as exc:
            _STALLED.add(id(self.adapter))
            return exc
        except BaseException as exc:
            return exc
        finally:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT["calls"] -= 1
        return None

    @property
    def patience(self) -> float:
        """How long to wait for a task once the worker has returned: the
        timeout, and nothing once a task was lost (:mod:`conformance.lost`):
        a worker that returned runs nothing more until it is called again."""
        return 0.0 if self.worker_driven and LOST else self.adapter.timeout

    def run_checked(
        self, queue_names: Sequence[str] | None = None, *, repro: str = ""
    ) -> None:
        """:meth:`run`, which must return normally (the clause fails otherwise)."""
        __tracebackhide__ = True
        check_worker_returned(self.run(queue_names), repro=repro)

    def settle(
        self, result: Any, form: str = "sync", *, deadline: float | None = None
    ) -> str | None:
        """Refresh ``result`` (in ``form``) until finished or the timeout (or
        ``deadline``, a ``time.monotonic()`` shared by a batch).

        Returns None when the result could be observed, else why not (the
        backend cannot refresh: ``NotImplementedError``).

        Worker-driven, a result still RUNNING at the end, when no worker call
        is under way, is lost (:mod:`conformance.lost`): found once, at the
        cost of one timeout; after that the kit no longer waits.
        """
        api = Api(form)
        if deadline is None:
            deadline = time.monotonic() + self.patience
        delay = 0.005
        while True:
            # At least one refresh in the form under test, even when finished.
            try:
                api.refresh(result)
            except NotImplementedError as exc:
                # A synchronous backend's result is final already.
                return None if result.is_finished else describe_exception(exc)
            if result.is_finished or time.monotonic() > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        if self.worker_driven and result.status == RUNNING and not _IN_FLIGHT["calls"]:
            LOST.add(result)
        return None

    def finished(self, api: Api, task: Any, *args: Any) -> Any:
        """``task`` enqueued (in ``api``'s form), run and waited for: its result.

        Fails where the worker raises; "n/a" where the result cannot be
        observed (:func:`observable`) or does not finish within the timeout.
        """
        __tracebackhide__ = True
        result = api.enqueue(task, *args)
        self.run_checked()
        observable(self.settle(result, api.form), self.backend, task.name)
        check_not_lost(result, what=task.name)
        if not result.is_finished:
            not_applicable(f"{task.name} did not finish within {self.adapter.timeout}s")
        return result


def check_worker_returned(error: BaseException | None, *, repro: str = "") -> None:
    """The worker pass that raised ``error`` (None: none) must have returned."""
    __tracebackhide__ = True
    check(
        error is None,
        expected="the worker runs the ready tasks without raising",
        observed=describe_exception(error),
        repro=repro,
    )


def run_concurrently(driver: Driver, workers: int) -> list[BaseException | None]:
    """``workers`` worker runs started together, each in its own thread."""
    from django.db import connections

    start = threading.Barrier(workers)
    outcomes: list[BaseException | None] = [None] * workers

    def work(index: int) -> None:
        try:
            start.wait()
            outcomes[index] = driver.run()
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(i,), name=f"conformance-worker-{i}")
        for i in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(driver.adapter.timeout * 10)
    return outcomes


def observable(reason: str | None, backend: Any, what: str) -> None:
    """Fail or "n/a" when a result could not be observed (``reason``)."""
    __tracebackhide__ = True
    if reason is None:
        return
    check(
        not getattr(backend, "supports_get_result", False),
        expected=f"{what}: refresh() answers, as supports_get_result is True",
        observed=reason,
    )
    not_applicable(
        f"the result cannot be observed after the worker ran ({reason}; "
        "supports_get_result=False)"
    )
