"""What the kit must report on a broken backend, declared on the backend's class.

A class in ``tests/broken/`` that breaks a rule says, in its own body, which
clauses the kit must fail and warn on::

    class LongIds(AlteringDummy):
        expect = Expect("enqueue", fails={"ENQUEUE-ID-FORMAT"})

``tests/test_broken_backends.py`` runs the kit once per declaring class, on
the clauses or families named (several runs at once), and compares: exactly
these failures, exactly these warnings, the other ``outcomes`` listed, and
exit status 1 when anything fails, else 0. Subclasses do not inherit a
declaration: each class that breaks something says what. A class that
exists to be built on says ``expect = None``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from packaging.specifiers import SpecifierSet


@dataclass(frozen=True, init=False)
class Expect:
    #: What ``--task-clause`` selects: clause IDs or family IDs.
    clauses: tuple[str, ...]
    fails: frozenset[str]
    warns: frozenset[str]
    #: Outcomes of further clauses that must hold (``{"X-Y": "n/a"}``).
    outcomes: Mapping[str, str]
    #: Further kit options (a worker, an adapter, a timeout).
    options: tuple[str, ...]
    #: Django versions this expectation applies to ("" for all).
    django: str = field(default="")

    def __init__(
        self,
        *clauses: str,
        fails: Iterable[str] = (),
        warns: Iterable[str] = (),
        outcomes: Mapping[str, str] | None = None,
        options: Iterable[str] = (),
        django: str = "",
    ) -> None:
        if not clauses:
            raise TypeError("Expect needs the clauses or families the kit runs")
        set_ = object.__setattr__  # frozen: assign once, here
        set_(self, "clauses", clauses)
        set_(self, "fails", frozenset(fails))
        set_(self, "warns", frozenset(warns))
        set_(self, "outcomes", MappingProxyType(dict(outcomes or {})))
        set_(self, "options", tuple(options))
        set_(self, "django", django)
        SpecifierSet(django)  # a malformed specifier fails at import

    def applies_to(self, django_version: str) -> bool:
        return SpecifierSet(self.django).contains(django_version, prereleases=True)

    @property
    def exit_status(self) -> int:
        return 1 if self.fails else 0


@dataclass(frozen=True)
class BrokenBackend:
    """A declaring class, by the dotted path the kit is given."""

    path: str
    expect: Expect


def _classes(package: str) -> Iterator[tuple[str, type]]:
    """``(dotted path, class)`` of every class defined in ``package``'s modules."""
    root = importlib.import_module(package)
    for info in pkgutil.iter_modules(root.__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:  # not one imported there
                yield f"{module.__name__}.{name}", cls


def declared(package: str = "tests.broken") -> Iterator[BrokenBackend]:
    """Every class that declares what the kit must report on it."""
    for path, cls in _classes(package):
        expect = vars(cls).get("expect")
        if isinstance(expect, Expect):
            yield BrokenBackend(path, expect)


def undeclared(package: str = "tests.broken") -> Iterator[str]:
    """Public backend classes that declare nothing (not even ``expect = None``)."""
    from conformance import compat

    for path, cls in _classes(package):
        name = path.rsplit(".", 1)[1]
        if (
            issubclass(cls, compat.BaseTaskBackend)
            and not name.startswith("_")
            and "expect" not in vars(cls)
        ):
            yield path
