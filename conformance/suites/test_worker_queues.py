"""The queues a worker serves (specs/worker-queues.toml)."""

from __future__ import annotations

from typing import Any

from conformance import evidence, tasks
from conformance.driver import Driver
from conformance.jobs import new_token
from conformance.statuses import READY
from conformance.support import FORMS, Api, clause
from conformance.support import result_summary as summary
from conformance.violation import check, describe_exception

QUEUES = ("queue-a", "queue-b", "default")


def _enqueue_per_queue() -> dict[str, list[tuple[str, Any]]]:
    jobs: dict[str, list[tuple[str, Any]]] = {}
    for queue in QUEUES:
        for form in FORMS:
            token = new_token()
            result = Api(form).enqueue(tasks.capture.using(queue_name=queue), token)
            jobs.setdefault(queue, []).append((token, result))
    return jobs


def _run(driver: Driver, queue_names: list[str] | None, repro: str) -> None:
    __tracebackhide__ = True
    error = driver.run(queue_names)
    check(
        error is None,
        expected="the worker runs the ready tasks",
        observed=describe_exception(error),
        repro=repro,
    )


@clause("WORKER-QUEUES-SELECTED")
def test_worker_serves_selected_queues(task_adapter: Any, task_backend: Any) -> None:
    driver = Driver(task_adapter, task_backend)
    jobs = _enqueue_per_queue()
    repro = (
        "for queue in ('queue-a', 'queue-b', 'default'):\n"
        "    tasks.capture.using(queue_name=queue).enqueue('t')\n"
        "worker(backend, ['queue-a'])"
    )
    _run(driver, ["queue-a"], repro)
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
                try:
                    task_backend.get_result(result.id)
                    result.refresh()
                except NotImplementedError:
                    continue
                check(
                    result.status == READY,
                    expected=f"the {queue!r} task still READY",
                    observed=summary(result),
                    repro=repro,
                )
    repro += "\nworker(backend, ['queue-b', 'default'])"
    _run(driver, ["queue-b", "default"], repro)
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
def test_worker_serves_every_queue(task_adapter: Any, task_backend: Any) -> None:
    jobs = _enqueue_per_queue()
    repro = (
        "for queue in ('queue-a', 'queue-b', 'default'):\n"
        "    tasks.capture.using(queue_name=queue).enqueue('t')\n"
        "worker(backend, None)"
    )
    _run(Driver(task_adapter, task_backend), None, repro)
    for queue, entries in jobs.items():
        for token, _ in entries:
            count = len(evidence.runs(token))
            check(
                count == 1,
                expected=f"the {queue!r} task ran once",
                observed=f"it ran {count} time(s)",
                repro=repro,
            )
