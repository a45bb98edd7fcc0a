"""Benchmark: the reference database backend against django-tasks-db.

    python -m benchmarks.run            # full: README figures (about 30 minutes)
    python -m benchmarks.run --quick    # CI smoke: small counts, one run (about 2 minutes)

For each database (a SQLite file; a throwaway PostgreSQL cluster started
here) and each backend (``ours``: reference_backends.database; ``theirs``:
django-tasks-db 0.13 with its defaults), in fresh processes and a fresh
database per step, ``--runs`` times:

* enqueue throughput: N tasks, one process, one ``enqueue()`` at a time;
* worker throughput with 1, 2 and 4 worker processes in batch mode: N tasks
  divided by the span from the first ``started_at`` to the last
  ``finished_at``; every task must have run exactly once (the tasks record
  their own executions) and ended SUCCESSFUL;
* pickup latency of one idle worker at default settings:
  ``started_at - enqueued_at`` over ``--samples`` tasks enqueued one at a time;
* peak RSS of one worker process (``ru_maxrss``) after N and after ``--big`` tasks;

plus the database's own claim + complete limit (:mod:`benchmarks.dblimit`)
and the worker throughput as a fraction of it. Prints each figure as
median [min-max] over the runs with the ratio ours/theirs, then the issue's
targets, met or not. ``--json`` writes every raw measurement.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import dblimit
from benchmarks.harness import (
    OURS,
    POSTGRES,
    SQLITE,
    THEIRS,
    Databases,
    Target,
    machine_busy_seconds,
    start_cluster,
    wait_all,
)

MIB = 1024  # ru_maxrss is in KiB


@dataclass
class Config:
    tasks: int
    big: int
    runs: int
    samples: int
    workers: list[int]
    pairs: int
    databases: list[str]
    backends: list[str]
    pg_fsync: bool
    conn_max_age: str
    database_options: dict[str, Any]
    our_options: dict[str, Any]
    workdir: Path
    timeout: float


@dataclass
class Results:
    """Every measurement: figures[(database, backend, figure)] -> one value per run."""

    figures: dict[tuple[str, str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    notes: list[str] = field(default_factory=list)

    def add(self, database: str, backend: str, figure: str, value: float) -> None:
        self.figures[(database, backend, figure)].append(value)

    def get(self, database: str, backend: str, figure: str) -> list[float]:
        return self.figures.get((database, backend, figure), [])


def log(message: str) -> None:
    load = os.getloadavg()[0]
    print(
        f"[{time.strftime('%H:%M:%S')} load {load:.1f}] {message}",
        file=sys.stderr,
        flush=True,
    )


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# -- one step ------------------------------------------------------------------------
class Bench:
    def __init__(self, config: Config, results: Results) -> None:
        self.config = config
        self.results = results
        self.step = 0

    def target(self, databases: Databases, url: str) -> Target:
        self.step += 1
        root = self.config.workdir / f"step{self.step:03d}"
        (root / "records").mkdir(parents=True)
        return Target(
            databases.backend,
            url,
            record_dir=root / "records",
            logs=root,
            options=self.config.our_options if databases.backend == OURS else {},
            conn_max_age=self.config.conn_max_age,
            database_options=self.config.database_options,
        )

    def drain(self, target: Target, count: int, workers: int) -> dict[str, Any]:
        """Enqueue ``count`` tasks, run ``workers`` batch workers; check and time them."""
        enqueued = target.agent("enqueue", "--count", str(count))
        exited, cpu = self.run_workers(target, workers)
        summary = target.agent("summary")
        executions = target.executions()
        problems = []
        if any(e.returncode != 0 for e in exited):
            problems.append(f"worker exit codes {[e.returncode for e in exited]}")
        if summary["statuses"] != {"SUCCESSFUL": count}:
            problems.append(f"statuses {summary['statuses']}")
        if set(executions) != set(range(count)):
            missing = set(range(count)) - set(executions)
            problems.append(f"{len(missing)} task(s) never ran")
        duplicated = sum(1 for n in executions.values() if n > 1)
        if duplicated:
            problems.append(f"{duplicated} task(s) ran more than once")
        if problems:
            raise AssertionError(
                f"{target.backend}, {workers} worker(s): " + "; ".join(problems)
            )
        return {
            "enqueue": enqueued["per_second"],
            "throughput": count / summary["span"],
            "rss_mib": max(e.max_rss_kib for e in exited) / MIB,
            **{
                f"{kind}_ms": None if seconds is None else 1000 * seconds / count
                for kind, seconds in cpu.items()
            },
        }

    def run_workers(
        self, target: Target, workers: int
    ) -> tuple[list[Any], dict[str, float | None]]:
        """Batch workers until they exit; their exits and CPU per task.

        ``worker_cpu``: the workers' CPU after start-up (:mod:`benchmarks.measured`);
        ``machine_cpu``: every CPU's busy time meanwhile (the database, the
        harness and anything else running), less the workers' start-up.
        """
        busy_before = machine_busy_seconds()
        processes = [
            target.worker(batch=True, name=f"worker{n}", measured=True)
            for n in range(workers)
        ]
        exited = wait_all(processes, self.config.timeout)
        busy_after = machine_busy_seconds()
        work = [e.work_cpu_seconds for e in exited]
        if any(w is None for w in work):
            return exited, {"worker_cpu": None, "machine_cpu": None}
        worker_cpu = sum(w for w in work if w is not None)
        startup = sum(e.cpu_seconds for e in exited) - worker_cpu
        machine = (
            None
            if busy_before is None or busy_after is None
            else busy_after - busy_before - startup
        )
        return exited, {"worker_cpu": worker_cpu, "machine_cpu": machine}

    def latency(self, target: Target) -> list[float]:
        worker = target.worker(batch=False, name="idle-worker")
        try:
            # The first sample waits for the worker to start; it is dropped.
            target.agent(
                "latency", "--samples", "1", "--start", "1000000", "--timeout", "60"
            )
            found = target.agent("latency", "--samples", str(self.config.samples))
        finally:
            worker.stop()
        return [float(v) for v in found["latencies"]]

    def run_backend(self, engine: str, databases: Databases, run: int) -> None:
        backend = databases.backend
        config = self.config

        def step(action: Callable[[Target], Any]) -> Any:
            url = databases.fresh()
            try:
                return action(self.target(databases, url))
            finally:
                databases.drop(url)

        for workers in config.workers:
            log(
                f"{engine} {backend} run {run}: {config.tasks} tasks, {workers} worker(s)"
            )
            done = step(
                functools.partial(self.drain, count=config.tasks, workers=workers)
            )
            self.results.add(
                engine, backend, f"worker_throughput_{workers}", done["throughput"]
            )
            self.add_cpu(engine, backend, workers, done)
            if workers == 1:
                self.results.add(engine, backend, "enqueue", done["enqueue"])
                self.results.add(
                    engine, backend, f"rss_mib_{config.tasks}", done["rss_mib"]
                )
        if backend == OURS:
            log(f"{engine} ours run {run}: the worker's statements alone")
            self.statements(engine, databases, step)
        log(f"{engine} {backend} run {run}: pickup latency, {config.samples} samples")
        latencies = step(self.latency)
        self.results.add(
            engine, backend, "latency_p50_ms", 1000 * percentile(latencies, 0.5)
        )
        self.results.add(
            engine, backend, "latency_p95_ms", 1000 * percentile(latencies, 0.95)
        )
        log(f"{engine} {backend} run {run}: {config.big} tasks, 1 worker (RSS)")
        done = step(lambda t: self.drain(t, config.big, 1))
        self.results.add(engine, backend, f"rss_mib_{config.big}", done["rss_mib"])
        self.results.add(
            engine, backend, f"worker_throughput_1_at_{config.big}", done["throughput"]
        )

    def add_cpu(
        self, engine: str, backend: str, workers: int, done: dict[str, Any]
    ) -> None:
        for kind in ("worker_cpu", "machine_cpu"):
            if done[f"{kind}_ms"] is not None:  # None: not measurable here
                self.results.add(
                    engine, backend, f"{kind}_ms_{workers}", done[f"{kind}_ms"]
                )

    def statements(self, engine: str, databases: Databases, step: Any) -> None:
        """Our worker's claim + finish statement path alone (internal API: may be n/a)."""
        try:
            found = step(
                lambda t: t.agent("statements", "--count", str(self.config.tasks))
            )
        except RuntimeError as exc:
            self.results.notes.append(f"{engine}: statement path not measured: {exc}")
            return
        self.results.add(engine, OURS, "statements_1", found["per_second"])

    def db_limit(self, engine: str, databases: Databases, cluster: Any) -> None:
        # SQLite's driver caches prepared statements: one mode only.
        modes = dblimit.MODES if engine == POSTGRES else ("simple",)
        for mode in modes:
            for clients in (1, 2):
                url = databases.fresh()
                try:
                    if engine == POSTGRES:
                        value = dblimit.postgres_pairs(
                            cluster,
                            url,
                            self.config.pairs,
                            clients,
                            self.config.workdir,
                            mode,
                        )
                    else:
                        value = dblimit.sqlite_pairs(
                            url.removeprefix("sqlite://"), self.config.pairs, clients
                        )
                finally:
                    databases.drop(url)
                key = (
                    f"pair_limit_{clients}"
                    if mode == "simple"
                    else f"pair_limit_{mode}_{clients}"
                )
                self.results.add(engine, "db", key, value)


