"""Hypothesis strategies shared by the suites."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

from hypothesis import strategies as st

#: Fixed offsets: no zone database needed, and no imaginary local times.
OFFSETS = (
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=14)),
)

_EARLIEST, _LATEST = datetime(2000, 1, 1), datetime(2100, 1, 1)


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes, past and future, in several UTC offsets."""
    return st.datetimes(_EARLIEST, _LATEST, timezones=st.sampled_from(OFFSETS))


def naive_datetimes() -> st.SearchStrategy[datetime]:
    """Datetimes without a timezone."""
    return st.datetimes(_EARLIEST, _LATEST)


# -- JSON values (specs/json.toml) -------------------------------------------
#: Integers every JSON store keeps exactly (IEEE doubles hold 53 bits).
SAFE_INT = 2**53 - 1
#: Floats whose shortest repr has no exponent: PostgreSQL ``jsonb`` stores
#: numbers as ``numeric`` and prints 1e16 back as an int, which is the
#: store's choice, not a conformance failure.
SAFE_FLOAT = 1e15


def json_text(max_size: int = 12) -> st.SearchStrategy[str]:
    """Any text a JSON store keeps: no lone surrogates, no NUL (``jsonb`` rejects it)."""
    return st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        max_size=max_size,
    )


#: Strings Python's json round-trips that a casual store loses, by name (the
#: name appears in test ids): NUL (PostgreSQL ``text``/``jsonb`` refuse it),
#: lone surrogates (no UTF-8 form), characters beyond the BMP (MySQL's
#: ``utf8mb3``, UTF-16 slicing). A store that cannot hold one may refuse it
#: at enqueue (Django is silent); it must never change it.
AWKWARD_TEXT: dict[str, str] = {
    "nul": "a\x00b\x00",
    "lone-surrogates": "\ud800 x \udfff\udbff",
    "astral": "\U0001d11e \U0001f600 \U0010ffff",
}

#: Falsy JSON values: each is a value, not an absence (None included).
FALSY_VALUES: tuple[object, ...] = ([], {}, 0, "", False, None)


def awkward_arguments(name: str) -> tuple[tuple[object, ...], dict[str, object]]:
    """Arguments holding :data:`AWKWARD_TEXT` ``name``: alone, nested, as a key."""
    text = AWKWARD_TEXT[name]
    return (text, [text, {"k": text}]), {"key": text, text: [text]}


def json_scalars() -> st.SearchStrategy[object]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-SAFE_INT, max_value=SAFE_INT),
        st.floats(
            min_value=-SAFE_FLOAT,
            max_value=SAFE_FLOAT,
            allow_nan=False,
            allow_infinity=False,
        ),
        json_text(),
    )


def json_values(*, tuples: bool = False) -> st.SearchStrategy[object]:
    """Values that survive ``json.loads(json.dumps(v))`` unchanged.

    With ``tuples=True`` some arrays are tuples: those must come back as lists.
    """

    def containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
        arrays: st.SearchStrategy[object] = st.lists(children, max_size=4)
        if tuples:
            arrays = st.one_of(arrays, st.lists(children, max_size=4).map(tuple))
        return st.one_of(arrays, st.dictionaries(json_text(), children, max_size=4))

    return st.recursive(json_scalars(), containers, max_leaves=10)


def json_kwargs(*, tuples: bool = False) -> st.SearchStrategy[dict[str, object]]:
    """Keyword arguments: any str keys (a ``**kwargs`` task accepts them all)."""
    return st.dictionaries(json_text(), json_values(tuples=tuples), max_size=4)


class Opaque:
    """An arbitrary object: no JSON form."""

    def __repr__(self) -> str:
        return "conformance.strategies.Opaque()"


#: Values JSON cannot represent, by name (the name appears in test ids).
#: Int dict keys, bytes, NaN and Infinity are backend-defined (MAY): absent.
UNSERIALIZABLE: dict[str, Callable[[], object]] = {
    "set": lambda: {1, 2},
    "frozenset": lambda: frozenset({"a"}),
    "datetime": lambda: datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    "date": lambda: date(2024, 1, 2),
    "timedelta": lambda: timedelta(seconds=5),
    "decimal": lambda: Decimal("1.5"),
    "complex": lambda: complex(1, 2),
    "uuid": lambda: UUID(int=1),
    "object": Opaque,
}


def unserializable() -> st.SearchStrategy[object]:
    return st.sampled_from(sorted(UNSERIALIZABLE)).map(
        lambda name: UNSERIALIZABLE[name]()
    )


@st.composite
def poisoned_json(draw: st.DrawFn) -> object:
    """A JSON value with one unserializable leaf somewhere inside it.

    A backend that checks only the top level of each argument lets these
    through.
    """
    value = draw(unserializable())
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if draw(st.booleans()):
            siblings = draw(st.lists(json_scalars(), max_size=3))
            siblings.insert(draw(st.integers(0, len(siblings))), value)
            value = siblings
        else:
            mapping: dict[str, object] = draw(
                st.dictionaries(json_text(), json_scalars(), max_size=3)
            )
            # A key that is already there is replaced: the poison stays.
            mapping[draw(json_text())] = value
            value = mapping
    return value


#: Names one edit away from a configured queue: a sloppy check lets them in.
NEAR_MISS_QUEUE_NAMES = (
    "",
    "Default",
    "DEFAULT",
    "default ",
    " default",
    "queue-A",
    "queue-c",
    "queue",
)


def unknown_queue_names(configured: list[str]) -> st.SearchStrategy[str]:
    """Queue names outside ``configured``: near misses and arbitrary text."""
    return st.one_of(
        st.sampled_from(NEAR_MISS_QUEUE_NAMES), st.text(max_size=64)
    ).filter(lambda name: name not in configured)


def any_queue_names() -> st.SearchStrategy[str]:
    """Non-empty queue names (where QUEUES is []): no NUL, no lone surrogate."""
    return st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        min_size=1,
        max_size=32,
    )
