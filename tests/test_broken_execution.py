"""The kit catches worker-based backends that get execution wrong.

Each backend in ``tests/broken/execution.py`` breaks one rule on top of
``tests.memory_backend.MemoryBackend`` (which passes the whole kit); the kit,
run on the families concerned, must fail exactly the clauses that rule is
about, and warn where the rule is a SHOULD.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, KitRun

pytestmark = pytest.mark.kit

WORKER = "--task-worker=tests.memory_backend.run_ready"
ADAPTER = "--task-adapter=tests.memory_backend.MemoryAdapter"

#: (backend class, families run, failed clauses, warned clauses, extra options)
CASES: list[tuple[str, tuple[str, ...], set[str], set[str], tuple[str, ...]]] = [
    # ordering and deferral
    ("IgnoresPriority", ("ordering",), {"ORDERING-PRIORITY"}, set(), ()),
    ("TiesLastInFirstOut", ("ordering",), set(), {"ORDERING-TIES-FIFO"}, ()),
    (
        "RunsDeferredEarly",
        ("defer",),
        {"DEFER-NOT-EARLY", "DEFER-RUNS-WHEN-DUE"},
        set(),
        (),
    ),
    ("NeverRunsDeferred", ("defer",), {"DEFER-RUNS-WHEN-DUE"}, set(), ()),
    (
        "NaiveRunAfter",
        ("defer",),
        {"DEFER-NOT-EARLY", "DEFER-RUNS-WHEN-DUE"},
        set(),
        (),
    ),
    (
        "DeferredBlocksQueue",
        ("defer",),
        {"DEFER-DOES-NOT-BLOCK", "DEFER-RUNS-WHEN-DUE"},
        set(),
        (),
    ),
    ("ServesWrongQueues", ("worker-queues",), {"WORKER-QUEUES-SELECTED"}, set(), ()),
    # running the function
    (
        "LosesWorkerIds",
        ("success", "failure", "context", "async-execution"),
        {
            "SUCCESS-WORKER-IDS",
            "FAILURE-ERRORS",
            "CONTEXT-ATTEMPT",
            "ASYNC-EXECUTION-CONTEXT",
        },
        set(),
        (),
    ),
    ("RunsTwice", ("success",), {"SUCCESS-EXACTLY-ONCE"}, set(), ()),
    ("NonAtomicClaim", ("success",), {"SUCCESS-EXACTLY-ONCE"}, set(), ()),
    (
        "ReRunsFinished",
        ("lifecycle", "success"),
        {"LIFECYCLE-TRANSITIONS", "SUCCESS-EXACTLY-ONCE"},
        set(),
        (),
    ),
    (
        "NeverStoresRunning",
        ("lifecycle",),
        {"LIFECYCLE-RUNNING-WHILE-EXECUTING"},
        set(),
        (),
    ),
    ("FinishedAtMoves", ("lifecycle",), {"LIFECYCLE-TRANSITIONS"}, set(), ()),
    (
        "ArgumentsCoerced",
        ("arguments", "context"),
        {"ARGUMENTS-JSON-ROUND-TRIP"},
        set(),
        (),
    ),
    (
        "ContextAttemptZero",
        ("context", "async-execution"),
        {"CONTEXT-ATTEMPT", "ASYNC-EXECUTION-CONTEXT"},
        set(),
        (),
    ),
    (
        "ContextNotRunning",
        ("context", "async-execution"),
        {"CONTEXT-RUNNING", "ASYNC-EXECUTION-CONTEXT"},
        set(),
        (),
    ),
    (
        "ContextForAnotherResult",
        ("context", "async-execution"),
        {"CONTEXT-DESCRIBES-RESULT", "ASYNC-EXECUTION-CONTEXT"},
        set(),
        (),
    ),
    # outcomes
    (
        "SwallowsErrors",
        ("failure", "success"),
        {
            "FAILURE-STATUS",
            "FAILURE-ERRORS",
            "FAILURE-EXCEPTION-CLASS",
            "FAILURE-TRACEBACK",
            "FAILURE-BASE-EXCEPTION",
            "FAILURE-UNSERIALIZABLE-RETURN",
            "FAILURE-TIMESTAMPS",
        },
        set(),
        (),
    ),
    (
        "OnlyCatchesException",
        ("failure", "success"),
        {
            "FAILURE-BASE-EXCEPTION",
            "FAILURE-STATUS",
            "FAILURE-ERRORS",
            "FAILURE-EXCEPTION-CLASS",
            "FAILURE-TRACEBACK",
            "FAILURE-TIMESTAMPS",
        },
        set(),
        ("--task-timeout=1",),  # the SystemExit tasks stay RUNNING: waited for
    ),
    ("ExceptionNameNotQualname", ("failure",), {"FAILURE-EXCEPTION-CLASS"}, set(), ()),
    ("TracebackWithoutMessage", ("failure",), {"FAILURE-TRACEBACK"}, set(), ()),
    ("ReturnValueCoerced", ("success",), {"SUCCESS-RETURN-VALUE"}, set(), ()),
    (
        "UnserializableStoredAsText",
        ("failure", "success"),
        {"FAILURE-UNSERIALIZABLE-RETURN"},
        set(),
        (),
    ),
    (
        "StuckRunningOnUnserializable",
        ("failure", "success"),
        {"FAILURE-UNSERIALIZABLE-RETURN"},
        set(),
        ("--task-timeout=1",),
    ),
    (
        "NaiveFinishedAt",
        ("success", "failure"),
        {"SUCCESS-TIMESTAMPS", "FAILURE-TIMESTAMPS"},
        set(),
        (),
    ),
    (
        "FinishedBeforeStarted",
        ("success", "failure"),
        {"SUCCESS-TIMESTAMPS", "FAILURE-TIMESTAMPS"},
        set(),
        (),
    ),
    ("ForgetsKwargsAfterRun", ("refresh",), {"REFRESH-KEEPS-INPUTS"}, set(), ()),
    # results elsewhere
    (
        "ResultsOnlyInThisThread",
        ("results-elsewhere",),
        {"RESULTS-ELSEWHERE-THREAD", "RESULTS-ELSEWHERE-PROCESS"},
        set(),
        (),
    ),
    (
        "ResultsOnlyInThisProcess",
        ("results-elsewhere",),
        {"RESULTS-ELSEWHERE-PROCESS"},
        set(),
        (),
    ),
    # signals
    (
        "SignalsOutOfOrder",
        ("signals-execution",),
        {"SIGNALS-EXECUTION-ORDER"},
        set(),
        (),
    ),
    (
        "NoStartedSignal",
        ("signals-execution",),
        {
            "SIGNALS-EXECUTION-ONCE-EACH",
            "SIGNALS-EXECUTION-ORDER",
            "SIGNALS-EXECUTION-STATUS",
        },
        set(),
        (),
    ),
    (
        "SignalSenderInstance",
        ("signals-execution",),
        {"SIGNALS-EXECUTION-SENDER"},
        set(),
        (),
    ),
    (
        "StartedSignalNotRunning",
        ("signals-execution",),
        {"SIGNALS-EXECUTION-STATUS"},
        set(),
        (),
    ),
    # stored records (the adapter rewrites them)
    (
        "ExecutesTamperedPath",
        ("security",),
        {"SECURITY-TAMPERED-PATH-NOT-EXECUTED"},
        {"SECURITY-TAMPERED-PATH-FAILS"},
        (ADAPTER,),
    ),
    (
        "CrashesOnMissingTask",
        ("security",),
        {"SECURITY-WORKER-SURVIVES"},
        {"SECURITY-MISSING-TASK-FAILS"},
        (ADAPTER, "--task-timeout=1"),  # its records stay RUNNING: waited for
    ),
    (
        "GetResultLeaksImportError",
        ("security",),
        set(),
        {"SECURITY-GET-RESULT-NO-IMPORT-ERROR", "SECURITY-MISSING-TASK-FAILS"},
        (ADAPTER,),
    ),
]


Case = tuple[str, tuple[str, ...], set[str], set[str], tuple[str, ...]]


def _run_case(case: Case, directory: Path) -> KitRun:
    """The kit against one broken backend, in a process of its own."""
    backend, families, _, _, extra = case
    options = (
        extra
        if any(o.startswith("--task-adapter") for o in extra)
        else (WORKER, *extra)
    )
    report = directory / f"{backend}.json"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"--task-backend=tests.broken.execution.{backend}",
            f"--task-report={report}",
            "-p",
            "no:cacheprovider",
            "-q",
            *options,
            *(f"--task-clause={family}" for family in families),
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = completed.stdout + completed.stderr
    if not report.exists():
        raise AssertionError(f"the kit wrote no report for {backend}:\n{output}")
    return KitRun(completed.returncode, json.loads(report.read_text()), output)


@pytest.fixture(scope="module")
def kit_runs(request: pytest.FixtureRequest) -> dict[str, KitRun]:
    """Every selected case's kit run, several at once (most of a run is waiting)."""
    selected = {
        item.callspec.id
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.module is request.module
    }
    cases = [case for case in CASES if case[0] in selected]
    with tempfile.TemporaryDirectory() as directory, ThreadPoolExecutor(4) as pool:
        runs = pool.map(lambda case: _run_case(case, Path(directory)), cases)
        return {case[0]: run for case, run in zip(cases, runs, strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_broken_backend_fails_its_clauses(
    kit_runs: dict[str, KitRun], case: Case
) -> None:
    backend, _, failed, warned, _ = case
    run = kit_runs[backend]
    warnings = {cid for cid, outcome in run.outcomes().items() if outcome == "warn"}
    assert (run.failed(), warnings) == (failed, warned), run.output[-6000:]
    assert run.ret == (1 if failed else 0), run.output[-3000:]
