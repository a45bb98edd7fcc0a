"""The specification: clauses loaded from the TOML files in ``specs/``.

Each ``specs/<family>.toml`` holds one feature family (a ``[family]`` table)
and its clauses (``[[clause]]`` tables). This module is the only reader of
those files; the Markdown in ``specs/SPEC.md`` is rendered from them
(``python -m conformance.spec > specs/SPEC.md``).
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from . import guide

#: MUST fails a run, SHOULD warns; a NOTE is a portability note, where Django is
#: silent and designs legitimately differ: what the backend does is reported,
#: never a failure or a warning.
LEVELS = ("MUST", "SHOULD", "NOTE")

#: How a clause's source cites the kit's own decision where Django's docs are
#: silent: ``kit decisions (LABEL)``, LABEL a section of the decisions guide
#: (``python -m conformance.guide decisions``).
DECISION = re.compile(r"kit decisions \(([^()]+)\)")


def decisions_cited(source: str) -> list[str]:
    """The labels of the kit's decisions that ``source`` cites, in order."""
    return DECISION.findall(source)


class SpecError(ValueError):
    """A clause file is malformed."""


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    description: str
    #: The situations its tests vary (the report says them, one line).
    variations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clause:
    id: str
    family: Family
    level: str
    text: str
    source: str
    #: PEP 440 specifier over Django's version ("" means every version).
    django: str = ""
    #: Names from :mod:`conformance.requirements`, "not " negates.
    requires: tuple[str, ...] = ()

    @property
    def versions(self) -> SpecifierSet:
        return SpecifierSet(self.django)

    @property
    def source_line(self) -> str:
        """The source as a failure message shows it: where it cites the kit's
        decisions, with the command that prints them (installed kits too)."""
        if not decisions_cited(self.source):
            return self.source
        return f"{self.source} (kit decisions: {guide.command('decisions')})"


def spec_dir() -> Path:
    """Where the clause files are: inside the wheel, or the source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "specs", here.parent / "specs"):
        if any(candidate.glob("*.toml")):
            return candidate
    raise SpecError(f"no clause files found near {here}")


def _parse_clause(raw: Mapping[str, Any], family: Family, origin: Path) -> Clause:
    missing = {"id", "level", "text", "source"} - raw.keys()
    if missing:
        raise SpecError(f"{origin}: clause {raw.get('id')!r} lacks {sorted(missing)}")
    unknown = raw.keys() - {"id", "level", "text", "source", "django", "requires"}
    if unknown:
        raise SpecError(f"{origin}: clause {raw['id']!r} has unknown keys {unknown}")
    if raw["level"] not in LEVELS:
        raise SpecError(f"{origin}: clause {raw['id']!r} level must be one of {LEVELS}")
    clause = Clause(
        id=raw["id"],
        family=family,
        level=raw["level"],
        text=" ".join(raw["text"].split()),
        source=raw["source"],
        django=raw.get("django", ""),
        requires=tuple(raw.get("requires", ())),
    )
    clause.versions  # noqa: B018 - fail here on a malformed specifier
    return clause


def load_file(path: Path) -> list[Clause]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    fam = data.get("family", {})
    family = Family(
        id=fam.get("id", path.stem),
        title=fam.get("title", path.stem),
        description=" ".join(fam.get("description", "").split()),
        variations=tuple(" ".join(v.split()) for v in fam.get("variations", ())),
    )
    return [_parse_clause(raw, family, path) for raw in data.get("clause", [])]


@cache
def load_clauses(directory: Path | None = None) -> dict[str, Clause]:
    """Every clause by ID, in file then declaration order."""
    clauses: dict[str, Clause] = {}
    for path in sorted((directory or spec_dir()).glob("*.toml")):
        for clause in load_file(path):
            if clause.id in clauses:
                raise SpecError(f"{path}: duplicate clause id {clause.id}")
            clauses[clause.id] = clause
    return clauses


def render_markdown(clauses: Iterable[Clause]) -> str:
    """The human-readable spec: one section per family, one table row per clause."""
    lines = [
        "# Django Tasks API: conformance clauses",
        "",
        "Generated from `specs/*.toml` by `python -m conformance.spec`;"
        " edit the TOML, not this file.",
        "",
        "MUST clauses fail a run; SHOULD clauses are reported as warnings; NOTE"
        " clauses are portability notes (Django is silent): what the backend does"
        " is reported, never a failure or a warning.",
        "",
        "Where Django's documentation is silent, a source cites the kit's own"
        " decision: *kit decisions (LABEL)* is the section LABEL of the"
        " decisions guide, which says the rule, its level and why; read it with"
        f" `{guide.command('decisions')}`.",
        "",
    ]
    family: Family | None = None
    for clause in clauses:
        if clause.family != family:
            family = clause.family
            lines += ["", f"## {family.title} (`{family.id}`)", ""]
            if family.description:
                lines += [family.description, ""]
            if family.variations:
                lines += [f"Varies: {'; '.join(family.variations)}.", ""]
            lines += [
                "| ID | Level | Clause | Applies to | Source |",
                "|---|---|---|---|---|",
            ]
        scope = ", ".join(
            part
            for part in (
                f"Django {clause.django}" if clause.django else "",
                *clause.requires,
            )
            if part
        )
        text = clause.text.replace("|", "\\|")
        lines.append(
            f"| `{clause.id}` | {clause.level} | {text} | {scope or 'all'}"
            f" | {clause.source} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(render_markdown(load_clauses().values()))


if __name__ == "__main__":
    main()
