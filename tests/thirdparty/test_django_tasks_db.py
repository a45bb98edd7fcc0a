"""The kit on django-tasks-db from PyPI, as its authors would run it (tox -e thirdparty-db).

``pytest --task-backend=django_tasks_db.DatabaseBackend`` with the backend's
own app is the whole command (the kit's adapter drives its batch worker), on
SQLite and on a throwaway PostgreSQL. Each run is gated on the
expected-failures file of its database: every deviation listed there, with
the sentence of Django's documentation it breaks; a clause that passes now,
or fails differently, fails the run. At full depth (not ``--task-quick``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit_runner import KitCall, KitRun, run_kits

pytest.importorskip("django_tasks_db", reason="tox -e thirdparty-db installs it")

pytestmark = [pytest.mark.thirdparty, pytest.mark.kit]

EXPECTED = Path(__file__).resolve().parent / "expected"
BACKEND = "django_tasks_db.DatabaseBackend"
DATABASES = ("sqlite", "postgres")


def _call(database: str, url: str | None) -> KitCall:
    args = [
        "--task-installed-apps=django_tasks_db",
        f"--task-expected-failures={EXPECTED / f'django-tasks-db-{database}.toml'}",
    ]
    if url:
        args.append(f"--task-database={url}")
    return KitCall(BACKEND, tuple(args), quick=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, KitRun]]:
    """Both runs, at once: SQLite (the kit's default database) and PostgreSQL."""
    from tests.database.postgres import cluster_for_tests

    with cluster_for_tests() as cluster:
        url = cluster.create_database("django_tasks_db")
        calls = [_call("sqlite", None), _call("postgres", url)]
        done = run_kits(calls, tmp_path_factory.mktemp("django-tasks-db"))
        yield dict(zip(DATABASES, done, strict=True))


def _listed(database: str) -> set[str]:
    import tomllib

    text = (EXPECTED / f"django-tasks-db-{database}.toml").read_text(encoding="utf-8")
    return {entry["clause"] for entry in tomllib.loads(text)["expected"]}


@pytest.mark.parametrize("database", DATABASES)
def test_django_tasks_db_fails_only_what_its_file_lists(
    runs: dict[str, KitRun], database: str
) -> None:
    run = runs[database]
    assert run.report["adapter"].startswith("DjangoTasksDbAdapter"), run.report
    assert (run.ret, run.failed(), run.warned()) == (0, set(), set()), run.output[
        -6000:
    ]
    assert run.with_outcome("expected") == _listed(database), run.output[-3000:]
    # The worker ran: execution clauses were checked, not n/a.
    assert run.outcome("SUCCESS-EXACTLY-ONCE") == "pass"
    assert run.outcome("LIFECYCLE-NOTHING-LEFT-RUNNING") == "pass"
