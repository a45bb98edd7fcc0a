"""``conformance.tasks`` is the one module a worker imports to run the kit's tasks."""

from __future__ import annotations

import subprocess
import sys

from reference_backends.immediate import ImmediateBackend
from tests.kit_runner import REPO_ROOT


class SyncOnlyBackend(ImmediateBackend):
    supports_async_task = False


#: A fresh interpreter, as a worker is: settings, then only conformance.tasks.
WORKER = """
import sys
import django
from django.conf import settings
settings.configure(TASKS={{"default": {{"BACKEND": "{backend}"}}}}, USE_TZ=True)
{setup}
import conformance.tasks
if "conformance.async_tasks" in sys.modules:
    from conformance.async_tasks import async_echo
    print("coroutine tasks", async_echo.module_path)
else:
    print("no coroutine tasks")
"""


def _worker_sees(backend: str) -> str:
    setup = (
        "django.setup()"
        if sys.version_info >= (3, 12)
        else ("settings.INSTALLED_APPS.append('django_tasks'); django.setup()")
    )
    code = WORKER.format(backend=backend, setup=setup)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_worker_importing_the_tasks_module_gets_the_coroutine_tasks() -> None:
    seen = _worker_sees("reference_backends.immediate.ImmediateBackend")
    assert seen == "coroutine tasks conformance.async_tasks.async_echo"


def test_no_coroutine_task_is_defined_where_the_backend_refuses_them() -> None:
    backend = f"{__name__}.{SyncOnlyBackend.__qualname__}"
    assert _worker_sees(backend) == "no coroutine tasks"
