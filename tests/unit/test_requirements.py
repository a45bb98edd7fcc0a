"""requirements.unmet, in process: when a clause (or one test of it) applies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conformance import compat
from conformance.requirements import Environment, UnknownRequirement, unmet
from conformance.spec import Clause, Family


@dataclass
class FakeBackend:
    supports_defer: bool = False
    supports_priority: bool = True


@dataclass
class FakeAdapter:
    executes: bool = True
    worker_driven: bool = False
    synchronous: bool = False
    record_access: bool = False
    settled: bool = True


def _clause(*requires: str, django: str = "") -> Clause:
    return Clause(
        "DEMO-ONE", Family("demo", "Demo", ""), "MUST", "t", "s", django, requires
    )


def _env(backend: Any = None, adapter: Any = None) -> Environment:
    return Environment(
        backend=backend or FakeBackend(), adapter=adapter or FakeAdapter()
    )


def test_a_clause_without_requirements_applies() -> None:
    assert unmet(_clause(), _env()) is None


@pytest.mark.parametrize(
    ("requires", "reason"),
    [
        (("supports_defer",), "applies where backend.supports_defer is True"),
        (
            ("not supports_priority",),
            "applies where backend.supports_priority is False",
        ),
        (("worker_driven",), "applies where tasks wait for a worker"),
        (("not executes",), "applies only where it is false that the backend executes"),
    ],
)
def test_an_unmet_requirement_says_why(requires: tuple[str, ...], reason: str) -> None:
    found = unmet(_clause(*requires), _env())
    assert found is not None
    assert found.startswith(reason), found


def test_met_requirements_apply() -> None:
    env = _env(FakeBackend(supports_defer=True), FakeAdapter(worker_driven=True))
    assert (
        unmet(_clause("supports_defer", "worker_driven", "not synchronous"), env)
        is None
    )


def test_a_tests_own_requirements_count_too() -> None:
    assert unmet(_clause(), _env(), ["supports_defer"]) == (
        "applies where backend.supports_defer is True"
    )
    # The clause's own requirement is reported first.
    assert unmet(_clause("not supports_priority"), _env(), ["supports_defer"]) == (
        "applies where backend.supports_priority is False"
    )


def test_adapter_requirements_wait_for_an_unsettled_adapter() -> None:
    # Unknown until the backend is probed: decided again after the probe.
    env = _env(adapter=FakeAdapter(executes=False, settled=False))
    assert unmet(_clause("executes"), env) is None
    assert unmet(_clause("supports_defer"), env) is not None


def test_django_versions_gate_first() -> None:
    other = f"<{compat.DJANGO_VERSION}"
    assert unmet(_clause(django=other), _env()) == (
        f"applies to Django {other}, running {compat.DJANGO_VERSION}"
    )
    assert unmet(_clause(django=f">={compat.DJANGO_VERSION}"), _env()) is None


def test_an_unknown_requirement_is_an_error() -> None:
    with pytest.raises(UnknownRequirement, match="teleport"):
        unmet(_clause(), _env(), ["not supports_teleport"])


def _worker(**capabilities: bool) -> Any:
    def worker(backend: Any, queue_names: Any = None) -> None:
        return None

    for name, value in capabilities.items():
        setattr(worker, name, value)
    return worker


def test_a_worker_callable_declares_what_it_cannot_do() -> None:
    from conformance.adapters import Adapter

    adapter = Adapter(worker=_worker(selects_queues=False))
    assert (adapter.selects_queues, adapter.runs_concurrently) == (False, True)
    assert "not selects_queues" in adapter.describe()
    reason = unmet(
        _clause("worker_driven", "worker_selects_queues"), _env(None, adapter)
    )
    assert reason is not None
    assert "runs only the queues it is given" in reason
    assert unmet(_clause("worker_concurrent"), _env(None, adapter)) is None


def test_undeclared_capabilities_are_assumed() -> None:
    from conformance.adapters import Adapter

    adapter = Adapter(worker=_worker())
    for requirement in (
        "worker_selects_queues",
        "worker_in_other_threads",
        "worker_concurrent",
    ):
        assert unmet(_clause(requirement), _env(None, adapter)) is None
    assert "not " not in adapter.describe()


def test_a_worker_that_takes_queues_in_turn_is_ordered_within_one_queue() -> None:
    # dj-queue's workers take their queues in selector order, and a
    # django-tasks-concurrent worker serves one queue: priority across the
    # queues of one call is not theirs to keep, and not Django's to ask.
    from conformance.adapters import Adapter

    adapter = Adapter(worker=_worker(orders_across_queues=False))
    assert not adapter.orders_across_queues
    assert "not orders_across_queues" in adapter.describe()
    reason = unmet(_clause("worker_orders_across_queues"), _env(None, adapter))
    assert reason is not None
    assert "orders several queues by priority together" in reason
    assert (
        unmet(
            _clause("worker_orders_across_queues"),
            _env(None, Adapter(worker=_worker())),
        )
        is None
    )
