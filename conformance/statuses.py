"""The TaskResultStatus members by name, and which of them are final."""

from __future__ import annotations

from . import compat

READY = compat.TaskResultStatus.READY
RUNNING = compat.TaskResultStatus.RUNNING
SUCCESSFUL = compat.TaskResultStatus.SUCCESSFUL
FAILED = compat.TaskResultStatus.FAILED
FINISHED = frozenset({SUCCESSFUL, FAILED})
