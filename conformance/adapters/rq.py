"""How the kit drives django-tasks-rq (``django_tasks_rq.RQBackend``).

``run_ready`` runs an RQ burst worker on exactly the requested queues (every
queue of ``RQ_QUEUES`` when the kit asks for all): it moves the scheduled
jobs that are due onto their queues, runs every queued job, and returns when
the queues are empty. It is RQ's ``SimpleWorker`` (the job runs in the
kit's own process, no fork per job) with the one change that lets it run in
any thread: no signal handlers outside the main thread, and job timeouts by
timer instead of SIGALRM.

``close`` deletes the jobs the run enqueued (and their results), so that
the deferred ones do not stay in Redis.

Imports ``rq`` and ``django_rq`` only when used: the kit runs without them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .base import Adapter, signal_handlers_kept
from .enqueued import EnqueuedLog


def _worker_class() -> type[Any]:
    from rq.timeouts import TimerDeathPenalty
    from rq.worker import SimpleWorker

    class KitWorker(SimpleWorker):  # type: ignore[misc]
        """RQ's in-process worker, callable from any thread."""

        death_penalty_class = TimerDeathPenalty

        def _install_signal_handlers(self) -> None:
            if threading.current_thread() is threading.main_thread():
                super()._install_signal_handlers()  # type: ignore[no-untyped-call]

    return KitWorker


class RQAdapter(Adapter):
    executes = True
    worker_driven = True
    record_access = True
    # A burst worker for the queues it is given, in any thread; RQ pops each
    # job atomically, so two workers at once never both run one.
    selects_queues = True
    runs_in_other_threads = True
    runs_concurrently = True

    def __init__(self, worker: Any = None, timeout: float = 10.0) -> None:
        super().__init__(worker=worker, timeout=timeout)
        #: What the run enqueues, deleted by :meth:`close`.
        self.enqueued = EnqueuedLog()
        self.enqueued.listen()
        #: The queues a worker was started on, emptied of the run's jobs by close().
        self.queues_used: set[str] = set()

    def run_ready(self, backend: Any, queue_names: Sequence[str] | None = None) -> None:
        if self._worker is not None:
            return super().run_ready(backend, queue_names)
        import django_rq
        from django_tasks_rq import Job

        names = list(queue_names) if queue_names else list(django_rq.settings.QUEUES)
        worker = django_rq.get_worker(
            *names, job_class=Job, worker_class=_worker_class()
        )
        self.queues_used.update(names)
        try:
            # RQ installs its SIGINT/SIGTERM handlers in the main thread and
            # leaves them there: the kit's (pytest's Ctrl-C) are put back.
            with signal_handlers_kept():
                worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
        finally:
            # A dead worker's key would linger for a minute: this one is ours.
            worker.connection.delete(worker.key)

    def set_task_path(self, backend: Any, result_id: str, path: str) -> None:
        import django_rq
        from django_tasks_rq import Job
        from rq.exceptions import NoSuchJobError

        try:
            job = Job.fetch(result_id, connection=django_rq.get_connection())
        except NoSuchJobError:
            raise LookupError(f"no stored result {result_id!r}") from None
        job.func_name = path
        job.save()

    def close(self, backend: Any) -> None:
        self.enqueued.stop()
        try:
            delete_jobs(self.enqueued.all_ids())
            forget_empty_queues(self.queues_used)
        except Exception:  # a Redis gone away: nothing more to remove
            return

    def describe(self) -> str:
        return "RQAdapter (RQ burst worker, in process)"


def delete_jobs(ids: set[str]) -> None:
    """Delete these jobs, their results and their places in queues and registries."""
    import django_rq
    from django_tasks_rq import Job
    from rq.exceptions import NoSuchJobError

    connection = django_rq.get_connection()
    for result_id in ids:
        try:
            job = Job.fetch(result_id, connection=connection)
        except NoSuchJobError:
            continue
        job.delete(remove_from_queue=True)


#: The registries of an RQ queue, by their attribute names.
REGISTRIES = (
    "started_job_registry",
    "finished_job_registry",
    "failed_job_registry",
    "deferred_job_registry",
    "scheduled_job_registry",
    "canceled_job_registry",
)


def forget_empty_queues(names: set[str]) -> None:
    """Remove these queues from RQ's list of queues where nothing is left in
    them (a queue someone else still uses keeps its place)."""
    import django_rq

    for name in names:
        queue = django_rq.get_queue(name)
        if queue.is_empty() and all(
            getattr(queue, registry).count == 0 for registry in REGISTRIES
        ):
            queue.delete(delete_jobs=False)
