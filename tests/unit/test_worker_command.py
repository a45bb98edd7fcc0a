"""--task-worker-command's template: placeholders filled word by word."""

from __future__ import annotations

import re

import pytest

from conformance.adapters.command import (
    CommandTemplate,
    CommandWorker,
    WorkerCommandError,
)
from conformance.worker_process import WorkerDied


@pytest.mark.parametrize(
    ("text", "queues", "alias", "arguments"),
    [
        (
            "db_worker --batch --queue-name={queues}",
            ["default", "queue-a"],
            "default",
            ["--batch", "--queue-name=default,queue-a"],
        ),
        (
            "task_worker --batch --backend={backend} --queue={queue}",
            ["queue-a", "queue-b"],
            "secondary",
            ["--batch", "--backend=secondary", "--queue=queue-a", "--queue=queue-b"],
        ),
        # Every queue: the words that name queues are left out.
        (
            "task_worker --batch --queue={queue} -v 0",
            None,
            "default",
            ["--batch", "-v", "0"],
        ),
        ("worker 'a b' --x={backend}", None, "default", ["a b", "--x=default"]),
    ],
)
def test_placeholders_are_filled(
    text: str, queues: list[str] | None, alias: str, arguments: list[str]
) -> None:
    assert CommandTemplate.parse(text).arguments(queues, alias) == arguments


def test_what_a_template_says_about_its_worker() -> None:
    selects = CommandTemplate.parse("w --queue={queue} --backend={backend}")
    assert (selects.name, selects.selects_queues, selects.per_backend) == (
        "w",
        True,
        True,
    )
    every = CommandTemplate.parse("w --batch")
    assert (every.selects_queues, every.per_backend) == (False, False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("w 'unclosed", "does not split"),
        ("w --queue={queus}", "unknown placeholder(s) queus"),
        ("{backend} --batch", "command name is a placeholder"),
    ],
)
def test_a_template_the_kit_cannot_use_is_refused(text: str, message: str) -> None:
    with pytest.raises(WorkerCommandError, match=re.escape(message)):
        CommandTemplate.parse(text)


def test_many_lost_tasks_are_named_briefly() -> None:
    from types import SimpleNamespace

    from conformance.lost import LostTasks

    lost = LostTasks()
    lost.at_hand = "FAILURE-STATUS"
    for n in range(5):
        lost.add(SimpleNamespace(id=f"id-{n}", task=SimpleNamespace(name="t")))
    cause = lost.likely_cause("an unrelated failure")
    assert cause.startswith("likely cause: the worker lost t (result id-0)")
    assert "(found under FAILURE-STATUS)" in cause
    assert cause.count("(result ") == 3
    assert " and 2 more: " in cause
    # A failure about a lost task is that task's own report: no cause line.
    assert lost.likely_cause("observed: result id-3 stuck") == ""


def _exits_with(code: int | None) -> None:
    raise SystemExit(code)


@pytest.mark.parametrize("code", [0, None])
def test_a_batch_command_that_exits_0_finished_normally(
    monkeypatch: pytest.MonkeyPatch, code: int | None
) -> None:
    # django-ox's ox_worker ends with sys.exit(0): a successful run, not a
    # worker that raised (the kit reported every execution clause failed).
    import django.core.management

    monkeypatch.setattr(
        django.core.management, "call_command", lambda *a, **k: _exits_with(code)
    )
    CommandWorker("w --batch")._batch(["w", "--batch"])


def test_a_batch_command_that_exits_non_zero_died(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import django.core.management

    monkeypatch.setattr(
        django.core.management, "call_command", lambda *a, **k: _exits_with(3)
    )
    with pytest.raises(WorkerDied, match="w --batch exited with status 3"):
        CommandWorker("w --batch")._batch(["w", "--batch"])
