"""django-tasks-celery: an enqueue that raised still sends its message, and a worker stores it.

The page's JSON-UNSERIALIZABLE-NOT-STORED, by hand.

Django: "Because both Task arguments and return values are serialized to
JSON, they must be JSON-serializable" (topics/tasks, Queueing Tasks), with
``TypeError: Object of type datetime is not JSON serializable``; the kit's
decisions (docs/decisions.md, JSON): an argument JSON cannot represent MUST
NOT be stored. Celery's own JSON encoder takes a ``datetime``, so the message
is published; then Django's check raises ``TypeError`` and ``enqueue`` hands
back no result. A Celery worker takes the message anyway and stores an
outcome under that id. Plain Django and Celery on a throwaway Redis, a Celery
worker in a thread (solo pool); from the top of the checkout::

    matrix/.venvs/django-tasks-celery-*/bin/python \
        -m matrix.checks.django_tasks_celery_refused_enqueue_stored

prints what the worker stored and exits 1 when the refused enqueue left a
stored result.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from matrix.checks.celery_django import set_up
from tests.database.redis_server import RedisServer


def echo(value: object) -> object:
    return value


def main() -> int:
    with RedisServer() as redis:
        set_up(redis.url().rsplit("/", 1)[0])
        from celery.contrib.testing.worker import start_worker
        from django.tasks import task

        from tests.thirdparty.celery_app import app

        # A module-level task, as Django requires (this module, by its name).
        module = sys.modules[__name__]
        module.echo = task(echo)  # type: ignore[attr-defined]
        published = set(app.backend.client.keys("*")) | set(
            app.connection_for_write().default_channel.client.keys("*")
        )
        try:
            module.echo.enqueue(datetime(2024, 1, 2, tzinfo=UTC))
        except TypeError as exc:
            print(f"enqueue raised {type(exc).__name__}: {exc}")
        else:
            print("enqueue returned: the argument was accepted")
            return 0
        broker = app.connection_for_write().default_channel.client
        queued = {key for key in broker.keys("*")} - published
        print(f"broker keys the refused enqueue added: {sorted(queued)}")
        with start_worker(app, pool="solo", perform_ping_check=False):
            deadline = time.monotonic() + 20
            stored: list[bytes] = []
            while not stored and time.monotonic() < deadline:
                stored = app.backend.client.keys("celery-task-meta-*")
                time.sleep(0.2)
        for key in stored:
            print(
                f"stored by the worker: {key.decode()} = {app.backend.client.get(key)!r}"
            )
        return 1 if stored else 0


if __name__ == "__main__":
    sys.exit(main())
