"""Making the backend run its tasks, and waiting for what became of them.

The suites never call the backend's worker, or the adapter, directly: a
:class:`Driver` holds the adapter (see :mod:`conformance.adapters`) and runs
ready tasks the way the adapter says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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


class Driver:
    """Runs ready tasks through the adapter and waits for results."""

    def __init__(self, adapter: Adapter, backend: Any) -> None:
        self.adapter = adapter
        self.backend = backend

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

    def _pass(self, queue_names: Sequence[str] | None) -> BaseException | None:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT["calls"] += 1
        try:
            self.adapter.run_ready(
                self.backend, list(queue_names) if queue_names else None
            )
        except KeyboardInterrupt:
            raise
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

    def settle(self, result: Any, form: str = "sync") -> str | None:
        """Refresh ``result`` (in ``form``) until finished or the timeout.

        Returns None when the result could be observed, else why not (the
        backend cannot refresh: ``NotImplementedError``).

        Worker-driven, a result still RUNNING at the end, when no worker call
        is under way, is lost (:mod:`conformance.lost`): found once, at the
        cost of one timeout; after that the kit no longer waits.
        """
        api = Api(form)
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
