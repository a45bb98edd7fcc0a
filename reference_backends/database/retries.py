"""Automatic retries, in Celery's terms: which errors, how many times, how long to wait.

A task that raises one of ``autoretry_for`` goes back to READY instead of
FAILED, at most ``max_retries`` times; the next attempt waits an
exponential backoff (``retry_backoff`` seconds, doubled at each retry, at
most ``retry_backoff_max``), drawn at random below that bound when
``retry_jitter`` is on, so that tasks that failed together do not all
come back at the same moment.

The options come from the task (``@task(autoretry_for=...)`` on Django 6.1,
see :mod:`.task_class`) or, for what the task leaves unset, from the
backend's ``OPTIONS``. This module holds the policy and the validation both
places share; it never touches the database.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.module_loading import import_string

#: Celery's defaults (``Task.max_retries``, ``retry_backoff_max``, ``retry_jitter``).
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_MAX = 600.0
DEFAULT_JITTER = True

# 2**64 seconds is already far beyond any cap; a larger exponent would
# overflow the conversion to float.
_MAX_EXPONENT = 64


def class_path(cls: type) -> str:
    """``module.QualName``: how a ``TaskError`` names an exception class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def exception_paths(exc: BaseException) -> list[str]:
    """The paths of ``exc``'s class and of every class it inherits from.

    Matching on paths rather than classes lets a child process of the
    process pool report what it caught without pickling the exception.
    """
    return [class_path(cls) for cls in type(exc).__mro__]


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """When a failed attempt is retried, and after how long."""

    autoretry_for: tuple[type[BaseException], ...] = ()
    max_retries: int = DEFAULT_MAX_RETRIES
    #: Seconds before the first retry, doubled at each further one; 0: at once.
    retry_backoff: float = 0.0
    retry_backoff_max: float = DEFAULT_BACKOFF_MAX
    retry_jitter: bool = DEFAULT_JITTER

    def retries(self, raised: Sequence[str], attempts: int) -> bool:
        """Is attempt number ``attempts``, which raised a class whose MRO
        paths are ``raised``, retried?"""
        if attempts > self.max_retries:  # attempt 1 + max_retries retries
            return False
        wanted = {class_path(cls) for cls in self.autoretry_for}
        return not wanted.isdisjoint(raised)

    def bound(self, attempts: int) -> float:
        """The longest wait after failed attempt number ``attempts`` (1, 2, ...)."""
        if not self.retry_backoff:
            return 0.0
        exponent = min(attempts - 1, _MAX_EXPONENT)
        return float(min(self.retry_backoff_max, self.retry_backoff * 2**exponent))

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retrying failed attempt number ``attempts``.

        Full jitter (Celery's): uniform between 0 and the backoff bound.
        """
        bound = self.bound(attempts)
        if not self.retry_jitter or bound == 0:
            return bound
        return (rng or random).uniform(0, bound)


# -- validation, shared by OPTIONS and @task(...) -------------------------------
class RetryOptionError(ValueError):
    """A retry or time-limit option has a value it cannot take."""


def exception_classes(
    value: Any, *, allow_paths: bool
) -> tuple[type[BaseException], ...]:
    """``value`` as a tuple of exception classes, or :class:`RetryOptionError`.

    Accepts one class or an iterable of them; with ``allow_paths`` (settings,
    which should not import code) also dotted paths, imported here.
    """
    classes = []
    for item in exception_specs(value, allow_paths=allow_paths):
        if isinstance(item, str):
            try:
                item = import_string(item)
            except ImportError as exc:
                raise RetryOptionError(f"{item!r} does not import: {exc}") from exc
            _check_class(item, allow_paths=True)
        classes.append(item)
    return tuple(classes)


def exception_specs(
    value: Any, *, allow_paths: bool
) -> tuple[type[BaseException] | str, ...]:
    """``value`` checked as :func:`exception_classes` takes it, paths not imported.

    The backend reads its OPTIONS when first used, which may be while a tasks
    module is being imported: a path naming a class of that very module
    would not import yet. So paths are imported later, when the retry policy
    is first needed (and by ``manage.py check``).
    """
    items: Iterable[Any] = (
        [value] if isinstance(value, type | str) else _iterable(value)
    )
    specs: list[type[BaseException] | str] = []
    for item in items:
        if isinstance(item, str) and allow_paths:
            module, _, name = item.rpartition(".")
            if not (module and name):
                raise RetryOptionError(f"{item!r} is not a dotted path")
        else:
            _check_class(item, allow_paths=allow_paths)
        specs.append(item)
    return tuple(specs)


def _check_class(item: Any, *, allow_paths: bool) -> None:
    if not (isinstance(item, type) and issubclass(item, BaseException)):
        what = "exception classes" + (" or their dotted paths" if allow_paths else "")
        raise RetryOptionError(f"expected {what}, got {item!r}")
    if issubclass(item, KeyboardInterrupt):
        # A second Ctrl-C stops the worker; it must never come back as a retry.
        raise RetryOptionError("KeyboardInterrupt is never retried")


def _iterable(value: Any) -> Iterable[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return value
    raise RetryOptionError(f"expected a class or a list of classes, got {value!r}")


def whole_number(value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RetryOptionError(f"expected a whole number >= {minimum}, got {value!r}")
    return value


def backoff_seconds(value: Any) -> float:
    """``retry_backoff``: False (no wait), True (1 s, Celery's) or seconds >= 0."""
    if value is True:
        return 1.0
    if value is False:
        return 0.0
    return float(_seconds(value, allow_zero=True))


def seconds(value: Any) -> float:
    """A positive number of seconds."""
    return float(_seconds(value, allow_zero=False))


def _seconds(value: Any, *, allow_zero: bool) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or value != value or value in (float("inf"), float("-inf")):
        raise RetryOptionError(f"expected a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        sign = ">= 0" if allow_zero else "> 0"
        raise RetryOptionError(f"expected a number of seconds {sign}, got {value!r}")
    return float(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise RetryOptionError(f"expected True or False, got {value!r}")
    return value
