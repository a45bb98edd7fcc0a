"""The per-clause conformance report: outcomes, totals, terminal/JSON/Markdown.

Several tests may check one clause (its sync and async forms, say). A clause
fails if any of its tests fails; it is "n/a" only if every test was not
applicable; otherwise it passes. A failing SHOULD clause is "warn".
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .spec import Clause

PASS, FAIL, WARN, NA = "pass", "fail", "warn", "n/a"
OUTCOMES = (PASS, FAIL, WARN, NA)
#: The formats --task-report writes, by file suffix.
REPORT_SUFFIXES = (".json", ".md")
# Worst first: a clause takes the worst outcome among its tests.
_SEVERITY = {FAIL: 3, WARN: 2, PASS: 1, NA: 0}


@dataclass
class ClauseRecord:
    clause: Clause
    tests: dict[str, str] = field(default_factory=dict)  # nodeid -> outcome
    details: list[str] = field(default_factory=list)  # n/a reasons, failures

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

    def record(
        self, clause: Clause, nodeid: str, outcome: str, detail: str = ""
    ) -> None:
        rec = self.records.setdefault(clause.id, ClauseRecord(clause))
        previous = rec.tests.get(nodeid)
        if previous is None or _SEVERITY[outcome] > _SEVERITY[previous]:
            rec.tests[nodeid] = outcome
        if detail and detail not in rec.details:
            rec.details.append(detail)

    def totals(self) -> Counter[str]:
        counts: Counter[str] = Counter({outcome: 0 for outcome in OUTCOMES})
        counts.update(rec.outcome for rec in self.records.values())
        return counts

    def conforming(self) -> bool:
        return self.totals()[FAIL] == 0

    # -- renderers ---------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "django": self.django,
            "kit": self.kit,
            "adapter": self.adapter,
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
                }
                for rec in self.records.values()
            ],
        }

    def terminal_lines(self) -> list[str]:
        width = max((len(cid) for cid in self.records), default=10)
        lines = []
        family = None
        for rec in self.records.values():
            if rec.clause.family.id != family:
                family = rec.clause.family.id
                lines.append(f"[{rec.clause.family.title}]")
            note = ""
            if rec.outcome == NA and rec.details:
                note = f"  ({rec.details[0]})"
            lines.append(
                f"  {rec.clause.id:<{width}}  {rec.clause.level:<6}  "
                f"{rec.outcome.upper():<4}{note}"
            )
        totals = self.totals()
        lines.append(
            "totals: "
            + ", ".join(f"{totals[o]} {o}" for o in OUTCOMES)
            + f" of {len(self.records)} clauses"
            + (" - CONFORMING" if self.conforming() else " - NOT CONFORMING")
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
            "",
            "| Clause | Family | Level | Outcome | Note |",
            "|---|---|---|---|---|",
        ]
        for rec in self.records.values():
            note = (rec.details[0] if rec.details else "").replace("|", "\\|")
            note = note.splitlines()[0] if note else ""
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
