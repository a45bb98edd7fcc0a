"""``--task-worker-command``: a Django management command as the worker.

Many backends ship their worker as a management command. Instead of a
worker callable, give the kit the command line (without ``manage.py``)::

    --task-worker-command="db_worker --batch --queue-name={queues}"

Placeholders, each replaced in the word that holds it:

* ``{queues}``: the queue names asked for, joined by commas;
* ``{queue}``: the word is repeated once per queue name
  (``--queue={queue}`` becomes ``--queue=a --queue=b``);
* ``{backend}``: the command runs once per ``TASKS`` alias of the backend
  under test (the kit enqueues through three), this alias in its place.

When the kit asks for every queue, ``--task-worker-command-all`` is run if
given; otherwise the words holding ``{queue}`` or ``{queues}`` are left out
(most workers serve every queue when told none). A command without a queue
placeholder cannot select queues: the clauses that need it are "n/a".

Two modes (``--task-worker-command-mode``):

* ``batch`` (default): the command runs what is ready and exits. It runs in
  the kit's process (``call_command``), or, when the kit calls the worker
  from another thread (a command may install signal handlers, which only the
  main thread can), as ``python -m django ...`` in a process of its own.
* ``continuous``: the command only stops when told. Each worker call starts
  it as a process under the run's settings, waits until every due task the
  kit enqueued has finished (:mod:`conformance.pending`), stops it (SIGTERM,
  then SIGKILL) and reports it if it died (:mod:`conformance.worker_process`).
"""

from __future__ import annotations

import io
import re
import shlex
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import lost, pending
from ..worker_process import (
    OUTPUT_TAIL,
    PROCESS_START,
    STOP_GRACE,
    WorkerDied,
    WorkerProcess,
    django_admin,
    wait_until,
)
from .base import Adapter, WorkerCallable, sibling_aliases, signal_handlers_kept

MODES = ("batch", "continuous")
#: Seconds a continuous worker gets per call once a task was lost.
LOST_GRACE = 3.0
#: Seconds a continuous call may take beyond its wait and the stop grace
#: (starting the processes, the markers, the last look at the results).
STOP_MARGIN = 2.0
PLACEHOLDERS = ("queues", "queue", "backend")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_QUEUE_PLACEHOLDERS = {"queue", "queues"}


class WorkerCommandError(ValueError):
    """A worker command the kit cannot use (a usage error)."""


@dataclass(frozen=True)
class CommandTemplate:
    """A command line with placeholders, split as a shell would."""

    text: str
    words: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> CommandTemplate:
        try:
            words = tuple(shlex.split(text))
        except ValueError as exc:
            raise WorkerCommandError(f"{text!r} does not split: {exc}") from exc
        if not words:
            raise WorkerCommandError("the command is empty")
        unknown = {
            name
            for word in words
            for name in _PLACEHOLDER.findall(word)
            if name not in PLACEHOLDERS
        }
        if unknown:
            known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
            raise WorkerCommandError(
                f"unknown placeholder(s) {', '.join(sorted(unknown))} in {text!r}"
                f" (known: {known})"
            )
        if _PLACEHOLDER.search(words[0]):
            raise WorkerCommandError(f"{text!r}: the command name is a placeholder")
        return cls(text, words)

    @property
    def name(self) -> str:
        return self.words[0]

    def _holds(self, names: set[str]) -> bool:
        return any(set(_PLACEHOLDER.findall(word)) & names for word in self.words)

    @property
    def per_backend(self) -> bool:
        return self._holds({"backend"})

    @property
    def selects_queues(self) -> bool:
        return self._holds(_QUEUE_PLACEHOLDERS)

    def arguments(self, queue_names: Sequence[str] | None, alias: str) -> list[str]:
        """The words after the command name, placeholders filled."""
        filled: list[str] = []
        for word in self.words[1:]:
            held = set(_PLACEHOLDER.findall(word))
            if held & _QUEUE_PLACEHOLDERS and queue_names is None:
                continue  # every queue: the option is left out
            for queue in (queue_names or [""]) if "queue" in held else [""]:
                filled.append(
                    word.replace("{queues}", ",".join(queue_names or ()))
                    .replace("{queue}", queue)
                    .replace("{backend}", alias)
                )
        return filled


def check_command_exists(template: CommandTemplate) -> None:
    """The command must be one Django knows under the run's settings."""
    from django.core.management import get_commands

    if template.name not in get_commands():
        raise WorkerCommandError(
            f"no management command {template.name!r} (is its app in "
            "--task-installed-apps?)"
        )


