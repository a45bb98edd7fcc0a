"""``DatabaseTask``: the database backend's ``task_class``, with retry and time-limit options.

On Django 6.1 (and the backport), ``@task(...)`` passes keyword arguments it
does not know to the backend's ``task_class``::

    @task(autoretry_for=(ConnectionError,), max_retries=5, retry_backoff=2,
          time_limit=30)
    def fetch_feed(url): ...

Each option left unset (``None``) takes the backend's ``OPTIONS`` value
(``AUTORETRY_FOR``, ``MAX_RETRIES``, ...), which is also how Django 6.0,
whose decorator takes no extra arguments, configures them. The values are
checked when the task is defined (and on ``using()``), with an
``InvalidTask`` that names the option.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import compat
from . import retries
from .retries import RetryOptionError, RetryPolicy

#: The per-task options, in the order the README lists them.
OPTION_NAMES = (
    "autoretry_for",
    "max_retries",
    "retry_backoff",
    "retry_backoff_max",
    "retry_jitter",
    "time_limit",
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseTask(compat.Task):  # type: ignore[misc]
    """A Task with Celery's retry options and a time limit; None: the backend's."""

    autoretry_for: Any = None  # exception classes (a class, or a tuple of them)
    max_retries: int | None = None  # retries after the first attempt
    retry_backoff: bool | float | None = None  # seconds before the first retry
    retry_backoff_max: float | None = None  # the backoff's cap, seconds
    retry_jitter: bool | None = None  # wait a random part of the backoff
    time_limit: float | None = None  # seconds an attempt may take

    def __post_init__(self) -> None:
        try:
            if self.autoretry_for is not None:
                # A tuple whatever was given: tasks are hashable and compared.
                classes = retries.exception_classes(
                    self.autoretry_for, allow_paths=False
                )
                object.__setattr__(self, "autoretry_for", classes)
            _check(self, "max_retries", retries.whole_number, minimum=0)
            _check(self, "retry_backoff", retries.backoff_seconds)
            _check(self, "retry_backoff_max", retries.seconds)
            _check(self, "retry_jitter", retries.boolean)
            _check(self, "time_limit", retries.seconds)
        except _Invalid as exc:
            raise compat.InvalidTask(str(exc)) from None
        # Explicit base call: with slots=True, zero-argument super() fails.
        compat.Task.__post_init__(self)


class _Invalid(Exception):
    pass


def _check(task: DatabaseTask, name: str, convert: Any, **kwargs: Any) -> None:
    value = getattr(task, name)
    if value is None:
        return
    try:
        convert(value, **kwargs)
    except RetryOptionError as exc:
        raise _Invalid(f"{task.module_path}: invalid {name}: {exc}") from None


def option(task: Any, name: str) -> Any:
    """The task's own value of option ``name``; None for a task of another class."""
    return getattr(task, name, None)


def retry_policy(task: Any, defaults: RetryPolicy) -> RetryPolicy:
    """The policy for ``task``: its own options over the backend's ``defaults``."""
    changes: dict[str, Any] = {}
    for name in ("autoretry_for", "max_retries", "retry_backoff_max", "retry_jitter"):
        value = option(task, name)
        if value is not None:
            changes[name] = value
    backoff = option(task, "retry_backoff")
    if backoff is not None:
        changes["retry_backoff"] = retries.backoff_seconds(backoff)
    return dataclasses.replace(defaults, **changes) if changes else defaults


def time_limit(task: Any, default: float | None) -> float | None:
    """Seconds an attempt of ``task`` may take; None: no limit."""
    value = option(task, "time_limit")
    return float(value) if value is not None else default
