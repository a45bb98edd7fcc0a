"""refresh() and arefresh() after the task ran (specs/refresh.toml)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.adapters import Adapter
from conformance.driver import observable
from conformance.result_comparison import field_differences, result_fields
from conformance.shared_batch import Label, shared_batch
from conformance.support import Api, answer_or_none, clause, not_applicable
from conformance.violation import check

LABELS = [Label.CAPTURE, Label.RETURN_SAMPLE, Label.FAIL_TASK_FAILURE]
INPUTS = ("id", "args", "kwargs", "backend", "task")
#: What refresh() updates (Django's TASK_REFRESH_ATTRS, as the user sees them).
OUTCOME = (
    "status",
    "is_finished",
    "return_value",
    "errors",
    "worker_ids",
    "attempts",
    "enqueued_at",
    "started_at",
    "last_attempted_at",
    "finished_at",
)


def _fresh(api: Api, task_backend: Any, result_id: str) -> Any:
    """A fresh get_result in ``api``'s form; None where it may be unsupported."""
    __tracebackhide__ = True
    return answer_or_none(
        lambda: api.get_result(task_backend, result_id),
        task_backend,
        what=api.name("get_result"),
    )


@clause("REFRESH-SHOWS-OUTCOME")
@pytest.mark.parametrize("label", LABELS)
def test_refresh_shows_outcome(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job = shared_batch(task_adapter, task_backend).job(label, api.form)
    result = job.finished(task_backend)
    fresh = _fresh(api, task_backend, result.id)
    if fresh is None:
        not_applicable(
            "get_result raises NotImplementedError (supports_get_result=False)"
        )
    fresh_fields, held_fields = result_fields(fresh), result_fields(result)
    differences = field_differences(
        {name: fresh_fields.get(name) for name in OUTCOME},
        {name: held_fields.get(name) for name in OUTCOME},
    )
    check(
        not differences,
        expected=f"result.{api.name('refresh')}() shows what a fresh get_result shows",
        observed="; ".join(differences),
        repro=job.repro,
    )


@clause("REFRESH-KEEPS-INPUTS")
@pytest.mark.parametrize("label", LABELS)
def test_inputs_kept(
    api: Api, task_adapter: Adapter, task_backend: Any, label: Label
) -> None:
    job = shared_batch(task_adapter, task_backend).job(label, api.form)
    result = job.outcome(task_backend)
    given = {name: job.at_enqueue[name] for name in INPUTS}
    seen = {"refreshed": result}
    fresh = _fresh(api, task_backend, result.id)
    if fresh is not None:
        seen["fetched"] = fresh
    for how, observed in seen.items():
        fields = result_fields(observed)
        differences = field_differences(given, {name: fields[name] for name in INPUTS})
        check(
            not differences,
            expected=f"the {how} result keeps the inputs given at enqueue",
            observed="; ".join(differences),
            repro=job.repro,
        )
    observable(job.unobservable, task_backend, label)
