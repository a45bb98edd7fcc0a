"""The Django settings the kit runs under, shared with worker processes.

The kit writes its configuration to a JSON file and points
``DJANGO_SETTINGS_MODULE`` at :mod:`conformance.django_settings`, which reads
it. A worker started as a subprocess inherits the environment and so sees
exactly the settings of the test run: same database, same TASKS.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .versions import DEFAULT_ALIAS, REQUIRED_APPS

ENV_VAR = "CONFORMANCE_SETTINGS_FILE"

#: Queue names the "default" alias accepts; the suites use them all. "queue"
#: is a prefix of "queue-a", and "QUEUE-A" differs from it only in case: a
#: worker that matches queue names loosely runs the wrong queue's tasks.
QUEUES = ["default", "queue-a", "queue-b", "queue", "QUEUE-A"]

#: The kit's own TIME_ZONE: not UTC, and not a whole number of hours from it
#: (+05:45). A backend that mixes naive local and UTC clocks is right in UTC
#: by accident; here it is hours, or 45 minutes, off.
TIME_ZONE = "Asia/Kathmandu"

#: Extra aliases the suites need, each the backend under test.
ALIAS_OPEN_QUEUES = "conformance-open-queues"  # QUEUES: [] disables validation
ALIAS_SECONDARY = "conformance-secondary"  # a second alias, for using(backend=)


@dataclass
class KitConfig:
    backend: str
    options: dict[str, Any] = field(default_factory=dict)
    installed_apps: list[str] = field(default_factory=list)
    #: A user settings module to start from; None means the kit's own.
    base_settings: str | None = None
    database_url: str | None = None
    workdir: str = ""
    #: ``--task-time-zone``: TIME_ZONE instead of :data:`TIME_ZONE` (and of
    #: a user settings module's); None keeps those.
    time_zone: str | None = None

    def tasks_setting(self) -> dict[str, Any]:
        def alias(queues: list[str]) -> dict[str, Any]:
            return {"BACKEND": self.backend, "QUEUES": queues, "OPTIONS": self.options}

        return {
            DEFAULT_ALIAS: alias(QUEUES),
            ALIAS_OPEN_QUEUES: alias([]),
            ALIAS_SECONDARY: alias(QUEUES),
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> KitConfig:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


def database_from_url(url: str) -> dict[str, Any]:
    """``sqlite:///abs/path`` or ``postgres://user:pw@host:port/name``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite(unquote(parts.path))
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgres://")


def _sqlite(path: str) -> dict[str, Any]:
    # WAL lets a worker process read while the test process writes.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        },
        "TEST": {"NAME": path},
    }


def kit_settings(config: KitConfig) -> dict[str, Any]:
    """Minimal settings for a run without a user settings module."""
    database = (
        database_from_url(config.database_url)
        if config.database_url
        else _sqlite(str(Path(config.workdir) / "conformance.sqlite3"))
    )
    apps = [
        "django.contrib.contenttypes",
        "django.contrib.auth",
        *REQUIRED_APPS,
        *config.installed_apps,
    ]
    return {
        "SECRET_KEY": "conformance-kit-not-secret",
        "USE_TZ": True,
        "TIME_ZONE": config.time_zone or TIME_ZONE,
        "INSTALLED_APPS": list(dict.fromkeys(apps)),
        "DATABASES": {"default": database},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "TASKS": config.tasks_setting(),
        "LOGGING_CONFIG": None,
    }


def settings_for(config: KitConfig) -> dict[str, Any]:
    """Upper-case settings for ``config``: the user's module or the kit's own."""
    if config.base_settings is None:
        return kit_settings(config)
    import importlib

    module = importlib.import_module(config.base_settings)
    values = {name: getattr(module, name) for name in dir(module) if name.isupper()}
    # With a user's settings only TASKS is overridden (and apps added).
    apps = list(values.get("INSTALLED_APPS", []))
    for app in (*REQUIRED_APPS, *config.installed_apps):
        if app not in apps:
            apps.append(app)
    values["INSTALLED_APPS"] = apps
    values["TASKS"] = config.tasks_setting()
    if config.database_url:
        values["DATABASES"] = {"default": database_from_url(config.database_url)}
    if config.time_zone:
        values["TIME_ZONE"] = config.time_zone
    return values
