"""Work every kit run would redo, done once in the fork server (imported last).

Measured on one broken-backend run (about 1.9 s of CPU before, 1.2 s after):

* pytest reads every installed distribution's metadata to find plugins;
  importlib.metadata caches the directory listings it builds, per process;
* hypothesis scans every imported module's source for constants the first
  time it generates data, and remembers which modules it has seen;
* ``gc.freeze()`` moves everything imported so far out of the collector's
  reach: hypothesis calls ``gc.collect()`` once per test, which otherwise
  walks all of Django and pytest each time (and forked pages stay shared).
"""

from __future__ import annotations

import gc
import importlib.metadata


def _warm() -> None:
    importlib.metadata.entry_points()
    try:  # a private helper of hypothesis: its absence only costs time
        from hypothesis.internal.conjecture.providers import _get_local_constants
    except ImportError:  # pragma: no cover
        return
    _get_local_constants()


_warm()
gc.freeze()
