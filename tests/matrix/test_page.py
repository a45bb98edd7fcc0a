"""The page and the heat map, rendered from stored results (no kit run).

Three results: a conforming backend, a failing one, and one that could not
be set up; the page must say, for each, what a reader choosing a backend
needs, and every finding must carry its evidence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.spec import load_clauses
from matrix import heatmap, page
from matrix.run import RESULTS
from matrix.table import OBSERVATION_LENGTH, Row, families, load_rows

STORED = Path(__file__).resolve().parent / "results"


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return load_rows(STORED)


@pytest.fixture(scope="module")
def text(rows: list[Row]) -> str:
    return page.render(rows)


def _row_of(text: str, title: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {title} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_heat_map_comes_first_then_date_and_kit_version(text: str) -> None:
    lines = text.splitlines()
    assert lines[2].startswith("![")
    assert lines[2].endswith("(compatibility.svg)")
    assert "version 0.1.0" in text
    assert "results of 2026-12-02" in text  # the newest run's date


def test_a_row_per_backend_with_versions_verdict_totals_and_families(text: str) -> None:
    header = _row_of(text, "Backend")
    assert header[:8] == [
        "Backend",
        "Version",
        "Django",
        "Conforming",
        "pass",
        "fail",
        "warn",
        "n/a",
    ]
    assert header[8:] == [family.id for family in families()]
    good = dict(zip(header, _row_of(text, "Good Backend"), strict=True))
    assert (good["Version"], good["Django"]) == ("1.2.0", "Django 6.1.3")
    assert good["Conforming"].startswith("[yes]")
    assert (good["pass"], good["fail"], good["warn"], good["n/a"]) == (
        "3",
        "0",
        "0",
        "1",
    )
    assert (good["checks"], good["defer"]) == ("✓", "-")
    flawed = dict(zip(header, _row_of(text, "Flawed Backend"), strict=True))
    assert flawed["Conforming"].startswith("[no]")
    assert (flawed["fail"], flawed["warn"]) == ("2", "1")
    assert (flawed["defer"], flawed["checks"], flawed["context"]) == ("✗ 1", "⚠ 1", "-")
    broken = dict(zip(header, _row_of(text, "Broken Backend"), strict=True))
    assert broken["Conforming"].startswith("[could not be set up]")
    assert broken["Version"] == "?"
    assert broken["Django"] == "Django>=6.1,<6.2"


def test_each_finding_has_its_observation_and_django_source(text: str) -> None:
    findings = text.split("## Findings", 1)[1]
    flawed = findings.split("### Flawed Backend", 1)[1].split("###", 1)[0]
    clauses = load_clauses()
    fail = next(line for line in flawed.splitlines() if "`DEFER-NOT-EARLY`" in line)
    assert fail.startswith("- **FAIL**")
    assert "(MUST, defer)" in fail
    assert "a task due in 60 s ran at once (status SUCCESSFUL)" in fail
    assert "assert ..." not in fail  # one line of observation
    assert clauses["DEFER-NOT-EARLY"].source in fail
    warn = next(
        line for line in flawed.splitlines() if "`CHECKS-ACCEPTS-KWARGS`" in line
    )
    assert warn.startswith("- **WARN**")
    assert clauses["CHECKS-ACCEPTS-KWARGS"].source in warn
    # What the kit suspects made it fail (a lost task) is said, after the
    # observation: a knock-on reads as one.
    assert "*Possibly a knock-on:* likely cause: the worker lost" in warn
    assert "knock-on" not in fail
    # Failures before warnings; passing and n/a clauses are not findings.
    assert flawed.index("DEFER-NOT-EARLY") < flawed.index("CHECKS-ACCEPTS-KWARGS")
    assert "CONTEXT-RECEIVED" not in flawed
    good = findings.split("### Good Backend", 1)[1].split("###", 1)[0]
    assert "**FAIL**" not in good
    assert "Conforming: yes" in good


def test_a_long_observation_is_cut_to_one_short_line(text: str) -> None:
    line = next(
        line for line in text.splitlines() if "`ENQUEUE-RETURNS-RESULT`" in line
    )
    assert "…" in line
    assert len(line) < OBSERVATION_LENGTH + 300  # the clause, its level, its source


def test_a_backend_that_could_not_be_set_up_says_why(text: str) -> None:
    broken = text.split("### Broken Backend", 1)[1]
    assert "No solution found when resolving dependencies" in broken


def test_the_heat_map_has_a_coloured_cell_per_backend_and_family(
    rows: list[Row],
) -> None:
    svg = ET.fromstring(heatmap.render(rows))
    ns = "{http://www.w3.org/2000/svg}"
    tips = {
        rect.findtext(f"{ns}title"): rect.get("fill")
        for rect in svg.iter(f"{ns}rect")
        if rect.find(f"{ns}title") is not None
    }
    assert len(tips) == len(rows) * len(families())
    assert (
        tips["Flawed Backend / defer: fail (MUST), 1 clause(s)"]
        == heatmap.COLOURS["fail"]
    )
    assert (
        tips["Flawed Backend / checks: warn (SHOULD), 1 clause(s)"]
        == heatmap.COLOURS["warn"]
    )
    assert tips["Good Backend / checks: pass"] == heatmap.COLOURS["pass"]
    assert tips["Good Backend / defer: n/a"] == heatmap.COLOURS["n/a"]
    assert (
        tips["Broken Backend / checks: could not be set up"] == heatmap.COLOURS["setup"]
    )


def test_the_committed_page_is_the_rendering_of_the_committed_results() -> None:
    stored = load_rows(RESULTS)
    assert page.PAGE.read_text("utf-8") == page.render(stored), (
        "python -m matrix --render-only"
    )
    assert page.PICTURE.read_text("utf-8") == heatmap.render(stored)


def test_the_findings_say_where_a_cited_decision_is(text: str) -> None:
    findings = text.split("## Findings", 1)[1]
    assert "*kit decisions (LABEL)*" in findings
    assert "[the kit's decisions](decisions.md)" in findings
    assert (page.PAGE.parent / "decisions.md").is_file()
