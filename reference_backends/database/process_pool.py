"""The process pool (``task_worker --pool process``): tasks run in child processes.

Like Celery's prefork pool, and for the same reason: a thread cannot be
killed, a process can. Each worker thread (``--concurrency``) owns one child
process, started with ``spawn`` (a fresh interpreter that sets Django up
from ``DJANGO_SETTINGS_MODULE``), and hands it one task at a time through a
pipe. The worker thread keeps everything else: the claim, the lease, the
outcome, the signals. So a child never writes the task table, and:

* a task over its time limit: the child is killed (SIGKILL) and replaced;
  the attempt ends with :class:`~.time_limits.TimeLimitExceeded`;
* a task that kills its process (``os._exit``, a crash): the attempt ends
  with :class:`ChildProcessLost`, and the child is replaced;
* a forced stop of the worker (a second Ctrl-C): the child is killed;
* the worker itself killed: the child notices its parent is gone and exits,
  so a task never runs on after its lease could be settled elsewhere.

Children ignore SIGINT and SIGTERM, which a terminal or a service manager
may send to the whole process group: the worker decides when they stop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from .execution import Attempt
from .records import Row
from .time_limits import exceeded

#: How long a new child may take to import Django and set it up.
START_TIMEOUT = 120.0
#: How often a child checks that the worker that started it is still there.
PARENT_CHECK_SECONDS = 0.5


class ChildProcessLost(Exception):
    """The process running the task died before it finished (a crash, ``os._exit``)."""


class ChildStartError(RuntimeError):
    """A child process could not set Django up: the process pool cannot run."""


class ChildProcess:
    """One child process running tasks for one worker thread, one at a time."""

    def __init__(self) -> None:
        self._process: Any = None
        self._connection: Connection | None = None

    def start(self) -> None:
        """Start the child (if none is running) and wait until Django is set up."""
        if self._process is not None and not self._process.is_alive():
            self._reap()  # it died between two tasks: replace it, lose nothing
        if self._process is not None:
            return
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_child_main,
            args=(child_end, os.getpid()),
            name="task-child",
            daemon=True,  # never outlives a worker that exits normally
        )
        process.start()
        child_end.close()
        self._process, self._connection = process, parent_end
        if not parent_end.poll(START_TIMEOUT):
            self.kill()
            raise ChildStartError(f"a child process did not start in {START_TIMEOUT} s")
        try:
            hello = parent_end.recv()
        except EOFError:
            hello = {"error": "it exited while starting"}
        if hello.get("error"):
            self.kill()
            raise ChildStartError(
                f"a child process could not set Django up: {hello['error']}"
            )

    def run(self, alias: str, row: Row, limit: float | None) -> Attempt:
        """Run the task of ``row`` (claimed by this worker) in the child.

        Blocks until it finished, or ``limit`` seconds have passed (then the
        child is killed). ``KeyboardInterrupt`` (a forced stop) kills the
        child and propagates.
        """
        self.start()
        assert self._connection is not None
        started = time.monotonic()
        try:
            self._connection.send((alias, dataclasses.asdict(row)))
            answered = self._connection.poll(limit)
        except KeyboardInterrupt:
            self.kill()
            raise
        except OSError:
            answered = True  # the child is gone: recv() below says so
        if not answered:
            assert limit is not None
            self.kill()
            return Attempt.failure(
                exceeded(limit, time.monotonic() - started, "its process was killed")
            )
        try:
            return Attempt.from_message(self._connection.recv())
        except (EOFError, OSError):
            code = self._reap()
            return Attempt.failure(
                ChildProcessLost(
                    f"the process running the task exited (code {code}) before "
                    "it finished"
                )
            )

    def kill(self) -> None:
        """Kill the child now; the next task starts a new one."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        self._reap()

    def close(self) -> None:
        """Ask the child to exit after its task; kill it if it does not."""
        if self._connection is not None:
            with contextlib.suppress(OSError):  # the child is already gone
                self._connection.send(None)
        if self._process is not None:
            self._process.join(5)
        self.kill()

    def _reap(self) -> int | None:
        process, self._process = self._process, None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if process is None:
            return None
        process.join(5)
        code: int | None = process.exitcode
        return code


# -- in the child ------------------------------------------------------------------
def _child_main(connection: Connection, parent_pid: int) -> None:
    """Set Django up, then run the tasks the worker sends until told to stop."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    try:
        import django

        django.setup()
    except BaseException as exc:
        connection.send({"error": f"{type(exc).__name__}: {exc}"})
        return
    connection.send({"error": None})
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        alias, fields = message
        connection.send(_run(alias, Row(**fields)).message())


def _run(alias: str, row: Row) -> Attempt:
    from django.db import close_old_connections

    from .. import compat
    from . import records
    from .execution import run_here

    try:
        backend = compat.task_backends[alias]
        # The same safety rule as in the worker: only a Task of the
        # backend's class is ever called.
        task = records.resolve_task(backend, row)
        result = records.build_result(task, row, strict=True)
        # The worker enforces the limit by killing this process.
        return run_here(task, result, None)
    except BaseException as exc:  # KeyboardInterrupt cannot come: SIGINT is ignored
        return Attempt.failure(exc)
    finally:
        # As at the end of a request: drop connections the task broke or
        # that outlived CONN_MAX_AGE.
        close_old_connections()


def _exit_with_parent(parent_pid: int) -> None:
    """Exit when the worker is gone: its task's lease will be settled elsewhere."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)
