"""The kit's single import surface over Django's Tasks API.

Django 6.0+ ships the API as ``django.tasks``; on Django 5.2 the
``django-tasks`` backport provides it as ``django_tasks`` with a few renamed
exceptions. Everything else in the kit (suites, reference backends) imports
from here, so no version check is ever repeated elsewhere.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, cast, overload

import django

from .versions import (
    API_ROOT,
    DJANGO_VERSION,
    NATIVE,
    REQUIRED_APPS,
    SUPPORTS_PICKLING,
    TASK_DECORATOR_FORWARDS_KWARGS,
)

__all__ = [
    "API_ROOT",
    "DJANGO_VERSION",
    "NATIVE",
    "REQUIRED_APPS",
    "SUPPORTS_PICKLING",
    "TASK_DECORATOR_FORWARDS_KWARGS",
]


class TaskDecorator(Protocol):
    """The type of ``task``: ``@task`` and ``@task(...)`` both type-check, so
    functions decorated with it are not "untyped" to ``mypy --strict``."""

    @overload
    def __call__(self, function: Callable[..., Any], /, **options: Any) -> Any: ...

    @overload
    def __call__(
        self, function: None = None, /, **options: Any
    ) -> Callable[[Callable[..., Any]], Any]: ...


_tasks: Any = importlib.import_module(API_ROOT)
_base: Any = importlib.import_module(f"{API_ROOT}.base")
_backends_base: Any = importlib.import_module(f"{API_ROOT}.backends.base")
_exceptions: Any = importlib.import_module(f"{API_ROOT}.exceptions")
_signals: Any = importlib.import_module(f"{API_ROOT}.signals")

Task: Any = _base.Task
TaskResult: Any = _base.TaskResult
TaskError: Any = _base.TaskError
TaskContext: Any = _base.TaskContext
TaskResultStatus: Any = _base.TaskResultStatus
task: TaskDecorator = _base.task
task_backends: Any = _tasks.task_backends
BaseTaskBackend: Any = _backends_base.BaseTaskBackend

TASK_MIN_PRIORITY: int = _base.TASK_MIN_PRIORITY
TASK_MAX_PRIORITY: int = _base.TASK_MAX_PRIORITY
DEFAULT_TASK_PRIORITY: int = _base.DEFAULT_TASK_PRIORITY
DEFAULT_TASK_QUEUE_NAME: str = _base.DEFAULT_TASK_QUEUE_NAME
DEFAULT_TASK_BACKEND_ALIAS: str = _base.DEFAULT_TASK_BACKEND_ALIAS

# The backport names two exceptions with an ``Error`` suffix.
InvalidTask = cast(
    "type[Exception]",
    getattr(_exceptions, "InvalidTask", getattr(_exceptions, "InvalidTaskError", None)),
)
InvalidTaskBackend = cast(
    "type[Exception]",
    getattr(
        _exceptions,
        "InvalidTaskBackend",
        getattr(_exceptions, "InvalidTaskBackendError", None),
    ),
)
TaskResultDoesNotExist: type[Exception] = _exceptions.TaskResultDoesNotExist
TaskResultMismatch: type[Exception] = _exceptions.TaskResultMismatch

task_enqueued: Any = _signals.task_enqueued
task_started: Any = _signals.task_started
task_finished: Any = _signals.task_finished

if NATIVE:
    from django.utils.json import normalize_json as _normalize_json
else:  # pragma: no cover - exercised in the Django 5.2 environment
    _normalize_json = importlib.import_module("django_tasks.utils").normalize_json


def normalize_json(value: Any) -> Any:
    """Django's own JSON normalisation (tuples to lists, no other coercion)."""
    return _normalize_json(value)


def api_version_label() -> str:
    """A short label such as ``Django 6.1.3`` or ``Django 5.2.9 + django-tasks 0.12.0``."""
    label = f"Django {django.__version__}"
    if not NATIVE:
        from importlib.metadata import version

        label += f" + django-tasks {version('django-tasks')}"
    return label