# -- the report ---------------------------------------------------------------------
FIGURES = [
    ("enqueue", "enqueue throughput (tasks/s, 1 process)", True),
    ("worker_throughput_1", "worker throughput, 1 worker (tasks/s)", True),
    ("worker_throughput_2", "worker throughput, 2 workers (tasks/s)", True),
    ("worker_throughput_4", "worker throughput, 4 workers (tasks/s)", True),
    (
        "statements_1",
        "claim+finish statements alone, as the worker sends them, no task (tasks/s)",
        True,
    ),
    ("worker_cpu_ms_1", "CPU per task in the worker, 1 worker (ms)", False),
    ("machine_cpu_ms_1", "CPU per task, whole machine, 1 worker (ms)", False),
    ("worker_cpu_ms_2", "CPU per task in the workers, 2 workers (ms)", False),
    ("machine_cpu_ms_2", "CPU per task, whole machine, 2 workers (ms)", False),
    ("latency_p50_ms", "pickup latency p50 (ms)", False),
    ("latency_p95_ms", "pickup latency p95 (ms)", False),
]


def describe(values: Sequence[float]) -> str:
    if not values:
        return "-"
    median = statistics.median(values)
    digits = 0 if median >= 100 else 1 if median >= 10 else 2
    text = f"{median:,.{digits}f}"
    if len(values) > 1:
        text += f" [{min(values):,.{digits}f}-{max(values):,.{digits}f}]"
    return text


