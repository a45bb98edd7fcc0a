"""The tasks the benchmarks and the fault tests enqueue.

Each execution is recorded: the task appends its number to a file of its
own process in ``BENCH_RECORD_DIR`` (one ``write`` of a few bytes, kept by
the kernel even if the process is killed right after), so the harness can
count how many times each task ran without trusting the database.
"""

from __future__ import annotations

import os
import time

from conformance.compat import task

_fd: tuple[int, int] | None = None  # (pid, file descriptor)


def record(number: int) -> None:
    global _fd
    directory = os.environ.get("BENCH_RECORD_DIR")
    if not directory:
        return
    pid = os.getpid()
    if _fd is None or _fd[0] != pid:
        path = os.path.join(directory, f"{pid}.log")
        _fd = (pid, os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
    os.write(_fd[1], b"%d\n" % number)


@task
def noop(number: int) -> None:
    """Does nothing but record that it ran."""
    record(number)


@task
def slow(number: int, seconds: float) -> int:
    """Records that it started, then sleeps: a window for the fault tests' kills."""
    record(number)
    time.sleep(seconds)
    return number


def not_a_task(number: int) -> None:
    """A plain function: a worker must never run it from a tampered row."""
    record(-1 - number)
