"""Reproduction snippets are Python a person would type (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import conformance
import reference_backends
from conformance import evidence, guide
from conformance.jobs import repro_of
from conformance.spec import load_clauses, spec_dir

SAMPLE = {"a": (1, [2.5, None]), "b": "x"}


def _task(name: str, module: str = "conformance.tasks") -> SimpleNamespace:
    return SimpleNamespace(func=SimpleNamespace(__name__=name, __module__=module))


def test_a_tagged_return_value_is_shown_as_the_value_returned() -> None:
    tagged = json.dumps(evidence.encode(SAMPLE))
    text = repro_of(_task("return_decoded"), (tagged,), {}, "sync")
    assert "evidence" not in text
    assert '["dict"' not in text
    assert f"return {SAMPLE!r}" in text
    assert "result = t.enqueue()" in text
    compile(text.replace("@task\n", ""), "<repro>", "exec")  # it is Python


def test_an_ordinary_call_names_its_task_and_arguments() -> None:
    text = repro_of(_task("capture"), ("tok", 1), {"k": (2,)}, "async")
    assert text.splitlines()[:2] == [
        "from conformance.tasks import capture as t",
        "result = await t.aenqueue('tok', 1, k=(2,))",
    ]


def test_messages_name_no_file_a_pip_install_lacks() -> None:
    # The kit's messages point at guides by a command that works installed.
    root = Path(conformance.__file__).parent
    for source in root.rglob("*.py"):
        if source.name != "guide.py":
            text = source.read_text("utf-8")
            assert "docs/worker-protocol" not in text, source
            assert "docs/decisions" not in text, source
    text = guide.path("worker-protocol").read_text(encoding="utf-8")
    assert text.startswith("# The worker protocol")


def test_nothing_installed_cites_the_internal_spec_notes() -> None:
    # The kit's decisions were first written down in notes outside the
    # repository (SPEC-NOTES); an installed kit cannot show them. Its code,
    # suites, specs, guides and the messages made from the specs cite the
    # decisions guide instead (python -m conformance.guide decisions).
    installed = [
        path
        for package in (conformance, reference_backends)
        for path in Path(package.__file__).parent.rglob("*")
        if path.suffix in {".py", ".toml", ".md", ".txt", ".json"}
    ]
    installed += [path for path in spec_dir().iterdir() if path.is_file()]
    installed += [guide.path(name) for name in guide.GUIDES]
    assert len(installed) > 50
    for path in installed:
        assert "SPEC-NOTES" not in path.read_text("utf-8"), path
    for clause in load_clauses().values():
        assert "SPEC-NOTES" not in f"{clause.text} {clause.source_line}", clause.id
