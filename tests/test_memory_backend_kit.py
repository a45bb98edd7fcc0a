"""The whole kit passes against the worker-based memory backend.

``tests.memory_backend`` is written to the spec, so every clause passes or is
n/a, in each way the kit can drive a backend: a worker callable, an adapter
that also reaches stored records, and a backend that runs tasks on its own
(probed: no worker given). Without any way to run tasks, the kit says so
instead of failing.
"""

from __future__ import annotations

import pytest

from tests.kit_runner import KitCall, KitRun

pytestmark = pytest.mark.kit

MEMORY_MODULE = "tests.memory_backend"
MEMORY = f"{MEMORY_MODULE}.MemoryBackend"
WORKER = f"--task-worker={MEMORY_MODULE}.run_ready"
ADAPTER = f"--task-adapter={MEMORY_MODULE}.MemoryAdapter"

EXECUTION_FAMILIES = tuple(
    sorted(
        {
            "lifecycle",
            "success",
            "failure",
            "arguments",
            "context",
            "refresh",
            "results-elsewhere",
            "ordering",
            "defer",
            "async-execution",
            "worker-queues",
            "signals-execution",
            "security",
        }
    )
)


def _clean(run: KitRun) -> dict[str, str]:
    outcomes: dict[str, str] = run.outcomes()
    bad = {cid: o for cid, o in outcomes.items() if o in {"fail", "warn"}}
    failures = run.output[run.output.find("= FAILURES =") :][:8000]
    assert bad == {}, f"{bad}\n{failures}"
    assert run.ret == 0, run.output[-3000:]
    return outcomes


@pytest.mark.kit_run(KitCall(MEMORY, (WORKER,)))
def test_whole_kit_with_worker_callable(kit_run: KitRun) -> None:
    outcomes = _clean(kit_run)
    # Worker-driven: ordering, deferral and queue clauses apply and pass.
    for clause_id in (
        "ORDERING-PRIORITY",
        "ORDERING-TIES-FIFO",
        "DEFER-NOT-EARLY",
        "DEFER-RUNS-WHEN-DUE",
        "WORKER-QUEUES-SELECTED",
        "LIFECYCLE-RUNNING-WHILE-EXECUTING",
        "RESULTS-ELSEWHERE-PROCESS",
    ):
        assert outcomes[clause_id] == "pass", clause_id
    # No record access through a bare worker callable.
    assert outcomes["SECURITY-TAMPERED-PATH-NOT-EXECUTED"] == "n/a"


@pytest.mark.kit_run(KitCall(MEMORY, (ADAPTER,), EXECUTION_FAMILIES))
def test_execution_families_with_adapter(kit_run: KitRun) -> None:
    outcomes = _clean(kit_run)
    assert outcomes["SECURITY-TAMPERED-PATH-NOT-EXECUTED"] == "pass"
    assert outcomes["SECURITY-GET-RESULT-NO-IMPORT-ERROR"] == "pass"
    assert outcomes["LIFECYCLE-UNEXECUTED-STAYS-READY"] == "n/a"


@pytest.mark.kit_run(
    KitCall(f"{MEMORY_MODULE}.BackgroundMemoryBackend", (), EXECUTION_FAMILIES)
)
def test_backend_running_on_its_own_is_probed(kit_run: KitRun) -> None:
    outcomes = _clean(kit_run)
    assert "probe: executes tasks on its own" in kit_run.report["adapter"]
    assert outcomes["SUCCESS-STATUS"] == "pass"
    assert outcomes["LIFECYCLE-RUNNING-WHILE-EXECUTING"] == "pass"
    assert outcomes["ORDERING-PRIORITY"] == "n/a"  # no worker to hold tasks back


@pytest.mark.kit_run(
    KitCall(MEMORY, ("--task-timeout=0.5",), ("success", "lifecycle", "ordering"))
)
def test_no_way_to_run_tasks_is_not_a_failure(kit_run: KitRun) -> None:
    outcomes = _clean(kit_run)
    # Seen from the kit, it is a backend that never executes: results stay READY.
    assert outcomes.pop("LIFECYCLE-UNEXECUTED-STAYS-READY") == "pass"
    assert set(outcomes.values()) == {"n/a"}
    assert "--task-worker" in kit_run.output
