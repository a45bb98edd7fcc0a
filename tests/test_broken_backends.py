"""The kit fails each broken backend on exactly the clauses it declares.

Every class in ``tests/broken/`` that breaks a rule declares what the kit
must report (``expect = Expect(...)``, see :mod:`tests.broken.expect`). This
runs the kit once per class, on the clauses it names, many at once, and
compares the report with the declaration.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import compat
from tests.broken.expect import BrokenBackend, declared, undeclared
from tests.kit_runner import KitCall, KitRun

pytestmark = pytest.mark.kit

BROKEN = sorted(declared(), key=lambda broken: broken.path)


def _call(broken: BrokenBackend) -> KitCall:
    expect = broken.expect
    return KitCall(broken.path, expect.options, expect.clauses)


def _param(broken: BrokenBackend) -> Any:
    expect = broken.expect
    mark = (
        pytest.mark.kit_run(_call(broken))
        if expect.applies_to(compat.DJANGO_VERSION)
        else pytest.mark.skip(reason=f"declared for Django {expect.django}")
    )
    return pytest.param(
        broken, id=broken.path.removeprefix("tests.broken."), marks=mark
    )


@pytest.mark.parametrize("broken", [_param(broken) for broken in BROKEN])
def test_broken_backend_fails_its_clauses(
    kit_run: KitRun, broken: BrokenBackend
) -> None:
    expect = broken.expect
    observed = {clause: kit_run.outcomes().get(clause) for clause in expect.outcomes}
    assert (kit_run.failed(), kit_run.warned(), observed) == (
        expect.fails,
        expect.warns,
        dict(expect.outcomes),
    ), kit_run.output[-6000:]
    assert kit_run.ret == expect.exit_status, kit_run.output[-3000:]


def test_every_broken_backend_declares_what_it_breaks() -> None:
    """A backend class in tests/broken/ that declares nothing is checked by nothing."""
    assert not list(undeclared()), list(undeclared())
