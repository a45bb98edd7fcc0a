"""Status transitions (specs/lifecycle.toml)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance import compat, evidence, lost, tasks
from conformance.adapters import Adapter
from conformance.driver import Driver, observable
from conformance.held_worker import worker_held
from conformance.jobs import new_token
from conformance.statuses import FAILED, FINISHED, READY, RUNNING, SUCCESSFUL
from conformance.support import (
    FORMS,
    Api,
    answer_or_none,
    clause,
    requires,
)
from conformance.support import result_summary as summary
from conformance.violation import check, describe_exception

#: Status -> the statuses a later observation may show. Observations are
#: sparse (a whole run may happen between two), so READY may jump straight
#: to a finished status; RUNNING may go back to READY (a retry).
LEGAL = {
    READY: {READY, RUNNING, SUCCESSFUL, FAILED},
    RUNNING: {RUNNING, READY, SUCCESSFUL, FAILED},
    SUCCESSFUL: {SUCCESSFUL},
    FAILED: {FAILED},
}

KINDS: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "succeeds": (tasks.noop, ()),
    "returns": (tasks.add, (2, 3)),
    "fails": (tasks.fail, ()),
    "unserializable": (tasks.return_unserializable, ()),
    "context": (tasks.with_context, ()),
}


@dataclass(frozen=True)
class Observation:
    how: str
    status: Any
    enqueued_at: Any
    started_at: Any
    finished_at: Any
    worker_ids: tuple[str, ...]
    errors: tuple[str, ...]
    return_value: Any

    @classmethod
    def of(cls, result: Any, how: str) -> Observation:
        value: Any = "<not finished>"
        if result.status == SUCCESSFUL:
            value = repr(result.return_value)
        return cls(
            how=how,
            status=result.status,
            enqueued_at=result.enqueued_at,
            started_at=result.started_at,
            finished_at=result.finished_at,
            worker_ids=tuple(result.worker_ids),
            errors=tuple(e.exception_class_path for e in result.errors),
            return_value=value,
        )

    def final_fields(self) -> tuple[Any, ...]:
        return (
            self.status,
            self.return_value,
            self.errors,
            self.worker_ids,
            self.finished_at,
        )


def transition_problems(before: Observation, after: Observation) -> list[str]:
    """Why ``after`` cannot follow ``before`` for the same result."""
    problems: list[str] = []
    if after.status not in LEGAL.get(before.status, set()):
        problems.append(f"status {before.status} -> {after.status}")
    if before.status in FINISHED and before.final_fields() != after.final_fields():
        problems.append(
            f"a finished result changed: {before.final_fields()!r} -> {after.final_fields()!r}"
        )
    if before.enqueued_at is not None and after.enqueued_at != before.enqueued_at:
        problems.append(f"enqueued_at {before.enqueued_at!r} -> {after.enqueued_at!r}")
    if before.started_at is not None and after.started_at != before.started_at:
        problems.append(f"started_at {before.started_at!r} -> {after.started_at!r}")
    if after.worker_ids[: len(before.worker_ids)] != before.worker_ids:
        problems.append(f"worker_ids {before.worker_ids!r} -> {after.worker_ids!r}")
    if after.errors[: len(before.errors)] != before.errors:
        problems.append(f"errors {before.errors!r} -> {after.errors!r}")
    return problems


class LifecycleMachine(RuleBasedStateMachine):
    """Enqueue, run the worker, refresh and fetch, in any order."""

    driver: ClassVar[Driver]
    results = Bundle("results")

    def __init__(self) -> None:
        super().__init__()
        self.held: dict[str, Any] = {}
        self.last: dict[str, Observation] = {}
        self.steps: list[str] = []
        self.enqueued_since_run = 0

    @property
    def backend(self) -> Any:
        return self.driver.backend

    def observe(self, result: Any, how: str) -> None:
        self.steps.append(f"{how}: {result.status}")
        check(
            isinstance(result.status, compat.TaskResultStatus),
            expected="a TaskResultStatus member",
            observed=repr(result.status),
            repro="\n".join(self.steps),
        )
        now = Observation.of(result, how)
        before = self.last.get(result.id)
        if before is not None:
            problems = transition_problems(before, now)
            check(
                not problems,
                expected=f"legal transitions for result {result.id}",
                observed=f"after {before.how}, {how}: " + "; ".join(problems),
                repro="\n".join(self.steps),
            )
        self.last[result.id] = now

    def answers(self, action: Any, what: str) -> bool:
        """Run a refresh/get_result; False where the backend may not answer."""
        answered = answer_or_none(
            lambda: [action()],  # a list: never None, whatever action() returns
            self.backend,
            what=what,
            repro="\n".join(self.steps),
        )
        return answered is not None

    @rule(
        target=results, kind=st.sampled_from(sorted(KINDS)), form=st.sampled_from(FORMS)
    )
    def enqueue(self, kind: str, form: str) -> str:
        task, args = KINDS[kind]
        result = Api(form).enqueue(task, *args)
        self.held[result.id] = result
        self.enqueued_since_run += 1
        self.observe(result, f"{Api(form).name('enqueue')}({kind})")
        return str(result.id)

    def waiting(self) -> bool:
        """Some result was last seen unfinished: a worker run has work to do."""
        return any(seen.status not in FINISHED for seen in self.last.values())

    # A worker run can be costly (a process per run): only after an enqueue.
    # (Not "while something is unfinished": that depends on timing, and
    # hypothesis needs the same steps to be drawable each time.)
    @precondition(lambda self: self.enqueued_since_run > 0)
    @rule()
    def run_worker(self) -> None:
        self.steps.append("worker runs")
        self.enqueued_since_run = 0
        self.driver.run_checked(repro="\n".join(self.steps))
        if not self.driver.worker_driven:
            time.sleep(0.002)  # a backend running on its own gets a moment

    @rule(result_id=results, form=st.sampled_from(FORMS))
    def refresh(self, result_id: str, form: str) -> None:
        api = Api(form)
        result = self.held[result_id]
        if self.answers(lambda: api.refresh(result), api.name("refresh")):
            self.observe(result, f"{api.name('refresh')}()")

    @rule(result_id=results, form=st.sampled_from(FORMS))
    def fetch(self, result_id: str, form: str) -> None:
        api = Api(form)
        fetched: list[Any] = []
        if self.answers(
            lambda: fetched.append(api.get_result(self.backend, result_id)),
            api.name("get_result"),
        ):
            self.observe(fetched[0], f"{api.name('get_result')}()")

    def teardown(self) -> None:
        # Every task the worker was given ends finished.
        if not self.waiting():
            return
        self.steps.append("worker runs (teardown)")
        self.driver.run_checked(repro="\n".join(self.steps))
        for result in self.held.values():
            if self.driver.settle(result) is not None:
                return  # cannot refresh: nothing more to see
            self.observe(result, "refresh() at the end")
            check(
                result.is_finished,
                expected="every task given to the worker ends SUCCESSFUL or FAILED",
                observed=summary(result),
                repro="\n".join(self.steps),
            )


@clause("LIFECYCLE-TRANSITIONS")
def test_transitions_model(task_adapter: Adapter, task_backend: Any) -> None:
    machine = type(
        "Lifecycle", (LifecycleMachine,), {"driver": Driver(task_adapter, task_backend)}
    )
    run_state_machine_as_test(machine, settings=settings(stateful_step_count=10))


def _seen_later(api: Api, backend: Any, result: Any) -> list[Any]:
    """``result`` a moment later: as held, and refreshed and fetched anew where
    the backend answers (supports_get_result=False: the held one still tells)."""
    time.sleep(0.1)  # a backend running tasks on its own would have started
    observed = [result]
    with contextlib.suppress(NotImplementedError):
        api.refresh(result)
        observed.append(api.get_result(backend, result.id))
    return observed


@clause("LIFECYCLE-READY-UNTIL-RUN")
def test_ready_until_worker_runs(
    api: Api, task_adapter: Adapter, task_backend: Any
) -> None:
    token = new_token()
    result = api.enqueue(tasks.capture, token)
    repro = f"result = tasks.capture.{api.name('enqueue')}('token')  # no worker yet"
    for seen in _seen_later(api, task_backend, result):
        check(
            seen.status == READY
            and seen.started_at is None
            and seen.finished_at is None
            and list(seen.worker_ids) == [],
            expected="READY, not started, no worker_ids, until a worker runs",
            observed=summary(seen),
            repro=repro,
        )
    check(
        evidence.runs(token) == [],
        expected="the function has not run before a worker runs",
        observed=f"it ran {len(evidence.runs(token))} time(s)",
        repro=repro,
    )
    Driver(task_adapter, task_backend).run()  # leave nothing behind


#: Tasks enqueued behind the one that holds the worker.
FOLLOWERS = 3


def _started_or_not_running(
    backend: Any, token: str, result_id: str, until: float
) -> Any:
    """The result of a task behind the held one, once it reads anything but
    RUNNING or its function has begun (``until``: time.monotonic())."""
    while True:
        seen = backend.get_result(result_id)
        if seen.status != RUNNING or evidence.runs(token):
            return seen
        if time.monotonic() > until:
            return seen
        time.sleep(0.02)


@clause("LIFECYCLE-READY-UNTIL-RUN")
@requires("supports_get_result")
def test_claimed_but_not_started_reads_ready(
    task_adapter: Adapter, task_backend: Any
) -> None:
    driver = Driver(task_adapter, task_backend)
    timeout = task_adapter.timeout
    head, token = tasks.wait_for_release, new_token()
    if task_backend.supports_priority:
        head = head.using(priority=10)  # first, whatever the ties
    # It releases itself well after the grace below: a worker that claimed the
    # followers must not get to start them within it.
    head.enqueue(token, 3 * timeout)
    followers = {new_token(): "" for _ in range(FOLLOWERS)}
    for follower in followers:
        followers[follower] = tasks.capture.enqueue(follower).id
    repro = (
        "tasks.wait_for_release.enqueue('token', 30)  # holds the worker\n"
        f"results = [tasks.capture.enqueue(f't{{n}}') for n in range({FOLLOWERS})]\n"
        "# while the first blocks: a result that reads RUNNING has begun"
    )
    with worker_held(driver, token, repro=repro):
        # RUNNING is stored a moment before the function begins: a follower
        # seen RUNNING has the timeout to begin (a concurrent worker's would).
        until = time.monotonic() + timeout
        for follower, result_id in followers.items():
            seen = _started_or_not_running(task_backend, follower, result_id, until)
            check(
                seen.status != RUNNING or evidence.runs(follower),
                expected="a task waiting behind a running one reads READY until "
                "its function begins",
                observed=f"{summary(seen)} for {timeout} s, its function not begun "
                "(claimed with the running task, not started)",
                repro=repro,
            )


@clause("LIFECYCLE-RUNNING-WHILE-EXECUTING")
def test_running_while_executing(
    api: Api, task_adapter: Adapter, task_backend: Any
) -> None:
    driver = Driver(task_adapter, task_backend)
    token = new_token()
    result = api.enqueue(tasks.wait_for_release, token, task_adapter.timeout)
    repro = (
        f"result = tasks.wait_for_release.{api.name('enqueue')}('token', 10)\n"
        "# while the function blocks: backend.get_result(result.id).status"
    )
    with worker_held(driver, token, repro=repro) as held:
        # The function is blocked now: the stored result must say RUNNING.
        # A short grace for stores that publish asynchronously.
        grace = time.monotonic() + 1.0
        while True:
            seen = api.get_result(task_backend, result.id)
            if seen.status == RUNNING or time.monotonic() > grace:
                break
            time.sleep(0.02)
    worker_errors = held.worker_errors
    value: str | None  # None: return_value raised ValueError, as it must
    try:
        value = f"returned {seen.return_value!r}"
    except ValueError:
        value = None
    except Exception as exc:
        value = describe_exception(exc)
    check(
        seen.status == RUNNING
        and not seen.is_finished
        and seen.started_at is not None
        and seen.last_attempted_at is not None
        and seen.finished_at is None
        and value is None,
        expected="RUNNING, not finished, started_at and last_attempted_at set, "
        "finished_at None, return_value raising ValueError",
        observed=f"{summary(seen)}, is_finished={seen.is_finished}, return_value: "
        f"{value or 'raised ValueError'}",
        repro=repro,
    )
    check(
        not worker_errors or worker_errors[0] is None,
        expected="the worker runs the ready tasks",
        observed=describe_exception(worker_errors[0] if worker_errors else None),
    )


#: The stored path a record is given to go stale: its module no longer exists.
STALE_PATH = "conformance.no_such_module.capture"
#: Worker calls made: a task taken on each of them and never finished is
#: claimed again and again.
CALLS = 3


def _endings(backend: Any) -> dict[str, tuple[Any, tuple[Any, ...]]]:
    """Every way a task can end, coroutine tasks too where the backend runs them."""
    endings: dict[str, tuple[Any, tuple[Any, ...]]] = {
        "returns": (tasks.noop, ()),
        "raises": (tasks.fail, ()),
        "raises-SystemExit": (tasks.raise_exception, ("SystemExit", "exit")),
    }
    if getattr(backend, "supports_async_task", False):
        from conformance import async_tasks

        endings["coroutine-returns"] = (async_tasks.async_echo, (1,))
        endings["coroutine-raises"] = (async_tasks.async_fail, ())
    return endings


@dataclass
class _Taken:
    """A task given to the worker, and what it was after each worker call."""

    result: Any
    stale: bool = False
    seen: list[tuple[Any, int]] = field(default_factory=list)
    #: Why it could not be observed (another clause's finding).
    unobservable: str = ""

    @property
    def finished(self) -> bool:
        return bool(self.seen) and self.seen[-1][0] in FINISHED

    def stuck(self) -> str:
        """How it is stuck, or "" if it is not."""
        if not self.seen or self.finished:
            return ""
        status, attempts = self.seen[-1]
        if status == RUNNING:
            return lost.observed(
                self.result, f"left RUNNING after {len(self.seen)} worker calls"
            )
        if attempts > self.seen[0][1]:
            return (
                f"claimed again on every call and never finished: attempts "
                f"{' -> '.join(str(a) for _, a in self.seen)}, now {status}"
            )
        return ""


def _observe(entry: _Taken, api: Api, driver: Driver, first: bool) -> None:
    """Refresh ``entry`` (the first time, waiting as for any result). A stale
    record gets its good path back while it is read: its status is the
    worker's doing, whether or not get_result can describe a missing task."""
    adapter, backend = driver.adapter, driver.backend
    if entry.stale:
        adapter.set_task_path(backend, entry.result.id, tasks.capture.module_path)
    try:
        if first:
            observable(driver.settle(entry.result, api.form), backend, "the task")
        else:
            api.refresh(entry.result)
    except Exception as exc:
        entry.unobservable = describe_exception(exc)
        return
    finally:
        if entry.stale:
            adapter.set_task_path(backend, entry.result.id, STALE_PATH)
    entry.seen.append((entry.result.status, entry.result.attempts))


