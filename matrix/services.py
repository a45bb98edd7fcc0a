"""The services an entry needs, each a throwaway server of its own.

The same servers as the project's tests (``tests/database``): PostgreSQL in
a temporary cluster, Redis on a free port of 127.0.0.1, both removed on
exit. Each entry gets its own, so that two entries running at once never
see each other's tasks.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator

from tests.database.postgres import PostgresCluster
from tests.database.redis_server import (
    RedisServer,
    RedisUnavailable,
    redis_server_binary,
)


def ensure_redis_server() -> None:
    """Install Debian's redis-server when it is missing (as root, with apt-get)."""
    try:
        redis_server_binary()
        return
    except RedisUnavailable:
        if os.geteuid() != 0:
            raise
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "redis-server"],
    ):
        subprocess.run(command, env=env, check=True, capture_output=True)
    redis_server_binary()  # raises if apt-get did not bring it


@contextlib.contextmanager
def started(services: tuple[str, ...], database_name: str) -> Iterator[dict[str, str]]:
    """Start ``services``; yield the placeholders' values (``redis_url``, ...).

    ``{redis_url}`` is the server without a database number (an entry adds
    ``/0``, ``/1``); ``{postgres_url}`` a fresh database of the cluster.
    """
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if "redis" in services:
            ensure_redis_server()
            redis = stack.enter_context(RedisServer())
            urls["redis_url"] = redis.url().rsplit("/", 1)[0]
        if "postgres" in services:
            cluster = stack.enter_context(PostgresCluster())
            urls["postgres_url"] = cluster.create_database(database_name)
        yield urls
