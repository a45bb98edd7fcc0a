"""The Celery-backed backends the kit knows, each driven by :class:`CeleryAdapter`.

What differs between them is only where the Celery app is and how a Django
queue name becomes a Celery queue; both are read from the backend's own
options and settings, never from its private API.
"""

from __future__ import annotations

from typing import Any

from .celery import CeleryAdapter


class DjangoTasksCeleryAdapter(CeleryAdapter):
    """``django_tasks_celery.CeleryBackend`` (PyPI ``django-tasks-celery``).

    Its Celery app is ``OPTIONS["CELERY_APP"]`` (a dotted path), else the
    current app; it sends a task of queue "default" to the app's default
    queue (``task_default_queue``), every other queue by its name.
    """

    def app_path(self, backend: Any) -> str:
        return str(backend.options.get("CELERY_APP") or "")

    def celery_queue(self, backend: Any, queue_name: str) -> str:
        if queue_name == "default":
            return str(self.celery_app(backend).conf.task_default_queue)
        return queue_name


class FennelAdapter(CeleryAdapter):
    """``django_tasks_fennel.CeleryBackend`` (PyPI ``django-tasks-fennel``).

    Its Celery app is the current one (the project's, else the one the
    package's app installs); it sends each task to the queue of its name.
    Besides Celery's result it keeps two keys per task in the result
    backend, removed by ``close`` with the rest.
    """

    #: The keys the backend keeps beside Celery's result, by prefix.
    SIDE_KEYS = ("django-tasks-enqueue:", "django-tasks-started-at:")

    def remove_leftovers(self, backend: Any) -> None:
        super().remove_leftovers(backend)
        results = self.celery_app(backend).backend
        for result_id in self.result_ids():
            for prefix in self.SIDE_KEYS:
                results.delete(f"{prefix}{result_id}".encode())
