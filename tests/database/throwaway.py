"""What every throwaway server of the tests shares: started on entry, removed
on exit, removed too when it fails to start (nothing left running or on disk)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Self, TypeVar

Server = TypeVar("Server", bound="ThrowawayServer")


class ThrowawayServer:
    """A server the tests start and remove: subclasses define both."""

    def start(self) -> None:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()


@contextlib.contextmanager
def running_for_tests(
    make: Callable[[], Server], unavailable: type[Exception]
) -> Iterator[Server]:
    """A running server for a test session: skipped, saying why, when this
    machine cannot run one (``unavailable``), but failing on CI, which
    installs what it needs."""
    import pytest

    try:
        server = make()
    except unavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    with server:
        yield server
