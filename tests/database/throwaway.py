"""What every throwaway server of the tests shares: started on entry, removed
on exit, removed too when it fails to start (nothing left running or on disk)."""

from __future__ import annotations

from types import TracebackType
from typing import Self


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
