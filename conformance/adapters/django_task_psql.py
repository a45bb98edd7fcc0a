"""How the kit drives django-task-psql (``django_task_psql.backend.PostgresBackend``).

Its worker is the ``runworker`` management command in batch mode
(``--batch``: drain the queues, then exit), once per ``TASKS`` alias of the
backend under test (rows carry the alias: ``--backend``). It serves only the
queues it is told (``--queues a b``, one word each; default "default"), so
"every queue" names the kit's queues. Its rows store the task path the
worker looks up: the security clauses rewrite it. Imported only when that
backend is under test: the kit does not depend on the package.
"""

from __future__ import annotations

from typing import Any

from ..settings_file import QUEUES
from .base import rewrite_task_path
from .command import PackageCommandAdapter


class DjangoTaskPsqlAdapter(PackageCommandAdapter):
    command = "runworker --batch --backend={backend} --queues {queue}"
    every_queue_command = "runworker --batch --backend={backend} --queues " + " ".join(
        QUEUES
    )
    record_access = True
    # Claims with UPDATE ... FOR UPDATE SKIP LOCKED: two workers at once are
    # safe; from a thread other than the main one it runs as a process.
    runs_in_other_threads = True
    runs_concurrently = True

    # Run where django-task-psql is installed (not measured).
    def set_task_path(  # pragma: no cover
        self, backend: Any, result_id: str, path: str
    ) -> None:
        from django_task_psql.models import TaskRow

        rewrite_task_path(TaskRow.objects.filter(id=result_id), result_id, path)