@clause("LIFECYCLE-NOTHING-LEFT-RUNNING")
def test_nothing_left_running(
    api: Api, task_adapter: Adapter, task_backend: Any
) -> None:
    driver = Driver(task_adapter, task_backend)
    taken = {
        label: _Taken(api.enqueue(task, *args))
        for label, (task, args) in _endings(task_backend).items()
    }
    if task_adapter.record_access:
        result = api.enqueue(tasks.capture, new_token())
        task_adapter.set_task_path(task_backend, result.id, STALE_PATH)
        taken["stale-path"] = _Taken(result, stale=True)
    for call in range(CALLS):
        # A worker call that raises is FAILURE-BASE-EXCEPTION's finding (and
        # SECURITY-WORKER-SURVIVES'); here only what it left behind counts.
        driver.run()
        for entry in taken.values():
            if not entry.finished and not entry.unobservable:
                _observe(entry, api, driver, first=call == 0)
    stuck = {label: entry.stuck() for label, entry in taken.items() if entry.stuck()}
    # Tasks found lost in other clauses of this run were left RUNNING too.
    stuck.update(
        {
            f"earlier in this run, {task.task}": f"result {task.result_id} lost "
            f"under {task.clause or 'a clause'}"
            for task in lost.LOST.all()
            if task.result_id not in {entry.result.id for entry in taken.values()}
        }
    )
    check(
        not stuck,
        expected="once the worker has returned, every task it took is SUCCESSFUL or "
        "FAILED (or READY for a retry a later call finishes): never left RUNNING, "
        "never claimed on every call",
        observed="; ".join(f"{label}: {how}" for label, how in stuck.items()),
        repro=(
            f"# {', '.join(taken)}: each enqueued with {api.name('enqueue')}, then:\n"
            f"# run the worker {CALLS} times, refresh() after each"
        ),
    )


@clause("LIFECYCLE-UNEXECUTED-STAYS-READY")
def test_unexecuted_stays_ready(
    api: Api, task_adapter: Adapter, task_backend: Any
) -> None:
    result = api.enqueue(tasks.noop)
    Driver(task_adapter, task_backend).offer()
    for seen in _seen_later(api, task_backend, result):
        check(
            seen.status == READY
            and seen.started_at is None
            and list(seen.worker_ids) == []
            and list(seen.errors) == [],
            expected="READY forever: not started, no worker_ids, no errors",
            observed=summary(seen),
            repro=f"result = tasks.noop.{api.name('enqueue')}(); result.refresh()",
        )
