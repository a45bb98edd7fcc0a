"""The kit as a CI gate (issue 13): a backend's own project, expected failures
pinned in a file, usage errors said in one line, failures one block per clause.

Every run is a process of its own (forked: ``tests.kit_runner.run_pytest``) in
a project directory of its own, as a backend author runs the kit: ``pytest``
from the top of their repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.versions import API_ROOT
from tests.kit_runner import REPO_ROOT, run_pytest

pytestmark = pytest.mark.kit

BASELINE = f"{API_ROOT}.backends.immediate.ImmediateBackend"
#: Never sends task_enqueued: SIGNALS-ENQUEUED-ONCE fails (tests/broken/signals.py).
NEVER_SENT = "tests.broken.signals.NeverSent"
#: Sends it with the instance as sender: SIGNALS-ENQUEUED-ONCE passes.
SENDS = "tests.broken.signals.SenderIsInstance"
ONCE = "SIGNALS-ENQUEUED-ONCE"


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A backend's repository: its own tests, the kit configured in pyproject."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_own.py").write_text(
        "def test_own_one():\n    pass\n\n\ndef test_own_two():\n    pass\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.pytest.ini_options]
            testpaths = ["tests"]
            task_backend = "{NEVER_SENT}"
            task_clause = ["{ONCE}"]
            task_quick = true
            task_report = "conformance.json"
            """
        )
    )
    return tmp_path


# -- the kit never takes over a project's own test run ------------------------------
def test_plain_pytest_runs_the_projects_own_tests_only(project: Path) -> None:
    result = run_pytest(project, "-v")
    assert result.returncode == 0, output(result)
    assert "2 passed" in result.stdout
    assert "tests/test_own.py::test_own_one PASSED" in result.stdout
    assert "conformance report" not in result.stdout
    assert not (project / "conformance.json").exists()


def test_task_conformance_runs_the_kit_as_the_ini_configures_it(project: Path) -> None:
    result = run_pytest(project, "--task-conformance")
    assert result.returncode == 1, output(result)  # the clause fails: a real run
    assert "test_own" not in result.stdout
    report = json.loads((project / "conformance.json").read_text())
    assert report["backend"] == NEVER_SENT
    assert [c["id"] for c in report["clauses"]] == [ONCE]
    # Nothing left in the run directory but the report asked for.
    assert sorted(p.name for p in project.iterdir()) == [
        "conformance.json",
        "pyproject.toml",
        "tests",
    ]


def test_a_run_with_hypothesis_leaves_only_its_report(tmp_path: Path) -> None:
    """Hypothesis keeps files in ``.hypothesis/`` of the directory it was
    imported in, once a @given test runs (the clause above has none). A fresh
    interpreter: a forked run inherits the fork server's directory for it."""
    cache = tmp_path / "cache"  # the run's cache of its own: written afresh
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "CONFORMANCE_SETTINGS_FILE"}
    }
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])
    )
    env["XDG_CACHE_HOME"] = str(cache)
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--task-backend={BASELINE}",
            "--task-clause=JSON-VALUES-PRESERVED",
            "--task-quick",
            "--task-report=conformance.json",
        ],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, output(result)
    assert sorted(p.name for p in run_dir.iterdir()) == ["conformance.json"]
    assert (cache / "django-tasks-conformance" / "hypothesis").is_dir()


def test_task_backend_on_the_command_line_switches_the_kit_on(project: Path) -> None:
    result = run_pytest(project, f"--task-backend={SENDS}")
    assert result.returncode == 0, output(result)
    report = json.loads((project / "conformance.json").read_text())
    assert report["backend"] == SENDS  # the command line wins over the ini


def test_task_conformance_without_a_backend_is_a_usage_error(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--task-conformance")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "task_backend" in output(result)


# -- expected failures: bootstrap, gate, rot loudly ----------------------------------
def test_expected_failures_bootstrap_gate_and_rot(project: Path) -> None:
    listed = project / "expected-failures.toml"
    # 1. Bootstrap: the run fails, the file lists what failed.
    first = run_pytest(
        project, "--task-conformance", f"--task-write-expected-failures={listed}"
    )
    assert first.returncode == 1, output(first)
    text = listed.read_text()
    assert f'clause = "{ONCE}"' in text
    assert "TODO" in text
    # 2. The gated run passes; the clause is "expected", with its reason.
    gated = run_pytest(
        project, "--task-conformance", f"--task-expected-failures={listed}"
    )
    assert gated.returncode == 0, output(gated)
    report = json.loads((project / "conformance.json").read_text())
    [entry] = report["clauses"]
    assert entry["outcome"] == "expected"
    assert entry["reason"].startswith("TODO")
    assert report["totals"]["expected"] == 1
    assert report["conforming"] is False
    assert "EXPECTED" in gated.stdout
    # 3. The backend is fixed: the stale entry fails the run, saying what to do.
    fixed = run_pytest(
        project,
        f"--task-backend={SENDS}",
        "--task-conformance",
        f"--task-expected-failures={listed}",
    )
    assert fixed.returncode == 1, output(fixed)
    assert f"{ONCE} passes now: remove it from {listed}" in fixed.stdout
    stale = json.loads((project / "conformance.json").read_text())
    assert stale["expected_failures"]["stale"] == [
        f"{ONCE} passes now: remove it from {listed}"
    ]


def test_ini_files_are_found_from_a_subdirectory(project: Path) -> None:
    """File names in the ini file are relative to it, wherever pytest starts."""
    listed = project / "expected-failures.toml"
    listed.write_text(f'[[expected]]\nclause = "{ONCE}"\nreason = "r"\n')
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + 'task_expected_failures = "expected-failures.toml"\n'
    )
    result = run_pytest(project / "tests", "--task-conformance")
    assert result.returncode == 0, output(result)
    assert (project / "conformance.json").exists()
    assert not (project / "tests" / "conformance.json").exists()