class CommandWorker:
    """The ``--task-worker`` callable that runs a worker command."""

    #: Other threads run the command in a process: any thread may call.
    runs_in_other_threads = True
    runs_concurrently = True

    def __init__(
        self,
        command: str,
        *,
        every_queue: str | None = None,
        mode: str = "batch",
        timeout: float = 10.0,
    ) -> None:
        if mode not in MODES:
            raise WorkerCommandError(
                f"mode {mode!r}: use {' or '.join(repr(m) for m in MODES)}"
            )
        self.template = CommandTemplate.parse(command)
        self.every_queue = CommandTemplate.parse(every_queue) if every_queue else None
        self.mode = mode
        self.timeout = timeout
        if mode == "continuous":
            # A call waits at most ``timeout`` (once its processes had time
            # to start) for its tasks, then stops its processes (one grace,
            # then SIGKILL): the kit's limit on the call is longer, so the
            # call ends on its own, quietly.
            self.bounds_own_passes = True
        self.selects_queues = self.template.selects_queues
        self.pending = pending.Pending()
        if mode == "continuous":
            self.pending.connect()
        #: What the last in-process run printed (for a failure's message).
        self.output = ""

    @property
    def pass_allowance(self) -> float:
        """Beyond the timeout, for a call made in this thread: a process to
        start (every continuous call; a batch call from another thread) and,
        continuous, to stop."""
        if self.mode == "continuous":
            return PROCESS_START + STOP_GRACE + STOP_MARGIN
        if threading.current_thread() is threading.main_thread():
            return 0.0
        return PROCESS_START

    def check(self) -> None:
        """Usage errors the kit reports before the first clause."""
        for template in (self.template, self.every_queue):
            if template is not None:
                check_command_exists(template)

    def describe(self) -> str:
        text = f"command {self.template.text!r}"
        if self.every_queue is not None:
            text += f", every queue {self.every_queue.text!r}"
        return f"{text} ({self.mode})"

    # -- a worker call -------------------------------------------------------
    def __call__(self, backend: Any, queue_names: Sequence[str] | None) -> None:
        template = self.template
        if queue_names is None and self.every_queue is not None:
            template = self.every_queue
        aliases = (
            sibling_aliases(backend, lambda other: type(other) is type(backend))
            if template.per_backend
            else [backend.alias]
        )
        commands = [
            [template.name, *template.arguments(queue_names, alias)]
            for alias in aliases
        ]
        if self.mode == "continuous":
            self._continuous(backend, queue_names, commands)
        else:
            for argv in commands:
                self._batch(argv)

    def _batch(self, argv: list[str]) -> None:
        if threading.current_thread() is not threading.main_thread():
            with WorkerProcess(django_admin(argv)) as process:
                status = process.run_to_end(max(60.0, self.timeout * 10))
                if status != 0:
                    raise WorkerDied(
                        f"{shlex.join(argv)} exited with status {status}; its "
                        f"output ends:\n{process.tail()}"
                    )
            return
        from django.core.management import call_command

        out = io.StringIO()
        try:
            with signal_handlers_kept():
                call_command(*argv, stdout=out, stderr=out)
        except SystemExit as stop:
            # A command may end with sys.exit() (django-ox's ox_worker always
            # does): run as a process that is its exit status, and 0 (or None)
            # is a worker that finished normally, as in the process branch.
            if stop.code not in (0, None):
                raise WorkerDied(
                    f"{shlex.join(argv)} exited with status {stop.code}; its "
                    f"output ends:\n{out.getvalue()[-OUTPUT_TAIL:]}"
                ) from None
        finally:
            self.output = out.getvalue()[-2000:]

    def _continuous(
        self, backend: Any, queue_names: Sequence[str] | None, commands: list[list[str]]
    ) -> None:
        markers = pending.enqueue_markers(backend, queue_names)
        processes = [WorkerProcess(django_admin(argv)) for argv in commands]

        def done() -> bool:
            return pending.markers_ran(markers) and not self.pending.unfinished(
                queue_names, lost.LOST.holds
            )

        # Once a task was lost the worker may be jammed: a call then gets a
        # short grace, not the whole timeout (a lost task costs one timeout);
        # its process must still start, whatever the grace (under load that
        # alone outlasted the 3 s, and no later call ran anything).
        grace = min(self.timeout, LOST_GRACE) if lost.LOST else self.timeout
        bound = grace + PROCESS_START
        try:
            for process in processes:
                process.start()
            wait_until(done, processes, bound)
        except BaseException:
            # Interrupted (the kit's limit on a worker call): no grace, and
            # nothing that a second interruption could cut short.
            for process in processes:
                process.kill()
            raise
        finally:
            stop_all(processes)


def stop_all(processes: Sequence[WorkerProcess]) -> None:
    """SIGTERM every process first (they shut down together), then wait for
    each; one that cannot be stopped does not leave the others running."""
    for process in processes:
        try:
            process.terminate()
        except Exception:
            continue  # never started, or gone: stop() below sees to it
    try:
        for process in processes:
            try:
                process.stop()
            except Exception:
                process.kill()
    finally:
        for process in processes:
            process.close()


class PackageCommandAdapter(Adapter):
    """An adapter whose worker is the package's own batch command.

    For backends whose worker is a management command with a batch mode and
    whose stored records the kit can reach (the security clauses): the
    subclass names the command, as ``--task-worker-command`` would, and
    implements ``set_task_path``. A worker the user gives still wins.
    """

    executes = True
    worker_driven = True
    #: The command, with the placeholders of ``--task-worker-command``.
    command: str = ""
    #: The command when every queue is asked for (``--task-worker-command-all``).
    every_queue_command: str | None = None
    #: ``batch`` or ``continuous`` (``--task-worker-command-mode``).
    mode: str = "batch"

    def __init__(self, worker: WorkerCallable | None = None, timeout: float = 10.0):
        if worker is None:
            worker = CommandWorker(
                self.command,
                every_queue=self.every_queue_command,
                mode=self.mode,
                timeout=timeout,
            )
        super().__init__(worker=worker, timeout=timeout)
