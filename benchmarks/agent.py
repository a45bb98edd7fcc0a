"""The in-Django side of the benchmarks and fault tests: ``python -m benchmarks.agent CMD``.

Runs with ``DJANGO_SETTINGS_MODULE=benchmarks.settings`` (see there) and
prints one JSON document on stdout. The driver (:mod:`benchmarks.run`) and
the fault tests never configure Django themselves: each measurement runs in
fresh processes, as an application and its workers would.

Commands:

``enqueue --count N [--start S] [--seconds X]``
    Enqueue ``N`` tasks numbered ``S..S+N-1`` through the Tasks API, one
    process, one at a time; time the loop alone. ``--seconds`` enqueues
    :func:`~benchmarks.tasks.slow` instead of :func:`~benchmarks.tasks.noop`.
``latency --samples N [--start S]``
    Against an idle worker: enqueue one task, wait until it has finished,
    pause a random 50-250 ms, repeat. Latency is ``started_at - enqueued_at``
    as the backend stored them.
``statements --count N``
    (ours) The worker's claim + finish statements alone, see :func:`statements`.
``summary``
    Counts by status, the span from the first start to the last finish,
    attempts and error classes.
``rows``
    ``[number, status, attempts, [error class paths]]`` for every row.
``tamper --start S``
    (ours) Three READY rows a worker must refuse: a task path that no longer
    imports, the path of a plain function, ``args`` that are not JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime
from typing import Any

import django


def _models() -> tuple[Any, bool]:
    """The result model of the configured backend; True for ours."""
    from django.apps import apps

    if apps.is_installed("reference_backends.database"):
        from reference_backends.database.models import TaskRecord

        return TaskRecord, True
    from django_tasks_db.models import DBTaskResult  # type: ignore[import-not-found]

    return DBTaskResult, False


def _number(args: Any, ours: bool) -> int | None:
    """The task's number, from the stored arguments (None if unreadable)."""
    try:
        values = json.loads(args) if ours else args["args"]
        return int(values[0])
    except (TypeError, ValueError, KeyError, IndexError):
        return None


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds()


def enqueue(count: int, start: int, seconds: float | None) -> dict[str, Any]:
    from benchmarks import tasks

    calls: list[tuple[Any, tuple[Any, ...]]]
    if seconds is None:
        calls = [(tasks.noop, (n,)) for n in range(start, start + count)]
    else:
        calls = [(tasks.slow, (n, seconds)) for n in range(start, start + count)]
    began = time.perf_counter()
    for task, args in calls:
        task.enqueue(*args)
    elapsed = time.perf_counter() - began
    return {"count": count, "seconds": elapsed, "per_second": count / elapsed}


def latency(samples: int, start: int, timeout: float) -> dict[str, Any]:
    from benchmarks import tasks

    model, _ = _models()
    values: list[float] = []
    rng = random.Random(start)
    for n in range(start, start + samples):
        result = tasks.noop.enqueue(n)
        deadline = time.monotonic() + timeout
        while True:
            row = model.objects.filter(id=result.id).values(
                "status", "enqueued_at", "started_at"
            )[0]
            if row["status"] in ("SUCCESSFUL", "FAILED"):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"task {n} not finished after {timeout}s: {row}")
            time.sleep(0.002)
        values.append(_seconds(row["enqueued_at"], row["started_at"]) or 0.0)
        # Idle again, at a random phase of any polling cycle.
        time.sleep(rng.uniform(0.05, 0.25))
    return {"latencies": values}


def statements(count: int) -> dict[str, Any]:
    """(ours) The worker's statement path alone: claim + finish, no task, no result.

    Enqueues ``count`` tasks, then loops over the backend's own
    ``finish_and_claim`` (the one transaction per task its worker spends) the
    way the worker does, minus everything else. The gap between this rate and
    the worker's is the cost of running tasks and building results; the gap
    between this rate and the database's limit is the cost of the statement
    path (Django's cursor, parameter binding, planning).
    """
    from datetime import timedelta

    from benchmarks import tasks
    from reference_backends._lifecycle import now
    from reference_backends.database import queries

    for n in range(count):
        tasks.noop.enqueue(n)
    backend = tasks.noop.get_backend()
    q = backend.queries()  # the statements the worker uses, prepared as it would
    finish = None
    done = 0
    began = time.perf_counter()
    while True:
        claimed_at = now()
        claim = queries.Claim(
            worker_id="statements",
            backends=["default"],
            queues=None,
            now=claimed_at,
            lease_expires_at=claimed_at + timedelta(seconds=30),
        )
        _, row = q.finish_and_claim(finish, claim)
        if row is None:
            break
        done += 1
        finish = queries.Finish(
            result_id=row.id,
            worker_id="statements",
            attempt=row.attempts,
            status="SUCCESSFUL",
            finished_at=now(),
            return_value="null",
        )
    elapsed = time.perf_counter() - began
    return {"count": done, "seconds": elapsed, "per_second": done / elapsed}


