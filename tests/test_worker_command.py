"""--task-worker-command on the reference database backend's own command.

``task_worker --batch`` runs in the kit's process (and, called from another
thread, in a process of its own); without ``--batch`` it only runs
continuously, and the kit starts, waits for and stops it on every call. No
package from PyPI: CI exercises the command adapter with what ships here.
"""

from __future__ import annotations

import pytest

from tests.kit_runner import KitCall, KitRun

pytestmark = pytest.mark.kit

DATABASE = "reference_backends.database.DatabaseBackend"
APP = "--task-installed-apps=reference_backends.database"
BATCH = "task_worker --batch --backend={backend} --queue={queue} -v 0"
CONTINUOUS = "task_worker --backend={backend} --queue={queue} --poll-interval=0.05 -v 0"


def _call(*args: str, clauses: tuple[str, ...]) -> KitCall:
    return KitCall(DATABASE, (APP, *args), clauses)


#: Queue selection, every queue, two workers at once in new threads, a worker
#: in a background thread, nothing left RUNNING, tampered rows.
BATCH_RUN = _call(
    f"--task-worker-command={BATCH}",
    clauses=("worker-queues", "success", "lifecycle", "security"),
)
CONTINUOUS_RUN = _call(
    f"--task-worker-command={CONTINUOUS}",
    "--task-worker-command-mode=continuous",
    # A call ends once its tasks are done; the bound only matters on a machine
    # so loaded that starting the worker process takes seconds.
    "--task-timeout=30",
    clauses=("worker-queues", "SUCCESS-EXACTLY-ONCE", "LIFECYCLE-NOTHING-LEFT-RUNNING"),
)
#: A "worker" that exits at once: the kit notices it died.
DYING_RUN = _call(
    "--task-worker-command=check",
    "--task-worker-command-mode=continuous",
    clauses=("WORKER-QUEUES-ALL",),
)


def _passes_all(run: KitRun) -> None:
    outcomes = run.outcomes()
    assert outcomes, run.output
    assert {c for c, o in outcomes.items() if o != "pass"} <= {
        "LIFECYCLE-UNEXECUTED-STAYS-READY"  # n/a: the backend executes
    }, run.verdicts("fail", "warn", "error") + "\n" + run.output[-4000:]
    assert run.ret == 0, run.output[-3000:]


@pytest.mark.kit_run(BATCH_RUN)
def test_a_batch_command_drives_the_backend(kit_run: KitRun) -> None:
    _passes_all(kit_run)
    # The command ran, not the backend's own adapter's worker.
    assert f"worker=command {BATCH!r} (batch)" in kit_run.report["adapter"]


@pytest.mark.kit_run(CONTINUOUS_RUN)
def test_a_continuous_command_is_started_waited_for_and_stopped(
    kit_run: KitRun,
) -> None:
    _passes_all(kit_run)
    assert "(continuous)" in kit_run.report["adapter"]


@pytest.mark.kit_run(DYING_RUN)
def test_a_worker_process_that_dies_is_noticed(kit_run: KitRun) -> None:
    assert kit_run.failed() == {"WORKER-QUEUES-ALL"}, (
        kit_run.verdicts() + "\n" + kit_run.output[-3000:]
    )
    assert "exited with status 0 while tasks were due" in kit_run.output
