"""A management command, with the CPU it spends once Django is set up.

    python -m benchmarks.measured task_worker --batch -v0

Runs like ``python -m django ...`` and, when ``BENCH_CPU_FILE`` is set,
writes there ``{"cpu_seconds": ...}``: the process's user + system CPU
time from the end of ``django.setup()`` to exit. A worker's start-up
(interpreter, Django, apps) is the same whatever the work, so leaving it out
gives CPU per task without a correction that grows noisy at small N.
"""

from __future__ import annotations

import json
import os
import resource
import sys


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    began = _cpu()
    try:
        execute_from_command_line(["django", *sys.argv[1:]])
    finally:
        path = os.environ.get("BENCH_CPU_FILE")
        if path:
            with open(path, "w") as out:
                json.dump({"cpu_seconds": _cpu() - began}, out)


if __name__ == "__main__":
    main()
