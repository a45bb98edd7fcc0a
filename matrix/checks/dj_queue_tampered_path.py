"""dj-queue 0.14.2 runs a stored path that is not a Task (plain Django, no kit).

The kit's SECURITY-TAMPERED-PATH-NOT-EXECUTED: a worker must not execute a
stored task path that does not resolve to a Task of the backend's task class
(a tampered row). dj-queue's ``execute_claimed_job`` resolves the path with
``import_string`` and calls ``.call()`` on whatever it finds.

Also shown: no ``task_enqueued`` signal is sent (Django's signal reference:
"task_enqueued: Sent once a Task is enqueued").

    pip install "Django>=6.1,<6.2" dj-queue==0.14.2
    python -m matrix.checks.dj_queue_tampered_path
"""

from __future__ import annotations

import sys
from typing import Any

from matrix.checks.sqlite_django import set_up

WORKDIR = set_up("dj_queue", "dj_queue.backend.DjQueueBackend")

from django.core.management import call_command  # noqa: E402
from django.tasks import task  # noqa: E402
from django.tasks.signals import task_enqueued  # noqa: E402

MARKER = WORKDIR / "impostor-ran"


@task
def harmless() -> str:
    return "ok"


class NotATask:
    """Looks like a Task to duck typing; is not one."""

    takes_context = False

    def call(self, *args: Any, **kwargs: Any) -> None:
        MARKER.write_text("the impostor ran")


impostor = NotATask()


def main() -> int:
    from dj_queue.api import claim_ready_jobs, execute_claimed_job
    from dj_queue.models import Job

    call_command("migrate", verbosity=0)
    enqueued: list[str] = []
    task_enqueued.connect(
        lambda sender, task_result, **_: enqueued.append(task_result.id)
    )

    result = harmless.enqueue()
    print(
        f"enqueued {result.id}; task_enqueued sent {len(enqueued)} time(s) (Django: once)"
    )

    # A tampered row: its stored path now names an object that is not a Task.
    Job.objects.filter(pk=result.id).update(task_path=f"{__name__}.impostor")
    # What dj-queue's worker does with each ready job (dj_queue.runtime.worker).
    for claimed in claim_ready_jobs(limit=10):
        execute_claimed_job(claimed)

    after = harmless.get_backend().get_result(result.id)
    print(f"status afterwards: {after.status}")
    if MARKER.exists():
        print("EXECUTED: the worker called .call() on an object that is not a Task")
        return 1
    print("not executed: the worker refused the impostor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
