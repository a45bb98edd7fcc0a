"""The conformance kit against the database backend: zero failures."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.kit_runner import REPO_ROOT, KitCall, KitRun

pytestmark = pytest.mark.kit

BACKEND = "reference_backends.database.DatabaseBackend"
APPS = "--task-installed-apps=reference_backends.database"
#: Every error retried twice, at once: the kit's failing tasks then run three
#: times within one worker call, and must still read as the contract says.
RETRIES = "--task-backend-options=" + json.dumps(
    {"AUTORETRY_FOR": ["builtins.BaseException"], "MAX_RETRIES": 2}
)


def _assert_conforming(run: Any) -> None:
    from conformance.spec import load_clauses
    from conformance.versions import DJANGO_VERSION

    assert run.failed() == set(), run.output[-5000:]
    assert run.ret == 0, run.output[-5000:]
    # Every flag is True and the adapter drives a worker and reaches the
    # records: a clause may only be "n/a" if it is about a missing feature.
    for clause_id, outcome in run.outcomes().items():
        if outcome == "n/a":
            clause = load_clauses()[clause_id]
            other_version = not clause.versions.contains(
                DJANGO_VERSION, prereleases=True
            )
            assert other_version or any(
                r.startswith("not ") for r in clause.requires
            ), clause_id


@pytest.mark.kit_run(KitCall(BACKEND, (APPS,)))
def test_kit_on_sqlite(kit_run: KitRun) -> None:
    _assert_conforming(kit_run)


@pytest.mark.postgres
def test_kit_on_postgres(run_kit: Any, postgres_cluster: Any) -> None:
    url = postgres_cluster.create_database("kit")
    _assert_conforming(run_kit(BACKEND, APPS, f"--task-database={url}"))


@pytest.mark.kit_run(KitCall(BACKEND, (APPS,)))
def test_readme_sample_json_report_is_this_run(kit_run: KitRun) -> None:
    # The README's sample JSON report is this backend's run on Django 6.1.
    from conformance.versions import DJANGO_VERSION

    if DJANGO_VERSION.release[:2] != (6, 1):
        pytest.skip("the README's sample is a run on Django 6.1")
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    totals = re.search(r'"totals": (\{[^}]*\})', readme)
    flags = re.search(r'"flags": (\{[^}]*\})', readme)
    assert totals, "README shows no sample JSON report"
    assert flags, "README's sample JSON report shows no flags"
    assert json.loads(totals[1]) == kit_run.report["totals"]
    assert json.loads(flags[1]) == kit_run.report["flags"]
    assert f'"backend": "{BACKEND}"' in readme
    assert f'"adapter": "{kit_run.report["adapter"]}"' in readme


@pytest.mark.kit_run(KitCall(BACKEND, (APPS, "--task-time-zone=UTC")))
def test_kit_on_sqlite_in_utc(kit_run: KitRun) -> None:
    """Right in UTC as well as in the kit's +05:45 (the run above)."""
    assert kit_run.report["time_zone"] == "UTC"
    _assert_conforming(kit_run)


@pytest.mark.kit_run(KitCall(BACKEND, (APPS, RETRIES)))
def test_kit_on_sqlite_with_retries(kit_run: KitRun) -> None:
    _assert_conforming(kit_run)


@pytest.mark.kit_run(
    KitCall(
        BACKEND,
        (
            APPS,
            RETRIES,
            "--task-adapter=tests.database.process_pool_adapter.ProcessPoolAdapter",
        ),
        # A Python started per worker call: 40 s alone, and more than 600 s
        # beside CI's other environments on two CPUs (slow, not stuck).
        timeout=1800.0,
    )
)
@pytest.mark.slow
@pytest.mark.process_pool
def test_kit_with_the_process_pool(kit_run: KitRun) -> None:
    """Every task runs in a child process: the contract holds there too."""
    assert kit_run.report["adapter"] == "ProcessPoolAdapter"
    _assert_conforming(kit_run)


@pytest.mark.postgres
def test_kit_on_postgres_with_retries(run_kit: Any, postgres_cluster: Any) -> None:
    url = postgres_cluster.create_database("kit_retries")
    _assert_conforming(run_kit(BACKEND, APPS, RETRIES, f"--task-database={url}"))
