"""CeleryAdapter._retire: every worker it was handed is stopped, whatever happens."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.adapters.celery import CeleryAdapter
from conformance.adapters.celery_process import WorkerProcess
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

    def holds_nothing_before(self, app: Any, instant: Any) -> bool:
        if isinstance(self.holds, BaseException):
            raise self.holds
        return not self.holds


def _call_with(adapter: CeleryAdapter, worker: ReleasedWorker) -> None:
    """One run_ready whose worker is ``worker`` and whose task is done at once."""
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


class InspectedApp:
    """A Celery app whose ``inspect`` answers for one worker: what it runs,
    has reserved, and holds for an ``eta`` (None: no answer)."""

    def __init__(self, hostname: str, scheduled: list[Any] | None) -> None:
        answers = {"active": [], "reserved": [], "scheduled": scheduled}

        def question(name: str) -> Any:
            value = answers[name]
            return lambda: None if value is None else {hostname: value}

        inspector = SimpleNamespace(**{name: question(name) for name in answers})
        self.control = SimpleNamespace(inspect=lambda **options: inspector)


NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("scheduled", "free"),
    [
        ([], True),
        ([{"eta": "2026-12-03T13:00:00+00:00"}], True),  # parked an hour ahead
        ([{"eta": "2026-12-03T13:00:00"}], True),  # naive: Celery's UTC
        (
            [
                {"eta": "2026-12-03T13:00:00+00:00"},
                {"eta": "2026-12-03T12:00:05+00:00"},
            ],
            False,
        ),
        ([{"eta": "2026-12-03T17:00:00+05:45"}], False),  # 11:15 UTC: already due
        ([{"eta": "soon"}], False),
        ([{}], False),
        (None, False),  # no answer: not known to hold nothing
    ],
)
def test_a_worker_holding_only_parked_messages_is_free_until_their_eta(
    scheduled: list[Any] | None, free: bool
) -> None:
    worker = WorkerProcess(["true"], "w@host", ["q"])
    app = InspectedApp(worker.hostname, scheduled)
    assert worker.holds_nothing_before(app, NOW + timedelta(minutes=20)) == free
    worker.close()
