"""Fixtures for the reliability tests: a PostgreSQL cluster and fresh databases.

These tests never configure Django in the pytest process: workers, the
enqueuer and the inspector are separate processes (``benchmarks.harness``),
started with ``benchmarks.settings``. Run them with ``pytest -m faults``
(``tox -e faults``); they take about three minutes.
"""

from __future__ import annotations

import faulthandler
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness import OURS, SQLITE, Target

FIGURES: list[str] = []
_NAMES = itertools.count(1)
TEST_TIMEOUT = 600  # seconds; the longest test takes about 90


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "faults: reliability under SIGKILL, restarts and bad rows (tox -e faults)",
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Each fault test's figures, shown even without ``-s``."""
    if FIGURES:
        terminalreporter.section("fault test figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    from tests.database.postgres import cluster_for_tests

    with cluster_for_tests() as cluster:
        yield cluster


class Databases:
    """``make(engine, **OPTIONS)``: a migrated, empty database and its :class:`Target`."""

    def __init__(self, request: pytest.FixtureRequest, root: Path) -> None:
        self.request = request
        self.root = root
        self.targets: list[Target] = []

    def make(self, engine: str, **options: Any) -> Target:
        number = next(_NAMES)
        root = self.root / f"db{number}"
        (root / "records").mkdir(parents=True)
        if engine == SQLITE:
            url = f"sqlite:///{root / 'tasks.sqlite3'}"
        else:
            cluster = self.request.getfixturevalue("cluster")
            url = cluster.create_database(f"faults_{number}")
        target = Target(
            OURS, url, record_dir=root / "records", logs=root, options=options
        )
        target.manage("migrate", "-v0")
        self.targets.append(target)
        return target


@pytest.fixture
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    made = Databases(request, tmp_path)
    # A hung test dumps its threads and exits: these tests are bounded in time
    # (workers die with the test process, see benchmarks.harness).
    faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True)
    try:
        yield made
    finally:
        faulthandler.cancel_dump_traceback_later()
        for target in made.targets:
            target.kill_all()
