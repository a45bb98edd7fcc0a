"""Enqueue from several Python processes at once (ENQUEUE-ID-UNIQUE).

A per-process counter, or a random generator seeded the same way in every
process, gives unique ids within one process and the same ids in the next:
only enqueues from other processes, at the same moment, show it. Each
process starts under the run's settings (the environment of
:func:`conformance.worker_process.kit_environment`), says it is ready, and
waits for one shared "go" file, so that all of them enqueue together.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .worker_process import kit_environment

_SCRIPT = """
import json, sys, time
from pathlib import Path
import django
django.setup()
from conformance import tasks
from conformance.support import in_an_hour
alias, count, defer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ready, go = Path(sys.argv[4]), Path(sys.argv[5])
task = tasks.noop.using(backend=alias)
if defer == "1":
    task = task.using(run_after=in_an_hour())
ready.touch()
deadline = time.monotonic() + float(sys.argv[6])
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
try:
    ids = [task.enqueue().id for _ in range(count)]
except Exception as exc:
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    print("CONFORMANCE-ERROR " + json.dumps(f"{kind}: {exc}"))
else:
    print("CONFORMANCE-IDS " + json.dumps(ids))
"""


@dataclass
class Enqueues:
    """Ids each process got (by process), and why a process gave none."""

    ids: list[list[str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _answer(completed: subprocess.CompletedProcess[str]) -> tuple[list[str], str]:
    for line in completed.stdout.splitlines():
        if line.startswith("CONFORMANCE-IDS "):
            return json.loads(line.removeprefix("CONFORMANCE-IDS ")), ""
        if line.startswith("CONFORMANCE-ERROR "):
            problem: str = json.loads(line.removeprefix("CONFORMANCE-ERROR "))
            return [], f"enqueue raised {problem}"
    return [], f"exit {completed.returncode}: {completed.stderr[-1500:]}"


def enqueue_in_processes(
    alias: str,
    *,
    processes: int,
    count: int,
    defer: bool,
    timeout: float,
    here: Callable[[], list[str]] | None = None,
) -> Enqueues:
    """``count`` enqueues of ``tasks.noop`` in each of ``processes`` new
    processes, started together; ``here()`` runs in this process at the same
    moment (its ids come last)."""
    found = Enqueues()
    with tempfile.TemporaryDirectory(prefix="conformance-enqueue-") as tmp:
        directory = Path(tmp)
        go = directory / "go"
        ready = [directory / f"ready-{n}" for n in range(processes)]
        started = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _SCRIPT,
                    alias,
                    str(count),
                    "1" if defer else "0",
                    str(flag),
                    str(go),
                    str(timeout),
                ],
                env=kit_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for flag in ready
        ]
        # Go once every process is set up (Django imported: seconds), or when
        # one has already exited (it failed: the others go on all the same).
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(
            flag.exists() or process.poll() is not None
            for flag, process in zip(ready, started, strict=True)
        ):
            time.sleep(0.01)
        go.touch()
        ours = here() if here is not None else []
        for process in started:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                found.problems.append(f"a process did not finish within {timeout} s")
                continue
            ids, problem = _answer(
                subprocess.CompletedProcess(
                    process.args, process.returncode, stdout, stderr
                )
            )
            if problem:
                found.problems.append(problem)
            else:
                found.ids.append(ids)
    found.ids.append(ours)
    return found
