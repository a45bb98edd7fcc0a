"""Priority bounds (specs/priority.toml)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import compat, tasks
from conformance.support import Api, check_returns, check_using_refused, clause
from conformance.violation import check

LOW, HIGH = compat.TASK_MIN_PRIORITY, compat.TASK_MAX_PRIORITY


@clause("PRIORITY-IN-RANGE-ACCEPTED")
@given(priority=st.integers(min_value=LOW, max_value=HIGH))
def test_in_range_priority_accepted_by_using(priority: int) -> None:
    check_returns(
        lambda: tasks.noop.using(priority=priority),
        expected=f"noop.using(priority={priority}) returns a Task",
        repro=f"from conformance import tasks\ntasks.noop.using(priority={priority})",
    )


@clause("PRIORITY-IN-RANGE-ACCEPTED")
@pytest.mark.parametrize("priority", [LOW, -1, 1, HIGH])
def test_in_range_priority_accepted_by_enqueue(api: Api, priority: int) -> None:
    derived = tasks.noop.using(priority=priority)
    result = api.enqueue(derived)
    check(
        result.task.priority == priority,
        expected=f"the result's task keeps priority {priority}",
        observed=f"result.task.priority == {result.task.priority!r}",
        repro=f"tasks.noop.using(priority={priority}).{api.name('enqueue')}()",
    )


@clause("PRIORITY-OUT-OF-RANGE-REJECTED")
@given(
    priority=st.one_of(st.integers(max_value=LOW - 1), st.integers(min_value=HIGH + 1))
)
def test_out_of_range_priority_rejected(priority: int) -> None:
    check_using_refused(tasks.noop, "tasks.noop", priority=priority)


@clause("PRIORITY-FRACTIONAL-REJECTED")
@given(
    priority=st.floats(min_value=LOW, max_value=HIGH).filter(
        lambda value: value != int(value)
    )
)
def test_fractional_priority_rejected(priority: float) -> None:
    check_using_refused(tasks.noop, "tasks.noop", priority=priority)


@clause("PRIORITY-UNSUPPORTED-REJECTED")
@given(
    priority=st.integers(min_value=LOW, max_value=HIGH).filter(lambda value: value != 0)
)
def test_non_zero_priority_rejected_when_unsupported(priority: int) -> None:
    check_using_refused(
        tasks.noop, "tasks.noop", why=" (supports_priority=False)", priority=priority
    )
