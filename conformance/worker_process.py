"""A worker in a process of its own, started with the run's settings and stopped.

For workers that only run continuously (no "run what is ready, then exit"
mode): the kit starts the process, waits until the tasks that are due have
finished (:mod:`conformance.pending`), and stops it: ``SIGTERM``, then
``SIGKILL`` if it has not exited within a bound. A process that exits on its
own while the kit waits has died: :class:`WorkerDied` says how, with the end
of what it printed.

The process inherits the run's environment: ``DJANGO_SETTINGS_MODULE`` and
``CONFORMANCE_SETTINGS_FILE`` give it the very settings of the run (same
database, same ``TASKS``), and ``PYTHONPATH`` the run's import path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

#: Seconds a process has to exit after SIGTERM before it is killed.
STOP_GRACE = 5.0
#: Seconds to start Python and Django in a new worker process: well under one
#: on an idle machine, ten and more on a CI machine running four test
#: environments on two CPUs (a bound, never a wait).
PROCESS_START = 15.0
#: How much of a dead worker's output a finding quotes.
OUTPUT_TAIL = 1500


class WorkerDied(RuntimeError):
    """The worker process exited while the kit was waiting for its tasks."""


def kit_environment() -> dict[str, str]:
    """The environment of a worker process: the run's, its import path included."""
    env = dict(os.environ)
    paths = [path or os.getcwd() for path in sys.path]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def django_admin(argv: Sequence[str]) -> list[str]:
    """``python -m django ARGV``: a management command under the run's settings,
    in a process that has imported the kit's tasks (:mod:`conformance.worker_main`)."""
    return [sys.executable, "-m", "conformance.worker_main", *argv]


class WorkerProcess:
    """One worker process: started, watched, stopped; its output kept in a file."""

    def __init__(self, command: Sequence[str], *, stop_grace: float = STOP_GRACE):
        self.command = list(command)
        self.stop_grace = stop_grace
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._process: subprocess.Popen[bytes] | None = None
        #: True once the kit had to SIGKILL it.
        self.killed = False
        #: When the kit sent SIGTERM (time.monotonic()), if it has.
        self._terminated_at: float | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            self.command,
            env=kit_environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def exited(self) -> int | None:
        """Its exit status once it has exited, else None."""
        assert self._process is not None, "not started"
        return self._process.poll()

    def check_alive(self) -> None:
        """Raise :class:`WorkerDied` if it has exited."""
        status = self.exited()
        if status is not None:
            raise WorkerDied(
                f"the worker process {self.describe()} exited with status "
                f"{status} while tasks were due; its output ends:\n{self.tail()}"
            )

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after :attr:`stop_grace`; its exit status."""
        process = self._process
        assert process is not None, "not started"
        if process.poll() is None:
            if self._terminated_at is None:
                self.terminate()
            # The grace runs from the SIGTERM (terminate() may have sent it
            # earlier): a second SIGTERM may mean "no grace" to a worker.
            sent = self._terminated_at
            left = self.stop_grace - (time.monotonic() - sent) if sent else 0.0
            try:
                process.wait(max(left, 0.0))
            except subprocess.TimeoutExpired:
                self.killed = True
                process.kill()
                process.wait()
        return process.returncode

    def terminate(self) -> None:
        """SIGTERM without waiting (:meth:`stop` then waits for it)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            self._terminated_at = time.monotonic()

    def kill(self) -> None:
        """SIGKILL at once (when the kit cannot wait for a graceful stop)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    def run_to_end(self, timeout: float) -> int:
        """Wait for it to exit on its own (a batch worker), at most ``timeout``."""
        process = self._process
        assert process is not None, "not started"
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise WorkerDied(
                f"the worker process {self.describe()} was still running after "
                f"{timeout:g} s; its output ends:\n{self.tail()}"
            ) from None

    def tail(self) -> str:
        if self._output.closed:
            return "(its output is gone: the process was stopped)"
        self._output.flush()
        self._output.seek(0, os.SEEK_END)
        size = self._output.tell()
        self._output.seek(max(0, size - OUTPUT_TAIL))
        return self._output.read().decode("utf-8", "replace")

    def describe(self) -> str:
        return f"{Path(self.command[0]).name} {' '.join(self.command[1:])}"

    def close(self) -> None:
        self._output.close()

    def __enter__(self) -> WorkerProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop()
        finally:
            self.close()


def wait_until(
    done: Callable[[], bool], processes: Sequence[WorkerProcess], timeout: float
) -> bool:
    """Poll ``done()`` until it is true (True), ``timeout`` passes (False), or
    a process dies (:class:`WorkerDied`)."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        if done():
            return True
        for process in processes:
            process.check_alive()
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
