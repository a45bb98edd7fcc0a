"""The README says what the project does: options, commands, environments."""

from __future__ import annotations

import configparser
import json
import re
import subprocess
import sys

from conformance.plugin import _OPTIONS

from .conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_included_documents_are_current() -> None:
    check = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "sync_readme.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"^TEST_COMMAND='([^']+)'$", ci, re.M)
    assert match, ".ci/run names no TEST_COMMAND"
    command = match.group(1)
    # Alone on a line of a code block, as a reader copies it.
    assert re.search(rf"```sh\n{re.escape(command)}\n```", README), command


def test_every_option_is_documented() -> None:
    for name, _help, _extra in _OPTIONS:
        assert f"`--{name}" in README, f"--{name} is not in the README's options"
        assert f"`{name.replace('-', '_')}`" in README, f"ini key of --{name}"


def test_every_tox_environment_is_documented() -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPO_ROOT / "tox.ini", encoding="utf-8")
    environments = tox["tox"]["env_list"].split()
    assert environments
    for name in environments:
        assert f"| `{name}` |" in README, f"tox environment {name} is not in the README"


def test_sample_terminal_report_is_what_a_run_prints() -> None:
    # Issue 13: the sample came from a real run (Django's ImmediateBackend);
    # its totals line must still be the kit's format and the spec's size.
    from conformance.report import OUTCOMES
    from conformance.spec import load_clauses

    match = re.search(r"^totals: (.*) of (\d+) clauses - CONFORMING$", README, re.M)
    assert match, "README shows no totals line"
    counts = [part.split(" ", 1) for part in match.group(1).split(", ")]
    assert [name for _n, name in counts] == list(OUTCOMES)
    assert sum(int(n) for n, _name in counts) == int(match.group(2))
    assert int(match.group(2)) == len(load_clauses())
    json_totals = re.search(r'"totals": (\{[^}]*\})', README)
    assert json_totals
    assert list(json.loads(json_totals.group(1))) == list(OUTCOMES)
