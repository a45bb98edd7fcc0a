"""``docs/compatibility.svg``: backend x family, one coloured cell each.

Plain SVG written by hand (no plotting library to install): a cell is the
worst outcome of the family's clauses, with the count of failing (or
warning) clauses written in it, and a tooltip naming both.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from conformance.report import FAIL, NA, PASS, WARN

from .table import SETUP, Row, families

COLOURS = {
    PASS: "#3a9d5d",
    WARN: "#e8b23a",
    FAIL: "#d64545",
    NA: "#e3e3e3",
    SETUP: "#9a9a9a",
}
LABELS = {
    PASS: "pass",
    WARN: "warn (SHOULD)",
    FAIL: "fail (MUST)",
    NA: "n/a",
    SETUP: "could not be set up",
}
CELL = 22
LEFT = 330  # room for a backend's title
TOP = 150  # room for the families' names, slanted
FONT = "font-family='Helvetica, Arial, sans-serif' font-size='12'"


def render(rows: list[Row]) -> str:
    ids = [family.id for family in families()]
    width = LEFT + CELL * len(ids) + 110  # the last names slant right
    height = TOP + CELL * len(rows) + 60
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'"
        f" viewBox='0 0 {width} {height}' {FONT}>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
    ]
    for column, family in enumerate(ids):
        x = LEFT + column * CELL + CELL / 2
        out.append(
            f"<text x='{x}' y='{TOP - 6}' transform='rotate(-55 {x} {TOP - 6})'>"
            f"{escape(family)}</text>"
        )
    for number, row in enumerate(rows):
        y = TOP + number * CELL
        out.append(
            f"<text x='{LEFT - 8}' y='{y + CELL * 0.7}' text-anchor='end'>"
            f"{escape(row.title)}</text>"
        )
        for column, family in enumerate(ids):
            cell = row.cells[family]
            x = LEFT + column * CELL
            tip = f"{row.title} / {family}: {LABELS[cell.outcome]}"
            if cell.count:
                tip += f", {cell.count} clause(s)"
            out.append(
                f"<rect x='{x}' y='{y}' width='{CELL - 2}' height='{CELL - 2}'"
                f" fill='{COLOURS[cell.outcome]}'><title>{escape(tip)}</title></rect>"
            )
            if cell.count:
                out.append(
                    f"<text x='{x + (CELL - 2) / 2}' y='{y + CELL * 0.68}'"
                    f" text-anchor='middle' fill='white'>{cell.count}</text>"
                )
    out += _legend(TOP + CELL * len(rows) + 25)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _legend(y: float) -> list[str]:
    out, x = [], float(LEFT)
    for outcome in (PASS, WARN, FAIL, NA, SETUP):
        out.append(
            f"<rect x='{x}' y='{y}' width='14' height='14' fill='{COLOURS[outcome]}'/>"
        )
        out.append(f"<text x='{x + 19}' y='{y + 12}'>{escape(LABELS[outcome])}</text>")
        x += 34 + 7.2 * len(LABELS[outcome])
    return out
