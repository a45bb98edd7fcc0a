"""The conformance report, in process: outcomes, totals and its three renderings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.report import (
    EXPECTED,
    FAIL,
    NA,
    NOTE,
    PASS,
    WARN,
    ClauseRecord,
    ConformanceReport,
)
from conformance.spec import Clause, Family

DEMO = Family("demo", "Demo family", "")
OTHER = Family("other", "Other family", "")


def _clause(clause_id: str, family: Family = DEMO, level: str = "MUST") -> Clause:
    return Clause(clause_id, family, level, f"{clause_id} holds.", "ref/tasks")


def _report() -> ConformanceReport:
    return ConformanceReport(
        backend="demo.Backend",
        django="Django 6.1",
        kit="0.1.0",
        flags={"supports_defer": True, "supports_priority": False},
        adapter="Adapter",
    )


@pytest.mark.parametrize(
    ("outcomes", "clause_outcome"),
    [
        ([PASS, PASS], PASS),
        ([PASS, NA], PASS),  # some applied and passed: the clause passes
        ([NA, NA], NA),
        ([PASS, WARN, NA], WARN),
        ([WARN, FAIL, PASS], FAIL),  # the worst test decides
        ([], NA),
    ],
)
def test_a_clause_takes_the_worst_outcome_of_its_tests(
    outcomes: list[str], clause_outcome: str
) -> None:
    report = _report()
    clause = _clause("DEMO-ONE")
    report.records.setdefault(clause.id, ClauseRecord(clause))  # laid out first
    for index, outcome in enumerate(outcomes):
        report.record(clause, f"test_{index}", outcome)
    assert report.records["DEMO-ONE"].outcome == clause_outcome


def test_one_test_reported_twice_keeps_its_worse_outcome() -> None:
    # A test that passed its call and then failed its teardown failed.
    report = _report()
    clause = _clause("DEMO-ONE")
    report.record(clause, "test_x", PASS)
    report.record(clause, "test_x", FAIL, "observed: teardown broke")
    report.record(clause, "test_x", PASS)
    assert report.records["DEMO-ONE"].tests == {"test_x": FAIL}
    assert report.records["DEMO-ONE"].details == ["observed: teardown broke"]


def test_details_are_kept_once_each_in_order() -> None:
    report = _report()
    clause = _clause("DEMO-ONE")
    for nodeid, detail in (("a", "first"), ("b", "second"), ("c", "first")):
        report.record(clause, nodeid, NA, detail)
    assert report.records["DEMO-ONE"].details == ["first", "second"]


def test_totals_and_conforming() -> None:
    report = _report()
    report.record(_clause("DEMO-ONE"), "t1", PASS)
    report.record(_clause("DEMO-TWO", level="SHOULD"), "t2", WARN)
    report.record(_clause("DEMO-THREE"), "t3", NA, "needs supports_priority")
    report.record(_clause("DEMO-FOUR", level="NOTE"), "t5", NOTE, "observed: any case")
    assert dict(report.totals()) == {
        PASS: 1,
        FAIL: 0,
        WARN: 1,
        EXPECTED: 0,
        NOTE: 1,
        NA: 1,
    }
    assert report.conforming()  # warnings and portability notes do not count
    (row,) = [line for line in report.terminal_lines() if "DEMO-FOUR" in line]
    assert row.split() == ["DEMO-FOUR", "NOTE", "NOTE", "(observed:", "any", "case)"]
    report.record(_clause("OTHER-ONE", OTHER), "t4", FAIL, "observed: wrong")
    assert not report.conforming()
    assert report.totals()[FAIL] == 1


def test_json_rendering_has_every_clause_in_order() -> None:
    report = _report()
    report.record(_clause("DEMO-ONE"), "t1", PASS)
    report.record(_clause("OTHER-ONE", OTHER, "SHOULD"), "t2", WARN, "observed: late")
    data = report.as_dict()
    assert data["backend"] == "demo.Backend"
    assert data["conforming"] is True
    assert data["totals"] == {PASS: 1, FAIL: 0, WARN: 1, EXPECTED: 0, NOTE: 0, NA: 0}
    assert [entry["id"] for entry in data["clauses"]] == ["DEMO-ONE", "OTHER-ONE"]
    assert data["clauses"][1] == {
        "id": "OTHER-ONE",
        "family": "other",
        "level": "SHOULD",
        "outcome": WARN,
        "text": "OTHER-ONE holds.",
        "tests": 1,
        "details": ["observed: late"],
    }


def test_terminal_lines_group_by_family_and_give_na_reasons() -> None:
    report = _report()
    report.record(_clause("DEMO-ONE"), "t1", PASS)
    report.record(_clause("DEMO-LONGER-ID"), "t2", NA, "needs supports_priority")
    report.record(_clause("OTHER-ONE", OTHER), "t3", FAIL, "observed: wrong")
    lines = report.terminal_lines()
    assert lines[0] == "[Demo family]"
    assert lines[1].split() == ["DEMO-ONE", "MUST", "PASS"]
    assert lines[2].split()[:3] == ["DEMO-LONGER-ID", "MUST", "N/A"]
    assert lines[2].endswith("(needs supports_priority)")
    assert lines[3] == "[Other family]"
    # IDs are padded to one width, so the columns line up.
    assert lines[1].index("MUST") == lines[2].index("MUST") == lines[4].index("MUST")
    assert lines[-1] == (
        "totals: 1 pass, 1 fail, 0 warn, 0 expected, 0 note, 1 n/a of 3 clauses"
        " - NOT CONFORMING"
    )


def test_markdown_escapes_pipes_and_keeps_first_line_of_a_note() -> None:
    report = _report()
    report.record(_clause("DEMO-ONE"), "t1", FAIL, "observed: a | b\nsecond line")
    text = report.markdown()
    assert "# Conformance report: `demo.Backend`" in text
    assert "- Flags: `supports_defer=True`, `supports_priority=False`" in text
    row = next(line for line in text.splitlines() if line.startswith("| `DEMO-ONE`"))
    assert row == "| `DEMO-ONE` | demo | MUST | fail | observed: a \\| b |"


@pytest.mark.parametrize("suffix", [".json", ".md"])
def test_write_by_suffix(tmp_path: Path, suffix: str) -> None:
    report = _report()
    report.record(_clause("DEMO-ONE"), "t1", PASS)
    target = tmp_path / f"report{suffix}"
    report.write(target)
    text = target.read_text(encoding="utf-8")
    if suffix == ".json":
        assert json.loads(text) == report.as_dict()
    else:
        assert text == report.markdown()


def test_write_refuses_an_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.json or \.md"):
        _report().write(tmp_path / "report.txt")
    assert not (tmp_path / "report.txt").exists()


# -- issue 13: expected failures, rows that say why, runs that checked nothing --
def test_an_expected_clause_is_its_own_outcome_and_not_conforming() -> None:
    report = _report()
    report.record(_clause("DEMO-ONE"), "t1", PASS)
    report.record(_clause("DEMO-TWO"), "t2", EXPECTED, "observed: sent 0 times")
    report.records["DEMO-TWO"].expected_reason = "signals land in 2.0"
    assert report.totals()[EXPECTED] == 1
    assert not report.conforming()
    data = report.as_dict()
    assert data["conforming"] is False
    entry = data["clauses"][1]
    assert (entry["outcome"], entry["reason"]) == (EXPECTED, "signals land in 2.0")
    row = next(line for line in report.terminal_lines() if "DEMO-TWO" in line)
    assert "EXPECTED" in row
    assert "signals land in 2.0" in row
    assert "sent 0 times" in row
    assert "| expected | signals land in 2.0" in report.markdown()


def test_a_clause_failing_beside_an_expected_case_fails() -> None:
    report = _report()
    clause = _clause("DEMO-ONE")
    report.record(clause, "t1", EXPECTED, "observed: as listed")
    report.record(clause, "t2", FAIL, "observed: something else")
    assert report.records["DEMO-ONE"].outcome == FAIL


def test_a_run_that_checked_no_clause_is_never_conforming() -> None:
    empty = _report()
    assert not empty.conforming()
    assert empty.as_dict()["conforming"] is False
    assert "CONFORMING" not in empty.terminal_lines()[-1].replace("NOT CONFORMING", "")
    only_na = _report()
    only_na.record(_clause("DEMO-ONE"), "t1", NA, "needs supports_priority")
    assert not only_na.conforming()
    assert only_na.as_dict()["checked"] == 0
    assert "NO CLAUSE CHECKED" in only_na.markdown()


def test_fail_and_warn_rows_carry_their_observation() -> None:
    report = _report()
    report.record(_clause("DEMO-ONE"), "t1", FAIL, "observed: wrong\nmore")
    report.record(_clause("DEMO-TWO", level="SHOULD"), "t2", WARN, "observed: late")
    lines = report.terminal_lines()
    assert lines[1].endswith("(observed: wrong)")
    assert lines[2].endswith("(observed: late)")


def test_a_shared_na_reason_is_printed_once_with_its_clauses() -> None:
    report = _report()
    for name in ("DEMO-A", "DEMO-B", "DEMO-C"):
        report.record(_clause(name), "t", NA, "needs a worker (--task-worker)")
    report.record(_clause("DEMO-D"), "t", NA, "needs supports_priority")
    text = "\n".join(report.terminal_lines())
    assert text.count("needs a worker (--task-worker)") == 1
    assert "for 3 clauses: DEMO-A, DEMO-B, DEMO-C" in text
    assert (
        "(needs supports_priority)" in text
    )  # a reason of one clause stays in its row


def test_a_family_says_which_situations_it_varied_where_a_clause_was_checked() -> None:
    varied = Family("varied", "Varied family", "", variations=("odd names", "ties"))
    report = _report()
    for clause_id, family, outcome in (
        ("VARIED-ONE", varied, PASS),
        ("OTHER-ONE", Family("other", "Other", "", variations=("x",)), NA),
    ):
        report.record(_clause(clause_id, family), "test", outcome)
    lines = report.terminal_lines()
    assert lines[:2] == ["[Varied family]", "  varied: odd names; ties"]
    assert "  varied: x" not in lines  # nothing of it checked


def test_a_stale_expected_failure_is_in_the_verdict_though_the_backend_conforms() -> (
    None
):
    """The backend passes the listed clause (it conforms) but the run fails:
    every rendering says why, not a bare CONFORMING beside exit status 1."""
    report = _report()
    report.record(_clause("DEMO-ONE"), "test_one", PASS)
    report.stale = ["DEMO-ONE passes now: remove it from xf.toml"]
    assert report.conforming()
    stale = "CONFORMING (the run fails: 1 stale expected failure(s))"
    assert report.terminal_lines()[-1].endswith(stale)
    assert f"- Verdict: {stale}" in report.markdown()
    assert report.as_dict()["expected_failures"]["stale"] == report.stale


def test_details_leave_out_memory_addresses() -> None:
    """A report (and the expected-failures file written from it) reads the
    same from run to run: default reprs lose their address, nothing else."""
    report = _report()
    clause = _clause("DEMO-ONE")
    for address in ("0x7f3a2c1b9d30", "0x7f00DEADBEEF"):
        report.record(
            clause,
            "test_one",
            FAIL,
            f"observed: sender <my.Backend object at {address}>, not my.Backend"
            " (at 0x10 in the log)",
        )
    assert report.records["DEMO-ONE"].details == [
        "observed: sender <my.Backend object>, not my.Backend (at 0x10 in the log)"
    ]