def ratio(ours: Sequence[float], theirs: Sequence[float]) -> float | None:
    if not ours or not theirs or statistics.median(theirs) == 0:
        return None
    return statistics.median(ours) / statistics.median(theirs)


def report(config: Config, results: Results) -> list[str]:
    r = results
    lines = []
    figures = list(FIGURES)
    figures.append(
        (
            f"rss_mib_{config.tasks}",
            f"worker peak RSS after {config.tasks:,} tasks (MiB)",
            False,
        )
    )
    if config.big != config.tasks:  # else the same figures twice
        figures += _big_figures(config)
    for engine in config.databases:
        lines.append("")
        lines.append(f"## {engine}")
        lines.append("")
        lines.append("| figure | ours | django-tasks-db | ours/theirs |")
        lines.append("|---|---|---|---|")
        for key, label, _ in figures:
            ours, theirs = r.get(engine, OURS, key), r.get(engine, THEIRS, key)
            if not ours and not theirs:
                continue
            q = ratio(ours, theirs)
            lines.append(
                f"| {label} | {describe(ours)} | {describe(theirs)} | "
                f"{'-' if q is None else f'{q:.3f}x' if q < 0.1 else f'{q:.2f}x'} |"
            )
        for prefix, how in (("pair_limit", ""), ("pair_limit_prepared", ", prepared")):
            lines += limit_rows(r, engine, prefix, how)
    return lines


def _big_figures(config: Config) -> list[tuple[str, str, bool]]:
    return [
        (
            f"rss_mib_{config.big}",
            f"worker peak RSS after {config.big:,} tasks (MiB)",
            False,
        ),
        (
            f"worker_throughput_1_at_{config.big}",
            f"worker throughput, 1 worker, {config.big:,} tasks (tasks/s)",
            True,
        ),
    ]


def limit_rows(r: Results, engine: str, prefix: str, how: str) -> list[str]:
    """The database's claim+complete limit, and each backend's share of it."""
    lines = []
    for clients in (1, 2):
        limit = r.get(engine, "db", f"{prefix}_{clients}")
        if not limit:
            continue
        plural = "s" if clients > 1 else ""
        label = f"claim+complete limit{how}, {clients} client{plural} (pairs/s)"
        shares = []
        for backend in (OURS, THEIRS):
            done = r.get(engine, backend, f"worker_throughput_{clients}")
            share = statistics.median(done) / statistics.median(limit) if done else None
            shares.append("-" if share is None else f"{100 * share:.0f}% of it")
        lines.append(f"| {label} | {shares[0]} | {shares[1]} | {describe(limit)} |")
    return lines


