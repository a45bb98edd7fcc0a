"""Hypothesis strategies shared by the suites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

#: Fixed offsets: no zone database needed, and no imaginary local times.
OFFSETS = (
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=14)),
)

_RANGE = {"min_value": datetime(2000, 1, 1), "max_value": datetime(2100, 1, 1)}


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes, past and future, in several UTC offsets."""
    return st.datetimes(**_RANGE, timezones=st.sampled_from(OFFSETS))


def naive_datetimes() -> st.SearchStrategy[datetime]:
    """Datetimes without a timezone."""
    return st.datetimes(**_RANGE)
