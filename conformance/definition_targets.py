"""Undecorated module-level callables the definition suites decorate at test time.

Nothing here is a Task: a suite applies ``compat.task`` inside the test, so
the backend under test validates it there and then. Every function is valid
in all respects but the one a test is about, so an ``InvalidTask`` can only
come from the rule under test. These Tasks are never enqueued: their module
attribute is a plain function, which a worker must refuse to run.
"""

from __future__ import annotations

import asyncio
from typing import Any


def plain() -> None:
    return None


def with_arguments(a: int, b: int = 2, *args: Any, **kwargs: Any) -> int:
    return a + b


# -- takes_context: the first parameter must be named exactly "context" --
def context_first(context: Any) -> None:
    return None


def context_first_with_more(
    context: Any, value: int, *args: Any, **kwargs: Any
) -> None:
    return None


def no_parameters() -> None:
    return None


def context_misnamed_ctx(ctx: Any) -> None:
    return None


def context_misnamed_capitalised(Context: Any) -> None:  # noqa: N803 - the point
    return None


def context_misnamed_suffix(context_: Any) -> None:
    return None


def context_second(value: Any, context: Any) -> None:
    return None


# -- coroutine functions, for the async gating rules --
async def coroutine() -> None:
    await asyncio.sleep(0)


async def coroutine_with_context(context: Any) -> None:
    await asyncio.sleep(0)


# -- callables that are not module-level functions --
class NotAFunction:
    """A class (callable, but not a function) and the owner of a bound method."""

    def method(self) -> None:
        return None

    @classmethod
    def class_method(cls) -> None:
        return None

    def __call__(self) -> None:
        return None


def partial_target(a: int, b: int) -> int:
    return a + b
