"""The kit catches backends whose objects users can change."""

from typing import Any

import pytest

pytestmark = pytest.mark.kit

BROKEN = "tests.broken.immutability."


@pytest.mark.parametrize(
    ("backend", "failed"),
    [
        ("MutableTasks", {"IMMUTABILITY-TASK"}),
        # The running task's context holds the same mutable result.
        ("MutableResults", {"IMMUTABILITY-RESULT", "IMMUTABILITY-CONTEXT"}),
        ("MutableErrors", {"IMMUTABILITY-ERROR"}),
        ("MutableContext", {"IMMUTABILITY-CONTEXT"}),
    ],
)
def test_mutable_objects_fail(run_kit: Any, backend: str, failed: set[str]) -> None:
    run = run_kit(BROKEN + backend, clauses=["immutability"])
    assert run.failed() == failed, run.output
    assert run.ret == 1


def test_shared_stored_result_is_a_warning(run_kit: Any) -> None:
    run = run_kit(BROKEN + "SharesStoredResult", clauses=["immutability"])
    assert run.outcome("IMMUTABILITY-RESULT-ARGS-ISOLATED") == "warn"
    assert run.failed() == set()
    assert run.ret == 0
