"""CeleryAdapter._retire: every worker it was handed is stopped, whatever happens."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from conformance.adapters.celery import CeleryAdapter
from conformance.driver import WorkerStalled


class FakeWorker:
    """A real process (so that signals reach something) that release() fails on."""

    def __init__(self, raises: BaseException) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"]
        )
        self.raises = raises
        self.stopped = False

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def release(self, app: Any, queues: list[str]) -> None:
        raise self.raises

    def terminate(self) -> None:
        if self.alive:
            self.process.terminate()

    def stop(self, timeout: float) -> None:
        self.stopped = True
        if self.alive:
            self.process.kill()
        self.process.wait()


@pytest.mark.parametrize("raised", [WorkerStalled("limit"), OSError("no broker")])
def test_a_worker_whose_release_raised_is_stopped(raised: BaseException) -> None:
    adapter = CeleryAdapter()
    adapter.celery_app = lambda backend: None  # type: ignore[method-assign]
    worker = FakeWorker(raised)
    try:
        if isinstance(raised, Exception):
            adapter._retire(None, worker, ["q"])  # type: ignore[arg-type]
        else:
            with pytest.raises(WorkerStalled):
                adapter._retire(None, worker, ["q"])  # type: ignore[arg-type]
        for stopper in adapter._stoppers:
            stopper.join(10)
        assert worker.stopped
        assert not worker.alive
    finally:
        adapter.enqueued.stop()
        if worker.alive:
            worker.process.kill()
            worker.process.wait()


class ReleasedWorker(FakeWorker):
    """Releases its queues; then holds nothing, holds a message, or the
    question is interrupted (``holds``: True, False or what it raises)."""

    def __init__(self, holds: bool | BaseException) -> None:
        super().__init__(RuntimeError("unused"))
        self.holds = holds

    def release(self, app: Any, queues: list[str]) -> None:
        pass

    def holds_nothing(self, app: Any) -> bool:
        if isinstance(self.holds, BaseException):
            raise self.holds
        return not self.holds


def _call_with(adapter: CeleryAdapter, worker: ReleasedWorker) -> None:
    """One run_ready whose worker is ``worker`` and whose task is done at once."""
    from types import SimpleNamespace

    adapter.celery_app = lambda backend: None  # type: ignore[method-assign]
    adapter.due = lambda backend, names: {"id": "q"}  # type: ignore[method-assign]
    adapter._worker_for = lambda backend, queues: worker  # type: ignore[assignment,method-assign,return-value]
    adapter._wait = lambda backend, waiting, worker: None  # type: ignore[method-assign]
    adapter._drain = lambda app, queues, worker: None  # type: ignore[method-assign]
    adapter._prepare_standby = lambda backend: None  # type: ignore[method-assign]
    adapter.run_ready(SimpleNamespace(queues=["q"]), ["q"])


@pytest.mark.parametrize(
    ("holds", "kept"),
    [(False, True), (True, False), (WorkerStalled("limit"), False)],
    ids=["holds-nothing", "holds-a-message", "interrupted"],
)
def test_a_released_worker_is_kept_only_when_it_holds_nothing(
    holds: bool | BaseException, kept: bool
) -> None:
    """Kept, it is the next call's standby (no new worker to boot); holding a
    message (a deferred task it took), or not known to hold none, it is
    stopped: its warm shutdown gives the message back to the broker."""
    adapter = CeleryAdapter()
    worker = ReleasedWorker(holds)
    try:
        if isinstance(holds, BaseException):
            with pytest.raises(WorkerStalled):
                _call_with(adapter, worker)
        else:
            _call_with(adapter, worker)
        for stopper in adapter._stoppers:
            stopper.join(10)
        assert (adapter._standby is worker) == kept
        assert worker.stopped == (not kept)
        assert worker.alive == kept
    finally:
        adapter.enqueued.stop()
        if worker.alive:
            worker.process.kill()
            worker.process.wait()
