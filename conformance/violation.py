"""How a broken clause is reported: expected, observed, and a reproduction.

The plugin adds the clause ID and its sentence; a test supplies the rest
through :func:`check` (or by raising :class:`ClauseViolation`).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any


class ClauseViolation(AssertionError):
    """An observation that contradicts the clause under test."""

    def __init__(self, *, expected: str, observed: str, repro: str = "") -> None:
        self.expected = expected
        self.observed = observed
        self.repro = textwrap.dedent(repro).strip()
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"expected: {self.expected}", f"observed: {self.observed}"]
        if self.repro:
            lines += ["reproduce:", textwrap.indent(self.repro, "    ")]
        return "\n".join(lines)


def check(condition: object, *, expected: str, observed: Any, repro: str = "") -> None:
    """Raise :class:`ClauseViolation` unless ``condition`` holds."""
    __tracebackhide__ = True
    if not condition:
        shown = observed if isinstance(observed, str) else repr(observed)
        raise ClauseViolation(expected=expected, observed=shown, repro=repro)


#: What an observation shows for an attribute the object does not have.
MISSING = "<missing>"


def attribute(obj: Any, name: str) -> Any:
    """``obj.name``, or :data:`MISSING` where it has none: a finding to show,
    never an AttributeError in the kit."""
    return getattr(obj, name, MISSING)


def describe_exception(exc: BaseException | None) -> str:
    if exc is None:
        return "no exception"
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"


#: `` at 0x7f3a...`` in a default repr: a different number on every run.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+(?=>)")


def without_addresses(text: str) -> str:
    """``text`` with the memory addresses of default reprs left out
    (``<function noop at 0x7f..>`` -> ``<function noop>``): what a report
    keeps reads the same from run to run, and a ``match`` of an
    expected-failures entry can quote it."""
    return _ADDRESS.sub("", text)
