"""Entries are validated strictly, and their settings rendered as the README says."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.settings_file import QUEUES
from matrix import settings_module
from matrix.entry import EntryError, load_all, parse
from matrix.run import kit_command

MINIMAL: dict[str, Any] = {
    "title": "X",
    "requirement": "x-backend==1.0",
    "django": "Django>=6.1,<6.2",
    "backend": "x.Backend",
}


def test_every_committed_entry_is_valid() -> None:
    entries = load_all()
    assert {
        "django-immediate",
        "reference-database",
        "django-tasks-db-postgres",
    } <= set(entries)
    assert entries["django-tasks-db-postgres"].database == "postgres"
    assert entries["django-immediate"].distribution == "Django"
    assert entries["reference-dummy"].distribution == ""  # the kit's version


def test_a_minimal_entry_has_the_defaults() -> None:
    entry = parse("x", MINIMAL)
    assert (entry.python, entry.database, entry.services) == ("3.12", "sqlite", ())
    assert entry.distribution == "x-backend"
    assert entry.requirements == ("Django>=6.1,<6.2", "x-backend==1.0")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"worker": "rqworker"}, "unknown key(s) ['worker']"),
        ({"title": None}, "missing key(s) ['title']"),
        ({"services": "redis"}, "services must be a list"),
        ({"services": ["mysql"]}, "services must be among"),
        ({"installed_apps": [1]}, "installed_apps must be a list of strings"),
        ({"database": "postgres"}, "needs service 'postgres'"),
        ({"database": "oracle"}, "database must be one of"),
        ({"requirement": "x backend ==="}, "is not a requirement"),
        ({"pins": ["redis=8"]}, "is not a requirement"),
        ({"django": ""}, "django must name"),
        ({"backend": "Backend"}, "dotted path"),
        ({"settings": []}, "settings must be a dict"),
    ],
)
def test_a_malformed_entry_is_an_error(change: dict[str, Any], message: str) -> None:
    data = {**MINIMAL, **change}
    data = {key: value for key, value in data.items() if value is not None}
    with pytest.raises(EntryError) as raised:
        parse("x", data)
    assert message in str(raised.value)


def test_settings_name_the_services_and_repeat_per_queue() -> None:
    settings = {
        "RQ_QUEUES": {"{queues}": {"URL": "{redis_url}/0"}},
        "BROKER": "{redis_url}/1",
        "FLAGS": [True, None, 1.5],
    }
    text = settings_module.module_text("x", settings, {"redis_url": "redis://h:1"})
    namespace: dict[str, Any] = {}
    exec(compile(text, "matrix_settings.py", "exec"), namespace)
    assert namespace["RQ_QUEUES"] == {name: {"URL": "redis://h:1/0"} for name in QUEUES}
    assert namespace["BROKER"] == "redis://h:1/1"
    assert namespace["FLAGS"] == [True, None, 1.5]
    assert namespace["USE_TZ"] is True


def test_the_kit_command_carries_apps_options_and_extra_arguments(
    tmp_path: Any,
) -> None:
    entry = parse(
        "x",
        {
            **MINIMAL,
            "installed_apps": ["a", "b"],
            "options": {"CELERY_APP": "p.app", "REDIS_URL": "{redis_url}/2"},
            "kit_args": ["--task-timeout=20"],
        },
    )
    command = kit_command(
        entry,
        tmp_path / "python",
        "sqlite:///db",
        tmp_path / "r.json",
        {"redis_url": "redis://h:1"},
    )
    assert command[1:3] == ["-m", "pytest"]
    assert "--task-backend=x.Backend" in command
    assert "--task-installed-apps=a,b" in command
    # Placeholders are filled in OPTIONS as in the settings.
    assert (
        '--task-backend-options={"CELERY_APP": "p.app", "REDIS_URL": "redis://h:1/2"}'
        in command
    )
    assert command[-1] == "--task-timeout=20"
