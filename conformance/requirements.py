"""Requirements that gate clauses: feature flags and what the adapter can do.

A clause lists requirement names in ``requires``; ``"not X"`` negates one.
A test may add its own (``@clause("ID", requires=[...])``, or
``support.requires(...)`` on one parametrized case), checked the same way.
Flags drive the suite both ways: ``supports_priority`` gates the must-work
clauses, ``not supports_priority`` the must-raise ones. A clause whose
requirements do not hold is reported "n/a", never "pass".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import compat
from .adapters import Adapter
from .spec import Clause

FLAGS = (
    "supports_defer",
    "supports_async_task",
    "supports_get_result",
    "supports_priority",
    "supports_metadata",
)


@dataclass(frozen=True)
class Environment:
    """What requirements are evaluated against: the backend under test."""

    backend: Any
    adapter: Adapter

    def flags(self) -> dict[str, bool]:
        return {flag: bool(getattr(self.backend, flag, False)) for flag in FLAGS}


def _flag(name: str) -> Callable[[Environment], bool]:
    return lambda env: bool(getattr(env.backend, name, False))


#: Requirement name -> predicate. Descriptions are shown in "n/a" reasons.
REQUIREMENTS: dict[str, tuple[Callable[[Environment], bool], str]] = {
    **{flag: (_flag(flag), f"backend.{flag}") for flag in FLAGS},
    "executes": (
        lambda env: env.adapter.executes,
        "the backend executes tasks",
    ),
    "worker_driven": (
        lambda env: env.adapter.executes and env.adapter.worker_driven,
        "tasks wait for a worker (--task-worker or an adapter with one)",
    ),
    "record_access": (
        lambda env: env.adapter.record_access,
        "the adapter can reach stored task records",
    ),
    "synchronous": (
        lambda env: env.adapter.executes and env.adapter.synchronous,
        "the backend runs each task inside enqueue",
    ),
    # Worker capabilities (conformance.adapters.base.CAPABILITIES).
    "worker_selects_queues": (
        lambda env: env.adapter.selects_queues,
        "the worker runs only the queues it is given (its adapter declares it can)",
    ),
    "worker_in_other_threads": (
        lambda env: env.adapter.runs_in_other_threads,
        "the worker can be called from another thread (its adapter declares it can)",
    ),
    "worker_concurrent": (
        lambda env: env.adapter.runs_concurrently,
        "the worker can be called twice at once (its adapter declares it can)",
    ),
    "worker_orders_across_queues": (
        lambda env: env.adapter.orders_across_queues,
        "one worker call orders several queues by priority together (its adapter "
        "declares it does)",
    ),
}

#: Requirements an unsettled adapter (an unknown backend, not yet probed)
#: cannot answer at collection: they are decided again once it is probed.
ADAPTER_REQUIREMENTS = frozenset(
    {
        "executes",
        "worker_driven",
        "record_access",
        "synchronous",
        "worker_selects_queues",
        "worker_in_other_threads",
        "worker_concurrent",
        "worker_orders_across_queues",
    }
)


class UnknownRequirement(KeyError):
    pass


def names(requires: Iterable[str]) -> set[str]:
    """The requirement names in ``requires``, negations stripped."""
    return {requirement.removeprefix("not ").strip() for requirement in requires}


def unmet(clause: Clause, env: Environment, requires: Iterable[str] = ()) -> str | None:
    """Why ``clause`` does not apply to ``env``, or None when it applies.

    ``requires`` are a test's own requirements, on top of the clause's: one
    test of a clause may need what its siblings do not (a deferred task, a
    worker the kit can start twice).
    """
    if clause.django and not clause.versions.contains(
        compat.DJANGO_VERSION, prereleases=True
    ):
        return f"applies to Django {clause.django}, running {compat.DJANGO_VERSION}"
    for requirement in (*clause.requires, *requires):
        negated = requirement.startswith("not ")
        name = requirement.removeprefix("not ").strip()
        if name not in REQUIREMENTS:
            raise UnknownRequirement(
                f"clause {clause.id}: unknown requirement {name!r}"
            )
        if name in ADAPTER_REQUIREMENTS and not getattr(env.adapter, "settled", True):
            continue
        predicate, description = REQUIREMENTS[name]
        if predicate(env) == negated:
            if name in FLAGS:
                return f"applies where {description} is {not negated}"
            if negated:
                return f"applies only where it is false that {description}"
            return f"applies where {description}"
    return None
