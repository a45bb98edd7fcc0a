"""The queues a worker serves (specs/worker-queues.toml)."""

from __future__ import annotations

from typing import Any

from conformance import evidence, tasks
from conformance.adapters import Adapter
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


@clause("WORKER-QUEUES-SELECTED")
def test_worker_serves_selected_queues(
    task_adapter: Adapter, task_backend: Any
) -> None:
    driver = Driver(task_adapter, task_backend)
    jobs = _enqueue_per_queue()
    repro = (
        "for queue in ('queue-a', 'queue-b', 'default'):\n"
        "    tasks.capture.using(queue_name=queue).enqueue('t')\n"
        "worker(backend, ['queue-a'])"
    )
    driver.run_checked(["queue-a"], repro=repro)
    for queue, entries in jobs.items():
        for token, result in entries:
            count = len(evidence.runs(token))
            wanted = 1 if queue == "queue-a" else 0
            check(
                count == wanted,
                expected=f"a worker for ['queue-a'] runs the {queue!r} task "
                f"{wanted} time(s)",
                observed=f"it ran {count} time(s)",
                repro=repro,
            )
            if queue != "queue-a":
                answered = answer_or_none(
                    lambda: [task_backend.get_result(result.id), result.refresh()],  # noqa: B023
                    task_backend,
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
    driver.run_checked(["queue-b", "default"], repro=repro)
    for queue, entries in jobs.items():
        for token, _ in entries:
            count = len(evidence.runs(token))
            check(
                count == 1,
                expected=f"the {queue!r} task ran once, when its queue was served",
                observed=f"it ran {count} time(s)",
                repro=repro,
            )


@clause("WORKER-QUEUES-ALL")
def test_worker_serves_every_queue(task_adapter: Adapter, task_backend: Any) -> None:
    jobs = _enqueue_per_queue()
    repro = (
        "for queue in ('queue-a', 'queue-b', 'default'):\n"
        "    tasks.capture.using(queue_name=queue).enqueue('t')\n"
        "worker(backend, None)"
    )
    Driver(task_adapter, task_backend).run_checked(repro=repro)
    for queue, entries in jobs.items():
        for token, _ in entries:
            count = len(evidence.runs(token))
            check(
                count == 1,
                expected=f"the {queue!r} task ran once",
                observed=f"it ran {count} time(s)",
                repro=repro,
            )
