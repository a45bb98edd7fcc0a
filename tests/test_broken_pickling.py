"""The kit catches tasks and results that do not survive pickling (Django 6.1+)."""

from typing import Any

import pytest

from conformance.versions import SUPPORTS_PICKLING

pytestmark = [
    pytest.mark.kit,
    pytest.mark.skipif(not SUPPORTS_PICKLING, reason="pickling arrived in Django 6.1"),
]

BROKEN = "tests.broken.pickling."
BOTH = {"PICKLING-TASK-ROUND-TRIP", "PICKLING-RESULT-ROUND-TRIP"}


@pytest.mark.parametrize(
    ("backend", "failed"),
    [
        # A result holds its task: what breaks the task breaks the result.
        ("PicklesByPath", BOTH),
        ("TaskHoldsLock", BOTH),
        ("LosesReturnValue", {"PICKLING-RESULT-ROUND-TRIP"}),
    ],
)
def test_unpicklable_objects_fail(run_kit: Any, backend: str, failed: set[str]) -> None:
    run = run_kit(BROKEN + backend, clauses=["pickling"])
    assert run.failed() == failed, run.output
    assert run.ret == 1
