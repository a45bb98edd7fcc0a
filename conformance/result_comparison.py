"""Comparing results: what a TaskResult tells a user, as plain data.

A result seen at enqueue, after refresh, from another thread or from another
process is compared field by field through :func:`result_fields`; a
subprocess answers with the same fields, as JSON (:func:`comparable`).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from .statuses import SUCCESSFUL
from .violation import attribute, check

#: Clock and storage-precision slack when a timestamp is compared with the
#: kit's own clock (a store may keep whole seconds; a worker may be remote).
CLOCK_SLACK = timedelta(seconds=2)


#: What a result's task tells a user, compared wherever results are.
RESULT_TASK_FIELDS = (
    "module_path",
    "priority",
    "queue_name",
    "backend",
    "run_after",
    "takes_context",
)


def _when(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def result_fields(result: Any) -> dict[str, Any]:
    """Everything a TaskResult tells a user, as JSON (for comparisons)."""
    task = result.task
    fields: dict[str, Any] = {
        "id": result.id,
        "status": str(result.status),
        "is_finished": result.is_finished,
        "enqueued_at": _when(result.enqueued_at),
        "started_at": _when(result.started_at),
        "last_attempted_at": _when(result.last_attempted_at),
        "finished_at": _when(result.finished_at),
        "args": result.args,
        "kwargs": result.kwargs,
        "backend": result.backend,
        "errors": [
            [error.exception_class_path, error.traceback] for error in result.errors
        ],
        "worker_ids": list(result.worker_ids),
        "attempts": result.attempts,
        # A result whose task is None (or lacks a field) is a difference to
        # report, not an AttributeError in the kit.
        "task": {name: _when(attribute(task, name)) for name in RESULT_TASK_FIELDS},
    }
    if result.status == SUCCESSFUL:
        fields["return_value"] = result.return_value
    return fields


def field_differences(
    expected: dict[str, Any],
    observed: dict[str, Any],
    *,
    sides: tuple[str, str] = ("expected", "observed"),
) -> list[str]:
    """Each field that differs, with both values (``sides`` names them)."""
    mine, theirs = sides
    return [
        f"{name}: {mine} {expected.get(name)!r}, {theirs} {observed.get(name)!r}"
        for name in sorted(set(expected) | set(observed))
        if expected.get(name) != observed.get(name)
    ]


def check_fields(
    want: dict[str, Any], got: dict[str, Any], *, expected: str, repro: str = ""
) -> None:
    """``got`` has the fields ``want`` has (:func:`field_differences`)."""
    __tracebackhide__ = True
    differences = field_differences(want, got)
    check(
        not differences, expected=expected, observed="; ".join(differences), repro=repro
    )


TIMESTAMPS = ("enqueued_at", "started_at", "last_attempted_at", "finished_at")


def timestamp_problems(result: Any, earliest: datetime, latest: datetime) -> list[str]:
    """What is wrong with a finished result's timestamps, if anything.

    Set, aware (the kit runs with USE_TZ=True), ordered
    ``enqueued_at <= started_at <= last_attempted_at <= finished_at``, and
    within the run (``earliest``..``latest``, with :data:`CLOCK_SLACK`).
    """
    problems: list[str] = []
    values: dict[str, Any] = {name: getattr(result, name, None) for name in TIMESTAMPS}
    for name, value in values.items():
        if not isinstance(value, datetime):
            problems.append(f"{name} is {value!r}, not a datetime")
        elif value.tzinfo is None or value.utcoffset() is None:
            problems.append(f"{name} is naive ({value!r})")
    if problems:
        return problems
    for before, after in itertools.pairwise(TIMESTAMPS):
        if values[before] > values[after]:
            problems.append(
                f"{before} ({values[before].isoformat()}) is after "
                f"{after} ({values[after].isoformat()})"
            )
    for name, value in values.items():
        if not earliest - CLOCK_SLACK <= value <= latest + CLOCK_SLACK:
            problems.append(
                f"{name} ({value.isoformat()}) is outside the run "
                f"({earliest.isoformat()} .. {latest.isoformat()})"
            )
    return problems


_SUBPROCESS_SCRIPT = """
import json, sys
import django
django.setup()
from asgiref.sync import async_to_sync
from conformance import compat
from conformance.result_comparison import result_fields
backend = compat.task_backends[sys.argv[1]]
answers = {}
for result_id in sys.argv[2:]:
    for form in ("sync", "async"):
        try:
            if form == "sync":
                result = backend.get_result(result_id)
            else:
                result = async_to_sync(backend.aget_result)(result_id)
            answers[f"{form}:{result_id}"] = {"fields": result_fields(result)}
        except Exception as exc:
            kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
            answers[f"{form}:{result_id}"] = {"error": f"{kind}: {exc}"}
print("CONFORMANCE-ANSWER " + json.dumps(answers, default=str))
"""


def fields_in_other_process(
    alias: str, result_ids: Sequence[str], timeout: float
) -> dict[str, dict[str, Any]]:
    """``get_result``/``aget_result`` of each id, in a new Python process.

    The process inherits this one's environment (``DJANGO_SETTINGS_MODULE``
    and ``CONFORMANCE_SETTINGS_FILE``: the same settings) and its import path.
    Keys are ``"sync:<id>"`` and ``"async:<id>"``.
    """
    env = dict(os.environ)
    paths = [p for p in sys.path if p] + [env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    completed = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_SCRIPT, alias, *result_ids],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("CONFORMANCE-ANSWER "):
            answers: dict[str, dict[str, Any]] = json.loads(
                line.removeprefix("CONFORMANCE-ANSWER ")
            )
            return answers
    raise RuntimeError(
        f"the other process gave no answer (exit {completed.returncode}):\n"
        f"{completed.stderr[-2000:]}"
    )


def comparable(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` as JSON would carry them (what a subprocess prints)."""
    converted: dict[str, Any] = json.loads(json.dumps(fields, default=str))
    return converted
