"""The rerun line of a failure: the user's own command, narrowed to one clause."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conformance.plugin import SUITES_DIR, _rerun_command


def _rerun(*args: str, clause: str = "DEMO-ONE") -> str:
    config = SimpleNamespace(invocation_params=SimpleNamespace(args=args))
    return _rerun_command(config, clause)  # type: ignore[arg-type]


def test_the_command_keeps_every_other_option() -> None:
    assert _rerun("--task-backend=my.Backend", "-x", "--task-timeout", "3") == (
        "pytest --task-backend=my.Backend -x --task-timeout 3 --task-clause=DEMO-ONE"
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--task-clause=queues", "--task-report=out.json"),
        ("--task-clause", "queues", "--task-report", "out.json"),
    ],
    ids=["joined", "separate"],
)
def test_clause_and_report_options_are_replaced(args: tuple[str, ...]) -> None:
    assert _rerun("--task-backend=my.Backend", *args) == (
        "pytest --task-backend=my.Backend --task-clause=DEMO-ONE"
    )


def test_the_suites_path_the_kit_added_is_dropped() -> None:
    assert _rerun("--task-backend=b.B", str(SUITES_DIR)) == (
        "pytest --task-backend=b.B --task-clause=DEMO-ONE"
    )


def test_the_command_is_quoted_for_a_shell() -> None:
    options = '--task-backend-options={"QUEUES": ["a b"]}'
    assert _rerun(options) == (
        'pytest \'--task-backend-options={"QUEUES": ["a b"]}\' --task-clause=DEMO-ONE'
    )


def test_a_rerun_never_overwrites_the_expected_failures_file() -> None:
    written = (
        "--task-write-expected-failures=xf.toml",
        "--task-expected-failures=xf.toml",
    )
    assert _rerun("--task-backend=b.B", *written) == (
        "pytest --task-backend=b.B --task-expected-failures=xf.toml"
        " --task-clause=DEMO-ONE"
    )


@pytest.mark.parametrize(
    "junit",
    [("--junitxml=out.xml",), ("--junitxml", "out.xml"), ("--junit-xml=out.xml",)],
)
def test_a_rerun_never_overwrites_the_junit_file(junit: tuple[str, ...]) -> None:
    assert _rerun("--task-backend=b.B", *junit) == (
        "pytest --task-backend=b.B --task-clause=DEMO-ONE"
    )
