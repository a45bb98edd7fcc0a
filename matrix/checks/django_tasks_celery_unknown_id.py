"""django-tasks-celery: get_result of an id nobody enqueued returns a result.

The page's GET-RESULT-UNKNOWN-ID, by hand.

Django: "Retrieve a result by its id. If the result does not exist,
TaskResultDoesNotExist is raised." (ref/tasks, BaseTaskBackend.get_result()).
Celery calls an id it has never seen PENDING, and the backend returns that as
a READY TaskResult. Plain Django and Celery on a throwaway Redis, no worker
needed; from the top of the checkout::

    matrix/.venvs/django-tasks-celery-*/bin/python -m matrix.checks.django_tasks_celery_unknown_id

prints what get_result gave and exits 1 when it did not raise.
"""

from __future__ import annotations

import sys
import uuid

from matrix.checks.celery_django import set_up
from tests.database.redis_server import RedisServer


def main() -> int:
    with RedisServer() as redis:
        set_up(redis.url().rsplit("/", 1)[0])
        from django.tasks import task_backends
        from django.tasks.exceptions import TaskResultDoesNotExist

        unknown = str(uuid.uuid4())
        try:
            result = task_backends["default"].get_result(unknown)
        except TaskResultDoesNotExist:
            print(
                f"get_result({unknown!r}) raised TaskResultDoesNotExist, as Django says"
            )
            return 0
        print(
            f"get_result({unknown!r}) returned {type(result).__name__}"
            f" status={result.status} task={result.task!r}: no TaskResultDoesNotExist"
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
