"""How the kit drives django-tasks-redis (``django_tasks_redis.RedisTaskBackend``).

Its worker is the ``run_redis_tasks`` management command, once per ``TASKS``
alias of the backend under test (its worker serves one alias: ``--backend``),
run ``--continuous`` as the package deploys it: the kit starts it, waits for
the due tasks and stops it (``--task-worker-command-mode=continuous``). Its
one-shot mode (no ``--continuous``) returns at the first message it cannot
process, by design, leaving the other ready tasks for the next run: driven
that way, the kit would charge the backend with a worker that does not go on
(SECURITY-WORKER-SURVIVES) for what is a choice of that mode. Each result is
a Redis hash whose ``task_path`` field the worker resolves and calls: the
security clauses rewrite that field. Imported only when that backend is
under test: the kit does not depend on the package.
"""

from __future__ import annotations

from typing import Any

from .command import PackageCommandAdapter


class DjangoTasksRedisAdapter(PackageCommandAdapter):
    # Every queue: ``--queue`` takes one name, so the kit cannot hand it a set
    # of queues (WORKER-QUEUES-SELECTED is n/a). Polling often: a call ends
    # once its tasks are done.
    command = "run_redis_tasks --backend={backend} --continuous --interval=0.05"
    mode = "continuous"
    record_access = True
    # A process of its own on every call; two at once are consumers of one
    # Redis consumer group, each message delivered to one of them.
    runs_in_other_threads = True
    runs_concurrently = True

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
