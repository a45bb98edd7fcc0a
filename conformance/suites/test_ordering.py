"""Priority order (specs/ordering.toml)."""

from __future__ import annotations

from conformance import evidence, tasks
from conformance.driver import Driver
from conformance.jobs import new_token
from conformance.support import FORMS, Api, clause
from conformance.violation import check

#: Enqueued in this order while no worker runs. Chosen so that FIFO, LIFO,
#: ascending order, and sorting priorities as text all get it wrong.
PRIORITIES = (0, 7, -3, 100, -100, 10, 9, 1, -1, 50, -50, 2, 99, -99, 20, 3)

#: Ties: several tasks of priority 5 and of 0, among others.
TIES = (5, 3, 5, 0, 5, 8, 0, 5, -2, 0, 5)

#: The tasks go to these queues in turn, and one worker run takes them all:
#: priority orders the tasks of every queue it takes, not each queue apart.
SPREAD = ("queue-b", "default", "queue-a")


def _enqueue_and_run(
    driver: Driver, priorities: tuple[int, ...], queues: tuple[str, ...] = SPREAD
) -> tuple[list[tuple[str, int]], list[str], str]:
    """Enqueue one capture per priority (alternating forms, ``queues`` in
    turn), run one worker for all those queues."""
    enqueued: list[tuple[str, int]] = []
    lines = []
    for index, priority in enumerate(priorities):
        api = Api(FORMS[index % 2])
        token = new_token()
        queue = queues[index % len(queues)]
        api.enqueue(tasks.capture.using(priority=priority, queue_name=queue), token)
        enqueued.append((token, priority))
        lines.append(
            f"tasks.capture.using(priority={priority}, queue_name={queue!r})"
            f".{api.name('enqueue')}(...)"
        )
    repro = "\n".join([*lines, f"worker(backend, {list(queues)!r})"])
    driver.run_checked(queues, repro=repro)
    order = evidence.start_order([token for token, _ in enqueued])
    check(
        sorted(order) == sorted(token for token, _ in enqueued),
        expected=f"each of the {len(enqueued)} tasks ran exactly once",
        observed=f"{len(order)} executions recorded",
        repro=repro,
    )
    return enqueued, order, repro


@clause("ORDERING-PRIORITY")
def test_higher_priority_first_in_one_queue(task_driver: Driver) -> None:
    _check_priority_order(task_driver, ("default",))


# Django does not say how a worker interleaves the queues it takes: a worker
# that takes them one after another is checked within one queue only.
@clause("ORDERING-PRIORITY", requires=["worker_orders_across_queues"])
def test_higher_priority_first(task_driver: Driver) -> None:
    _check_priority_order(task_driver, SPREAD)


def _check_priority_order(driver: Driver, queues: tuple[str, ...]) -> None:
    __tracebackhide__ = True
    enqueued, order, repro = _enqueue_and_run(driver, PRIORITIES, queues)
    priority = dict(enqueued)
    started = [priority[token] for token in order]
    check(
        started == sorted(started, reverse=True),
        expected=f"started highest priority first: {sorted(PRIORITIES, reverse=True)}",
        observed=f"started in priority order {started}",
        repro=repro,
    )


@clause("ORDERING-TIES-FIFO")
def test_ties_in_enqueue_order(task_driver: Driver) -> None:
    # In one queue: nothing says how a worker interleaves the queues it takes
    # (brokers take them in turn), only that a queue keeps enqueue order.
    enqueued, order, repro = _enqueue_and_run(task_driver, TIES, ("default",))
    priority = dict(enqueued)
    for level in sorted(set(TIES)):
        expected = [token for token, p in enqueued if p == level]
        observed = [token for token in order if priority[token] == level]
        check(
            observed == expected,
            expected=f"the priority-{level} tasks start in enqueue order "
            f"{[expected.index(t) for t in expected]}",
            observed=f"they started in order {[expected.index(t) for t in observed]}",
            repro=repro,
        )
