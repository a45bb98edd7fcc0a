"""How long the project's own tests take, measured on a clean clone of HEAD.

    python tools/test_figures.py                  # one tox environment, then .ci/run
    python tools/test_figures.py --env py312-dj61 # that environment (coverage measured)
    python tools/test_figures.py --no-ci          # the environment only

Prints, for a fresh ``git clone`` of the committed HEAD (uncommitted changes
are not measured): the wall time of the environment's test command and of
the whole environment (virtualenv included), then the wall time of
``.ci/run`` with each environment's time and the combined coverage, each
against its target. The figures are measurements, not a test: nothing here
fails a build.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Targets of the issue "Fast tests and one shape for every suite".
ENV_TARGET_S = 180.0
CI_TARGET_S = 720.0
COVERAGE_TARGET = 95.0

COVERAGE_TOTAL = re.compile(r"^TOTAL\s.*?(\d+(?:\.\d+)?)%\s*$", re.MULTILINE)


def clean_clone(into: Path) -> Path:
    clone = into / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"clean clone of {head} in {clone}")
    return clone


def tox_env(clone: Path, env: str) -> None:
    result = clone / ".tox" / "figures.json"
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "tox", "-e", env, "--result-json", str(result)],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
    )
    whole = time.monotonic() - started
    data = json.loads(result.read_text()) if result.exists() else {}
    commands = data.get("testenvs", {}).get(env, {}).get("test", [])
    tests = sum(float(command.get("elapsed", 0)) for command in commands)
    closing = _closing(commands[-1].get("output", "")) if commands else "-"
    status = "ok" if completed.returncode == 0 else f"FAILED ({completed.returncode})"
    print(f"\ntox -e {env}: {status}")
    print(f"  tests: {tests:6.1f} s  {_verdict(tests, ENV_TARGET_S)}  ({closing})")
    print(f"  whole environment, virtualenv included: {whole:6.1f} s")
    if completed.returncode:
        print(completed.stdout[-3000:])


def ci_run(clone: Path) -> None:
    env = dict(os.environ, TOX_RESULT_JSON=str(clone / ".tox" / "ci-result.json"))
    started = time.monotonic()
    completed = subprocess.run(
        [str(clone / ".ci" / "run")],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    status = "ok" if completed.returncode == 0 else f"FAILED ({completed.returncode})"
    print(f"\n.ci/run: {status}")
    print(f"  wall: {elapsed:6.1f} s  {_verdict(elapsed, CI_TARGET_S)}")
    summary = completed.stdout.split("=== .ci/run: summary", 1)[-1]
    for line in summary.strip().splitlines()[:-1]:
        print(f"  {line}")
    found = COVERAGE_TOTAL.findall(completed.stdout)
    if found:
        total = float(found[-1])
        verdict = "met" if total >= COVERAGE_TARGET else "MISSED"
        print(f"  coverage: {total:.1f}%  (target >= {COVERAGE_TARGET:g}%: {verdict})")
    if completed.returncode:
        print(completed.stdout[-3000:])


def _closing(output: str) -> str:
    lines = [line.strip("= ") for line in output.splitlines() if " in " in line]
    return lines[-1] if lines else "-"


def _verdict(seconds: float, target: float) -> str:
    return f"(target < {target:.0f} s: {'met' if seconds < target else 'MISSED'})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="py313-dj61", help="the tox environment")
    parser.add_argument("--no-ci", action="store_true", help="skip .ci/run")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="test-figures-") as folder:
        clone = clean_clone(Path(folder))
        tox_env(clone, args.env)
        if not args.no_ci:
            ci_run(clone)
    return 0


if __name__ == "__main__":
    sys.exit(main())
