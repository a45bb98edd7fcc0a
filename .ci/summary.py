"""Summarise a tox result JSON (TOX_RESULT_JSON): one line per environment.

`tox p` shows the output of failed environments only; this prints, for every
environment, its status, time and pytest's closing counts, then the counts
summed over all environments.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

# pytest's closing line, e.g. "==== 12 passed, 1 skipped, 3 deselected in 4.2s ===="
CLOSING = re.compile(r"^=*\s*((?:\d+ [a-z]+(?:, )?)+) in [\d.]+s")
COUNT = re.compile(r"(\d+) ([a-z]+)")


def main(path: str) -> int:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    totals: Counter[str] = Counter()
    failed_envs = []
    print("environment       status  seconds  tests")
    for name, env in data.get("testenvs", {}).items():
        commands = env.get("test", [])
        if name.startswith(".") or not (commands or env.get("setup")):
            continue  # packaging environments, and environments that did not run
        status = "ok"
        if any(cmd.get("retcode") for cmd in env.get("setup", []) + commands):
            status = "FAIL"
            failed_envs.append(name)
        seconds = sum(
            float(cmd.get("elapsed", 0)) for cmd in env.get("setup", []) + commands
        )
        closings = []
        for cmd in commands:
            # The command's own closing line is its last one; earlier ones
            # belong to pytest runs that the tests started (shown on failure).
            found = [
                match.group(1)
                for match in map(CLOSING.match, cmd.get("output", "").splitlines())
                if match
            ]
            if found:
                closings.append(found[-1])
                for number, word in COUNT.findall(found[-1]):
                    # "1 error", "2 errors": one key
                    totals["error" if word.startswith("error") else word] += int(number)
        for cmd in commands:  # coverage's report: "TOTAL ... 95.3%"
            for line in cmd.get("output", "").splitlines():
                if line.startswith("TOTAL"):
                    closings.append(f"coverage {line.split()[-1]}")
        shown = "; ".join(closings) if closings else "-"
        print(f"{name:<17} {status:<6} {seconds:8.1f}  {shown}")
    print(
        f"total: {totals['passed']} passed, {totals['failed']} failed,"
        f" {totals['skipped']} skipped"
        + (f", {totals['error']} errors" if totals["error"] else "")
    )
    if failed_envs:
        print(f"failed environments: {', '.join(failed_envs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