def cpu_bound(r: Results, engine: str, workers: int) -> str:
    """Whether the machine's CPUs, at our measured CPU per task, are the limit."""
    machine = r.get(engine, OURS, f"machine_cpu_ms_{workers}")
    worker = r.get(engine, OURS, f"worker_cpu_ms_{workers}")
    done = r.get(engine, OURS, f"worker_throughput_{workers}")
    cpus = os.cpu_count() or 1
    if not machine or not worker or not done or workers < cpus:
        return ""
    med = statistics.median
    bound = 1000 * cpus / med(machine)
    # Within 10% of what the CPUs allow: the machine, not the statements, is the limit.
    verdict = "CPU-bound" if med(done) >= 0.9 * bound else "not CPU-bound"
    return (
        f"; {verdict}: {med(machine):.3f} ms of CPU per task ({med(worker):.3f} in the "
        f"workers) on {cpus} CPUs allows at most {bound:,.0f}/s"
    )


def targets(config: Config, results: Results) -> list[str]:
    """The issue's targets, each met or not, with the figures that decide it."""
    r = results
    out = []

    def verdict(ok: bool | None, text: str) -> None:
        mark = "n/a " if ok is None else "MET " if ok else "MISS"
        out.append(f"- [{mark}] {text}")

    med = statistics.median
    for engine in config.databases:
        for workers in (1, 2):
            key = f"worker_throughput_{workers}"
            q = ratio(r.get(engine, OURS, key), r.get(engine, THEIRS, key))
            verdict(
                None if q is None else q >= 5,
                f"{engine}: {workers} worker(s) >= 5x django-tasks-db: "
                + ("not measured" if q is None else f"{q:.2f}x"),
            )
            limit, ours = (
                r.get(engine, "db", f"pair_limit_{workers}"),
                r.get(engine, OURS, key),
            )
            if limit and ours:
                share = med(ours) / med(limit)
                prepared = r.get(engine, "db", f"pair_limit_prepared_{workers}")
                verdict(
                    share >= 0.4,
                    f"{engine}: {workers} worker(s) >= 40% of the claim+complete limit "
                    f"({workers} client(s)): {100 * share:.0f}% "
                    f"({med(ours):,.0f} of {med(limit):,.0f}/s)"
                    + (
                        f"; {100 * med(ours) / med(prepared):.0f}% of the prepared-"
                        f"statement limit ({med(prepared):,.0f}/s)"
                        if prepared
                        else ""
                    )
                    + cpu_bound(r, engine, workers),
                )
        q = ratio(r.get(engine, OURS, "enqueue"), r.get(engine, THEIRS, "enqueue"))
        verdict(
            None if q is None else q >= 1.5,
            f"{engine}: enqueue >= 1.5x django-tasks-db: "
            + ("not measured" if q is None else f"{q:.2f}x"),
        )
        p50 = r.get(engine, OURS, "latency_p50_ms")
        bound = 10 if engine == POSTGRES else 60
        verdict(
            None if not p50 else med(p50) < bound,
            f"{engine}: pickup latency p50 < {bound} ms: "
            + ("not measured" if not p50 else f"{med(p50):.1f} ms"),
        )
        small = r.get(engine, OURS, f"rss_mib_{config.tasks}")
        big = r.get(engine, OURS, f"rss_mib_{config.big}")
        if small and big:
            growth = med(big) - med(small)
            verdict(
                med(big) < 64 and growth < 2,
                f"{engine}: worker RSS < 64 MiB and flat ({config.tasks:,} -> {config.big:,} "
                f"tasks): {med(small):.1f} -> {med(big):.1f} MiB ({growth:+.1f} MiB)",
            )
    return out


