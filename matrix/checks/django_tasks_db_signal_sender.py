"""django-tasks-db: the execution signals' sender is the backend instance.

The page's SIGNALS-EXECUTION-SENDER, by hand.

Django: "sender: The backend class which the Task was enqueued on to"
(ref/signals, task_started and task_finished). django-tasks-db's worker sends
``task.get_backend()``, an instance. Plain Django, one task, one batch worker::

    matrix/.venvs/django-tasks-db-sqlite-*/bin/python matrix/checks/django_tasks_db_signal_sender.py

prints the sender of each signal and exits 1 when it is not a class.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django_tasks_db"],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(Path(tempfile.mkdtemp()) / "db.sqlite3"),
        }
    },
    TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
    USE_TZ=True,
)
django.setup()

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
