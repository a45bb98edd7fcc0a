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
