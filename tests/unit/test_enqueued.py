"""``conformance.adapters.enqueued``: what a run enqueued, heard from ``task_enqueued``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conformance.adapters import Adapter
from conformance.adapters.enqueued import Enqueued, EnqueuedLog, heard_elsewhere
from conformance.backlog import Backlog
from conformance.versions import API_ROOT


def test_the_log_hears_each_enqueue_with_its_queue_and_run_after(
    reference_tasks: Any,
) -> None:
    log = EnqueuedLog()
    log.listen()
    try:
        later = datetime.now(UTC) + timedelta(hours=1)
        now_due = reference_tasks.add.using(backend="dummy").enqueue(1, 2)
        deferred = reference_tasks.add.using(
            backend="dummy", queue_name="other", run_after=later
        ).enqueue(3, 4)
    finally:
        log.stop()
    reference_tasks.add.using(backend="dummy").enqueue(5, 6)  # not listening

    entries = {entry.id: entry for entry in log.entries()}
    assert set(entries) == {now_due.id, deferred.id}
    assert entries[now_due.id].queue_name == "default"
    assert entries[deferred.id].queue_name == "other"
    assert entries[now_due.id].due(datetime.now(UTC))
    assert not entries[deferred.id].due(datetime.now(UTC))
    assert entries[deferred.id].due(later)


def test_forgotten_entries_are_not_due_but_still_known(reference_tasks: Any) -> None:
    log = EnqueuedLog()
    log.listen()
    try:
        first = reference_tasks.add.using(backend="dummy").enqueue(1, 2)
        second = reference_tasks.add.using(backend="dummy").enqueue(1, 2)
    finally:
        log.stop()
    log.forget({first.id})
    assert [entry.id for entry in log.entries()] == [second.id]
    # What close() removes from a broker: every id heard, forgotten or not.
    assert log.all_ids() == {first.id, second.id}


def test_enqueues_in_other_processes_are_recorded_by_every_listener() -> None:
    """The id-uniqueness clause's enqueues in other processes: unheard there,
    announced here, so that a broker's clean-up removes them (RQ kept 600)
    and the pass limit counts the ready ones."""
    log, backlog, stopped = EnqueuedLog(), Backlog(), EnqueuedLog()
    for listener in (log, backlog, stopped):
        listener.listen()
    stopped.stop()
    later = datetime.now(UTC) + timedelta(hours=1)
    ready = Enqueued("a", "default", None, "default")
    parked = Enqueued("b", "default", later, "default")
    try:
        heard_elsewhere([ready, parked])
    finally:
        log.stop()
        backlog.stop()
    assert log.all_ids() == {"a", "b"}
    assert stopped.all_ids() == set()
    assert backlog.count == 1  # the one deferred by an hour waits for no pass
    heard_elsewhere([ready])  # nobody listening: nothing recorded
    assert log.all_ids() == {"a", "b"}
    assert backlog.count == 1


def test_listening_twice_hears_once(reference_tasks: Any) -> None:
    log = EnqueuedLog()
    log.listen()
    log.listen()
    try:
        reference_tasks.add.using(backend="dummy").enqueue(1, 2)
    finally:
        log.stop()
    assert len(log.entries()) == 1


def test_an_adapter_has_nothing_to_remove_by_default() -> None:
    assert Adapter().close(object()) is None


@pytest.mark.skipif(
    API_ROOT == "django_tasks",
    reason="on Django 5.2 the backport is the API under test: its signal is the one heard",
)
def test_pending_hears_the_backports_task_enqueued_too(
    reference_tasks: Any, monkeypatch: Any
) -> None:
    """A backend written for the ``django-tasks`` backport sends that
    package's ``task_enqueued`` even on Django 6: a continuous worker must
    not be stopped before its tasks finished (a false "lost")."""
    import sys
    import types

    from django.dispatch import Signal

    from conformance.pending import Pending

    backport = types.ModuleType("django_tasks.signals")
    backport.task_enqueued = Signal()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "django_tasks", types.ModuleType("django_tasks"))
    monkeypatch.setitem(sys.modules, "django_tasks.signals", backport)

    result = reference_tasks.add.using(backend="dummy").enqueue(1, 2)  # unheard
    pending = Pending()
    pending.connect()
    try:
        backport.task_enqueued.send(sender=None, task_result=result)
    finally:
        pending.disconnect()
    assert pending.unfinished(None) == [result.id]
    assert pending.unfinished(["other-queue"]) == []
