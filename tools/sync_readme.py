"""Keep README.md's included sections equal to their sources in docs/.

README.md holds markers around each included document::

    <!-- include: docs/database-backend.md level=2 -->
    ...generated...
    <!-- end include -->

``level`` is the level of the README heading the document sits under: the
document's own title (``# ...``) is dropped, and its ``## ...`` headings
become one level deeper than that heading. Links relative to ``docs/`` are
rewritten relative to the top of the repository.

    python tools/sync_readme.py          # rewrite README.md
    python tools/sync_readme.py --check  # exit 1 if README.md is stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

BLOCK = re.compile(
    r"(?P<open><!-- include: (?P<path>\S+)(?: level=(?P<level>\d))? -->\n)"
    r".*?"
    r"(?P<close><!-- end include -->)",
    re.S,
)
HEADING = re.compile(r"^(#{1,6}) ")
LINK = re.compile(r"\]\((?!https?:|#|/|mailto:)([^)\s]+)\)")


def _relink(line: str, source: Path) -> str:
    """A link relative to the included file, made relative to the top."""

    def fix(match: re.Match[str]) -> str:
        target = (source.parent / match.group(1)).resolve()
        try:
            return f"]({target.relative_to(ROOT).as_posix()})"
        except ValueError:
            return match.group(0)

    return LINK.sub(fix, line)


def render_document(path: Path, level: int) -> str:
    out: list[str] = []
    fenced = False
    after_title = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if after_title and not line.strip():
            continue  # the blank line under a dropped title
        after_title = False
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else HEADING.match(line)
        if heading:
            depth = len(heading.group(1))
            if depth == 1:
                after_title = True  # the README's own heading stands for it
                continue
            line = "#" * min(6, depth + level - 1) + line[depth:]
        out.append(line if fenced else _relink(line, path))
    return "\n".join(out).strip("\n") + "\n"


def render(readme: str) -> str:
    def replace(match: re.Match[str]) -> str:
        source = ROOT / match.group("path")
        level = int(match.group("level") or 1)
        body = render_document(source, level)
        return f"{match.group('open')}{body}{match.group('close')}"

    return BLOCK.sub(replace, readme)


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in argv:
        if current != wanted:
            print(
                "README.md is stale: run `python tools/sync_readme.py`", file=sys.stderr
            )
            return 1
        return 0
    README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
