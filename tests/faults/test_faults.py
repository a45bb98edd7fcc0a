"""Reliability of the database backend's worker: real processes, real PostgreSQL.

* SIGKILL a random one of 4 workers about every second for 30 s (and start
  a new one), then drain 5,000 tasks that record each of their executions:
  at-most-once (default): every task ran at most once and ended SUCCESSFUL,
  or FAILED with the worker-lost error; at-least-once: every task ended
  SUCCESSFUL and ran at least once. In both: nothing READY or RUNNING at the
  end, nothing missing.
* Restart PostgreSQL while 4 workers are busy (cleanly, then as a crash)
  and while they are idle: they reconnect, finish the work, lose nothing,
  run nothing twice, and pick up tasks enqueued after the restart.
* Rows a worker must refuse (a task path that no longer imports, the path of
  a plain function, arguments that are not JSON): FAILED, never run, and the
  worker goes on with the next task.

Each test prints its figures: tasks, kills, executions, lost, duplicated,
stuck (shown in the terminal summary).
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from collections import Counter
from typing import Any

import pytest

from benchmarks.harness import POSTGRES, SQLITE, Process, Target, wait_all
from tests.faults.conftest import FIGURES, Databases

pytestmark = [pytest.mark.faults, pytest.mark.slow]

WORKER_LOST = "reference_backends.database.records.WorkerLost"
TASKS = 5000
WORKERS = 4
#: SIGKILLs, about one a second: a count, not a period, so that a loaded
#: machine (slower worker start-ups) still gets all of them.
KILLS = 30
#: Each task sleeps this long after recording its start: kills land mid-task.
#: 5,000 x 25 ms over 4 workers keeps them busy while the kills go on.
TASK_SECONDS = 0.025
LEASE_SECONDS = 2  # a killed worker's task is settled within about 3 s
DRAIN_TIMEOUT = 180.0


def status_counts(target: Target) -> Counter[str]:
    """Rows per status, read straight from the database (no Django)."""
    sql = "SELECT status, count(*) FROM reference_tasks_taskrecord GROUP BY status"
    if target.database_url.startswith("sqlite"):
        with sqlite3.connect(
            target.database_url.removeprefix("sqlite://"), timeout=20
        ) as db:
            return Counter(dict(db.execute(sql).fetchall()))
    import psycopg

    with psycopg.connect(target.database_url, connect_timeout=5) as db:
        return Counter(dict(db.execute(sql).fetchall()))


def wait_drained(
    target: Target, timeout: float, workers: list[Process]
) -> Counter[str]:
    """Wait until no row is READY or RUNNING (or the timeout); the final counts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            counts = status_counts(target)
        except Exception:  # the database restarting: ask again
            counts = Counter({"?": 1})
        if not counts["READY"] and not counts["RUNNING"] and not counts["?"]:
            return counts
        crashed = [w.pid for w in workers if w.poll() is not None]
        if crashed or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def tail(process: Process, lines: int = 15) -> str:
    text = process.log.read_text(errors="replace").splitlines()
    return f"--- {process.log.name} ---\n" + "\n".join(text[-lines:])


def stop_workers(workers: list[Process]) -> str:
    """SIGTERM the workers; what went wrong ("" if nothing).

    A worker must still be running (none may exit by itself), then exit 0
    on SIGTERM (graceful).
    """
    crashed = [w for w in workers if w.poll() is not None]
    for worker in workers:
        worker.signal(signal.SIGTERM)
    exited = wait_all(workers, 60)
    if crashed:
        return f"{len(crashed)} worker(s) exited by themselves:\n" + "\n".join(
            tail(w) for w in crashed
        )
    codes = [e.returncode for e in exited]
    if codes != [0] * len(workers):
        return f"exit codes after SIGTERM {codes}\n" + "\n".join(
            tail(w) for w in workers
        )
    return ""


