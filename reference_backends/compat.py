"""The backends' single import surface over Django's Tasks API.

Django 6.0+ ships it as ``django.tasks``; Django 5.2 has the ``django-tasks``
backport, ``django_tasks``. The kit has its own, larger twin
(``conformance.compat``): the backends must not import the kit, whose
dependencies (pytest, hypothesis) have no place in production.
"""

from __future__ import annotations

import importlib
from typing import Any

import django

#: True when Django itself ships ``django.tasks`` (6.0 and later).
NATIVE = django.VERSION >= (6, 0)
_ROOT = "django.tasks" if NATIVE else "django_tasks"
#: The logger Django's task signals log to.
LOGGER_NAME = _ROOT

_tasks: Any = importlib.import_module(_ROOT)
_base: Any = importlib.import_module(f"{_ROOT}.base")
_signals: Any = importlib.import_module(f"{_ROOT}.signals")

BaseTaskBackend: Any = importlib.import_module(f"{_ROOT}.backends.base").BaseTaskBackend
task_backends: Any = _tasks.task_backends
Task: Any = _base.Task
TaskResult: Any = _base.TaskResult
TaskError: Any = _base.TaskError
TaskContext: Any = _base.TaskContext
TaskResultStatus: Any = _base.TaskResultStatus
TaskResultDoesNotExist: type[Exception] = importlib.import_module(
    f"{_ROOT}.exceptions"
).TaskResultDoesNotExist

TASK_MIN_PRIORITY: int = _base.TASK_MIN_PRIORITY
TASK_MAX_PRIORITY: int = _base.TASK_MAX_PRIORITY
DEFAULT_TASK_PRIORITY: int = _base.DEFAULT_TASK_PRIORITY
DEFAULT_TASK_QUEUE_NAME: str = _base.DEFAULT_TASK_QUEUE_NAME
DEFAULT_TASK_BACKEND_ALIAS: str = _base.DEFAULT_TASK_BACKEND_ALIAS

task_enqueued: Any = _signals.task_enqueued
task_started: Any = _signals.task_started
task_finished: Any = _signals.task_finished

normalize_json: Any = (
    importlib.import_module("django.utils.json").normalize_json
    if NATIVE
    else importlib.import_module("django_tasks.utils").normalize_json
)

#: Django calls it ``InvalidTask``; the backport ``InvalidTaskError``.
InvalidTask: type[Exception] = getattr(
    importlib.import_module(f"{_ROOT}.exceptions"),
    "InvalidTask" if NATIVE else "InvalidTaskError",
)
