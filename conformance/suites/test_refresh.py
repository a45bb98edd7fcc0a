"""refresh() and arefresh() after the task ran (specs/refresh.toml)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.driver import observable
from conformance.result_comparison import check_fields, result_fields
from conformance.shared_batch import Label, SharedBatches
from conformance.support import Api, answer_or_none, clause, not_applicable

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
    api: Api, shared_batches: SharedBatches, label: Label
) -> None:
    job, result = shared_batches.finished(label, api.form)
    fresh = _fresh(api, shared_batches.backend, result.id)
    if fresh is None:
        not_applicable(
            "get_result raises NotImplementedError (supports_get_result=False)"
        )
    fresh_fields, held_fields = result_fields(fresh), result_fields(result)
    check_fields(
        {name: fresh_fields.get(name) for name in OUTCOME},
        {name: held_fields.get(name) for name in OUTCOME},
        expected=f"result.{api.name('refresh')}() shows what a fresh get_result shows",
        repro=job.repro,
    )


@clause("REFRESH-KEEPS-INPUTS")
@pytest.mark.parametrize("label", LABELS)
def test_inputs_kept(api: Api, shared_batches: SharedBatches, label: Label) -> None:
    backend = shared_batches.backend
    job = shared_batches.job(label, api.form)
    result = job.outcome(backend)
    given = {name: job.at_enqueue[name] for name in INPUTS}
    seen = {"refreshed": result}
    fresh = _fresh(api, backend, result.id)
    if fresh is not None:
        seen["fetched"] = fresh
    for how, observed in seen.items():
        fields = result_fields(observed)
        check_fields(
            given,
            {name: fields[name] for name in INPUTS},
            expected=f"the {how} result keeps the inputs given at enqueue",
            repro=job.repro,
        )
    observable(job.unobservable, backend, label)
