"""Adapters for the backends the kit knows, found by the backend's class.

The nearest class in the backend's MRO that has an adapter wins, so a
subclass of ``ImmediateBackend`` is driven like ``ImmediateBackend``.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from .base import Adapter, RecordAccessUnsupported, WorkerCallable

__all__ = [
    "KNOWN_ADAPTERS",
    "Adapter",
    "RecordAccessUnsupported",
    "WorkerCallable",
    "adapter_for",
]

#: Backend class path -> adapter class path. Paths, so that a backend whose
#: package is not installed costs nothing.
KNOWN_ADAPTERS: dict[str, str] = {
    "django.tasks.backends.immediate.ImmediateBackend": (
        "conformance.adapters.builtin.SynchronousAdapter"
    ),
    "django_tasks.backends.immediate.ImmediateBackend": (
        "conformance.adapters.builtin.SynchronousAdapter"
    ),
    "django.tasks.backends.dummy.DummyBackend": (
        "conformance.adapters.builtin.NeverExecutesAdapter"
    ),
    "django_tasks.backends.dummy.DummyBackend": (
        "conformance.adapters.builtin.NeverExecutesAdapter"
    ),
    "reference_backends.immediate.ImmediateBackend": (
        "conformance.adapters.builtin.SynchronousAdapter"
    ),
    "reference_backends.dummy.DummyBackend": (
        "conformance.adapters.builtin.NeverExecutesAdapter"
    ),
    "reference_backends.database.backend.DatabaseBackend": (
        "conformance.adapters.database.DatabaseAdapter"
    ),
    # Third-party backends: imported only when one is under test.
    "django_tasks_db.backend.DatabaseBackend": (
        "conformance.adapters.django_tasks_db.DjangoTasksDbAdapter"
    ),
    "django_tasks_rq.backend.RQBackend": "conformance.adapters.rq.RQAdapter",
    "django_tasks_redis.backends.RedisTaskBackend": (
        "conformance.adapters.django_tasks_redis.DjangoTasksRedisAdapter"
    ),
    "django_task_psql.backend.PostgresBackend": (
        "conformance.adapters.django_task_psql.DjangoTaskPsqlAdapter"
    ),
    "django_ox.backend.OxBackend": "conformance.adapters.django_ox.DjangoOxAdapter",
    "django_tasks_celery.backend.CeleryBackend": (
        "conformance.adapters.celery_backends.DjangoTasksCeleryAdapter"
    ),
    "django_tasks_fennel.backend.CeleryBackend": (
        "conformance.adapters.celery_backends.FennelAdapter"
    ),
    "dbtasks.backend.DatabaseBackend": "conformance.adapters.dbtasks.DbtasksAdapter",
    "dj_queue.backend.DjQueueBackend": "conformance.adapters.dj_queue.DjQueueAdapter",
}


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def adapter_class_for(backend_class: type) -> type[Adapter]:
    for cls in backend_class.__mro__:
        path = KNOWN_ADAPTERS.get(_class_path(cls))
        if path is not None:
            adapter: type[Adapter] = import_string(path)
            return adapter
    return Adapter


def adapter_for(
    backend: Any,
    *,
    adapter_path: str | None = None,
    worker_path: str | None = None,
    worker: WorkerCallable | None = None,
    timeout: float = 10.0,
) -> Adapter:
    """The adapter for ``backend``; explicit options win over the registry.

    ``worker`` is a worker callable already made (``--task-worker-command``);
    ``worker_path`` one to import (``--task-worker``). An adapter given a
    worker runs it instead of its own.
    """
    cls: type[Adapter] = (
        import_string(adapter_path)
        if adapter_path
        else adapter_class_for(type(backend))
    )
    if worker_path:
        worker = import_string(worker_path)
    return cls(worker=worker, timeout=timeout)
