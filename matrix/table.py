"""What the page and the heat map show, read from the stored results.

A result is the kit's JSON report (``--task-report=FILE.json``) with a
``matrix`` block (the entry, the versions, the time, or why it could not be
set up). It is read back through the kit's own report model
(:func:`conformance.summary.from_dict`), so an observation is worded here as
in the kit's own reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.report import EXPECTED, FAIL, NA, NOTE, PASS, WARN, ClauseRecord
from conformance.spec import Family, load_clauses
from conformance.summary import from_dict

#: What a family's cell shows: the worst outcome of its clauses. A NOTE is a
#: portability note (never a finding): it counts as checked and passing.
_CELL_SEVERITY = {FAIL: 3, WARN: 2, PASS: 1, NA: 0}
#: What an unfinished run is called, in the row and in the cell.
SETUP = "setup"
#: An observation longer than this is cut (a repr may hold a whole traceback).
OBSERVATION_LENGTH = 300


@dataclass(frozen=True)
class Finding:
    clause: str
    level: str
    outcome: str
    family: str
    observation: str
    source: str
    #: What the kit suspects made the clause fail (a task the worker lost).
    likely_cause: str = ""


@dataclass(frozen=True)
class Cell:
    outcome: str  # pass, fail, warn, n/a, or SETUP
    count: int = 0  # clauses failing (or warning) in the family


@dataclass
class Row:
    name: str
    title: str
    version: str
    django: str
    error: str = ""
    conforming: bool = False
    checked: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    cells: dict[str, Cell] = field(default_factory=dict)  # family id -> cell
    findings: list[Finding] = field(default_factory=list)
    kit: str = ""
    date: str = ""
    seconds: int = 0

    @property
    def verdict(self) -> str:
        if self.error:
            return "could not be set up"
        if self.checked == 0:
            return "no clause checked"
        return "yes" if self.conforming else "no"


def families() -> list[Family]:
    """Every family of the spec, in the spec's order."""
    return list(
        {clause.family.id: clause.family for clause in load_clauses().values()}.values()
    )


def _outcome(record: ClauseRecord) -> str:
    # The matrix runs without an expected-failures file; were one given, an
    # expected failure is still a failure of the contract.
    outcome = record.outcome
    return {EXPECTED: FAIL, NOTE: PASS}.get(outcome, outcome)


def _first_detail(record: Any) -> str:
    """The first observation of a clause, one line."""
    return str(record.details[0]).splitlines()[0] if record.details else ""


def _short(text: str) -> str:
    if len(text) <= OBSERVATION_LENGTH:
        return text
    return text[: OBSERVATION_LENGTH - 1].rstrip() + "…"


def row(result: dict[str, Any]) -> Row:
    info = result["matrix"]
    out = Row(
        name=info["name"],
        title=info["title"],
        version=info.get("version", "") or "?",
        django=result.get("django", "") or info["django_requirement"],
        error=info.get("error", ""),
        kit=info.get("kit", ""),
        date=info.get("date", ""),
        seconds=int(info.get("seconds", 0)),
    )
    if out.error or "clauses" not in result:
        out.error = out.error or "the run left no report"
        out.cells = {family.id: Cell(SETUP) for family in families()}
        return out
    report = from_dict(result)
    out.conforming = report.conforming()
    out.checked = report.checked()
    counts = {PASS: 0, FAIL: 0, WARN: 0, NA: 0}
    worst: dict[str, str] = {}
    bad: dict[str, int] = {}
    for record in report.records.values():
        outcome = _outcome(record)
        counts[outcome] += 1
        family = record.clause.family.id
        if _CELL_SEVERITY[outcome] >= _CELL_SEVERITY[worst.get(family, NA)]:
            worst[family] = outcome
        if outcome in (FAIL, WARN):
            bad[family] = bad.get(family, 0) + (outcome == worst[family])
            out.findings.append(
                Finding(
                    clause=record.clause.id,
                    level=record.clause.level,
                    outcome=outcome,
                    family=family,
                    observation=_short(
                        _first_detail(record) or "(no observation recorded)"
                    ),
                    source=record.clause.source,
                    likely_cause=_short(record.likely_cause),
                )
            )
    out.totals = counts
    out.cells = {
        family.id: Cell(worst.get(family.id, NA), bad.get(family.id, 0))
        for family in families()
    }
    out.findings.sort(key=lambda finding: finding.outcome != FAIL)
    return out


def load_rows(directory: Path) -> list[Row]:
    """A row per stored result, in the order of their names."""
    return [
        row(json.loads(path.read_text("utf-8")))
        for path in sorted(directory.glob("*.json"))
    ]
