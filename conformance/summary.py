"""One table across conformance reports: ``python -m conformance.summary reports/*.json``.

One row per JSON report (``--task-report=FILE.json``): backend, the count of
each outcome, conforming. ``--markdown`` also writes each report's Markdown
beside its JSON (``FILE.md``). A report that does not exist (its run stopped
before writing it) is a row that says so; the command then exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .report import OUTCOMES, ClauseRecord, ConformanceReport
from .spec import load_clauses


def rows(reports: list[dict[str, Any]]) -> list[list[str]]:
    header = ["backend", *OUTCOMES, "conforming"]
    body = [
        [
            str(report.get("backend", "?")),
            *_counts(report.get("totals")),
            "yes" if report.get("conforming") else "no",
        ]
        for report in reports
    ]
    return [header, *body]


def _counts(totals: dict[str, int] | None) -> list[str]:
    """Each outcome's count; ``-`` for a run that wrote no report."""
    if totals is None:
        return ["-"] * len(OUTCOMES)
    return [str(totals.get(outcome, 0)) for outcome in OUTCOMES]


def table(reports: list[dict[str, Any]]) -> str:
    lines = rows(reports)
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    out = []
    for number, row in enumerate(lines):
        cells = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if number == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out) + "\n"


def from_dict(data: dict[str, Any]) -> ConformanceReport:
    """A report read back from its JSON (clauses the spec no longer has dropped)."""
    report = ConformanceReport(
        backend=data["backend"],
        django=data["django"],
        kit=data["kit"],
        flags=data["flags"],
        adapter=data["adapter"],
        expected_file=data.get("expected_failures", {}).get("file", ""),
        stale=list(data.get("expected_failures", {}).get("stale", [])),
    )
    clauses = load_clauses()
    for entry in data.get("clauses", []):
        clause = clauses.get(entry["id"])
        if clause is None:
            continue
        record = ClauseRecord(clause, details=list(entry.get("details", [])))
        if entry["outcome"] != "n/a":
            record.tests["report"] = entry["outcome"]
        record.expected_reason = entry.get("reason", "")
        record.likely_cause = entry.get("likely_cause", "")
        report.records[clause.id] = record
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.summary")
    parser.add_argument("reports", nargs="+", type=Path, help="JSON reports")
    parser.add_argument(
        "--markdown", action="store_true", help="write FILE.md beside each FILE.json"
    )
    args = parser.parse_args(argv)
    loaded = []
    missing = []
    for path in args.reports:
        if not path.exists():
            # A run that wrote no report (it stopped, or never started): a
            # row that says so, and the table of the others all the same.
            missing.append(path)
            loaded.append({"backend": f"{path.name}: no report"})
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{path}: not a JSON report: {exc}", file=sys.stderr)
            return 2
        loaded.append(data)
        if args.markdown:
            path.with_suffix(".md").write_text(from_dict(data).markdown(), "utf-8")
    sys.stdout.write(table(loaded))
    for path in missing:
        print(f"{path}: no report (its run did not finish)", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
