"""Shared fixtures for the project's own tests.

Kit runs: a test declares the run it reads with ``@pytest.mark.kit_run(KitCall(...))``
and takes the ``kit_run`` fixture. Every declared run of the session starts
as soon as collection is done, several at once, while the other tests go on
(:mod:`tests.kit_runner`, the one kit runner). ``run_kit`` runs one more for
a test that can only build its call at run time (a database URL).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kit_runner import REPO_ROOT, KitCall, KitPool, KitRun, PendingRun
from tests.kit_runner import run_kit as run_one

__all__ = ["REPO_ROOT"]  # tests/test_readme.py reads it from here

_POOL = pytest.StashKey[KitPool]()
_RUNS = pytest.StashKey[dict[KitCall, PendingRun]]()


def declared_call(item: pytest.Item) -> KitCall | None:
    marker = item.get_closest_marker("kit_run")
    return marker.args[0] if marker else None


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    calls = list(dict.fromkeys(filter(None, map(declared_call, session.items))))
    if not calls:
        return
    # Whole-kit runs first: the longest, so that the pool ends with short ones.
    calls.sort(key=lambda call: bool(call.clauses))
    pool = session.stash[_POOL] = KitPool(Path(tempfile.mkdtemp(prefix="kit-runs-")))
    session.stash[_RUNS] = {call: pool.submit(call) for call in calls}


def pytest_sessionfinish(session: pytest.Session) -> None:
    pool = session.stash.get(_POOL, None)
    if pool is not None:
        pool.shutdown()
        shutil.rmtree(pool.directory, ignore_errors=True)


@pytest.fixture
def kit_run(request: pytest.FixtureRequest) -> KitRun:
    """The run this test declared with ``@pytest.mark.kit_run(KitCall(...))``."""
    call = declared_call(request.node)
    if call is None:
        raise pytest.UsageError(f"{request.node.nodeid} declares no kit_run")
    return request.session.stash[_RUNS][call].result()


@pytest.fixture
def run_kit(tmp_path: Path) -> Callable[..., KitRun]:
    """``run_kit(backend, *extra_args, clauses=[...]) -> KitRun``, run now."""

    def run(backend: str, *extra: str, clauses: Any = ()) -> KitRun:
        return run_one(KitCall(backend, extra, tuple(clauses)), tmp_path)

    return run


@pytest.fixture
def reference_tasks() -> Any:
    """``tests.reference_tasks``, with Django configured in this process.

    Configures Django once from ``tests/django_settings.py`` (unless something
    configured it already), then gives each test fresh backend instances of
    those TASKS (``override_settings`` resets Django's backend handler).
    """
    import django
    from django.conf import settings
    from django.test.utils import override_settings

    from tests import django_settings

    if not settings.configured:
        values = {k: v for k, v in vars(django_settings).items() if k.isupper()}
        settings.configure(**values)
        django.setup()
    with override_settings(TASKS=django_settings.TASKS, USE_TZ=True):
        import tests.reference_tasks

        yield tests.reference_tasks
