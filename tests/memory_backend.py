"""A worker-based backend for the project's own tests (no database).

``enqueue`` stores a record; nothing runs until a worker calls
:func:`run_ready`. Records are JSON files in a directory (OPTIONS
"DIRECTORY", else next to the kit's settings file), so results are visible
from other threads and other processes: ``supports_get_result = True``.

The store is deliberately plain, and every step is a method, so the broken
variants in ``tests/broken/execution.py`` can each get one thing wrong:

* ``records/<id>.json``: the task record (path, args, status, timestamps...);
* ``ready/<inverted priority>.<sequence>.<due>.<queue hash>.<id>``: one empty
  file per READY record; names sort highest priority first, then oldest.
  Removing the file claims the task: only one worker can succeed.

Run the kit against it::

    pytest --task-backend=tests.memory_backend.MemoryBackend \\
        --task-worker=tests.memory_backend.run_ready
    # record access too (the security clauses):
    pytest --task-backend=tests.memory_backend.MemoryBackend \\
        --task-adapter=tests.memory_backend.MemoryAdapter
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from traceback import format_exception
from typing import Any

from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

from conformance import compat
from conformance.adapters import Adapter, WorkerCallable
from conformance.adapters.enqueued import EnqueuedLog
from conformance.settings_file import ENV_VAR

TaskResultStatus = compat.TaskResultStatus
_ID = re.compile(r"[A-Za-z0-9]{1,64}")


def _placeholder_task_function() -> None:
    """Stands in for a task whose path no longer resolves (get_result only)."""
    raise RuntimeError("this task's function could not be imported")


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


class UnresolvableTask(ImportError):
    """A stored path that does not import, or does not name a Task."""


class FileStore:
    """Records as append-only JSON-lines files; READY records indexed by name.

    Each save appends the whole record as one line (one ``write`` with
    ``O_APPEND``), and a reader takes the last complete line: no reader ever
    sees half a record, and no rename (slow on ext4) is needed.
    """

    def __init__(self, directory: Path) -> None:
        self.records = directory / "records"
        self.ready = directory / "ready"
        self.records.mkdir(parents=True, exist_ok=True)
        self.ready.mkdir(parents=True, exist_ok=True)

    def save(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record) + "\n").encode("utf-8")
        path = self.records / f"{record['id']}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def load(self, result_id: str) -> dict[str, Any] | None:
        try:
            data = (self.records / f"{result_id}.jsonl").read_bytes()
        except FileNotFoundError:
            return None
        # The last complete line; cut before decoding (a half-written line
        # may end inside a character).
        complete = data[: data.rfind(b"\n") + 1].splitlines()
        if not complete:
            return None
        record: dict[str, Any] = json.loads(complete[-1].decode("utf-8"))
        return record

    def mark_ready(self, name: str) -> None:
        (self.ready / name).touch()

    def ready_names(self) -> list[str]:
        return sorted(os.listdir(self.ready))

    def claim(self, name: str) -> bool:
        try:
            os.unlink(self.ready / name)
        except FileNotFoundError:
            return False  # another worker was first
        return True


def default_directory() -> Path:
    settings_file = os.environ.get(ENV_VAR)
    if settings_file:
        return Path(settings_file).resolve().parent / "memory-backend"
    return Path(tempfile.gettempdir()) / "conformance-memory-backend"


class MemoryBackend(compat.BaseTaskBackend):  # type: ignore[misc]
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    store_class: Any = FileStore

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        directory = self.options.get("DIRECTORY")
        self.store = self.store_class(
            Path(directory) if directory else default_directory()
        )

    # -- enqueue ------------------------------------------------------------
    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        self.validate_task(task)
        # Serialise first: a value JSON cannot hold raises here, stores nothing.
        stored_args = json.loads(json.dumps(list(args)))
        stored_kwargs = json.loads(json.dumps(dict(kwargs)))
        record = self.new_record(task, stored_args, stored_kwargs)
        self.store.save(record)
        result = self.to_result(record, task)
        # Announced before a worker can see it: enqueued comes before started
        # even when a worker is already running.
        compat.task_enqueued.send(type(self), task_result=result)
        self.store.mark_ready(self.ready_name(record))
        return result

    def new_record(
        self, task: Any, stored_args: list[Any], stored_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """The READY record of ``task`` with arguments already made JSON."""
        return {
            "id": get_random_string(32),
            "path": task.module_path,
            "priority": task.priority,
            "queue_name": task.queue_name,
            "run_after": _when(task.run_after),
            "takes_context": task.takes_context,
            "backend": task.backend,
            "status": TaskResultStatus.READY.value,
            "enqueued_at": _when(timezone.now()),
            "started_at": None,
            "last_attempted_at": None,
            "finished_at": None,
            "args": stored_args,
            "kwargs": stored_kwargs,
            "return_value": None,
            "errors": [],
            "worker_ids": [],
            "sequence": time.time_ns(),
        }

    def ready_name(self, record: dict[str, Any]) -> str:
        run_after = _parse(record["run_after"])
        due = int(run_after.timestamp() * 1_000_000) if run_after else 0
        queue = hashlib.sha1(record["queue_name"].encode("utf-8")).hexdigest()[:12]
        inverted = 100 - int(record["priority"])
        return f"{inverted:03d}.{record['sequence']:020d}.{due:017d}.{queue}.{record['id']}"

    # -- results ------------------------------------------------------------
    def get_result(self, result_id: str) -> Any:
        if not isinstance(result_id, str) or not _ID.fullmatch(result_id):
            raise compat.TaskResultDoesNotExist(result_id)
        record = self.store.load(result_id)
        if record is None:
            raise compat.TaskResultDoesNotExist(result_id)
        return self.to_result(record)

    def resolve(self, record: dict[str, Any]) -> Any:
        """The stored Task, as enqueued; :class:`UnresolvableTask` if it is not one."""
        try:
            found = import_string(record["path"])
        except ImportError as exc:
            raise UnresolvableTask(f"cannot import {record['path']!r}: {exc}") from exc
        if not isinstance(found, self.task_class):
            raise UnresolvableTask(
                f"{record['path']!r} is not a {self.task_class.__name__}"
            )
        return found.using(
            priority=record["priority"],
            queue_name=record["queue_name"],
            run_after=_parse(record["run_after"]),
            backend=record["backend"],
        )

    def task_for_result(self, record: dict[str, Any]) -> Any:
        """The Task to describe ``record``: never raises ImportError.

        A plain module-level function is described as the Task it was
        enqueued as (so get_result works for ``task(function)`` that was never
        bound to a module name); it is still never *executed* (see resolve).
        """
        try:
            return self.resolve(record)
        except UnresolvableTask:
            pass
        try:
            func = import_string(record["path"])
        except ImportError:
            func = None
        if (
            not callable(func)
            or getattr(func, "__qualname__", "") != record["path"].rsplit(".", 1)[-1]
        ):
            func = _placeholder_task_function
        return self.task_class(
            func=func,
            priority=record["priority"],
            queue_name=record["queue_name"],
            run_after=_parse(record["run_after"]),
            backend=record["backend"],
            takes_context=record["takes_context"],
        )

    def to_result(self, record: dict[str, Any], task: Any = None) -> Any:
        result = compat.TaskResult(
            task=task if task is not None else self.task_for_result(record),
            id=record["id"],
            status=TaskResultStatus(record["status"]),
            enqueued_at=_parse(record["enqueued_at"]),
            started_at=_parse(record["started_at"]),
            last_attempted_at=_parse(record["last_attempted_at"]),
            finished_at=_parse(record["finished_at"]),
            args=record["args"],
            kwargs=record["kwargs"],
            backend=record["backend"],
            errors=[
                compat.TaskError(exception_class_path=path, traceback=traceback)
                for path, traceback in record["errors"]
            ],
            worker_ids=list(record["worker_ids"]),
        )
        object.__setattr__(result, "_return_value", record["return_value"])
        return result

    # -- the worker -------------------------------------------------------------
    def is_due(self, due_microseconds: int, now: datetime) -> bool:
        return due_microseconds <= int(now.timestamp() * 1_000_000)

    def ready_in_order(
        self, queue_names: Sequence[str] | None
    ) -> Iterator[dict[str, Any]]:
        """Claim ready tasks one by one: highest priority, then oldest, due only.

        One listing serves a whole pass; the caller lists again until a
        listing yields nothing (tasks enqueued meanwhile run in the next).
        """
        hashes = (
            None
            if queue_names is None
            else {hashlib.sha1(q.encode("utf-8")).hexdigest()[:12] for q in queue_names}
        )
        now = timezone.now()
        for name in self.store.ready_names():
            _, _, due, queue, result_id = name.split(".")
            if hashes is not None and queue not in hashes:
                continue
            if not self.is_due(int(due), now):
                continue
            if self.store.claim(name):
                record = self.store.load(result_id)
                if record is not None:
                    yield record

    def execute(self, record: dict[str, Any], worker_id: str) -> None:
        """Run one claimed record to its end, and store the outcome."""
        self.start(record, worker_id)
        try:
            task = self.resolve(record)
        except UnresolvableTask as exc:
            # Never run it: record why, and go on with the next task.
            self.finish(record, error=exc)
            return
        result = self.to_result(record, task)
        self.send_started(result)
        try:
            value = self.call(task, result)
            record["return_value"] = self.serialise_return(value)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self.finish(record, error=exc)
        else:
            self.finish(record)
        self.send_finished(self.to_result(record, task))

    def start(self, record: dict[str, Any], worker_id: str) -> None:
        """Mark the record RUNNING (stored before the function is called)."""
        started = timezone.now()
        record["status"] = TaskResultStatus.RUNNING.value
        record["started_at"] = record["started_at"] or _when(started)
        record["last_attempted_at"] = _when(started)
        record["worker_ids"].append(worker_id)
        self.store.save(record)

    def send_started(self, result: Any) -> None:
        compat.task_started.send(type(self), task_result=result)

    def send_finished(self, result: Any) -> None:
        compat.task_finished.send(type(self), task_result=result)

    def call(self, task: Any, result: Any) -> Any:
        if task.takes_context:
            return task.call(self.context(result), *result.args, **result.kwargs)
        return task.call(*result.args, **result.kwargs)

    def context(self, result: Any) -> Any:
        return compat.TaskContext(task_result=result)

    def serialise_return(self, value: Any) -> Any:
        return json.loads(json.dumps(compat.normalize_json(value)))

    def error_entry(self, error: BaseException) -> list[str]:
        """``[exception_class_path, traceback]`` for a failed attempt."""
        kind = type(error)
        return [
            f"{kind.__module__}.{kind.__qualname__}",
            "".join(format_exception(error)),
        ]

    def finish(
        self, record: dict[str, Any], error: BaseException | None = None
    ) -> None:
        if error is None:
            record["status"] = TaskResultStatus.SUCCESSFUL.value
        else:
            record["status"] = TaskResultStatus.FAILED.value
            record["return_value"] = None
            record["errors"].append(self.error_entry(error))
        record["finished_at"] = _when(timezone.now())
        self.store.save(record)

    def new_worker_id(self) -> str:
        return f"memory-{os.getpid()}-{get_random_string(8)}"

    def run_ready(self, queue_names: Sequence[str] | None = None) -> int:
        """Run every task that is ready now; return how many ran."""
        worker_id = self.new_worker_id()
        count = 0
        while True:
            ran = 0
            for record in self.ready_in_order(queue_names):
                self.execute(record, worker_id)
                ran += 1
            if not ran:
                return count
            count += ran


class BackgroundMemoryBackend(MemoryBackend):
    """Runs its tasks on its own, in a thread started by each enqueue.

    What a thread-pool backend looks like to the kit: no worker to drive, so
    the kit probes it and then polls results until they finish.
    """

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        result = super().enqueue(task, args, kwargs)
        threading.Thread(target=self._run_in_background, daemon=True).start()
        return result

    def _run_in_background(self) -> None:
        # Best effort: the kit may already have removed the store at exit.
        with contextlib.suppress(OSError):
            self.run_ready()


def run_ready(backend: Any, queue_names: Sequence[str] | None = None) -> None:
    """The ``--task-worker`` callable: run what is ready, in this process."""
    backend.run_ready(queue_names)


class MemoryAdapter(Adapter):
    """Drives :class:`MemoryBackend` and can rewrite its stored records."""

    worker_driven = True
    record_access = True

    def __init__(
        self, worker: WorkerCallable | None = None, timeout: float = 10.0
    ) -> None:
        super().__init__(worker=worker or run_ready, timeout=timeout)
        #: What enqueues announced: a record the worker took that is not in
        #: it came from an enqueue that raised (unannounced_ids).
        self.enqueued = EnqueuedLog()
        self.enqueued.listen()

    def unannounced_ids(self, backend: Any) -> set[str]:
        taken = {str(r["id"]) for r in iter_records(backend) if r["worker_ids"]}
        return taken - self.enqueued.all_ids()

    def close(self, backend: Any) -> None:
        self.enqueued.stop()

    def set_task_path(self, backend: Any, result_id: str, path: str) -> None:
        record = backend.store.load(result_id)
        if record is None:
            raise KeyError(result_id)
        record["path"] = path
        backend.store.save(record)


def iter_records(backend: MemoryBackend) -> Iterator[dict[str, Any]]:
    """Every stored record (for the project's tests)."""
    for path in sorted(backend.store.records.glob("*.jsonl")):
        record = backend.store.load(path.stem)
        if record is not None:
            yield record
