"""A task queue on the Django ORM: ``reference_backends.database.DatabaseBackend``.

Add ``"reference_backends.database"`` to ``INSTALLED_APPS``, migrate, point a
``TASKS`` alias at the backend and run ``manage.py task_worker``. See
``docs/database-backend.md``.

The backend class is re-exported lazily: Django imports this package while
loading apps, before models can be imported, and the backend module needs
nothing at import time but it is cheaper to import it only when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import DatabaseBackend

__all__ = ["DatabaseBackend"]


def __getattr__(name: str) -> Any:
    if name == "DatabaseBackend":
        from .backend import DatabaseBackend

        return DatabaseBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
