"""Dummy backends with one hook each: the building blocks of the enqueue,
JSON and get_result broken backends."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from conformance import compat
from reference_backends._lifecycle import new_result
from reference_backends.dummy import DummyBackend

if TYPE_CHECKING:
    from .expect import Expect


class AlteringDummy(DummyBackend):
    """The reference dummy, with :meth:`alter` applied to each stored record.

    The record and every copy handed out agree, so only the altered field is
    wrong, wherever the kit looks at it. Copies are shallow: the reference's
    JSON copies would repair an altered ``args``.
    """

    expect: Expect | None = None  # a base: it breaks nothing itself

    def alter(self, result: Any) -> None:
        """Change the READY record ``result`` in place (see ``update``)."""

    def _store(self, task: Any, args: Any, kwargs: Any) -> Any:
        self.validate_task(task)
        result = new_result(self, task, args, kwargs)
        self.alter(result)
        self._results.append(result)
        return copy.copy(result)

    def get_result(self, result_id: str) -> Any:
        for result in self._results:
            if result.id == result_id:
                return copy.copy(result)
        raise compat.TaskResultDoesNotExist(result_id)


class RawDummy(DummyBackend):
    """Stores what :meth:`store_arguments` makes of the arguments, and hands the
    records out as they are: no JSON copies hide what was stored."""

    expect: Expect | None = None  # a base: it breaks nothing itself

    def store_arguments(
        self, args: list[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Any]:
        """What to keep: by default deep copies, refusing nothing."""
        return copy.deepcopy(args), copy.deepcopy(kwargs)

    def _store(self, task: Any, args: Any, kwargs: Any) -> Any:
        self.validate_task(task)
        stored_args, stored_kwargs = self.store_arguments(list(args), dict(kwargs))
        result = new_result(self, task, [], {})
        object.__setattr__(result, "args", stored_args)
        object.__setattr__(result, "kwargs", stored_kwargs)
        self._results.append(result)
        return result

    def get_result(self, result_id: str) -> Any:
        for result in self._results:
            if result.id == result_id:
                return result
        raise compat.TaskResultDoesNotExist(result_id)

    @property
    def results(self) -> list[Any]:
        return list(self._results)
