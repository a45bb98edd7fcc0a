"""The guides the kit's messages point at, readable from an installed kit.

    python -m conformance.guide worker-protocol
    python -m conformance.guide decisions

The wheel carries them in ``conformance/guides/`` (pyproject.toml
force-includes them from ``docs/``); a source checkout reads ``docs/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: Guide name -> its file name, in the wheel and in docs/ of the checkout.
GUIDES = {
    "worker-protocol": "worker-protocol.md",
    # Where Django's docs are silent: the sections that clause sources cite
    # as "kit decisions (LABEL)".
    "decisions": "decisions.md",
}


def command(name: str) -> str:
    """How a message tells a user to read guide ``name``."""
    return f"python -m conformance.guide {name}"


def path(name: str) -> Path:
    """Where guide ``name`` is, installed or in a checkout."""
    here = Path(__file__).resolve().parent
    for folder in (here / "guides", here.parent / "docs"):
        candidate = folder / GUIDES[name]
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"guide {name!r} is not installed near {here}")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in GUIDES:
        print(f"usage: {command('|'.join(GUIDES))}", file=sys.stderr)
        return 2
    sys.stdout.write(path(argv[0]).read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