def test_a_listed_clause_failing_differently_fails_the_run(project: Path) -> None:
    listed = project / "expected.toml"
    listed.write_text(
        f'[[expected]]\nclause = "{ONCE}"\nreason = "r"\nmatch = "sent 2 times"\n'
    )
    result = run_pytest(
        project, "--task-conformance", f"--task-expected-failures={listed}"
    )
    assert result.returncode == 1, output(result)
    assert f"{ONCE} fails differently" in result.stdout
    report = json.loads((project / "conformance.json").read_text())
    assert report["clauses"][0]["outcome"] == "fail"


def test_an_entry_for_another_django_is_ignored(project: Path) -> None:
    listed = project / "expected.toml"
    listed.write_text(f'[[expected]]\nclause = "{ONCE}"\nreason = "r"\ndjango = "<1"\n')
    result = run_pytest(
        project, "--task-conformance", f"--task-expected-failures={listed}"
    )
    assert result.returncode == 1, output(result)
    report = json.loads((project / "conformance.json").read_text())
    assert report["clauses"][0]["outcome"] == "fail"


def test_an_unknown_clause_in_the_file_is_a_usage_error(project: Path) -> None:
    listed = project / "expected.toml"
    listed.write_text('[[expected]]\nclause = "SIGNALS-ENQUEUED-ONSE"\nreason = "r"\n')
    result = run_pytest(
        project, "--task-conformance", f"--task-expected-failures={listed}"
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output(result)
    assert ONCE in output(result)  # the suggestion


# -- usage errors, not crashes or false verdicts ------------------------------------
@pytest.mark.parametrize(
    "option",
    [
        "--task-worker=os.nope",
        "--task-adapter=os.nope",
        "--task-adapter=no_such_module.Adapter",
        "--task-installed-apps=os.nope",
        "--task-timeout=soon",
        "--task-worker-command=no_such_command --batch",
        "--task-worker-command=check --queue={queus}",
        "--task-worker-command-mode=continuous",
    ],
)
def test_a_bad_option_is_a_one_line_usage_error(tmp_path: Path, option: str) -> None:
    result = run_pytest(
        tmp_path, f"--task-backend={BASELINE}", "--task-clause=priority", option
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output(result)
    assert "INTERNALERROR" not in output(result)
    errors = [line for line in output(result).splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, output(result)


def test_options_the_backend_refuses_are_a_usage_error(tmp_path: Path) -> None:
    result = run_pytest(
        tmp_path,
        "--task-backend=reference_backends.database.DatabaseBackend",
        "--task-installed-apps=reference_backends.database",
        '--task-backend-options={"POLL_INTERVAL": "often"}',
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output(result)
    assert "POLL_INTERVAL" in output(result)


def test_a_backend_whose_app_is_not_installed_is_a_usage_error(
    tmp_path: Path,
) -> None:
    """Not a failure of every clause: the run names the option to add."""
    target = tmp_path / "report.json"
    result = run_pytest(
        tmp_path,
        "--task-backend=reference_backends.database.DatabaseBackend",
        "--task-clause=success",
        f"--task-report={target}",
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output(result)
    assert "--task-installed-apps=reference_backends.database" in output(result)
    assert "CONFORMING" not in output(result)
    assert not target.exists()


def test_an_unknown_clause_is_never_conforming(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = run_pytest(
        tmp_path,
        f"--task-backend={BASELINE}",
        "--task-clause=PRIORITY-IN-RANGE-ACEPTED",
        f"--task-report={target}",
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "CONFORMING" not in output(result)
    assert "did you mean PRIORITY-IN-RANGE-ACCEPTED" in output(result)
    assert not target.exists()


@pytest.mark.parametrize(
    ("mistyped", "meant"),
    [("priorty", "priority"), ("Queue", "queues"), ("signal", "signals")],
)
def test_a_mistyped_family_suggests_the_family(
    tmp_path: Path, mistyped: str, meant: str
) -> None:
    result = run_pytest(
        tmp_path, f"--task-backend={BASELINE}", f"--task-clause={mistyped}"
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output(result)
    assert f"did you mean {meant}" in output(result)


def test_clause_and_family_ids_ignore_letter_case(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = run_pytest(
        tmp_path,
        f"--task-backend={BASELINE}",
        "--task-clause=priority-out-of-range-rejected",
        "--task-clause=QUEUES",
        f"--task-report={target}",
    )
    assert result.returncode == 0, output(result)
    ids = {c["id"] for c in json.loads(target.read_text())["clauses"]}
    assert "PRIORITY-OUT-OF-RANGE-REJECTED" in ids
    assert any(i.startswith("QUEUES-") for i in ids)


# -- failures that read like one bug report each -----------------------------------
def test_one_failure_block_per_clause_and_every_case_with_v(tmp_path: Path) -> None:
    args = (f"--task-backend={NEVER_SENT}", f"--task-clause={ONCE}", "--task-quick")
    quiet = run_pytest(tmp_path, *args)
    assert quiet.returncode == 1
    assert quiet.stdout.count(f"clause {ONCE} (MUST)") == 1, quiet.stdout
    assert "and 1 more cases of" in quiet.stdout
    assert "test_enqueued_sent_once_per_enqueue[async]" in quiet.stdout
    # The table row says what was observed.
    row = next(
        line for line in quiet.stdout.splitlines() if line.startswith(f"  {ONCE}")
    )
    assert "FAIL" in row
    assert "sent 0 times" in row
    verbose = run_pytest(tmp_path, *args, "-v")
    assert verbose.stdout.count(f"clause {ONCE} (MUST)") == 2, verbose.stdout


def test_summary_lines_stay_one_line_on_ci(tmp_path: Path) -> None:
    # On CI pytest prints each failure's message untrimmed in the short
    # summary: a whole bug report per failing case, unless the kit says less.
    args = (f"--task-backend={NEVER_SENT}", f"--task-clause={ONCE}", "--task-quick")
    result = run_pytest(tmp_path, *args, env={"CI": "true"})
    assert result.returncode == 1
    summary = result.stdout.split("short test summary info", 1)[1].splitlines()
    failed = [line for line in summary if line.startswith("FAILED ")]
    assert len(failed) == 2, result.stdout
    assert all(
        line.endswith(f" - {ONCE} (MUST) observed: sent 0 times") for line in failed
    )
    assert result.stdout.count(f"clause {ONCE} (MUST)") == 1, result.stdout


def test_junit_testcases_name_their_clause_and_level(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = run_pytest(
        tmp_path,
        f"--task-backend={NEVER_SENT}",
        f"--task-clause={ONCE}",
        "--task-quick",
        f"--junitxml={junit}",
    )
    assert result.returncode == 1
    cases = ET.parse(junit).getroot().iter("testcase")
    properties = [
        {p.get("name"): p.get("value") for p in case.iter("property")} for case in cases
    ]
    assert properties
    assert all(p == {"clause": ONCE, "level": "MUST"} for p in properties)


# -- expected failures are not shrunk -------------------------------------------
PHASES_PLUGIN = """
import json


def pytest_runtest_setup(item):
    settings = getattr(item.obj, "_hypothesis_internal_use_settings", None)
    if settings is not None:
        with open("phases.jsonl", "a", encoding="utf-8") as out:
            line = [item.nodeid, sorted(phase.name for phase in settings.phases)]
            out.write(json.dumps(line) + "\\n")
"""


def test_hypothesis_does_not_shrink_an_expected_failure(tmp_path: Path) -> None:
    # Shrinking a failure the file already lists only costs time (minutes a
    # clause on a backend whose worker is a process per call).
    listed = "JSON-TUPLES-BECOME-LISTS"
    expected = tmp_path / "expected.toml"
    expected.write_text(f'[[expected]]\nclause = "{listed}"\nreason = "tuples"\n')
    (tmp_path / "phases_plugin.py").write_text(PHASES_PLUGIN)
    result = run_pytest(
        tmp_path,
        "-p",
        "phases_plugin",
        "--task-backend=tests.broken.json.KeepsTuples",
        "--task-clause=JSON-TUPLES-BECOME-LISTS",
        "--task-clause=JSON-VALUES-PRESERVED",
        f"--task-expected-failures={expected}",
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout
    seen = [json.loads(line) for line in (tmp_path / "phases.jsonl").open()]
    shrunk = {nodeid.split("::")[1].split("[")[0]: "shrink" in p for nodeid, p in seen}
    assert shrunk == {
        "test_tuples_become_lists": False,
        "test_json_values_preserved": True,
    }, seen
