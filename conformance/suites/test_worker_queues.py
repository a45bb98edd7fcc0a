"""The queues a worker serves (specs/worker-queues.toml)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from conformance import evidence, tasks
from conformance.driver import Driver
from conformance.jobs import new_token
from conformance.statuses import READY
from conformance.support import FORMS, Api, answer_or_none, clause
from conformance.support import result_summary as summary
from conformance.violation import check

QUEUES = ("queue-a", "queue-b", "default")


def _enqueue_per_queue() -> dict[str, list[tuple[str, Any]]]:
    jobs: dict[str, list[tuple[str, Any]]] = {}
    for queue in QUEUES:
        for form in FORMS:
            token = new_token()
            result = Api(form).enqueue(tasks.capture.using(queue_name=queue), token)
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


@clause("WORKER-QUEUES-SELECTED")
def test_worker_serves_selected_queues(task_driver: Driver) -> None:
    backend = task_driver.backend
    jobs = _enqueue_per_queue()
    repro = (
        "for queue in ('queue-a', 'queue-b', 'default'):\n"
        "    tasks.capture.using(queue_name=queue).enqueue('t')\n"
        "worker(backend, ['queue-a'])"
    )
    task_driver.run_checked(["queue-a"], repro=repro)
    _check_runs(jobs, {"queue-a"}, "a worker for ['queue-a']", repro)
    for queue in ("queue-b", "default"):
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
    repro += "\nworker(backend, ['queue-b', 'default'])"
    task_driver.run_checked(["queue-b", "default"], repro=repro)
    _check_runs(jobs, QUEUES, "a worker for each queue in turn", repro)


@clause("WORKER-QUEUES-ALL")
def test_worker_serves_every_queue(task_driver: Driver) -> None:
    jobs = _enqueue_per_queue()
    repro = (
        "for queue in ('queue-a', 'queue-b', 'default'):\n"
        "    tasks.capture.using(queue_name=queue).enqueue('t')\n"
        "worker(backend, None)"
    )
    task_driver.run_checked(repro=repro)
    _check_runs(jobs, QUEUES, "a worker for every queue (None)", repro)
