"""The kit catches backends that get queue names wrong."""

from typing import Any

import pytest

pytestmark = pytest.mark.kit

BROKEN = "tests.broken.queues."
REVALIDATES = "QUEUES-ENQUEUE-REVALIDATES"


def test_ignored_queues_fail_and_warn(run_kit: Any) -> None:
    run = run_kit(BROKEN + "IgnoresQueues", clauses=["queues"])
    assert run.failed() == {"QUEUES-UNKNOWN-REJECTED"}, run.output
    assert run.outcome(REVALIDATES) == "warn"


def test_case_insensitive_queue_names_fail(run_kit: Any) -> None:
    run = run_kit(BROKEN + "CaseInsensitiveQueues", clauses=["queues"])
    assert run.failed() == {"QUEUES-UNKNOWN-REJECTED"}, run.output


def test_empty_queues_read_as_default_only_fails(run_kit: Any) -> None:
    run = run_kit(BROKEN + "EmptyQueuesMeansDefault", clauses=["queues"])
    assert run.failed() == {"QUEUES-EMPTY-ACCEPTS-ANY"}, run.output
    # Its Task cannot be built on this backend: not judged, not blamed.
    assert run.outcome(REVALIDATES) == "n/a"


def test_no_revalidation_in_enqueue_is_a_warning(run_kit: Any) -> None:
    run = run_kit(BROKEN + "TrustsTheTask", clauses=["queues"])
    assert run.outcome(REVALIDATES) == "warn"
    assert run.failed() == set()
    assert run.ret == 0


def test_queue_lost_at_enqueue_fails(run_kit: Any) -> None:
    run = run_kit(BROKEN + "SingleQueue", clauses=["queues"])
    assert run.failed() == {"QUEUES-CONFIGURED-ACCEPTED", "QUEUES-EMPTY-ACCEPTS-ANY"}
