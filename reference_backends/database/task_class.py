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
        checks = {
            "autoretry_for": _exception_classes,
            "max_retries": _at_least_zero,
            "retry_backoff": retries.backoff_seconds,
            "retry_backoff_max": retries.seconds,
            "retry_jitter": retries.boolean,
            "time_limit": retries.seconds,
        }
        for name, convert in checks.items():
            value = getattr(self, name)
            if value is None:
                continue
            try:
                converted = convert(value)
            except RetryOptionError as exc:
                raise compat.InvalidTask(
                    f"{self.module_path}: invalid {name}: {exc}"
                ) from None
            if name == "autoretry_for":
                # A tuple whatever was given: tasks are compared and hashed.
                object.__setattr__(self, name, converted)
        # Explicit base call: with slots=True, zero-argument super() fails.
        compat.Task.__post_init__(self)


def _exception_classes(value: Any) -> tuple[type[BaseException], ...]:
    # Classes only: a task is defined in code, which can import them.
    return retries.exception_classes(value, allow_paths=False)


def _at_least_zero(value: Any) -> int:
    return retries.whole_number(value, minimum=0)


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
