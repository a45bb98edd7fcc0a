"""--task-worker-command's template: placeholders filled word by word."""

from __future__ import annotations

import re

import pytest

from conformance.adapters.command import CommandTemplate, WorkerCommandError


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