@pytest.mark.postgres
@pytest.mark.parametrize("delivery", ["at-most-once", "at-least-once"])
def test_sigkill_workers(databases: Databases, delivery: str) -> None:
    target = databases.make(POSTGRES, DELIVERY=delivery, LEASE_SECONDS=LEASE_SECONDS)
    target.agent("enqueue", "--count", str(TASKS), "--seconds", str(TASK_SECONDS))
    rng = random.Random(20261122)
    workers = [target.worker(batch=False, name=f"w{n}-0") for n in range(WORKERS)]
    for kills in range(1, KILLS + 1):
        time.sleep(rng.uniform(0.8, 1.2))
        crashed = [w for w in workers if w.poll() is not None]
        assert not crashed, "a worker exited by itself:\n" + "\n".join(
            tail(w) for w in crashed
        )
        n = rng.randrange(WORKERS)
        workers[n].kill()
        workers[n] = target.worker(batch=False, name=f"w{n}-{kills}")
    counts = wait_drained(target, DRAIN_TIMEOUT, workers)
    stopped = stop_workers(workers)

    rows: list[list[Any]] = target.agent("rows")
    executions = target.executions()
    numbers = Counter(row[0] for row in rows)
    status = Counter(row[1] for row in rows)
    worker_lost = [row for row in rows if WORKER_LOST in row[3]]
    figures = {
        "tasks": TASKS,
        "kills": kills,
        "executions": sum(executions.values()),
        "lost": len(worker_lost),
        "duplicated": sum(1 for n in executions.values() if n > 1),
        "stuck": status["READY"] + status["RUNNING"],
        "missing": len(set(range(TASKS)) - set(numbers)),
    }
    FIGURES.append(
        f"SIGKILL, {delivery}: "
        + ", ".join(f"{k} {v}" for k, v in figures.items())
        + f"; statuses {dict(status)}"
    )
    print(FIGURES[-1])

    assert not stopped, stopped
    assert not figures["stuck"], f"left READY/RUNNING: {counts}"
    assert not figures["missing"], f"{figures['missing']} task(s) missing"
    assert sorted(numbers) == list(range(TASKS)), "a task number twice or unknown"
    assert set(executions) <= set(range(TASKS)), (
        "recorded a task that was never enqueued"
    )
    if delivery == "at-most-once":
        assert not figures["duplicated"], [n for n, c in executions.items() if c > 1][
            :10
        ]
        for number, state, _attempts, errors in rows:
            if state == "SUCCESSFUL":
                assert executions[number] == 1, (
                    f"task {number} SUCCESSFUL but never ran"
                )
            else:
                assert state == "FAILED", (number, state)
                assert errors, (number, "FAILED without an error")
                assert errors[-1] == WORKER_LOST, (number, errors)
        # The kills hit running tasks (or this test tested nothing).
        assert worker_lost, "no task lost its worker: the kills missed"
    else:
        for number, state, attempts, errors in rows:
            assert state == "SUCCESSFUL", (number, state, errors)
            assert executions[number] >= 1, f"task {number} SUCCESSFUL but never ran"
            assert executions[number] <= attempts, (
                number,
                executions[number],
                attempts,
            )
            # One WorkerLost entry per lost attempt, and nothing else.
            assert errors == [WORKER_LOST] * (attempts - 1), (number, attempts, errors)
        assert worker_lost, "no attempt lost its worker: the kills missed"


def restart(cluster: Any, mode: str) -> None:
    """Stop PostgreSQL (``fast``: clean; ``immediate``: as if it crashed), start it."""
    cluster.stop(mode)
    cluster.start()


