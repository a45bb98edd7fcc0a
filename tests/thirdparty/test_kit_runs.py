"""The kit against third-party backends from PyPI, as their authors would run it.

Each run is ``pytest --task-backend=BACKEND`` with the backend's own settings
(``tests/thirdparty/settings_*.py``, as the backend's README configures it),
no worker of our own: the kit finds the adapter by the backend's class. Each
backend is gated on its expected-failures file (``expected/*.toml``): every
entry quotes the sentence of Django's documentation the backend breaks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kit_runner import run_pytest
from tests.thirdparty.conftest import FIGURES, keys, needs

pytestmark = pytest.mark.redis

EXPECTED = Path(__file__).resolve().parent / "expected"
#: --task-timeout of these runs: the kit's default (10 s) is for a machine
#: with CPU to spare.
TASK_TIMEOUT = 30.0
#: Seconds a kit run may take before it counts as stuck.
RUN_LIMIT = 1800.0


@dataclass(frozen=True)
class ThirdParty:
    backend: str
    package: str
    settings: str
    #: Keys a run may leave in Redis ("db:name" prefixes): the libraries' own
    #: bookkeeping, never a message or a result.
    may_leave: tuple[str, ...] = ()


#: Kombu's exchange-to-queue bindings (routing tables, one per queue used).
KOMBU_BINDINGS = ("0:_kombu.binding",)

BACKENDS = {
    "rq": ThirdParty(
        "django_tasks_rq.RQBackend",
        "django_tasks_rq",
        "tests.thirdparty.settings_rq",
        # RQ's registry-cleaning lock; it expires (15 minutes).
        ("0:rq:clean_groups",),
    ),
    "celery": ThirdParty(
        "django_tasks_celery.CeleryBackend",
        "django_tasks_celery",
        "tests.thirdparty.settings_celery",
        KOMBU_BINDINGS,
    ),
    "fennel": ThirdParty(
        "django_tasks_fennel.CeleryBackend",
        "django_tasks_fennel",
        "tests.thirdparty.settings_fennel",
        KOMBU_BINDINGS,
    ),
}


@pytest.mark.parametrize("name", BACKENDS)
def test_kit_run(name: str, redis_url: str, tmp_path: Path) -> None:
    third = BACKENDS[name]
    needs(third.package)
    report = tmp_path / "report.json"
    started = time.monotonic()
    completed = run_pytest(
        tmp_path,
        f"--task-backend={third.backend}",
        f"--task-database=sqlite:///{tmp_path}/kit.sqlite3",
        f"--task-expected-failures={EXPECTED / f'{name}.toml'}",
        f"--task-report={report}",
        # As every kit run of the tests: each clause checked, fewer examples.
        "--task-quick",
        # The time a task may take to finish. Beside CI's other environments
        # on two CPUs, a prefork pool took over 10 s (the kit's default) to
        # replace the child a SystemExit task ended (5 s with eight busy
        # loops beside it): the next task was given up on and read READY.
        f"--task-timeout={TASK_TIMEOUT:g}",
        env={
            "DJANGO_SETTINGS_MODULE": third.settings,
            "CONFORMANCE_REDIS_URL": redis_url,
        },
        # 92 s alone for Celery (130 s at full depth); beside CI's other
        # environments on two CPUs several times that (slow, not stuck).
        timeout=RUN_LIMIT,
    )
    seconds = time.monotonic() - started
    left = keys(redis_url)
    FIGURES.append(f"{name}: kit run {seconds:.0f} s, {len(left)} key(s) left in Redis")
    # No new failure, no stale entry: every fail and warn is listed, with the
    # Django sentence it breaks.
    assert completed.returncode == 0, completed.stdout[-6000:]
    totals = json.loads(report.read_text())["totals"]
    assert totals["fail"] == totals["warn"] == 0, totals
    # What the run enqueued does not outlive it in the broker.
    assert [key for key in left if not key.startswith(third.may_leave)] == [], left