def summary() -> dict[str, Any]:
    from django.db.models import Count, Max, Min

    model, ours = _models()
    statuses = dict(
        model.objects.values_list("status").annotate(n=Count("pk")).order_by()
    )
    span = model.objects.aggregate(
        first_start=Min("started_at"),
        last_finish=Max("finished_at"),
        first_enqueue=Min("enqueued_at"),
    )
    out: dict[str, Any] = {
        "total": sum(statuses.values()),
        "statuses": statuses,
        "span": _seconds(span["first_start"], span["last_finish"]),
    }
    if ours:
        out["attempts"] = {
            str(k): v
            for k, v in model.objects.values_list("attempts")
            .annotate(n=Count("pk"))
            .order_by()
        }
    return out


def rows() -> list[list[Any]]:
    model, ours = _models()
    found: list[list[Any]] = []
    if ours:
        for args, status, attempts, errors in model.objects.values_list(
            "args", "status", "attempts", "errors"
        ).iterator():
            try:
                classes = [e["exception_class_path"] for e in json.loads(errors)]
            except (TypeError, ValueError, KeyError):
                classes = ["<unreadable errors>"]
            found.append([_number(args, True), status, attempts, classes])
    else:
        for args, status, exc_path in model.objects.values_list(
            "args_kwargs", "status", "exception_class_path"
        ).iterator():
            found.append(
                [_number(args, False), status, None, [exc_path] if exc_path else []]
            )
    return found


def tamper(start: int) -> dict[str, Any]:
    """Enqueue three tasks, then break their rows the way the issue lists."""
    from benchmarks import tasks

    model, ours = _models()
    if not ours:
        raise SystemExit("tamper: only for the reference backend")
    gone, plain, not_json = (tasks.noop.enqueue(start + k).id for k in range(3))
    model.objects.filter(id=gone).update(task_path="benchmarks.tasks_removed.noop")
    model.objects.filter(id=plain).update(task_path="benchmarks.tasks.not_a_task")
    model.objects.filter(id=not_json).update(args='[1, "unterminated')
    return {"gone": gone, "plain": plain, "not_json": not_json}


def results(ids: list[str]) -> dict[str, Any]:
    """Status and errors of ``ids``, through the Tasks API.

    For each error: its class path and whether that class is an ImportError.
    """
    from django.utils.module_loading import import_string

    from conformance import compat

    def is_import_error(path: str) -> bool:
        try:
            cls = import_string(path)
        except ImportError:
            return False
        return isinstance(cls, type) and issubclass(cls, ImportError)

    backend = compat.task_backends["default"]
    out = {}
    for result_id in ids:
        result = backend.get_result(result_id)
        out[result_id] = {
            "status": str(result.status.value),
            "errors": [e.exception_class_path for e in result.errors],
            "import_errors": [
                is_import_error(e.exception_class_path) for e in result.errors
            ],
        }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.agent")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("enqueue")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--seconds", type=float, default=None)
    p = sub.add_parser("latency")
    p.add_argument("--samples", type=int, default=25)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--timeout", type=float, default=30.0)
    p = sub.add_parser("statements")
    p.add_argument("--count", type=int, required=True)
    sub.add_parser("summary")
    sub.add_parser("rows")
    p = sub.add_parser("tamper")
    p.add_argument("--start", type=int, default=0)
    p = sub.add_parser("results")
    p.add_argument("ids", nargs="*")
    options = parser.parse_args(argv)

    django.setup()
    out: Any
    if options.command == "enqueue":
        out = enqueue(options.count, options.start, options.seconds)
    elif options.command == "latency":
        out = latency(options.samples, options.start, options.timeout)
    elif options.command == "statements":
        out = statements(options.count)
    elif options.command == "summary":
        out = summary()
    elif options.command == "rows":
        out = rows()
    elif options.command == "tamper":
        out = tamper(options.start)
    else:
        out = results(options.ids)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