def wait_successful(target: Target, count: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while (done := status_counts(target)["SUCCESSFUL"]) < count:
        assert time.monotonic() < deadline, f"workers stalled at {done} tasks"
        time.sleep(0.05)
    return done


@pytest.mark.postgres
def test_postgres_restart(databases: Databases, cluster: Any) -> None:
    """Busy workers through a clean restart and a crash; idle ones through a restart."""
    tasks, late = 2000, 100
    target = databases.make(POSTGRES, LEASE_SECONDS=5)
    target.agent("enqueue", "--count", str(tasks), "--seconds", "0.01")
    workers = [target.worker(batch=False, name=f"w{n}") for n in range(WORKERS)]
    done_before = []
    for fraction, mode in ((0.25, "fast"), (0.6, "immediate")):
        done_before.append(wait_successful(target, int(tasks * fraction)))
        restart(cluster, mode)
    wait_drained(target, DRAIN_TIMEOUT, workers)
    # The workers now wait for work (LISTEN): restart under them, then enqueue.
    time.sleep(1)
    restart(cluster, "fast")
    target.agent("enqueue", "--count", str(late), "--start", str(tasks))
    counts = wait_drained(target, 60, workers)
    died = sum(1 for w in workers if w.poll() is not None)
    stopped = stop_workers(workers)

    rows = target.agent("rows")
    executions = target.executions()
    status = Counter(row[1] for row in rows)
    figures = {
        "tasks": tasks + late,
        "restarts": 3,
        "workers died": died,
        "done before each": "/".join(map(str, done_before)),
        "executions": sum(executions.values()),
        "lost": sum(1 for row in rows if row[1] != "SUCCESSFUL"),
        "duplicated": sum(1 for n in executions.values() if n > 1),
        "stuck": status["READY"] + status["RUNNING"],
        "missing": len(set(range(tasks + late)) - {row[0] for row in rows}),
    }
    FIGURES.append(
        "PostgreSQL restarts: " + ", ".join(f"{k} {v}" for k, v in figures.items())
    )
    print(FIGURES[-1])
    assert not stopped, stopped
    assert all(0 < n < tasks for n in done_before), "a restart did not happen mid-run"
    not_successful = [r for r in rows if r[1] != "SUCCESSFUL"]
    assert status == {"SUCCESSFUL": tasks + late}, (counts, not_successful[:5])
    assert set(executions) == set(range(tasks + late)), "a task never ran"
    assert not figures["duplicated"], "a task ran twice across a restart"


@pytest.mark.parametrize(
    "engine", [pytest.param(POSTGRES, marks=pytest.mark.postgres), SQLITE]
)
def test_bad_rows(databases: Databases, engine: str) -> None:
    target = databases.make(engine)
    target.agent("enqueue", "--count", "50")
    bad = target.agent("tamper", "--start", "50")
    target.agent("enqueue", "--count", "50", "--start", "53")
    worker = target.worker(batch=True)
    exited = worker.wait(120)
    assert exited.returncode == 0, tail(worker)

    found = target.agent("results", *bad.values())
    executions = target.executions()
    good = set(range(50)) | set(range(53, 103))
    figures = {
        "tasks": 103,
        "bad rows": 3,
        "executions": sum(executions.values()),
        "bad rows run": sum(executions[n] for n in (50, 51, 52, -51, -52, -53)),
        "good tasks run once": sum(1 for n in good if executions[n] == 1),
    }
    FIGURES.append(
        f"bad rows, {engine}: " + ", ".join(f"{k} {v}" for k, v in figures.items())
    )
    print(FIGURES[-1])

    for kind, result_id in bad.items():
        assert found[result_id]["status"] == "FAILED", (kind, found[result_id])
        assert found[result_id]["errors"], (kind, "FAILED without an error")
    # A path that does not import, or does not name a task: an ImportError class.
    assert all(found[bad["gone"]]["import_errors"]), found[bad["gone"]]
    assert all(found[bad["plain"]]["import_errors"]), found[bad["plain"]]
    # Never run: not the plain function (it would record -1 - n), not the others.
    assert figures["bad rows run"] == 0, executions
    # And the worker went on: every good task ran once and succeeded.
    assert {n: executions[n] for n in good} == dict.fromkeys(good, 1)
    summary = target.agent("summary")
    assert summary["statuses"] == {"SUCCESSFUL": 100, "FAILED": 3}, summary
