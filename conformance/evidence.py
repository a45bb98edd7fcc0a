"""What running tasks leave behind for the execution suites to read.

A task may run in this process, in a thread, or in a worker process the
backend starts. Whatever it records goes to files in the kit's working
directory (the directory of ``CONFORMANCE_SETTINGS_FILE``, inherited by
every process the run starts), so the suites see it wherever the task ran:

* ``runs/<token>.jsonl``: one line per execution of a task given ``token``,
  with what the function received (type-tagged: a tuple is not a list);
* ``runs/order.log``: tokens in the order their executions started;
* ``signals.jsonl``: every task signal sent in any process of the run.

Imports nothing from Django but the kit's import surface, and only lazily,
so a worker process pays nothing until a kit task runs.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .settings_file import ENV_VAR

_LOCK = threading.Lock()


def workdir() -> Path:
    """The run's working directory, shared with worker processes."""
    return _workdir(os.environ.get(ENV_VAR))


@functools.cache
def _workdir(settings_file: str | None) -> Path:
    if settings_file:
        return Path(settings_file).resolve().parent
    return Path(tempfile.gettempdir()) / "conformance-evidence"


def _runs() -> Path:
    path = workdir() / "runs"
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
    return path


def _append(path: Path, line: str) -> None:
    # One write of one line with O_APPEND: lines from several processes
    # never interleave.
    data = (line + "\n").encode("utf-8")
    with _LOCK:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


# -- type-tagged values ------------------------------------------------------
def encode(value: Any) -> Any:
    """``value`` as JSON that keeps what JSON forgets (tuple vs list, key types)."""
    if value is None or isinstance(value, bool | int | float | str):
        return ["scalar", value]
    if isinstance(value, list | tuple):
        kind = "list" if isinstance(value, list) else "tuple"
        return [kind, [encode(item) for item in value]]
    if isinstance(value, dict):
        return ["dict", [[encode(key), encode(item)] for key, item in value.items()]]
    return [
        "other",
        f"{type(value).__module__}.{type(value).__qualname__}",
        repr(value),
    ]


class Unrepresentable:
    """A value :func:`encode` could only describe: compares by its description."""

    def __init__(self, type_path: str, text: str) -> None:
        self.type_path = type_path
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unrepresentable) and (
            (self.type_path, self.text) == (other.type_path, other.text)
        )

    def __hash__(self) -> int:
        return hash((self.type_path, self.text))

    def __repr__(self) -> str:
        return f"<{self.type_path} {self.text}>"


def decode(tagged: Any) -> Any:
    """The inverse of :func:`encode`."""
    kind, *rest = tagged
    if kind == "scalar":
        return rest[0]
    if kind == "list":
        return [decode(item) for item in rest[0]]
    if kind == "tuple":
        return tuple(decode(item) for item in rest[0])
    if kind == "dict":
        return {decode(key): decode(item) for key, item in rest[0]}
    return Unrepresentable(rest[0], rest[1])


# -- executions --------------------------------------------------------------
def record_run(token: str, payload: Any) -> None:
    """Note one execution for ``token``, with ``payload`` (type-tagged)."""
    entry = {"pid": os.getpid(), "time": time.time(), "payload": encode(payload)}
    _append(_runs() / f"{_safe(token)}.jsonl", json.dumps(entry))
    _append(_runs() / "order.log", _safe(token))


def runs(token: str) -> list[Any]:
    """The payloads recorded for ``token``, one per execution, decoded."""
    lines = _complete_lines(_runs() / f"{_safe(token)}.jsonl")
    return [decode(json.loads(line)["payload"]) for line in lines if line]


def run_times(token: str) -> list[float]:
    """When each execution for ``token`` was recorded (``time.time()`` in the
    function, whatever process ran it)."""
    lines = _complete_lines(_runs() / f"{_safe(token)}.jsonl")
    return [float(json.loads(line)["time"]) for line in lines if line]


def await_runs(token: str, timeout: float) -> list[Any]:
    """:func:`runs` of ``token``, waiting up to ``timeout`` for the first."""
    deadline = time.monotonic() + timeout
    while True:
        found = runs(token)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def start_order(tokens: list[str]) -> list[str]:
    """``tokens`` in the order their executions started (repeats kept)."""
    wanted = {_safe(token): token for token in tokens}
    lines = _complete_lines(_runs() / "order.log")
    return [wanted[line] for line in lines if line in wanted]


