"""The kit catches task classes and backends that get Task.using() wrong."""

from typing import Any

import pytest

pytestmark = pytest.mark.kit

BROKEN = "tests.broken.using."


def test_in_place_using_fails(run_kit: Any) -> None:
    run = run_kit(BROKEN + "UsingMutatesInPlace", clauses=["using"])
    # The module-level tasks themselves change, so later clauses fail too.
    assert {"USING-RETURNS-NEW-TASK", "USING-ORIGINAL-UNCHANGED"} <= run.failed()
    assert run.ret == 1


@pytest.mark.parametrize(
    ("backend", "failed"),
    [
        ("NoneClearsRunAfter", {"USING-NONE-MEANS-UNCHANGED", "USING-APPLIES-CHANGES"}),
        ("UsingSkipsValidation", {"USING-REVALIDATES"}),
        ("BackendAliasIgnored", {"USING-BACKEND-SWITCH"}),
        ("StoresPathOnly", {"USING-RESULT-CARRIES-DERIVED", "USING-BACKEND-SWITCH"}),
    ],
)
def test_broken_using_fails_its_clauses(
    run_kit: Any, backend: str, failed: set[str]
) -> None:
    run = run_kit(BROKEN + backend, clauses=["using"])
    assert run.failed() == failed, run.output
