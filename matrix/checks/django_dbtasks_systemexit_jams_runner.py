"""django-dbtasks 0.5.0: one task raising SystemExit stops its runner for good
(plain Django, no kit).

The kit's FAILURE-BASE-EXCEPTION and LIFECYCLE-NOTHING-LEFT-RUNNING, and the
"possibly a knock-on" failures the compatibility page marks after them: the
runner's done-callback reads the task's future with ``fut.result()`` inside
``except Exception``, so SystemExit leaves the callback, and the pool's
thread (``ThreadPoolExecutor``) dies with it. With ``taskrunner -w 1`` the
next task it takes stays RUNNING, never run, and it claims nothing more:
every later task stays READY for as long as that runner lives. Django's
own ImmediateBackend records any BaseException but KeyboardInterrupt as a
FAILED result (django/tasks/backends/immediate.py, ``except BaseException``).

    pip install "Django>=6.1,<6.2" django-dbtasks==0.5.0
    python -m matrix.checks.django_dbtasks_systemexit_jams_runner
"""

from __future__ import annotations

import sys
import threading
import time

from matrix.checks.sqlite_django import set_up

set_up("dbtasks", "dbtasks.backend.DatabaseBackend")

from django.core.management import call_command  # noqa: E402
from django.tasks import default_task_backend, task  # noqa: E402


@task
def exits() -> None:
    time.sleep(0.2)  # finished after the runner attached its done-callback
    raise SystemExit(3)


@task
def harmless() -> str:
    return "ok"


def main() -> int:
    from dbtasks.runner import Runner

    call_command("migrate", verbosity=0)
    first = exits.enqueue()
    later = [harmless.enqueue() for _ in range(3)]
    # What `manage.py taskrunner -w 1` runs, in a thread as the README shows.
    runner = Runner(workers=1, worker_id="check", loop_delay=0.05, init_periodic=False)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    time.sleep(5)
    runner.stop()
    thread.join(5)
    statuses = []
    for result_id in [first.id, *(result.id for result in later)]:
        stored = default_task_backend.get_result(result_id)
        statuses.append(stored.status)
        print(f"{stored.task.name:>8}: {stored.status}")
    print(
        "Django's ImmediateBackend: exits FAILED, then harmless SUCCESSFUL x3; "
        "here the runner ran nothing after the SystemExit (RUNNING: taken, never run)"
    )
    ran_on = all(status == "SUCCESSFUL" for status in statuses[1:])
    return 0 if ran_on else 1


if __name__ == "__main__":
    sys.exit(main())
