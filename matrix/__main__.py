"""``python -m matrix [NAME ...]``: run entries (all by default), then render the page.

Two entries at a time (a kit run is half waiting on workers, half CPU; the
machines this runs on have two). The page is rendered from every stored
result, run now or before: ``--render-only`` just renders.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import page, run
from .entry import Entry, load_all


def _one(entry: Entry, timeout: float) -> dict[str, Any]:
    result = run.run(entry, timeout)
    run.store(result)
    info = result["matrix"]
    verdict = info["error"] or (
        "conforming" if result.get("conforming") else "not conforming"
    )
    print(f"{entry.name}: {verdict} ({info['seconds']} s)", flush=True)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m matrix")
    parser.add_argument("names", nargs="*", help="entries to run (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="entries at a time")
    parser.add_argument(
        "--timeout", type=float, default=run.KIT_TIMEOUT, help="seconds per kit run"
    )
    parser.add_argument(
        "--render-only", action="store_true", help="render stored results"
    )
    args = parser.parse_args(argv)
    entries = load_all()
    unknown = sorted(set(args.names) - entries.keys())
    if unknown:
        parser.error(f"no entry named {unknown}; entries: {', '.join(entries)}")
    if not args.render_only:
        chosen = [entries[name] for name in args.names or entries]
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(lambda entry: _one(entry, args.timeout), chosen))
    for path in page.render_all():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
