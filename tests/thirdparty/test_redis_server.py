"""The throwaway Redis server the third-party tests start (tests/database/redis_server.py)."""

from __future__ import annotations

import os

import pytest

from tests.database.redis_server import command, redis_for_tests

pytestmark = pytest.mark.redis


def test_a_server_of_its_own_gone_with_its_directory_when_done() -> None:
    redis = pytest.importorskip("redis")
    with redis_for_tests() as server:
        pid, root = server.pid, server.root
        assert pid is not None
        assert command(server.port, "PING").startswith(b"+PONG")
        # Nothing on disk: no snapshots, no append-only file.
        client = redis.Redis.from_url(server.url())
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        client.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not root.exists()