def _complete_lines(path: Path) -> list[str]:
    """The lines of ``path`` whose write has completed (a writer may be busy)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    # Cut before decoding: a half-written line may end inside a character.
    return data[: data.rfind(b"\n") + 1].decode("utf-8").splitlines()


def release_path(token: str) -> Path:
    """The file :func:`conformance.tasks.wait_for_release` waits for."""
    return _runs() / f"{_safe(token)}.release"


def _safe(token: str) -> str:
    # Tokens are uuid hex; anything else is kept out of file names.
    return "".join(ch for ch in token if ch.isalnum() or ch in "-_")[:80] or "_"


# -- signals -----------------------------------------------------------------
@dataclass(frozen=True)
class RecordedSignal:
    signal: str  # "enqueued", "started", "finished"
    result_id: str
    status: str
    sender: str  # repr of the sender, for messages
    sender_is_class: bool
    sender_is_backend_class: bool
    pid: int
    #: task_started of ``tasks.capture``: how many runs of its token the
    #: receiver found (0: the function body had not run yet).
    runs_before: int | None = None
    #: task_enqueued and task_finished, where supports_get_result: the status
    #: a receiver's get_result read ("raised X" if it raised).
    stored_status: str | None = None


def _signal_path() -> Path:
    return workdir() / "signals.jsonl"


def _receiver(name: str) -> Any:
    def receive(sender: Any, task_result: Any = None, **kwargs: Any) -> None:
        # A receiver that raised would break the backend's send(): never.
        try:
            from . import compat

            is_class = isinstance(sender, type)
            entry = {
                "signal": name,
                "result_id": str(getattr(task_result, "id", "")),
                "status": str(getattr(task_result, "status", "")),
                "sender": repr(sender),
                "sender_is_class": is_class,
                "sender_is_backend_class": is_class
                and issubclass(sender, compat.BaseTaskBackend),
                "pid": os.getpid(),
                **_seen_by_a_receiver(name, task_result),
            }
            _append(_signal_path(), json.dumps(entry))
        except Exception:  # pragma: no cover - evidence is best effort
            pass

    return receive


#: The one task whose body the started receiver can see: it records its runs.
_CAPTURE = "conformance.tasks.capture"


def _seen_by_a_receiver(name: str, task_result: Any) -> dict[str, Any]:
    """What a receiver of signal ``name`` observes as it runs: the function's
    runs (task_started of a capture), the stored status (task_enqueued and
    task_finished, where the backend says supports_get_result)."""
    from . import compat

    task = getattr(task_result, "task", None)
    if name == "started":
        args = getattr(task_result, "args", None)
        if getattr(task, "module_path", "") == _CAPTURE and args:
            return {"runs_before": len(runs(str(args[0])))}
        return {}
    try:
        backend = compat.task_backends[task_result.backend]
        if not getattr(backend, "supports_get_result", False):
            return {}
        return {"stored_status": str(backend.get_result(task_result.id).status)}
    except Exception as exc:
        return {"stored_status": f"raised {type(exc).__qualname__}"}


_RECEIVERS: dict[str, Any] = {}


def install_signal_recorder() -> None:
    """Record task signals of this process (once; only inside a kit run)."""
    if ENV_VAR not in os.environ or _RECEIVERS:
        return
    from . import compat

    for name, signal in (
        ("enqueued", compat.task_enqueued),
        ("started", compat.task_started),
        ("finished", compat.task_finished),
    ):
        _RECEIVERS[name] = receiver = _receiver(name)
        signal.connect(
            receiver, weak=False, dispatch_uid=f"conformance-evidence-{name}"
        )


def recorded_signals(result_ids: set[str]) -> Iterator[RecordedSignal]:
    """Signals recorded for ``result_ids``, in the order they were sent."""
    for line in _complete_lines(_signal_path()):
        if line.strip():
            entry = json.loads(line)
            if entry["result_id"] in result_ids:
                yield RecordedSignal(**entry)
