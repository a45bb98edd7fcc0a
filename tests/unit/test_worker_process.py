"""A worker in a process of its own: started, noticed when it dies, stopped."""

from __future__ import annotations

import sys
import time

import pytest

from conformance.worker_process import (
    WorkerDied,
    WorkerProcess,
    kit_environment,
    wait_until,
)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


#: A worker that only stops when killed: SIGTERM ignored.
STUBBORN = _python(
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    with WorkerProcess(STUBBORN, stop_grace=0.5) as process:
        assert wait_until(lambda: "ready" in process.tail(), [process], 10)
        started = time.monotonic()
        status = process.stop()
    assert process.killed
    assert status < 0  # ended by a signal
    assert time.monotonic() - started < 5


def test_a_worker_that_exits_while_waited_for_has_died() -> None:
    dying = WorkerProcess(_python("print('bye'); raise SystemExit(3)"))
    with (
        dying as process,
        pytest.raises(WorkerDied, match=r"exited with status 3[\s\S]*bye"),
    ):
        wait_until(lambda: False, [process], 10)


def test_waiting_ends_at_the_timeout_with_the_worker_alive() -> None:
    with WorkerProcess(STUBBORN, stop_grace=0.5) as process:
        assert wait_until(lambda: False, [process], 0.2) is False
        assert process.exited() is None


def test_a_batch_worker_still_running_at_its_bound_is_stopped() -> None:
    with WorkerProcess(STUBBORN, stop_grace=0.5) as process:
        with pytest.raises(WorkerDied, match=r"still running after 0\.2 s"):
            process.run_to_end(0.2)
        assert process.exited() is not None


def test_worker_processes_inherit_the_run_and_its_import_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    env = kit_environment()
    paths = env["PYTHONPATH"].split(":")
    assert paths[-1] == "/somewhere/else"
    assert set(p for p in sys.path if p) <= set(paths)


def test_stopping_several_workers_terminates_them_together_and_each_one() -> None:
    """stop_all: SIGTERM to all first (three stubborn workers cost one grace,
    not three), and one that cannot be stopped leaves none running."""
    from conformance.adapters.command import stop_all

    never_started = WorkerProcess(STUBBORN, stop_grace=0.5)
    processes = [WorkerProcess(STUBBORN, stop_grace=1.0) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        assert wait_until(lambda p=process: "ready" in p.tail(), [process], 10)
    started = time.monotonic()
    stop_all([processes[0], never_started, *processes[1:]])
    assert all(process.killed for process in processes)
    assert all(process._process.poll() is not None for process in processes)  # type: ignore[union-attr]
    assert time.monotonic() - started < 2.5


def test_a_worker_command_process_has_the_kit_tasks_imported() -> None:
    # A worker that runs only the tasks registered in its process (a registry
    # filled by task_class, or by importing each app's tasks module) must find
    # the kit's tasks there, as the kit's in-process worker does.
    import subprocess

    from conformance.worker_process import django_admin

    probe = (
        "import sys; print('kit tasks imported:', 'conformance.tasks' in sys.modules)"
    )
    env = {**kit_environment(), "DJANGO_SETTINGS_MODULE": "tests.django_settings"}
    done = subprocess.run(
        django_admin(["shell", "-c", probe]),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "kit tasks imported: True" in done.stdout
