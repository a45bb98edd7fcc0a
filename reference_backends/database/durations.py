"""Durations written with a unit: ``90s``, ``15m``, ``12h``, ``7d``, ``2w``.

Shared by ``prune_task_results --older-than`` and the schedule's ``every``.
The unit is required: a bare ``7`` once meant seven seconds to
``prune_task_results`` and deleted results that had just finished.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SHAPE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """The duration ``text`` spells; ``ValueError`` if it is not one."""
    match = _SHAPE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: a number and a unit, s, m, h, d or w "
            "(90s, 15m, 12h, 7d, 2w)"
        )
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])
