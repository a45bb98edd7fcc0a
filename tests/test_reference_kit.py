"""The whole kit passes against both reference backends: no failure, no warning.

And against Django's own ImmediateBackend in UTC as well as in the kit's
zone (+05:45): a kit that only passes a correct backend in one zone would be
wrong in the other (the database backend's UTC run is in tests/database/).
"""

from __future__ import annotations

import re

import pytest

from conformance.versions import API_ROOT, DJANGO_VERSION
from tests.kit_runner import REPO_ROOT, KitCall, KitRun

pytestmark = pytest.mark.kit

BACKENDS = [
    "reference_backends.immediate.ImmediateBackend",
    "reference_backends.dummy.DummyBackend",
]
#: The settings' TIME_ZONE set to UTC (``--task-time-zone``).
UTC = "--task-time-zone=UTC"
DJANGO_IMMEDIATE = f"{API_ROOT}.backends.immediate.ImmediateBackend"


@pytest.mark.parametrize(
    "backend",
    [pytest.param(b, marks=pytest.mark.kit_run(KitCall(b))) for b in BACKENDS],
)
def test_reference_backend_passes_the_whole_kit(kit_run: KitRun, backend: str) -> None:
    _assert_passes(kit_run)


@pytest.mark.kit_run(KitCall(DJANGO_IMMEDIATE, (UTC,)))
def test_djangos_immediate_backend_passes_in_utc(kit_run: KitRun) -> None:
    assert kit_run.report["time_zone"] == "UTC"
    _assert_passes(kit_run)


@pytest.mark.kit_run(KitCall(DJANGO_IMMEDIATE, (UTC,)))
def test_readme_sample_totals_are_this_run(kit_run: KitRun) -> None:
    # The README's sample terminal report is Django's ImmediateBackend on
    # Django 6.1: its totals are what that run counts today.
    if DJANGO_VERSION.release[:2] != (6, 1):
        pytest.skip("the README's sample is a run on Django 6.1")
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^totals: (.*) of \d+ clauses - CONFORMING$", readme, re.M)
    assert match, "README shows no totals line"
    sample = {
        name: int(n) for n, name in (p.split(" ", 1) for p in match[1].split(", "))
    }
    assert sample == kit_run.report["totals"]


def _assert_passes(run: KitRun) -> None:
    outcomes = run.outcomes()
    assert outcomes, run.output
    failed_or_warned = {cid: o for cid, o in outcomes.items() if o in {"fail", "warn"}}
    assert failed_or_warned == {}, run.output
    assert "pass" in outcomes.values()
    assert run.ret == 0, run.output
