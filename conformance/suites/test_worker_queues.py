"""The queues a worker serves (specs/worker-queues.toml)."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from conformance import evidence, tasks
from conformance.driver import Driver
from conformance.jobs import new_token, now
from conformance.settings_file import QUEUES
from conformance.statuses import READY
from conformance.support import (
    FORMS,
    Api,
    answer_or_none,
    clause,
    whole_seconds_after,
)
from conformance.support import result_summary as summary
from conformance.violation import check

#: Worker runs in turn, each for some queues: "queue" is a prefix of
#: "queue-a", and "QUEUE-A" differs from "queue-a" only in case.
ROUNDS: tuple[tuple[str, ...], ...] = (
    ("queue",),
    ("queue-a",),
    ("QUEUE-A", "queue-b"),
    ("default",),
)


def _enqueue_per_queue(run_after: Any = None) -> dict[str, list[tuple[str, Any]]]:
    jobs: dict[str, list[tuple[str, Any]]] = {}
    for queue in QUEUES:
        task = tasks.capture.using(queue_name=queue, run_after=run_after)
        for form in FORMS:
            token = new_token()
            result = Api(form).enqueue(task, token)
            jobs.setdefault(queue, []).append((token, result))
    return jobs


def _check_runs(
    jobs: dict[str, list[tuple[str, Any]]],
    served: Collection[str],
    worker: str,
    repro: str,
) -> None:
    """Each task of a ``served`` queue ran once, the others not at all."""
    __tracebackhide__ = True
    for queue, entries in jobs.items():
        wanted = 1 if queue in served else 0
        for token, _ in entries:
            count = len(evidence.runs(token))
            check(
                count == wanted,
                expected=f"{worker} runs the {queue!r} task {wanted} time(s)",
                observed=f"it ran {count} time(s)",
                repro=repro,
            )


def _check_still_ready(
    backend: Any,
    jobs: dict[str, list[tuple[str, Any]]],
    served: Collection[str],
    repro: str,
) -> None:
    """The tasks of queues not ``served`` yet read READY."""
    __tracebackhide__ = True
    for queue in set(jobs) - set(served):
        for _, result in jobs[queue]:
            answered = answer_or_none(
                lambda: [backend.get_result(result.id), result.refresh()],  # noqa: B023 - called at once
                backend,
                what="get_result and refresh",
                repro=repro,
            )
            if answered is None:
                continue
            check(
                result.status == READY,
                expected=f"the {queue!r} task still READY",
                observed=summary(result),
                repro=repro,
            )


def _serve_in_rounds(
    driver: Driver, jobs: dict[str, list[tuple[str, Any]]], repro: str
) -> None:
    """Run a worker for each of :data:`ROUNDS` in turn: after each, the
    queues served so far ran, the others wait."""
    __tracebackhide__ = True
    served: list[str] = []
    for queues in ROUNDS:
        repro += f"\nworker(backend, {list(queues)!r})"
        driver.run_checked(queues, repro=repro)
        served.extend(queues)
        _check_runs(jobs, served, f"a worker for {list(queues)!r}", repro)
        _check_still_ready(driver.backend, jobs, served, repro)


@clause("WORKER-QUEUES-SELECTED")
def test_worker_serves_selected_queues(task_driver: Driver) -> None:
    jobs = _enqueue_per_queue()
    repro = f"for queue in {QUEUES!r}:\n    tasks.capture.using(queue_name=queue).enqueue('t')"
    _serve_in_rounds(task_driver, jobs, repro)


@clause("WORKER-QUEUES-SELECTED", requires=["supports_defer"])
def test_due_later_stays_in_its_queue(task_driver: Driver) -> None:
    """Tasks that become due while waiting stay in their queue too."""
    due = whole_seconds_after(0.2)
    jobs = _enqueue_per_queue(run_after=due)
    repro = (
        f"for queue in {QUEUES!r}:\n"
        "    tasks.capture.using(queue_name=queue, run_after=<in a second>).enqueue('t')\n"
        "# once they are due:"
    )
    time.sleep(max(0.0, (due - now()).total_seconds()) + 0.05)
    _serve_in_rounds(task_driver, jobs, repro)


@clause("WORKER-QUEUES-ALL")
def test_worker_serves_every_queue(task_driver: Driver) -> None:
    jobs = _enqueue_per_queue()
    repro = (
        f"for queue in {QUEUES!r}:\n"
        "    tasks.capture.using(queue_name=queue).enqueue('t')\n"
        "worker(backend, None)"
    )
    task_driver.run_checked(repro=repro)
    _check_runs(jobs, QUEUES, "a worker for every queue (None)", repro)
