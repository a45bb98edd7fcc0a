"""The whole kit passes against both reference backends: no failure, no warning."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.kit


@pytest.mark.parametrize(
    "backend",
    [
        "reference_backends.immediate.ImmediateBackend",
        "reference_backends.dummy.DummyBackend",
    ],
)
def test_reference_backend_passes_the_whole_kit(run_kit: Any, backend: str) -> None:
    run = run_kit(backend)
    outcomes = run.outcomes()
    assert outcomes, run.output
    failed_or_warned = {cid: o for cid, o in outcomes.items() if o in {"fail", "warn"}}
    assert failed_or_warned == {}, run.output
    assert "pass" in outcomes.values()
    assert run.ret == 0, run.output
