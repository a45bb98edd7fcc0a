"""How the kit drives django-tasks-redis (``django_tasks_redis.RedisTaskBackend``).

Its worker is the ``run_redis_tasks`` management command, which without
``--continuous`` runs what is ready and exits: the kit's batch worker
command (:mod:`conformance.adapters.command`), once per ``TASKS`` alias of
the backend under test (its worker serves one alias: ``--backend``). What
this adapter adds is record access for the security clauses: each result
is a Redis hash whose ``task_path`` field the worker resolves and calls, so
the kit rewrites that field. Imported only when that backend is under test:
the kit does not depend on the package.
"""

from __future__ import annotations

from typing import Any

from .base import Adapter, WorkerCallable
from .command import CommandWorker

#: The worker: its one-shot mode, every queue (``--queue`` takes one name,
#: so the kit cannot hand it a set of queues: WORKER-QUEUES-SELECTED is n/a),
#: without signal handlers of its own (the kit stops nothing it starts here).
WORKER_COMMAND = "run_redis_tasks --backend={backend} --no-graceful-shutdown"


class DjangoTasksRedisAdapter(Adapter):
    executes = True
    worker_driven = True
    # Each result's hash stores the task path the worker calls.
    record_access = True
    # Which queues it serves comes from the command (see WORKER_COMMAND). It
    # runs in any thread (as a process of its own from a thread other than
    # the main one), and two at once are consumers of one Redis consumer
    # group: each message is delivered to one of them.
    selects_queues = False
    runs_in_other_threads = True
    runs_concurrently = True

    def __init__(self, worker: WorkerCallable | None = None, timeout: float = 10.0):
        # --task-worker(-command) wins; otherwise the package's own command.
        super().__init__(
            worker=worker or CommandWorker(WORKER_COMMAND, timeout=timeout),
            timeout=timeout,
        )

    # Run where django-tasks-redis is installed (not measured).
    def set_task_path(  # pragma: no cover
        self, backend: Any, result_id: str, path: str
    ) -> None:
        from django_tasks_redis.utils import get_result_key

        client = backend.get_client()
        key = get_result_key(backend.key_prefix, backend.alias, result_id)
        if not client.exists(key):
            raise LookupError(f"no stored result {result_id!r}")
        client.hset(key, "task_path", path)
