"""support.json_difference, in process: stricter than ``==``, as JSON is."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.support import json_difference, json_round_trip


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -7,
        1.5,
        "",
        "ünï ✓",
        [],
        {},
        [1, [2, {"a": None}]],
        {"k": [False, 0, 0.0, ""], "n": {"deep": [1.25]}},
    ],
)
def test_a_json_value_does_not_differ_from_itself(value: Any) -> None:
    assert json_difference(value, json_round_trip(value)) is None


@pytest.mark.parametrize(
    ("expected", "observed", "difference"),
    [
        # True == 1 and 1 == 1.0 in Python, not in JSON.
        (True, 1, "value: expected bool True, observed int 1"),
        (1, True, "value: expected int 1, observed bool True"),
        (1, 1.0, "value: expected int 1, observed float 1.0"),
        (0.0, 0, "value: expected float 0.0, observed int 0"),
        (None, 0, "value: expected null None, observed int 0"),
        ([1, 2], (1, 2), "value: expected list [1, 2], observed tuple (1, 2)"),
        ("1", 1, "value: expected str '1', observed int 1"),
        ([1, 2], [1, 2, 3], "value: expected [1, 2], observed [1, 2, 3]"),
        ([1, [2, 3]], [1, [2, 4]], "value[1][1]: expected 3, observed 4"),
        (
            {"a": 1, "b": 2},
            {"a": 1},
            "value: expected keys ['a', 'b'], observed ['a']",
        ),
        (
            {"a": {"b": [True]}},
            {"a": {"b": [1]}},
            "value['a']['b'][0]: expected bool True, observed int 1",
        ),
        ("é", "e", "value: expected 'é', observed 'e'"),
    ],
)
def test_the_first_difference_is_named_with_its_path(
    expected: Any, observed: Any, difference: str
) -> None:
    assert json_difference(expected, observed) == difference


def test_the_path_starts_where_the_caller_says() -> None:
    assert json_difference([1], [2], "result.args") == (
        "result.args[0]: expected 1, observed 2"
    )


def test_json_round_trip_turns_tuples_into_lists() -> None:
    assert json_round_trip({"t": (1, (2,))}) == {"t": [1, [2]]}
