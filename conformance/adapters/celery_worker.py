"""A Celery worker for the kit: ``python -m conformance.adapters.celery_worker``.

Started by :class:`conformance.adapters.celery.CeleryAdapter`, with the kit's
environment (``DJANGO_SETTINGS_MODULE`` and ``CONFORMANCE_SETTINGS_FILE``):
it sets Django up with the run's settings, imports the kit's tasks (a Celery
worker runs only the tasks registered when it starts), finds the backend's
Celery app and runs ``celery worker`` on exactly the queues it is given.

Arguments: ``APP QUEUES HOSTNAME POOL``. ``APP`` is the dotted path of the
Celery app, or empty for the app that is current once Django is set up
(what a backend that asks ``celery.current_app`` uses); ``QUEUES`` is a
comma-separated list; ``POOL`` is Celery's ``--pool``.

One task at a time (``--concurrency 1``, one message prefetched), in the
order the worker receives them: what the worker protocol asks for.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any


def celery_app(path: str) -> Any:
    """The Celery app at ``path``, or the current one (after Django set-up)."""
    if path:
        from django.utils.module_loading import import_string

        return import_string(path)
    from celery import current_app

    return current_app._get_current_object()


def worker_argv(queues: str, hostname: str, pool: str) -> list[str]:
    return [
        "worker",
        "--queues",
        queues,
        "--hostname",
        hostname,
        "--pool",
        pool,
        "--concurrency",
        "1",
        "--prefetch-multiplier",
        "1",
        # A worker of its own: no chatter with (or waiting for) other workers.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        "WARNING",
    ]


def main(argv: list[str]) -> None:
    app_path, queues, hostname, pool = argv
    import django

    django.setup()
    import conformance.tasks  # noqa: F401  (registers the kit's tasks)

    app = celery_app(app_path)
    quick_to_stop(app)
    stop_with_parent()
    record_received()
    app.worker_main(worker_argv(queues, hostname, pool))


def received_log() -> Path:
    """Where the run's workers note the id of every message they receive."""
    from conformance import evidence

    return evidence.workdir() / "celery-received.log"


def record_received() -> None:
    """Note each message's task id as it arrives: the kit removes their
    results at the end of the run, those of messages it never heard of too
    (an ``enqueue`` that raised after sending)."""
    from celery.signals import task_received

    log = received_log()

    def received(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
        if request is not None:
            with log.open("a", encoding="utf-8") as handle:
                handle.write(f"{request.id}\n")

    task_received.connect(received, weak=False)


def stop_with_parent(interval: float = 0.5, grace: float = 10.0) -> None:
    """A kit that dies (killed, interrupted twice) leaves no worker behind:
    once this process's parent is gone, a warm shutdown, then exit."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        os._exit(1)

    threading.Thread(target=watch, name="conformance-parent-watch", daemon=True).start()


def quick_to_stop(app: Any) -> None:
    """On a Redis broker, wait 0.1 s for a message instead of 1 s: a warm
    shutdown waits for that wait to end, and the kit stops a worker after
    every run of due tasks. Nothing else of the app's configuration changes."""
    if str(app.conf.broker_url or "").startswith(("redis://", "rediss://")):
        options = dict(app.conf.broker_transport_options or {})
        options.setdefault("polling_interval", 0.1)
        app.conf.broker_transport_options = options


if __name__ == "__main__":
    main(sys.argv[1:])
