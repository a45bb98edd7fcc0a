"""django-tasks-db: the execution signals' sender is the backend instance.

The page's SIGNALS-EXECUTION-SENDER, by hand.

Django: "sender: The backend class which the Task was enqueued on to"
(ref/signals, task_started and task_finished). django-tasks-db's worker sends
``task.get_backend()``, an instance. Plain Django, one task, one batch worker::

    matrix/.venvs/django-tasks-db-sqlite-*/bin/python -m matrix.checks.django_tasks_db_signal_sender

prints the sender of each signal and exits 1 when it is not a class.
"""

from __future__ import annotations

import sys
from typing import Any

from matrix.checks.sqlite_django import set_up

set_up("django_tasks_db", "django_tasks_db.DatabaseBackend")

from django.core.management import call_command  # noqa: E402
from django.tasks import task  # noqa: E402
from django.tasks.signals import task_enqueued, task_finished, task_started  # noqa: E402


@task
def add(a: int, b: int) -> int:
    return a + b


def main() -> int:
    call_command("migrate", verbosity=0)
    senders: dict[str, Any] = {}
    for name, signal in [
        ("task_enqueued", task_enqueued),
        ("task_started", task_started),
        ("task_finished", task_finished),
    ]:
        signal.connect(
            lambda sender, _name=name, **kwargs: senders.setdefault(_name, sender),
            weak=False,
        )
    result = add.enqueue(1, 2)
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    result.refresh()
    print(f"result: {result.status}, return value {result.return_value}")
    for name, sender in senders.items():
        kind = "a class" if isinstance(sender, type) else "NOT a class: an instance"
        print(f"{name}: sender {sender!r} is {kind}")
    return 0 if all(isinstance(s, type) for s in senders.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
