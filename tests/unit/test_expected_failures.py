"""The expected-failures file: parsing, what is stale in it, and writing it."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from conformance.expected_failures import (
    TODO_REASON,
    ExpectedFailure,
    ExpectedFailuresError,
    load,
    stale,
    write,
)
from conformance.report import EXPECTED, FAIL, NA, PASS, ClauseRecord
from conformance.spec import Clause, Family

IDS = {"SIGNALS-ENQUEUED-ONCE", "SIGNALS-ENQUEUED-RESULT", "PRIORITY-IN-RANGE-ACCEPTED"}
DEMO = Family("demo", "Demo", "")


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expected.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_entries_are_read_with_their_optional_keys(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        """
        [[expected]]
        clause = "signals-enqueued-once"   # any letter case
        reason = "signals land in 2.0"
        django = ">=6.1"
        match = "sent 0 times"

        [[expected]]
        clause = "PRIORITY-IN-RANGE-ACCEPTED"
        reason = "no priorities yet"
        """,
    )
    entries = load(path, IDS)
    assert entries == {
        "SIGNALS-ENQUEUED-ONCE": ExpectedFailure(
            "SIGNALS-ENQUEUED-ONCE", "signals land in 2.0", ">=6.1", "sent 0 times"
        ),
        "PRIORITY-IN-RANGE-ACCEPTED": ExpectedFailure(
            "PRIORITY-IN-RANGE-ACCEPTED", "no priorities yet"
        ),
    }
    once = entries["SIGNALS-ENQUEUED-ONCE"]
    assert once.applies_to(Version("6.1.3"))
    assert not once.applies_to(Version("6.0.10"))
    assert once.matches("observed: sent 0 times")
    assert not once.matches("observed: sent 2 times")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[expected]]\nclause = "SIGNALS-ENQUEUED-ONSE"\nreason = "x"',
            "did you mean",
        ),
        ('[[expected]]\nclause = "SIGNALS-ENQUEUED-ONCE"', "gives no reason"),
        ('[[expected]]\nreason = "x"', "names no clause"),
        (
            '[[expected]]\nclause = "SIGNALS-ENQUEUED-ONCE"\nreason = "x"\ndjango = "6.1"',
            "django",
        ),
        (
            '[[expected]]\nclause = "SIGNALS-ENQUEUED-ONCE"\nreason = "x"\nwhy = "y"',
            "unknown keys",
        ),
        (
            '[[expected]]\nclause = "SIGNALS-ENQUEUED-ONCE"\nreason = "x"\n'
            '[[expected]]\nclause = "SIGNALS-ENQUEUED-ONCE"\nreason = "y"',
            "listed twice",
        ),
        ("[[expected]\n", "not TOML"),
        ('[[clause]]\nid = "X"', "unknown tables"),
        (
            '[[expected]]\nclause = "SIGNALS-ENQUEUED-ONCE"\nreason = "x"\n'
            'strict = "no"',
            "strict must be true or false",
        ),
    ],
)
def test_a_malformed_file_names_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ExpectedFailuresError, match=message):
        load(_file(tmp_path, text), IDS)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExpectedFailuresError, match="cannot read"):
        load(tmp_path / "absent.toml", IDS)


def _record(clause_id: str, **tests: str) -> ClauseRecord:
    record = ClauseRecord(Clause(clause_id, DEMO, "MUST", "holds.", "ref"))
    record.tests.update(tests)
    record.details.append("observed: what happened")
    return record


def test_stale_entries_are_the_ones_that_pass_or_fail_otherwise() -> None:
    entries = {
        cid: ExpectedFailure(cid, "why", match="sent 0")
        for cid in ("A-PASSES", "B-EXPECTED", "C-OTHER", "D-MIXED", "E-NA", "F-UNRUN")
    }
    records = {
        "A-PASSES": _record("A-PASSES", t=PASS),
        "B-EXPECTED": _record("B-EXPECTED", t=EXPECTED),
        "C-OTHER": _record("C-OTHER", t=FAIL),
        "D-MIXED": _record("D-MIXED", t1=EXPECTED, t2=FAIL),
        "E-NA": _record("E-NA", t=NA),
    }
    problems = stale(entries, records, "xf.toml")
    assert problems[0] == "A-PASSES passes now: remove it from xf.toml"
    assert problems[1].startswith("C-OTHER fails differently from xf.toml")
    assert "'sent 0'" in problems[1]
    assert problems[2].startswith("D-MIXED also fails")
    assert len(problems) == 3


def test_written_file_lists_the_failures_and_reads_back(tmp_path: Path) -> None:
    records = {
        "SIGNALS-ENQUEUED-ONCE": _record("SIGNALS-ENQUEUED-ONCE", t=FAIL),
        "SIGNALS-ENQUEUED-RESULT": _record("SIGNALS-ENQUEUED-RESULT", t=EXPECTED),
        "PRIORITY-IN-RANGE-ACCEPTED": _record("PRIORITY-IN-RANGE-ACCEPTED", t=PASS),
    }
    kept = ExpectedFailure("SIGNALS-ENQUEUED-RESULT", 'a "quoted" reason', ">=6.0")
    target = tmp_path / "written.toml"
    write(target, records, {kept.clause: kept})
    assert "# observed: what happened" in target.read_text(encoding="utf-8")
    assert load(target, IDS) == {
        "SIGNALS-ENQUEUED-ONCE": ExpectedFailure("SIGNALS-ENQUEUED-ONCE", TODO_REASON),
        "SIGNALS-ENQUEUED-RESULT": kept,
    }


def test_a_non_strict_entry_may_pass_but_not_fail_otherwise(tmp_path: Path) -> None:
    """For a deviation only some runs show (an order prefetching decides)."""
    path = _file(
        tmp_path,
        """
        [[expected]]
        clause = "SIGNALS-ENQUEUED-ONCE"
        reason = "ties start out of order when the worker prefetches"
        match = "sent 0"
        strict = false
        """,
    )
    entries = load(path, IDS)
    assert not entries["SIGNALS-ENQUEUED-ONCE"].strict
    passing = {"SIGNALS-ENQUEUED-ONCE": _record("SIGNALS-ENQUEUED-ONCE", t=PASS)}
    assert stale(entries, passing, "xf.toml") == []
    other = {"SIGNALS-ENQUEUED-ONCE": _record("SIGNALS-ENQUEUED-ONCE", t=FAIL)}
    assert stale(entries, other, "xf.toml")[0].startswith(
        "SIGNALS-ENQUEUED-ONCE fails differently"
    )
    # Rewritten after a run that did not show it, the entry stays as it was.
    target = tmp_path / "written.toml"
    write(target, passing, entries)
    assert "strict = false" in target.read_text(encoding="utf-8")
    assert load(target, IDS) == entries


def test_a_match_copied_from_a_report_matches_the_failure_it_came_from() -> None:
    """Reports (and written files) keep observations without memory
    addresses; the failure itself still has them: the match holds."""
    entry = ExpectedFailure("DEMO-ONE", "r", match="sender <my.Backend object>,")
    failure = "observed: sender <my.Backend object at 0x7f3a2c1b9d30>, not my.Backend"
    assert entry.matches(failure)
    assert not entry.matches("observed: sender <my.Backend>, not my.Backend")
