"""Expected failures: the clauses a backend fails today, pinned in a TOML file.

A backend adopts the kit before it conforms: it records what fails today
(``--task-write-expected-failures=FILE``) and gates CI on "no new failures"
(``--task-expected-failures=FILE``). The file holds one entry per clause::

    [[expected]]
    clause = "SIGNAL-STARTED-SENT"       # a clause ID of the spec
    reason = "signals land in 2.0"       # required: why it fails today
    django = ">=6.1"                     # optional: the Django versions it fails on
    match = "no task_started"            # optional: the failure must say this
    strict = false                       # optional: it fails only some runs

A listed clause that fails as described is reported as ``expected``; one
that passes now, or fails differently, fails the run (like strict xfail), so
the file never rots silently. ``strict = false`` is for a deviation that
shows only in some runs (an order a worker's prefetching decides, say): a
pass is then no news; failing differently still fails the run.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from .violation import without_addresses

if TYPE_CHECKING:
    from .report import ClauseRecord

#: The keys an entry may have; ``clause`` and ``reason`` are required.
KEYS = ("clause", "reason", "django", "match", "strict")
#: The keys whose value is a string (``strict`` is a boolean).
TEXT_KEYS = ("clause", "reason", "django", "match")
#: The reason ``--task-write-expected-failures`` gives a new entry.
TODO_REASON = "TODO: why this clause fails, and when it will pass"


class ExpectedFailuresError(ValueError):
    """The file cannot be used (the plugin turns this into a usage error)."""


@dataclass(frozen=True)
class ExpectedFailure:
    clause: str
    reason: str
    #: A PEP 440 specifier over Django's version; "" means every version.
    django: str = ""
    #: A substring the failure must contain; "" means any failure.
    match: str = ""
    #: False: the clause may also pass (a deviation some runs do not show).
    strict: bool = True

    def applies_to(self, django_version: Version) -> bool:
        return django_version in SpecifierSet(self.django)

    def matches(self, failure: str) -> bool:
        """``match`` is in ``failure``, read as the report keeps it (without
        memory addresses: a ``match`` copied from a report or a written file
        has none)."""
        return self.match in without_addresses(failure)


def suggest(name: str, known: Iterable[str]) -> str:
    """ " (did you mean A, B?)" for a mistyped ID, or "".

    Compared in one letter case (clause IDs are upper case, family IDs lower
    case), shown as the spec spells them."""
    spelled = {k.upper(): k for k in known}
    close = difflib.get_close_matches(name.upper(), list(spelled), n=3, cutoff=0.5)
    shown = [spelled[match] for match in close]
    return f" (did you mean {', '.join(shown)}?)" if shown else ""


def _entry(
    raw: object, index: int, path: Path, clause_ids: set[str]
) -> ExpectedFailure:
    where = f"{path}: entry {index}"
    if not isinstance(raw, Mapping):
        raise ExpectedFailuresError(f"{where} is not a table")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ExpectedFailuresError(f"{where} has unknown keys {unknown}")
    for key in TEXT_KEYS:
        if key in raw and not isinstance(raw[key], str):
            raise ExpectedFailuresError(f"{where}: {key} must be a string")
    strict = raw.get("strict", True)
    if not isinstance(strict, bool):
        raise ExpectedFailuresError(f"{where}: strict must be true or false")
    clause = str(raw.get("clause", "")).strip()
    if not clause:
        raise ExpectedFailuresError(f"{where} names no clause")
    canonical = {c.upper(): c for c in clause_ids}.get(clause.upper())
    if canonical is None:
        raise ExpectedFailuresError(
            f"{where}: {clause} is not a clause of the spec"
            + suggest(clause, clause_ids)
        )
    reason = str(raw.get("reason", "")).strip()
    if not reason:
        raise ExpectedFailuresError(f"{where} ({canonical}) gives no reason")
    django = str(raw.get("django", "")).strip()
    try:
        SpecifierSet(django)
    except InvalidSpecifier as exc:
        raise ExpectedFailuresError(f"{where} ({canonical}): django {exc}") from exc
    return ExpectedFailure(canonical, reason, django, str(raw.get("match", "")), strict)


def load(path: Path, clause_ids: Iterable[str]) -> dict[str, ExpectedFailure]:
    """The file's entries by clause ID; a malformed file raises
    :class:`ExpectedFailuresError` naming the entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExpectedFailuresError(f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ExpectedFailuresError(f"{path} is not TOML: {exc}") from exc
    unknown = sorted(set(data) - {"expected"})
    if unknown:
        raise ExpectedFailuresError(
            f"{path}: unknown tables {unknown} (use [[expected]])"
        )
    raw_entries = data.get("expected", [])
    if not isinstance(raw_entries, list):
        raise ExpectedFailuresError(f"{path}: expected must be an array of tables")
    known = set(clause_ids)
    entries: dict[str, ExpectedFailure] = {}
    for index, raw in enumerate(raw_entries, start=1):
        entry = _entry(raw, index, path, known)
        if entry.clause in entries:
            raise ExpectedFailuresError(f"{path}: {entry.clause} is listed twice")
        entries[entry.clause] = entry
    return entries


def _quote(text: str) -> str:
    """A TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def render(entries: Iterable[ExpectedFailure], observations: Mapping[str, str]) -> str:
    """The file for ``entries``; each new one notes what the run observed."""
    lines = [
        "# Clauses this backend fails today: the kit reports them as `expected`",
        "# and fails the run when one passes or fails differently.",
        "# Keys: clause, reason (required), django (a version specifier), match",
        "# (a substring the failure must contain), strict (false: it may pass).",
    ]
    for entry in entries:
        lines += ["", "[[expected]]"]
        observed = observations.get(entry.clause, "").splitlines()
        if observed:
            lines.append(f"# {observed[0][:200]}")
        lines += [
            f"clause = {_quote(entry.clause)}",
            f"reason = {_quote(entry.reason)}",
        ]
        if entry.django:
            lines.append(f"django = {_quote(entry.django)}")
        if entry.match:
            lines.append(f"match = {_quote(entry.match)}")
        if not entry.strict:
            lines.append("strict = false")
    return "\n".join(lines) + "\n"


def stale(
    entries: Mapping[str, ExpectedFailure],
    records: Mapping[str, ClauseRecord],
    path: str,
) -> list[str]:
    """What no longer holds in the file: each message fails the run.

    A listed clause the run did not check (not selected, or n/a) says
    nothing either way.
    """
    from .report import EXPECTED, FAIL, PASS, WARN

    problems = []
    for clause_id, entry in entries.items():
        record = records.get(clause_id)
        if record is None:
            continue
        observed = record.details[0].splitlines()[0] if record.details else ""
        if record.outcome == PASS and not entry.strict:
            continue  # some runs do not show it: no news
        if record.outcome == PASS:
            problems.append(f"{clause_id} passes now: remove it from {path}")
        elif record.outcome in (FAIL, WARN) and EXPECTED not in record.tests.values():
            problems.append(
                f"{clause_id} fails differently from {path}"
                f" (match = {entry.match!r}): {observed}"
            )
        elif record.outcome == FAIL:
            problems.append(
                f"{clause_id} also fails in a way {path} does not expect: {observed}"
            )
    return problems


def write(
    path: Path,
    records: Mapping[str, ClauseRecord],
    existing: Mapping[str, ExpectedFailure],
) -> None:
    """The expected-failures file for a run: every clause that failed (MUST),
    with the reason already given where the run was gated on a file."""
    from .report import EXPECTED, FAIL

    entries = []
    observations = {}
    for clause_id, record in records.items():
        listed = existing.get(clause_id)
        # A non-strict entry stays, though this run did not show its deviation.
        kept = listed is not None and not listed.strict
        if record.outcome not in (FAIL, EXPECTED) and not kept:
            continue
        entry = listed or ExpectedFailure(clause_id, TODO_REASON)
        if record.outcome == FAIL and entry.match:
            entry = replace(entry, match="")  # it fails otherwise now: any failure
        entries.append(entry)
        if record.details:
            observations[clause_id] = record.details[0]
    path.write_text(render(entries, observations), encoding="utf-8")
