"""Backends that get JSON arguments wrong (specs/json.toml)."""

from __future__ import annotations

import copy
import json
from typing import Any

from reference_backends._lifecycle import json_round_trip, snapshot, update

from .expect import Expect
from .storing import RawDummy


def _validated(value: Any) -> Any:
    """Refuse what JSON cannot hold, as a correct backend does; keep ``value``."""
    json.dumps(value)
    return copy.deepcopy(value)


class KeepsTuples(RawDummy):
    """Validates the arguments but stores them as given: nested tuples stay tuples."""

    expect = Expect(
        "json", fails={"JSON-GET-RESULT-PRESERVES", "JSON-TUPLES-BECOME-LISTS"}
    )

    def store_arguments(
        self, args: list[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Any]:
        return _validated(args), _validated(kwargs)


def _bools_as_ints(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return [_bools_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _bools_as_ints(item) for key, item in value.items()}
    return value


class BoolsAsInts(RawDummy):
    """Stores True and False as 1 and 0 (a store without a boolean type)."""

    expect = Expect(
        "json",
        fails={
            "JSON-GET-RESULT-PRESERVES",
            "JSON-TUPLES-BECOME-LISTS",
            "JSON-VALUES-PRESERVED",
        },
    )

    def store_arguments(
        self, args: list[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Any]:
        return _bools_as_ints(json_round_trip(args)), _bools_as_ints(
            json_round_trip(kwargs)
        )


def _lists_for_tuples(value: Any) -> Any:
    """Tuples become lists, as in JSON; anything else is kept as it is."""
    if isinstance(value, list | tuple):
        return [_lists_for_tuples(item) for item in value]
    if isinstance(value, dict):
        return {key: _lists_for_tuples(item) for key, item in value.items()}
    return value


class StoresUnserializable(RawDummy):
    """Refuses nothing: sets, datetimes and objects are stored as they are."""

    expect = Expect(
        "json",
        fails={"JSON-UNSERIALIZABLE-NOT-STORED"},
        warns={"JSON-UNSERIALIZABLE-REJECTED"},
    )

    def store_arguments(
        self, args: list[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Any]:
        return _lists_for_tuples(args), _lists_for_tuples(kwargs)


class ChecksTopLevelOnly(RawDummy):
    """Refuses an unserializable argument, but not one nested inside a list or dict."""

    expect = Expect(
        "json",
        fails={"JSON-UNSERIALIZABLE-NOT-STORED"},
        warns={"JSON-UNSERIALIZABLE-REJECTED"},
    )

    def store_arguments(
        self, args: list[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Any]:
        for value in [*args, *kwargs.values()]:
            if not isinstance(
                value, list | tuple | dict | str | int | float | type(None)
            ):
                raise TypeError(f"cannot store {type(value).__name__}")
        return _lists_for_tuples(args), _lists_for_tuples(kwargs)


class ConvertsSilently(RawDummy):
    """Stores str() of what JSON cannot hold, instead of refusing it."""

    expect = Expect("json", warns={"JSON-UNSERIALIZABLE-REJECTED"})

    def store_arguments(
        self, args: list[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Any]:
        def convert(value: Any) -> Any:
            return json.loads(json.dumps(value, default=str))

        return convert(args), convert(kwargs)


def _shared(value: Any) -> Any:
    """Tuples become lists; lists and dicts that hold none are the caller's own."""
    if isinstance(value, tuple):
        return [_shared(item) for item in value]
    if isinstance(value, list):
        items = [_shared(item) for item in value]
        return (
            value if all(a is b for a, b in zip(items, value, strict=True)) else items
        )
    if isinstance(value, dict):
        mapping = {key: _shared(item) for key, item in value.items()}
        same = all(mapping[key] is item for key, item in value.items())
        return value if same else mapping
    return value


class KeepsReferences(RawDummy):
    """Validates, but keeps the caller's own lists and dicts (no copy)."""

    expect = Expect("json", warns={"JSON-ARGS-SNAPSHOT"})

    def store_arguments(
        self, args: list[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Any]:
        json.dumps([args, kwargs])
        return [_shared(item) for item in args], {
            k: _shared(v) for k, v in kwargs.items()
        }


def _floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _floats_as_ints(item) for key, item in value.items()}
    return value


class LossyGetResult(RawDummy):
    """Enqueue is right; get_result reads 1.0 back as 1 (a lossy store)."""

    expect = Expect("json", fails={"JSON-GET-RESULT-PRESERVES"})

    def store_arguments(
        self, args: list[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Any]:
        return json_round_trip(args), json_round_trip(kwargs)

    def get_result(self, result_id: str) -> Any:
        found = snapshot(super().get_result(result_id))
        update(
            found,
            args=_floats_as_ints(found.args),
            kwargs=_floats_as_ints(found.kwargs),
        )
        return found
