"""The per-clause conformance report: outcomes, totals, terminal/JSON/Markdown.

Several tests may check one clause (its sync and async forms, say). A clause
fails if any of its tests fails; it is "n/a" only if every test was not
applicable; otherwise it passes. A failing SHOULD clause is "warn"; a NOTE
clause whose check does not hold is "note" (never a failure). A clause
listed in the expected-failures file (:mod:`conformance.expected_failures`)
that fails as described is "expected": the run passes, but the backend is not
conforming while any remain.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .spec import Clause, Family
from .violation import without_addresses

PASS, FAIL, WARN, NA, EXPECTED = "pass", "fail", "warn", "n/a", "expected"
#: A NOTE clause whose check did not hold: a portability note, not a finding.
NOTE = "note"
OUTCOMES = (PASS, FAIL, WARN, EXPECTED, NOTE, NA)
#: The formats --task-report writes, by file suffix.
REPORT_SUFFIXES = (".json", ".md")
# Worst first: a clause takes the worst outcome among its tests.
_SEVERITY = {FAIL: 5, EXPECTED: 4, WARN: 3, NOTE: 2, PASS: 1, NA: 0}


@dataclass
class ClauseRecord:
    clause: Clause
    tests: dict[str, str] = field(default_factory=dict)  # nodeid -> outcome
    details: list[str] = field(default_factory=list)  # n/a reasons, failures
    #: The reason the expected-failures file gives, when it lists the clause.
    expected_reason: str = ""
    #: Where the clause failed while the worker had lost tasks: what may have
    #: made it fail (a knock-on of another clause's finding, not its own).
    likely_cause: str = ""

    @property
    def outcome(self) -> str:
        outcomes = set(self.tests.values())
        if not outcomes:
            return NA
        worst = max(outcomes, key=_SEVERITY.__getitem__)
        # Some tests passed and the rest were n/a: the clause passes.
        return worst


@dataclass
class ConformanceReport:
    backend: str
    django: str
    kit: str
    flags: dict[str, bool]
    adapter: str
    records: dict[str, ClauseRecord] = field(default_factory=dict)
    #: The expected-failures file the run was gated on, and what is stale in it.
    expected_file: str = ""
    stale: list[str] = field(default_factory=list)
    #: The settings' TIME_ZONE: whether a run was in UTC matters to a reader.
    time_zone: str = ""

    def record(
        self, clause: Clause, nodeid: str, outcome: str, detail: str = ""
    ) -> None:
        rec = self.records.setdefault(clause.id, ClauseRecord(clause))
        previous = rec.tests.get(nodeid)
        if previous is None or _SEVERITY[outcome] > _SEVERITY[previous]:
            rec.tests[nodeid] = outcome
        detail = without_addresses(detail)
        if detail and detail not in rec.details:
            rec.details.append(detail)

    def totals(self) -> Counter[str]:
        counts: Counter[str] = Counter({outcome: 0 for outcome in OUTCOMES})
        counts.update(rec.outcome for rec in self.records.values())
        return counts

    def checked(self) -> int:
        """How many clauses the run checked (every outcome but n/a)."""
        return sum(rec.outcome != NA for rec in self.records.values())

    def conforming(self) -> bool:
        """No failure, expected or not, and at least one clause checked."""
        totals = self.totals()
        return totals[FAIL] == 0 and totals[EXPECTED] == 0 and self.checked() > 0

    # -- renderers ---------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "django": self.django,
            "kit": self.kit,
            "adapter": self.adapter,
            "time_zone": self.time_zone,
            "flags": self.flags,
            "conforming": self.conforming(),
            "totals": dict(self.totals()),
            "clauses": [
                {
                    "id": rec.clause.id,
                    "family": rec.clause.family.id,
                    "level": rec.clause.level,
                    "outcome": rec.outcome,
                    "text": rec.clause.text,
                    "tests": len(rec.tests),
                    "details": rec.details,
                    **({"reason": rec.expected_reason} if rec.expected_reason else {}),
                    **({"likely_cause": rec.likely_cause} if rec.likely_cause else {}),
                }
                for rec in self.records.values()
            ],
            "checked": self.checked(),
            "expected_failures": {"file": self.expected_file, "stale": self.stale},
        }

    def note(self, rec: ClauseRecord) -> str:
        """The one line a row shows: what was observed, or why it is n/a."""
        first = rec.details[0].splitlines()[0] if rec.details else ""
        if rec.outcome == EXPECTED:
            return f"{rec.expected_reason} ({first})" if first else rec.expected_reason
        if rec.outcome in (FAIL, WARN) and rec.likely_cause:
            # A hint, not a verdict: the observation comes first.
            return f"{first} ({rec.likely_cause})"
        return first if rec.outcome != PASS else ""

    def shared_reasons(self) -> dict[str, list[str]]:
        """n/a reasons that several clauses share -> those clauses."""
        by_reason: dict[str, list[str]] = {}
        for rec in self.records.values():
            if rec.outcome == NA and rec.details:
                by_reason.setdefault(self.note(rec), []).append(rec.clause.id)
        return {reason: ids for reason, ids in by_reason.items() if len(ids) > 1}

    def verdict(self) -> str:
        if self.checked() == 0:
            return "NO CLAUSE CHECKED"
        verdict = "CONFORMING" if self.conforming() else "NOT CONFORMING"
        if self.stale:
            # The backend may conform while the run fails: say why it fails.
            verdict += f" (the run fails: {len(self.stale)} stale expected failure(s))"
        return verdict

    def variations_line(self, family: Family) -> list[str]:
        """``  varied: ...`` for a family with variations and a clause checked."""
        checked = any(
            rec.outcome != NA
            for rec in self.records.values()
            if rec.clause.family.id == family.id
        )
        if not (family.variations and checked):
            return []
        return [f"  varied: {'; '.join(family.variations)}"]

    def terminal_lines(self) -> list[str]:
        width = max((len(cid) for cid in self.records), default=10)
        shared = {reason: n for n, reason in enumerate(self.shared_reasons(), 1)}
        lines = []
        family = None
        for rec in self.records.values():
            if rec.clause.family.id != family:
                family = rec.clause.family.id
                lines.append(f"[{rec.clause.family.title}]")
                lines.extend(self.variations_line(rec.clause.family))
            note = self.note(rec)
            if rec.outcome == NA and note in shared:
                note = f"n/a note {shared[note]}"
            row = f"  {rec.clause.id:<{width}}  {rec.clause.level:<6}  "
            row += f"{rec.outcome.upper():<8}" + (f"  ({note})" if note else "")
            lines.append(row.rstrip())
        for reason, number in shared.items():
            covered = self.shared_reasons()[reason]
            lines.append(f"n/a note {number}: {reason}")
            lines.append(f"  for {len(covered)} clauses: {', '.join(covered)}")
        for problem in self.stale:
            lines.append(f"expected failures: {problem}")
        totals = self.totals()
        lines.append(
            "totals: "
            + ", ".join(f"{totals[o]} {o}" for o in OUTCOMES)
            + f" of {len(self.records)} clauses - {self.verdict()}"
        )
        return lines

    def markdown(self) -> str:
        totals = self.totals()
        lines = [
            f"# Conformance report: `{self.backend}`",
            "",
            f"- Django: {self.django}",
            f"- Kit: {self.kit}",
            f"- Adapter: {self.adapter}",
            "- Flags: "
            + ", ".join(f"`{k}={v}`" for k, v in sorted(self.flags.items())),
            "- Totals: " + ", ".join(f"{totals[o]} {o}" for o in OUTCOMES),
            f"- Verdict: {self.verdict()}",
            *(f"- Expected failures: {problem}" for problem in self.stale),
            "",
            "| Clause | Family | Level | Outcome | Note |",
            "|---|---|---|---|---|",
        ]
        for rec in self.records.values():
            note = self.note(rec).replace("|", "\\|")
            lines.append(
                f"| `{rec.clause.id}` | {rec.clause.family.id} | {rec.clause.level}"
                f" | {rec.outcome} | {note} |"
            )
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        if path.suffix == ".json":
            path.write_text(json.dumps(self.as_dict(), indent=2) + "\n", "utf-8")
        elif path.suffix == ".md":
            path.write_text(self.markdown(), "utf-8")
        else:
            raise ValueError(f"--task-report must end in .json or .md, not {path}")
