"""A Redis server of the session's own for the third-party backends' tests.

``tox -e thirdparty-redis`` runs these, with the backends installed from PyPI.
Without ``redis-server`` they are skipped, saying so (on CI they fail: CI
installs it); without a backend's package, that backend's tests are skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.database.redis_server import RedisServer, redis_for_tests
from tests.kit_runner import REPO_ROOT

#: One line per kit run (its time, what it left in Redis), shown at the end.
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("third-party kit runs")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with redis_for_tests() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server, emptied for each test."""
    redis_server.flush()
    return redis_server.url()


def needs(package: str) -> None:
    """Skip unless ``package`` is installed (not imported: it may need settings)."""
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed (tox -e thirdparty-redis installs it)")


def environment(redis_url: str) -> dict[str, str]:
    """A process's environment: this checkout importable, the test's Redis."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.pop("CONFORMANCE_SETTINGS_FILE", None)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
    )
    env["CONFORMANCE_REDIS_URL"] = redis_url
    return env


def run_scenario(
    scenario: str, backend: str, settings: str, redis_url: str
) -> dict[str, Any]:
    """``tests.thirdparty.scenarios`` in a process of its own: its JSON."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.thirdparty.scenarios",
            scenario,
            backend,
            settings,
        ],
        capture_output=True,
        text=True,
        env=environment(redis_url),
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    outcome: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return outcome


def keys(redis_url: str) -> list[str]:
    """Every key left in every database of the server, sorted."""
    import redis

    client = redis.Redis.from_url(redis_url)
    found: list[str] = []
    for line in client.info("keyspace"):
        database = int(str(line).removeprefix("db"))
        names = redis.Redis.from_url(redis_url, db=database).keys()
        found += [f"{database}:{name.decode()}" for name in names]
    return sorted(found)
