"""The kit catches backends and task classes that get task definition wrong."""

from typing import Any

import pytest

pytestmark = pytest.mark.kit

BROKEN = "tests.broken.definition."


@pytest.mark.parametrize(
    ("backend", "failed"),
    [
        ("AcceptsAnyCallable", {"DEFINITION-MODULE-LEVEL-ONLY"}),
        ("AnyContextParameter", {"DEFINITION-TAKES-CONTEXT-PARAMETER"}),
        ("ClaimsNoAsyncButAccepts", {"DEFINITION-ASYNC-REJECTED"}),
        ("RunAfterWithoutDefer", {"DEFINITION-RUN-AFTER-UNSUPPORTED-REJECTED"}),
        ("AcceptsNaiveRunAfter", {"DEFINITION-RUN-AFTER-NAIVE-REJECTED"}),
        ("ForgetsRunAfter", {"DEFINITION-RUN-AFTER-ACCEPTED"}),
        (
            "DefaultRunAfterIsNow",
            {"DEFINITION-DEFAULTS", "DEFINITION-DECORATOR-ARGUMENTS"},
        ),
        ("NameIsPath", {"DEFINITION-FUNCTION-ATTRIBUTES"}),
        ("UnknownAliasFallsBack", {"DEFINITION-UNKNOWN-BACKEND-REJECTED"}),
    ],
)
def test_broken_definition_fails_its_clause(
    run_kit: Any, backend: str, failed: set[str]
) -> None:
    run = run_kit(BROKEN + backend, clauses=["definition"])
    assert run.failed() == failed, run.output
    assert run.ret == 1


def test_honest_async_refusal_passes(run_kit: Any) -> None:
    run = run_kit(BROKEN + "NoAsyncSupport", clauses=["definition"])
    assert run.failed() == set(), run.output
    assert run.outcome("DEFINITION-ASYNC-REJECTED") == "pass"
    assert run.outcome("DEFINITION-ASYNC-ACCEPTED") == "n/a"
