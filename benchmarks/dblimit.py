"""The database's own limit: claim + complete, two transactions per task.

What any queue on this table pays at the very least per task, with no Python,
no Django and no task: one transaction that claims the next READY row (the
reference backend's query and index) and one that marks it finished.

* PostgreSQL: ``pgbench`` with a two-statement custom script (each statement
  its own transaction), prepared statements, 1 and 2 clients.
* SQLite: the same two transactions in a tight loop over the stdlib
  ``sqlite3`` module (``BEGIN IMMEDIATE`` ... ``COMMIT`` each, the benchmark's
  PRAGMAs), in 1 and 2 processes: ``python -m benchmarks.dblimit PATH COUNT``.

The result is pairs per second. The reference worker writes the outcome of
one task and claims the next in a *single* transaction, so it can exceed
this "limit"; django-tasks-db spends more than two.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TABLE = "reference_tasks_taskrecord"

CLAIM_WHERE = (
    f"SELECT id FROM {TABLE} WHERE status = 'READY' AND backend_name = 'default'"
    " AND (run_after IS NULL OR run_after <= {now}) ORDER BY priority DESC, enqueued_at LIMIT 1"
)

#: pgbench's protocols: "simple" sends each statement as text, parsed and
#: planned every time, as Django's default (client-side binding) cursors do;
#: "prepared" parses and plans once per connection.
MODES = ("simple", "prepared")


def pgbench_script(mode: str) -> str:
    """Claim, then complete: two statements, two transactions (autocommit)."""
    # pgbench pastes a variable as is in simple mode: quote the id there.
    claimed = "quote_literal(id::text)" if mode == "simple" else "id"
    return (
        f"UPDATE {TABLE} SET status = 'RUNNING', attempts = attempts + 1,"
        " claimed_by = 'pgbench', started_at = now(), last_attempted_at = now(),"
        " lease_expires_at = now() + interval '30 seconds',"
        " worker_ids = worker_ids || 'pgbench'"
        f" WHERE id = ({CLAIM_WHERE.format(now='now()')} FOR UPDATE SKIP LOCKED)"
        f" RETURNING {claimed} AS claimed \\gset\n"
        f"UPDATE {TABLE} SET status = 'SUCCESSFUL', finished_at = now(), claimed_by = NULL,"
        " lease_expires_at = NULL, return_value = 'null'"
        " WHERE id = :claimed AND status = 'RUNNING';\n"
    )


FILL_POSTGRES = f"""
INSERT INTO {TABLE} (id, backend_name, task_path, queue_name, priority, status, args,
  kwargs, errors, worker_ids, enqueued_at, attempts)
SELECT gen_random_uuid(), 'default', 'benchmarks.tasks.noop', 'default', 0, 'READY',
  '[' || n || ']', '{{}}', '[]', '', clock_timestamp(), 0
FROM generate_series(1, %s) AS n
"""

FILL_SQLITE = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO {TABLE} (id, backend_name, task_path, queue_name, priority, status, args,
  kwargs, errors, worker_ids, enqueued_at, attempts)
SELECT lower(hex(randomblob(16))), 'default', 'benchmarks.tasks.noop', 'default', 0, 'READY',
  '[' || i || ']', '{{}}', '[]', '',
  strftime('%Y-%m-%d %H:%M:%f', 'now') || printf('%03d', i % 1000), 0
FROM n
"""


def postgres_pairs(
    cluster: Any, url: str, pairs: int, clients: int, workdir: Path, mode: str
) -> float:
    """Pairs per second measured by pgbench on database ``url`` (emptied, refilled)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {TABLE}")  # type: ignore[arg-type]
        # A few spare rows: a client must never find the queue empty.
        connection.execute(FILL_POSTGRES, [pairs + 10 * clients])  # type: ignore[arg-type]
        connection.execute(f"ANALYZE {TABLE}")  # type: ignore[arg-type]
    script = workdir / f"claim_complete_{mode}.sql"
    script.write_text(pgbench_script(mode))
    pgbench = shutil.which("pgbench") or str(cluster.bindir / "pgbench")
    done = subprocess.run(
        [
            pgbench,
            "-n",
            "-M",
            mode,
            "-f",
            str(script),
            "-c",
            str(clients),
            "-j",
            str(clients),
            "-t",
            str(pairs // clients),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    found = re.search(
        r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout
    )
    if done.returncode != 0 or found is None:
        raise RuntimeError(
            f"pgbench failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return float(found.group(1))


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, timeout=20)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # the ORM's SQLite format, naive UTC


def sqlite_loop(path: str, pairs: int) -> dict[str, float]:
    """Claim and complete ``pairs`` rows, two ``BEGIN IMMEDIATE`` transactions each."""
    connection = _connect(path)
    began = time.time()
    done = 0
    for _ in range(pairs):
        now = datetime.now(UTC)
        connection.execute("BEGIN IMMEDIATE")
        claimed = connection.execute(
            f"UPDATE {TABLE} SET status = 'RUNNING', attempts = attempts + 1,"
            " claimed_by = 'loop', started_at = ?, last_attempted_at = ?, lease_expires_at = ?,"
            f" worker_ids = worker_ids || 'loop' WHERE id = ({CLAIM_WHERE.format(now='?')})"
            " RETURNING id",
            [
                _stamp(now),
                _stamp(now),
                _stamp(now + timedelta(seconds=30)),
                _stamp(now),
            ],
        ).fetchone()
        connection.execute("COMMIT")
        if claimed is None:
            break
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            f"UPDATE {TABLE} SET status = 'SUCCESSFUL', finished_at = ?, claimed_by = NULL,"
            " lease_expires_at = NULL, return_value = 'null' WHERE id = ? AND status = 'RUNNING'",
            [_stamp(datetime.now(UTC)), claimed[0]],
        )
        connection.execute("COMMIT")
        done += 1
    ended = time.time()
    connection.close()
    return {"began": began, "ended": ended, "pairs": done}


def sqlite_pairs(path: str, pairs: int, clients: int) -> float:
    """Pairs per second of ``clients`` processes running :func:`sqlite_loop`."""
    connection = _connect(path)
    connection.execute(f"DELETE FROM {TABLE}")
    connection.execute(FILL_SQLITE, [pairs + 10 * clients])
    connection.close()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.dblimit", path, str(pairs // clients)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        for _ in range(clients)
    ]
    reports: list[dict[str, float]] = [
        json.loads(p.communicate(timeout=600)[0]) for p in processes
    ]
    span = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    return sum(r["pairs"] for r in reports) / span


if __name__ == "__main__":
    json.dump(sqlite_loop(sys.argv[1], int(sys.argv[2])), sys.stdout)
