"""The whole kit passes against both reference backends: no failure, no warning."""

from __future__ import annotations

import pytest

from tests.kit_runner import KitCall, KitRun

pytestmark = pytest.mark.kit

BACKENDS = [
    "reference_backends.immediate.ImmediateBackend",
    "reference_backends.dummy.DummyBackend",
]


@pytest.mark.parametrize(
    "backend",
    [pytest.param(b, marks=pytest.mark.kit_run(KitCall(b))) for b in BACKENDS],
)
def test_reference_backend_passes_the_whole_kit(kit_run: KitRun, backend: str) -> None:
    run = kit_run
    outcomes = run.outcomes()
    assert outcomes, run.output
    failed_or_warned = {cid: o for cid, o in outcomes.items() if o in {"fail", "warn"}}
    assert failed_or_warned == {}, run.output
    assert "pass" in outcomes.values()
    assert run.ret == 0, run.output
