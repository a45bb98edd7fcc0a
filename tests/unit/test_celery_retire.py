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
