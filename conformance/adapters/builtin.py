"""Adapters for Django's built-in backends and the reference twins."""

from __future__ import annotations

from .base import Adapter


class SynchronousAdapter(Adapter):
    """The backend runs each task inside ``enqueue``: nothing to drive."""

    executes = True
    worker_driven = False
    synchronous = True


class NeverExecutesAdapter(Adapter):
    """The backend stores results and never runs them: execution clauses n/a."""

    executes = False
    worker_driven = False
