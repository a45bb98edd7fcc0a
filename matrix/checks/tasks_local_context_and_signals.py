"""django-tasks-local 2.0, checked by hand: plain Django, no kit, no service.

    pip install "Django>=6.1,<6.2" django-tasks-local==2.0
    python matrix/checks/tasks_local_context_and_signals.py

Shows three of the MUST failures the matrix publishes for its
ThreadPoolBackend, each against the Django 6.1 sentence it breaks:

* CONTEXT-RECEIVED: a task defined with ``takes_context=True`` is called
  without its context, so it fails with a TypeError. ("To receive the Task
  context as an argument to your Task function, pass ``takes_context`` when
  defining it", topics/tasks.)
* FAILURE-BASE-EXCEPTION: a task that raises SystemExit never finishes; its
  result stays READY for ever. ("If the Task doesn't succeed, and instead
  raises an exception ... the exception and traceback are saved to the
  ``TaskResult.errors`` list", topics/tasks.)
* SIGNALS-ENQUEUED-ONCE: ``task_enqueued`` is never sent. ("Sent once a Task
  has been enqueued", ref/signals.)
"""

from __future__ import annotations

import time
from typing import Any

import django
from django.conf import settings

settings.configure(
    USE_TZ=True,
    TASKS={"default": {"BACKEND": "django_tasks_local.ThreadPoolBackend"}},
)
django.setup()

from django.tasks import TaskContext, TaskResult, task  # noqa: E402
from django.tasks.signals import task_enqueued  # noqa: E402


@task(takes_context=True)
def wants_context(context: TaskContext[Any, Any]) -> str:
    return context.task_result.id


@task
def exits() -> None:
    raise SystemExit(1)


def settled(result: TaskResult[Any, Any], seconds: float = 3.0) -> TaskResult[Any, Any]:
    """The result once finished, or as it stands after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not result.is_finished and time.monotonic() < deadline:
        time.sleep(0.05)
        result.refresh()
    return result


def main() -> None:
    sent: list[str] = []
    task_enqueued.connect(lambda sender, **kwargs: sent.append("enqueued"), weak=False)

    result = settled(wants_context.enqueue())
    print("takes_context=True task:", result.status)
    if result.errors:
        print("  error:", result.errors[0].traceback.strip().splitlines()[-1])
    print("  expected: SUCCESSFUL, returning its own result id")

    result = settled(exits.enqueue())
    print("task raising SystemExit, 3 s later:", result.status)
    print("  expected: FAILED, with one TaskError")

    print("task_enqueued sent", len(sent), "times for 2 enqueues (expected 2)")


if __name__ == "__main__":
    main()
