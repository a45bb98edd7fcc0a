"""How the kit drives django-ox (``django_ox.backend.OxBackend``).

Its worker is the ``ox_worker`` management command in batch mode
(``--batch``: exit once a poll pass finds nothing to claim), once per
``TASKS`` alias of the backend under test (``--backend``), on the queues
asked for (``--queues=a,b``; without it, every queue the alias allows). Its
rows store the task path the worker resolves: the security clauses rewrite
it. Imported only when that backend is under test: the kit does not depend
on the package.
"""

from __future__ import annotations

from typing import Any

from .base import rewrite_task_path
from .command import PackageCommandAdapter


class DjangoOxAdapter(PackageCommandAdapter):
    command = "ox_worker --batch --backend={backend} --queues={queues} --interval=0.05"
    record_access = True
    # Claims with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL (an atomic
    # compare-and-set UPDATE elsewhere): two workers at once are safe; from a
    # thread other than the main one it runs as a process.
    runs_in_other_threads = True
    runs_concurrently = True

    # Run where django-ox is installed (not measured).
    def set_task_path(  # pragma: no cover
        self, backend: Any, result_id: str, path: str
    ) -> None:
        from django_ox.models import OxTask

        rewrite_task_path(OxTask.objects.filter(id=result_id), result_id, path)
