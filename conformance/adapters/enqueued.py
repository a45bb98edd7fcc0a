"""What the run enqueued, as the backend announced it (``task_enqueued``).

Adapters of brokered backends need it twice: to know which tasks are due
when the worker has no "run what is ready, then stop" mode (Celery), and to
remove what the run enqueued from a shared broker at its end.

Both ``task_enqueued`` signals are heard: Django's and, where it is
installed, the ``django-tasks`` backport's (a backend written for the
backport sends that one even on Django 6).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import compat

#: The modules that may define ``task_enqueued``: Django's, the backport's.
SIGNAL_MODULES = ("django.tasks.signals", "django_tasks.signals")


@dataclass(frozen=True)
class Enqueued:
    """One task as ``enqueue`` returned it."""

    id: str
    queue_name: str
    run_after: datetime | None
    #: The ``TASKS`` alias it was enqueued through ("" when it has none).
    backend: str = ""

    def due(self, now: datetime) -> bool:
        return self.run_after is None or self.run_after <= now


def enqueued_signals() -> list[Any]:
    """Every ``task_enqueued`` signal a backend may send (Django's, the backport's)."""
    found = [compat.task_enqueued]
    for name in SIGNAL_MODULES:
        try:
            signal = importlib.import_module(name).task_enqueued
        except (ImportError, AttributeError):
            continue
        if all(signal is not seen for seen in found):
            found.append(signal)
    return found


#: Every listener between listen() and stop(): :func:`heard_elsewhere` tells them.
_LISTENING: list[EnqueuedListener] = []
_LISTENING_LOCK = threading.Lock()


def entry_of(task_result: Any) -> Enqueued | None:
    """``task_result`` as an :class:`Enqueued`, or None where it is not a
    result (never raises: a receiver that raised would break the backend's
    ``enqueue``, which sends the signal)."""
    if task_result is None:
        return None
    try:
        task = task_result.task
        return Enqueued(
            id=str(task_result.id),
            queue_name=str(task.queue_name),
            run_after=task.run_after,
            backend=str(getattr(task_result, "backend", "") or ""),
        )
    except Exception:
        return None


def heard_elsewhere(entries: list[Enqueued]) -> None:
    """Tasks enqueued in another process (``task_enqueued`` is sent only in
    the enqueuing process): every listener records them as if it had heard
    them, so that they are waited for and cleaned up like the rest."""
    with _LISTENING_LOCK:
        listeners = list(_LISTENING)
    for listener in listeners:
        for entry in entries:
            listener.record(entry)


class EnqueuedListener:
    """Hears every ``task_enqueued`` (:func:`enqueued_signals`) between
    :meth:`listen` and :meth:`stop`; a subclass says what it keeps
    (:meth:`record`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signals: list[Any] = []

    def listen(self) -> None:
        if self._signals:
            return
        for signal in enqueued_signals():
            signal.connect(self._heard, weak=False, dispatch_uid=id(self))
            self._signals.append(signal)
        with _LISTENING_LOCK:
            _LISTENING.append(self)

    def stop(self) -> None:
        for signal in self._signals:
            signal.disconnect(self._heard, dispatch_uid=id(self))
        self._signals = []
        with _LISTENING_LOCK:
            if self in _LISTENING:
                _LISTENING.remove(self)

    def _heard(self, sender: Any, task_result: Any = None, **kwargs: Any) -> None:
        self.record(entry_of(task_result))

    def record(self, entry: Enqueued | None) -> None:
        """One task enqueued (None: announced without a readable result)."""
        raise NotImplementedError


class EnqueuedLog(EnqueuedListener):
    """Every result announced enqueued while listening (in a kit run, every
    enqueue goes to the backend under test, through one of its aliases)."""

    def __init__(self) -> None:
        super().__init__()
        self._entries: dict[str, Enqueued] = {}
        self._all: set[str] = set()

    def record(self, entry: Enqueued | None) -> None:
        if entry is None:
            return
        with self._lock:
            self._entries[entry.id] = entry
            self._all.add(entry.id)

    def entries(self) -> list[Enqueued]:
        """What was heard and not forgotten (not known to be finished)."""
        with self._lock:
            return list(self._entries.values())

    def forget(self, ids: set[str]) -> None:
        """Nothing to wait for any more (:meth:`all_ids` keeps them)."""
        with self._lock:
            for result_id in ids:
                self._entries.pop(result_id, None)

    def all_ids(self) -> set[str]:
        """Every id heard, forgotten or not."""
        with self._lock:
            return set(self._all)
