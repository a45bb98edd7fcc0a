"""Plain Django on a throwaway SQLite file (the database checks' one set-up).

For a backend that keeps its tasks in the project's database: its app
installed, it as the default task backend, a new database in a temporary
directory (migrated by the check itself).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import django
from django.conf import settings


def set_up(app: str, backend: str) -> Path:
    """Configure and set up Django; the temporary directory of the database."""
    workdir = Path(tempfile.mkdtemp(prefix="conformance-check-"))
    settings.configure(
        USE_TZ=True,
        INSTALLED_APPS=[app],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(workdir / "db.sqlite3"),
            }
        },
        TASKS={"default": {"BACKEND": backend}},
    )
    django.setup()
    return workdir
