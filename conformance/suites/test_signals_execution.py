"""Task signals around execution (specs/signals-execution.toml).

Signals are read from the kit's evidence file: every process of the run that
imports the kit's tasks records the signals it sends, so a worker process is
covered as well as this one.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from conformance import evidence
from conformance.shared_batch import Label, SharedBatches
from conformance.statuses import RUNNING
from conformance.support import Api, clause

LABELS = [
    Label.CAPTURE,
    Label.RETURN_SAMPLE,
    Label.FAIL_TASK_FAILURE,
    Label.FAIL_SYSTEM_EXIT,
]
HINT = (
    " (signals sent in a worker process are recorded only if it imports the kit's "
    "tasks with CONFORMANCE_SETTINGS_FILE inherited)"
)


#: A backend running tasks on its own may store the outcome a moment before
#: it sends task_finished: wait for it, but only once per run in vain.
_PATIENCE = {"left": True}


def _signals(
    api: Api, shared_batches: SharedBatches, label: Label
) -> tuple[Any, Any, list[evidence.RecordedSignal]]:
    job, result = shared_batches.finished(label, api.form)
    task_adapter = shared_batches.adapter
    on_its_own = not (task_adapter.worker_driven or task_adapter.synchronous)
    wait = task_adapter.timeout if on_its_own and _PATIENCE["left"] else 0.0
    deadline = time.monotonic() + wait
    while True:
        events = list(evidence.recorded_signals({result.id}))
        if any(e.signal == "finished" for e in events):
            break
        if time.monotonic() > deadline:
            if wait:
                _PATIENCE["left"] = False
            break
        time.sleep(0.02)
    return job, result, events


def _names(events: list[evidence.RecordedSignal]) -> list[str]:
    return [event.signal for event in events]


@clause("SIGNALS-EXECUTION-ONCE-EACH")
@pytest.mark.parametrize("label", LABELS)
def test_each_signal_once(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job, result, events = _signals(api, shared_batches, label)
    counts = {
        name: _names(events).count(name) for name in ("enqueued", "started", "finished")
    }
    # A backend that retried the task MAY send task_started per attempt
    # (kit decisions (retries)); task_finished stays once, for the final outcome.
    started = {1, max(1, result.attempts)}
    job.check(
        counts["enqueued"] == 1
        and counts["started"] in started
        and counts["finished"] == 1,
        expected="task_enqueued and task_finished once each, task_started once "
        "(or once per attempt where the task was retried)",
        observed=f"sent {counts}, attempts={result.attempts}"
        + ("" if events else HINT),
    )


def _stored_in_time(event: evidence.RecordedSignal, final: str) -> bool:
    """What a receiver of task_enqueued or task_finished saw through
    get_result(id): the result, with its final status for task_finished.
    Unobserved (a task other than capture, get_result refused in an async
    context) counts as in time."""
    stored = event.stored_status
    if stored is None or stored == "raised SynchronousOnlyOperation":
        return True
    if event.signal == "enqueued":
        return not stored.startswith("raised ")
    return stored == final


@clause("SIGNALS-EXECUTION-ORDER")
@pytest.mark.parametrize("label", LABELS)
def test_signal_order(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    job, _, events = _signals(api, shared_batches, label)
    names = [
        name for name in _names(events) if name in {"enqueued", "started", "finished"}
    ]
    # Each signal's first occurrence, in the order they were sent.
    firsts = list(dict.fromkeys(names))
    job.check(
        firsts == ["enqueued", "started", "finished"],
        expected="enqueued, then started, then finished",
        observed=f"sent in order {names}" + ("" if events else HINT),
    )
    for event in events:
        if event.signal == "started":
            job.check(
                not event.runs_before,
                expected="task_started sent before the function body runs",
                observed=f"a receiver of task_started saw {event.runs_before} "
                "run(s) of the function",
            )


@clause("SIGNALS-EXECUTION-STATE-STORED")
@pytest.mark.parametrize("label", LABELS)
def test_signals_sent_once_stored(
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job, result, events = _signals(api, shared_batches, label)
    for event in events:
        if event.signal in {"enqueued", "finished"}:
            job.check(
                _stored_in_time(event, str(result.status)),
                expected=f"task_{event.signal} sent once the result is stored: a "
                "receiver's get_result(id) "
                + ("finds it" if event.signal == "enqueued" else "shows it finished"),
                observed=f"a receiver of task_{event.signal} saw get_result(id): "
                f"{event.stored_status}",
            )


@clause("SIGNALS-EXECUTION-SENDER")
@pytest.mark.parametrize("label", LABELS)
def test_signal_sender(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    job, _, events = _signals(api, shared_batches, label)
    running = [e for e in events if e.signal in {"started", "finished"}]
    job.check(
        running,
        expected="task_started and task_finished sent",
        observed="neither was recorded" + HINT,
    )
    wrong = [
        f"{e.signal}: {e.sender}" for e in running if not e.sender_is_backend_class
    ]
    job.check(
        not wrong,
        expected="sender is a BaseTaskBackend subclass (the class, not an instance)",
        observed="; ".join(wrong),
    )


@clause("SIGNALS-EXECUTION-STATUS")
@pytest.mark.parametrize("label", LABELS)
def test_signal_status(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    job, result, events = _signals(api, shared_batches, label)
    seen = {e.signal: e.status for e in events if e.signal in {"started", "finished"}}
    expected = {"started": str(RUNNING), "finished": str(result.status)}
    job.check(
        seen == expected,
        expected=f"task_started with RUNNING, task_finished with {result.status}",
        observed=f"statuses sent: {seen}" + ("" if events else HINT),
    )
