"""Drive a third-party adapter directly, in a process of its own, and say what happened.

``python -m tests.thirdparty.scenarios SCENARIO BACKEND SETTINGS_MODULE`` sets
Django up as a kit run does (the kit's settings over ``SETTINGS_MODULE``, a
SQLite database in a temporary directory), runs one scenario against the
adapter the kit finds for ``BACKEND`` and prints one JSON object.
``CONFORMANCE_REDIS_URL`` names the Redis server.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.settings_file import ENV_VAR, KitConfig


def setup(backend_path: str, settings_module: str) -> tuple[Any, Any]:
    root = Path(tempfile.mkdtemp(prefix="thirdparty-scenario-"))
    KitConfig(
        backend=backend_path,
        base_settings=settings_module,
        database_url=f"sqlite:///{root}/db.sqlite3",
        workdir=str(root),
    ).write(root / "settings.json")
    os.environ[ENV_VAR] = str(root / "settings.json")
    os.environ["DJANGO_SETTINGS_MODULE"] = "conformance.django_settings"
    import django

    django.setup()
    from conformance import compat
    from conformance.adapters import adapter_for

    backend = compat.task_backends["default"]
    return backend, adapter_for(backend, timeout=10.0)


def status(backend: Any, result_id: str) -> str:
    try:
        return str(backend.get_result(result_id).status)
    except Exception as exc:
        return type(exc).__name__


def selected_queues(backend: Any, adapter: Any) -> dict[str, Any]:
    """A task in queue-a and one in queue-b; the worker for queue-a only."""
    import signal

    from conformance import tasks

    in_a = tasks.add.using(queue_name="queue-a").enqueue(1, 2)
    in_b = tasks.add.using(queue_name="queue-b").enqueue(3, 4)
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    adapter.run_ready(backend, ["queue-a"])
    kept = handlers == (
        signal.getsignal(signal.SIGINT),
        signal.getsignal(signal.SIGTERM),
    )
    after_a = {"a": status(backend, in_a.id), "b": status(backend, in_b.id)}
    adapter.run_ready(backend, None)
    after_all = {"a": status(backend, in_a.id), "b": status(backend, in_b.id)}
    adapter.close(backend)
    return {"after_queue_a": after_a, "after_all": after_all, "handlers_kept": kept}


def dead_worker(backend: Any, adapter: Any) -> dict[str, Any]:
    """The worker process is SIGKILLed while it runs a task: the call must
    return (raise) promptly, not wait out the timeout."""
    import signal
    import threading
    import uuid

    from conformance import evidence, tasks

    token = uuid.uuid4().hex
    blocked = tasks.wait_for_release.enqueue(token, 60.0)
    outcome: dict[str, Any] = {"raised": ""}

    def work() -> None:
        try:
            adapter.run_ready(backend, None)
        except Exception as exc:
            outcome["raised"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 30
    while not evidence.runs(token) and time.monotonic() < deadline:
        time.sleep(0.02)
    outcome["task_started"] = bool(evidence.runs(token))
    killed = time.monotonic()
    for process in list(adapter.processes):
        os.kill(process.pid, signal.SIGKILL)
    thread.join(60)
    outcome["seconds_after_kill"] = time.monotonic() - killed
    outcome["returned"] = not thread.is_alive()
    outcome["blocked"] = status(backend, blocked.id)
    # The lost task is not waited for again.
    started = time.monotonic()
    adapter.run_ready(backend, None)
    outcome["second_call_seconds"] = time.monotonic() - started
    outcome["timeout"] = adapter.timeout
    outcome["workers_left"] = len(adapter.processes)
    adapter.close(backend)
    return outcome


SCENARIOS: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
    "selected-queues": selected_queues,
    "dead-worker": dead_worker,
}


def main(argv: list[str]) -> None:
    scenario, backend_path, settings_module = argv
    backend, adapter = setup(backend_path, settings_module)
    outcome = SCENARIOS[scenario](backend, adapter)
    outcome["adapter"] = type(adapter).__name__
    print(json.dumps(outcome))


if __name__ == "__main__":
    main(sys.argv[1:])