# -- main -----------------------------------------------------------------------------
def parse(argv: Sequence[str] | None) -> tuple[Config, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="CI smoke: small counts, one run"
    )
    parser.add_argument("--tasks", type=int, help="N (default 2000; quick 500)")
    parser.add_argument(
        "--big", type=int, help="tasks of the RSS run (default 20000; quick 2000)"
    )
    parser.add_argument("--runs", type=int, help="runs per figure (default 3; quick 1)")
    parser.add_argument(
        "--samples", type=int, help="latency samples (default 25; quick 10)"
    )
    parser.add_argument("--workers", default=None, help="worker counts (default 1,2,4)")
    parser.add_argument(
        "--pairs",
        type=int,
        help="claim+complete pairs for the database limit (default 5000)",
    )
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--backends", default="ours,theirs")
    parser.add_argument(
        "--pg-fsync",
        action="store_true",
        help="run PostgreSQL with fsync on (default off, as the project's test cluster)",
    )
    parser.add_argument(
        "--conn-max-age",
        default="none",
        help="CONN_MAX_AGE for every process: 'none' (persistent, default) or seconds",
    )
    parser.add_argument(
        "--database-options",
        default="{}",
        help="JSON merged into DATABASES OPTIONS for every process, e.g. "
        '\'{"server_side_binding": true, "prepare_threshold": 2}\'',
    )
    parser.add_argument(
        "--our-options",
        default="{}",
        help="JSON: the reference backend's OPTIONS, e.g. "
        "'{\"PREPARED_STATEMENTS\": false}'",
    )
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (logs)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="per worker run, seconds"
    )
    o = parser.parse_args(argv)
    quick = o.quick
    return Config(
        tasks=o.tasks or (500 if quick else 2000),
        big=o.big or (2000 if quick else 20000),
        runs=o.runs or (1 if quick else 3),
        samples=o.samples or (10 if quick else 25),
        workers=[
            int(w) for w in (o.workers or ("1,2" if quick else "1,2,4")).split(",")
        ],
        pairs=o.pairs or (1000 if quick else 5000),
        databases=[d for d in o.databases.split(",") if d],
        backends=[b for b in o.backends.split(",") if b],
        pg_fsync=o.pg_fsync,
        conn_max_age=o.conn_max_age,
        database_options=json.loads(o.database_options),
        our_options=json.loads(o.our_options),
        workdir=Path(tempfile.mkdtemp(prefix="tasks-bench-")),
        timeout=o.timeout,
    ), o


def main(argv: Sequence[str] | None = None) -> int:
    config, options = parse(argv)
    for name in config.backends:
        if name not in (OURS, THEIRS):
            raise SystemExit(f"unknown backend {name!r}: ours, theirs")
    results = Results()
    bench = Bench(config, results)
    started = time.monotonic()
    load_before = os.getloadavg()
    cluster = None
    try:
        for engine in config.databases:
            if engine == POSTGRES:
                log(f"starting PostgreSQL (fsync {'on' if config.pg_fsync else 'off'})")
                cluster = start_cluster(fsync=config.pg_fsync)
            elif engine != SQLITE:
                raise SystemExit(f"unknown database {engine!r}: sqlite, postgres")
            databases = {
                backend: Databases(engine, backend, config.workdir / engine, cluster)
                for backend in config.backends
            }
            for run in range(1, config.runs + 1):
                # Alternate the order: neither backend always runs on a warmer machine.
                order = config.backends if run % 2 else config.backends[::-1]
                for backend in order:
                    bench.run_backend(engine, databases[backend], run)
                if OURS in databases:
                    log(f"{engine} run {run}: the database's claim+complete limit")
                    bench.db_limit(engine, databases[OURS], cluster)
            if cluster is not None:
                cluster.remove()
                cluster = None
    finally:
        if cluster is not None:
            cluster.remove()
        if not options.keep:
            shutil.rmtree(config.workdir, ignore_errors=True)

    elapsed = time.monotonic() - started
    header = [
        "# Benchmark: reference_backends.database vs django-tasks-db",
        "",
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load_before[0]:.1f} before / {os.getloadavg()[0]:.1f} after, "
        f"{elapsed / 60:.1f} min.",
        f"N = {config.tasks:,} no-op tasks, {config.runs} run(s), median [min-max]; "
        f"PostgreSQL fsync {'on' if config.pg_fsync else 'off'}; "
        f"CONN_MAX_AGE {config.conn_max_age}"
        + (
            f"; DATABASES OPTIONS {config.database_options}"
            if config.database_options
            else ""
        )
        + (f"; our OPTIONS {config.our_options}" if config.our_options else "")
        + ".",
    ]
    lines = (
        header
        + report(config, results)
        + ["", "## Targets", ""]
        + targets(config, results)
    )
    if results.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in results.notes)]
    print("\n".join(lines))
    if options.json:
        options.json.write_text(
            json.dumps(
                {
                    "config": {k: str(v) for k, v in vars(config).items()},
                    "figures": {"/".join(k): v for k, v in results.figures.items()},
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
