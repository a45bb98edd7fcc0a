"""The admin's actions and counts, through Django's test client as a logged-in
staff user: the pages and POSTs a person in a browser would send."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client, override_settings
from django.test.utils import setup_test_environment, teardown_test_environment
from django.utils import timezone

from reference_backends.database.models import TaskRecord

CHANGELIST = "/admin/reference_tasks/taskrecord/"
ADMIN_SETTINGS = {
    "ROOT_URLCONF": "tests.database.admin_urls",
    "MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ],
    "TEMPLATES": [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]
            },
        }
    ],
}


@pytest.fixture
def admin_site(tasks: Any) -> Iterator[None]:
    # What Django's test runner does: among others, the test client then
    # records each response's template context.
    setup_test_environment()
    try:
        with override_settings(**ADMIN_SETTINGS):
            yield
    finally:
        teardown_test_environment()
        User.objects.all().delete()


@pytest.fixture
def staff(admin_site: None) -> Client:
    """A client logged in as a superuser (staff, every permission)."""
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "x"))
    return client


def stored(result: Any, **changes: Any) -> TaskRecord:
    """The row of ``result``, with ``changes`` written to it (a status, say)."""
    if changes:
        TaskRecord.objects.filter(id=result.id).update(**changes)
    return TaskRecord.objects.get(id=result.id)


def finished(result: Any, status: str) -> TaskRecord:
    return stored(result, status=status, finished_at=timezone.now())


def post_action(
    client: Client,
    action: str,
    records: list[TaskRecord],
    *,
    follow: bool = False,
    **extra: str,
) -> Any:
    """Select ``records`` on the changelist and run ``action`` (Django's form fields)."""
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(r.pk) for r in records], **extra},
        follow=follow,
    )


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# -- counts per queue and status --------------------------------------------------------
def test_the_changelist_counts_results_per_queue_and_status(
    staff: Client, tasks: Any
) -> None:
    for _ in range(2):
        tasks.add.enqueue(1, 1)
    tasks.add.using(queue_name="other").enqueue(1, 1)
    finished(tasks.add.enqueue(1, 1), "SUCCESSFUL")
    finished(tasks.add.using(queue_name="other").enqueue(1, 1), "FAILED")
    stored(tasks.add.enqueue(1, 1), status="RUNNING")

    response = staff.get(CHANGELIST)
    assert response.status_code == 200
    counts = response.context["status_counts"]
    assert counts["statuses"] == ["READY", "RUNNING", "FAILED", "SUCCESSFUL"]
    assert counts["rows"] == [("default", [2, 1, 0, 1], 4), ("other", [1, 0, 1, 0], 2)]
    assert (counts["totals"], counts["total"]) == ([3, 1, 1, 1], 6)
    html = response.content.decode()
    assert 'id="status-counts"' in html
    assert (
        '<th scope="row">other</th><td>1</td><td>0</td><td>1</td><td>0</td><td>2</td>'
        in html
    )

    # The counts follow the list's filters.
    response = staff.get(CHANGELIST, {"status__exact": "READY"})
    assert response.context["status_counts"]["rows"] == [
        ("default", [2, 0, 0, 0], 2),
        ("other", [1, 0, 0, 0], 1),
    ]
    assert "(filtered)" in response.content.decode()


# -- re-enqueue -----------------------------------------------------------------------
def test_reenqueue_makes_new_results_of_the_same_task_and_arguments(
    staff: Client, tasks: Any
) -> None:
    done = tasks.echo.using(priority=7, queue_name="other").enqueue(1, [2], k={"v": 3})
    call_command("task_worker", "--batch", verbosity=0)
    original = stored(done)
    assert original.status == "SUCCESSFUL"
    before = {f.name: getattr(original, f.name) for f in TaskRecord._meta.fields}

    response = post_action(staff, "reenqueue", [original], follow=True)
    assert response.status_code == 200
    assert messages_of(response) == ["Re-enqueued 1 result(s) as new results."]
    again = TaskRecord.objects.exclude(id=original.id).get()
    assert again.status == "READY"
    for field in (
        "task_path",
        "backend_name",
        "queue_name",
        "priority",
        "args",
        "kwargs",
    ):
        assert getattr(again, field) == getattr(original, field), field
    # The original is untouched.
    after = TaskRecord.objects.get(id=original.id)
    assert {f.name: getattr(after, f.name) for f in TaskRecord._meta.fields} == before

    call_command("task_worker", "--batch", verbosity=0)
    result = tasks.echo.get_result(str(again.id).replace("-", ""))
    assert result.return_value == {"args": [1, [2]], "kwargs": {"k": {"v": 3}}}


