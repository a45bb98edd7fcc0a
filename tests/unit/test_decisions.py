"""The kit's decisions: where Django's docs are silent, a clause's source
cites ``kit decisions (LABEL)``, a section of the decisions guide that an
installed kit prints with ``python -m conformance.guide decisions``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from conformance import guide
from conformance.spec import decisions_cited, load_clauses

ROOT = Path(__file__).resolve().parents[2]


def _sections() -> dict[str, str]:
    """Each ``## heading`` of the guide -> the text under it."""
    text = guide.path("decisions").read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {
        heading.strip(): body
        for heading, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def test_the_guide_command_prints_the_decisions() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    shown = subprocess.run(
        [sys.executable, "-m", "conformance.guide", "decisions"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    ).stdout
    assert shown.startswith(
        "# Where Django's docs are silent: the kit's decisions\n"
    ), shown[:200]
    assert shown == guide.path("decisions").read_text(encoding="utf-8")
    assert guide.path("decisions").name == "decisions.md"


def test_every_cited_decision_has_its_section_naming_the_clause() -> None:
    sections = _sections()
    cited = 0
    for clause in load_clauses().values():
        labels = decisions_cited(clause.source)
        # "kit decisions" always with the label of its section.
        assert clause.source.count("kit decisions") == len(labels), clause.id
        for label in labels:
            assert label in sections, f"{clause.id}: no section '## {label}'"
            assert f"`{clause.id}`" in sections[label], (
                f"section '{label}' does not name {clause.id}, which cites it"
            )
            cited += 1
    assert cited >= 40


def test_every_decision_section_says_rule_level_and_why() -> None:
    labelled = {
        label
        for clause in load_clauses().values()
        for label in decisions_cited(clause.source)
    }
    sections = _sections()
    for label in labelled:
        body = sections[label]
        assert "**Rule.**" in body, label
        assert "**Why.**" in body, label
        assert re.search(r"\b(MUST|SHOULD|NOTE)\b", body), label


def test_a_failure_citing_a_decision_says_how_to_read_it() -> None:
    from conformance.plugin import _bug_report

    clauses = load_clauses()
    item = SimpleNamespace(
        location=("suite.py", 9, "test_x"), nodeid="suite.py::test_x"
    )
    decided = clauses["CONTEXT-ATTEMPT"]
    text = _bug_report(item, decided, AssertionError("observed: 0"), "rerun").text  # type: ignore[arg-type]
    line = next(line for line in text.splitlines() if line.startswith("source: "))
    assert "kit decisions (attempts)" in line
    assert line.endswith(f"(kit decisions: {guide.command('decisions')})")
    django_only = clauses["ENQUEUE-ID-UNDER-64"]
    assert not decisions_cited(django_only.source)
    assert django_only.source_line == django_only.source
