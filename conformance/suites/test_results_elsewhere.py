"""Results seen from another thread and another process (specs/results-elsewhere.toml)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from conformance import tasks
from conformance.adapters import Adapter
from conformance.driver import Driver
from conformance.held_worker import worker_held
from conformance.jobs import new_token
from conformance.result_comparison import (
    comparable,
    field_differences,
    fields_in_other_process,
    result_fields,
)
from conformance.shared_batch import Label, shared_batch
from conformance.support import FORMS, Api, clause, in_an_hour, in_other_thread
from conformance.violation import check, describe_exception

#: How a difference names the two results: this thread's, and the other's.
HERE_THERE = ("here", "there")
FINISHED_LABELS = (Label.CAPTURE, Label.RETURN_SAMPLE, Label.FAIL_TASK_FAILURE)


def _subjects(task_adapter: Adapter, task_backend: Any) -> dict[str, tuple[Any, str]]:
    """Results to look at from elsewhere: label -> (task, id)."""
    subjects: dict[str, tuple[Any, str]] = {}
    driver = Driver(task_adapter, task_backend)
    if task_adapter.executes:
        batch = shared_batch(task_adapter, task_backend)  # runs the worker once
        for label in FINISHED_LABELS:
            for form in FORMS:
                job = batch.job(label, form)
                result = job.finished(task_backend)
                subjects[f"{label} ({form})"] = (job.task, result.id)
    # One that stays READY while we look: no worker runs, or it is deferred.
    waiting = None
    if driver.worker_driven or not task_adapter.executes:
        waiting = tasks.capture
    elif getattr(task_backend, "supports_defer", False):
        waiting = tasks.capture.using(run_after=in_an_hour())
    if waiting is not None:
        subjects["ready"] = (waiting, waiting.enqueue(new_token()).id)
    return subjects


def _here(task_backend: Any, result_id: str) -> dict[str, Any]:
    return result_fields(task_backend.get_result(result_id))


def _differences_or_error(expected: dict[str, Any], fetch: Any) -> str | None:
    try:
        observed = result_fields(fetch())
    except Exception as exc:
        return describe_exception(exc)
    return "; ".join(field_differences(expected, observed, sides=HERE_THERE)) or None


@contextlib.contextmanager
def _running(
    task_adapter: Adapter, task_backend: Any
) -> Iterator[dict[str, tuple[Any, str]]]:
    """A subject held RUNNING (its function blocks) while the body looks."""
    token = new_token()
    task = tasks.wait_for_release
    # Released when the body is done; it gives up by itself only long after
    # (another process's start can take seconds on a loaded machine).
    result = task.enqueue(token, 3 * task_adapter.timeout)
    repro = "result = tasks.wait_for_release.enqueue('token', 10)  # blocks"
    with worker_held(Driver(task_adapter, task_backend), token, repro=repro):
        yield {"running": (task, result.id)}


@clause("RESULTS-ELSEWHERE-THREAD")
def test_other_thread(task_adapter: Adapter, task_backend: Any) -> None:
    _check_other_thread(task_backend, _subjects(task_adapter, task_backend))


@clause("RESULTS-ELSEWHERE-THREAD", requires=["executes", "not synchronous"])
def test_other_thread_while_running(task_adapter: Adapter, task_backend: Any) -> None:
    with _running(task_adapter, task_backend) as subjects:
        _check_other_thread(task_backend, subjects)


def _check_other_thread(
    task_backend: Any, subjects: dict[str, tuple[Any, str]]
) -> None:
    __tracebackhide__ = True
    expected = {label: _here(task_backend, rid) for label, (_, rid) in subjects.items()}

    def look() -> dict[str, str | None]:
        from conformance import compat

        backend = compat.task_backends[task_backend.alias]  # this thread's instance
        found: dict[str, str | None] = {}
        for label, (task, rid) in subjects.items():
            for form in FORMS:
                for source_name, source in (("backend", backend), ("Task", task)):
                    found[
                        f"{label}: {source_name}.{'a' if form == 'async' else ''}get_result"
                    ] = _differences_or_error(
                        expected[label],
                        lambda s=source, f=form, r=rid: Api(f).get_result(s, r),
                    )
        return found

    found = in_other_thread(look)
    wrong = {how: problem for how, problem in found.items() if problem}
    check(
        not wrong,
        expected="every field equal when fetched from another thread",
        observed="\n".join(f"{how}: {problem}" for how, problem in wrong.items()),
        repro="result = task.enqueue(...)\n"
        "threading.Thread(target=lambda: task.get_result(result.id)).start()",
    )


@clause("RESULTS-ELSEWHERE-PROCESS")
def test_other_process(task_adapter: Adapter, task_backend: Any) -> None:
    _check_other_process(
        task_adapter, task_backend, _subjects(task_adapter, task_backend)
    )


@clause("RESULTS-ELSEWHERE-PROCESS", requires=["executes", "not synchronous"])
def test_other_process_while_running(task_adapter: Adapter, task_backend: Any) -> None:
    with _running(task_adapter, task_backend) as subjects:
        _check_other_process(task_adapter, task_backend, subjects)


def _check_other_process(
    task_adapter: Adapter, task_backend: Any, subjects: dict[str, tuple[Any, str]]
) -> None:
    __tracebackhide__ = True
    ids = {label: rid for label, (_, rid) in subjects.items()}
    expected = {
        label: comparable(_here(task_backend, rid)) for label, rid in ids.items()
    }
    answers = fields_in_other_process(
        task_backend.alias,
        list(ids.values()),
        timeout=max(60.0, task_adapter.timeout * 3),
    )
    wrong: list[str] = []
    for label, rid in ids.items():
        for form in FORMS:
            answer = answers.get(f"{form}:{rid}", {"error": "no answer"})
            how = f"{label}: {'a' if form == 'async' else ''}get_result"
            if "error" in answer:
                wrong.append(f"{how} raised {answer['error']}")
                continue
            differences = field_differences(
                expected[label], answer["fields"], sides=HERE_THERE
            )
            wrong += [f"{how}: {difference}" for difference in differences]
    check(
        not wrong,
        expected="every field equal when fetched from another process with the same settings",
        observed="\n".join(wrong),
        repro="result = task.enqueue(...)\n"
        "# in another process (same DJANGO_SETTINGS_MODULE): "
        "default_task_backend.get_result(result.id)",
    )