def test_reenqueue_refuses_a_path_that_is_not_a_task(staff: Client, tasks: Any) -> None:
    good = stored(tasks.add.enqueue(2, 3))
    tampered = stored(
        tasks.add.enqueue(4, 5), task_path="tests.database.tasks.not_a_task"
    )
    response = post_action(staff, "reenqueue", [good, tampered], follow=True)
    [ok, refused] = messages_of(response)
    assert ok == "Re-enqueued 1 result(s) as new results."
    assert refused.startswith("Could not re-enqueue 1 result(s): ")
    assert str(tampered.pk).replace("-", "") in refused
    assert "refusing to run it" in refused
    assert TaskRecord.objects.count() == 3  # one new result: the good one's


def test_reenqueue_needs_the_add_permission(admin_site: None, tasks: Any) -> None:
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_taskrecord"))
    client = Client()
    client.force_login(viewer)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    actions = re.findall(r'<option value="(\w+)"', response.content.decode())
    assert "reenqueue" not in actions
    assert "delete_selected" not in actions
    record = stored(tasks.add.enqueue(1, 1))
    post_action(client, "reenqueue", [record])
    assert TaskRecord.objects.count() == 1


# -- delete finished ------------------------------------------------------------------
def test_delete_only_finished_results(staff: Client, tasks: Any) -> None:
    successful = finished(tasks.add.enqueue(1, 1), "SUCCESSFUL")
    failed = finished(tasks.add.enqueue(1, 1), "FAILED")
    ready = stored(tasks.add.enqueue(1, 1))
    running = stored(tasks.add.enqueue(1, 1), status="RUNNING")
    everything = [successful, failed, ready, running]

    # Django's confirmation page, for the finished ones only.
    response = post_action(staff, "delete_selected", everything)
    assert response.status_code == 200
    assert (
        "Skipped 2 selected result(s) that are READY or RUNNING"
        in messages_of(response)[0]
    )
    confirm = response.content.decode()
    assert [r.pk for r in everything if str(r.pk) in confirm] == [
        successful.pk,
        failed.pk,
    ]

    # Confirmed, even with every row still selected: only finished ones go.
    response = post_action(
        staff, "delete_selected", everything, post="yes", follow=True
    )
    assert response.status_code == 200
    assert set(TaskRecord.objects.values_list("status", flat=True)) == {
        "READY",
        "RUNNING",
    }
    said = messages_of(response)
    assert any("Skipped 2 selected result(s)" in message for message in said), said
    assert any("Successfully deleted 2" in message for message in said), said


def test_nothing_finished_to_delete(staff: Client, tasks: Any) -> None:
    ready = stored(tasks.add.enqueue(1, 1))
    response = post_action(staff, "delete_selected", [ready], follow=True)
    assert messages_of(response) == [
        "Skipped 1 selected result(s) that are READY or RUNNING: "
        "only finished results are deleted."
    ]
    assert TaskRecord.objects.filter(id=ready.id).exists()


def test_a_ready_result_has_no_delete_page(staff: Client, tasks: Any) -> None:
    ready = stored(tasks.add.enqueue(1, 1))
    done = finished(tasks.add.enqueue(1, 1), "SUCCESSFUL")
    assert staff.get(f"{CHANGELIST}{ready.pk}/delete/").status_code == 403
    assert staff.get(f"{CHANGELIST}{done.pk}/delete/").status_code == 200


def test_the_schedule_state_is_listed(staff: Client, tasks: Any) -> None:
    from reference_backends.database.models import ScheduleState

    ScheduleState.objects.create(
        backend_name="default", name="nightly", last_due_at=timezone.now()
    )
    try:
        response = staff.get("/admin/reference_tasks/schedulestate/")
        assert response.status_code == 200
        assert "nightly" in response.content.decode()
    finally:
        ScheduleState.objects.all().delete()
