"""``python -m conformance.summary``: one table across JSON reports, Markdown beside each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.summary import main


def _report(backend: str, conforming: bool, **totals: int) -> dict[str, object]:
    return {
        "backend": backend,
        "django": "Django 6.1",
        "kit": "0.1.0",
        "adapter": "Adapter",
        "flags": {"supports_defer": True},
        "conforming": conforming,
        "totals": {"pass": 0, "fail": 0, "warn": 0, "expected": 0, "n/a": 0, **totals},
        "clauses": [
            {
                "id": "PRIORITY-IN-RANGE-ACCEPTED",
                "family": "priority",
                "level": "MUST",
                "outcome": "expected",
                "text": "...",
                "tests": 1,
                "details": ["observed: refused"],
                "reason": "no priorities yet",
            }
        ],
    }


def test_one_row_per_report_and_markdown_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(_report("pkg.Good", True, **{"pass": 120, "n/a": 2})))
    second.write_text(json.dumps(_report("pkg.Bad", False, fail=3, expected=1)))
    assert main(["--markdown", str(first), str(second)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "backend", "pass", "fail", "warn", "expected", "note", "n/a", "conforming"
    ]  # fmt: skip
    assert lines[2].split() == ["pkg.Good", "120", "0", "0", "0", "0", "2", "yes"]
    assert lines[3].split() == ["pkg.Bad", "0", "3", "0", "1", "0", "0", "no"]
    markdown = (tmp_path / "b.md").read_text()
    assert "# Conformance report: `pkg.Bad`" in markdown
    assert "| expected | no priorities yet (observed: refused) |" in markdown


def test_a_file_that_is_not_a_report_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    assert main([str(bad)]) == 2


def test_a_missing_report_is_a_row_and_the_table_still_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # tox -e kit stops at the first run that fails: the runs after it wrote
    # no report, and the table still shows the ones that ran.
    ran = tmp_path / "ran.json"
    ran.write_text(json.dumps(_report("pkg.Good", True, **{"pass": 5})))
    assert main([str(ran), str(tmp_path / "stopped.json")]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[2].split() == ["pkg.Good", "5", "0", "0", "0", "0", "0", "yes"]
    assert lines[3].split() == ["stopped.json:", "no", "report", *["-"] * 6, "no"]
    assert "stopped.json: no report" in captured.err


def test_tox_kit_ends_with_the_table_of_this_runs_reports() -> None:
    import configparser
    import re

    from tests.kit_runner import REPO_ROOT

    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPO_ROOT / "tox.ini", encoding="utf-8")
    kit = tox["testenv:kit"]
    written = re.findall(r"--task-report=(\S+)", kit["commands"])
    assert written
    assert kit["commands_post"].split()[-len(written) :] == written
    assert "python -m conformance.summary --markdown" in kit["commands_post"]
    # The last run's reports are gone before this run's (no stale rows).
    assert "unlink" in kit["commands_pre"]
