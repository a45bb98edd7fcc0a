"""The spec and the suites agree: every clause has a test, every test a clause.

Read statically (``ast``), so it holds for clauses that no backend in this
run would reach: a clause gated to Django 6.1, or to ``supports_defer``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.spec import Clause, load_clauses

REPO_ROOT = Path(__file__).resolve().parent.parent
SPECS = REPO_ROOT / "specs"
SUITES = REPO_ROOT / "conformance" / "suites"
CLAUSE_ID = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")


def _is_clause_call(node: ast.AST) -> bool:
    """``clause(...)``, ``support.clause(...)`` or ``pytest.mark.clause(...)``."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "clause") or (
        isinstance(func, ast.Attribute) and func.attr == "clause"
    )


def _clause_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if _is_clause_call(node):
            assert isinstance(node, ast.Call)
            yield node


def _is_requires_call(node: ast.AST) -> bool:
    """``requires(...)``: what one parametrized case needs."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "requires"
    )


def _literal_strings(node: ast.expr, where: str) -> list[str]:
    """The strings of ``"x"`` or a list/tuple of them; a failure for anything else."""
    items = node.elts if isinstance(node, ast.List | ast.Tuple) else [node]
    if not all(
        isinstance(item, ast.Constant) and isinstance(item.value, str) for item in items
    ):
        pytest.fail(f"{where}: requirements must be string literals")
    return [item.value for item in items if isinstance(item, ast.Constant)]


def _named_requirements() -> dict[str, list[str]]:
    """Requirement (as written, "not X" too) -> where a suite test names it.

    From ``clause("ID", requires=[...])`` and ``requires("X", ...)`` in the
    suites, and ``requires(...)`` in ``support.py`` (cases the suites share).
    """
    named: dict[str, list[str]] = {}
    support = REPO_ROOT / "conformance" / "support.py"
    for path in [*_suite_files(), support]:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(REPO_ROOT)}:{getattr(node, 'lineno', 0)}"
            values: list[ast.expr] = []
            if _is_clause_call(node) and path != support:
                assert isinstance(node, ast.Call)
                values = [kw.value for kw in node.keywords if kw.arg == "requires"]
            elif _is_requires_call(node):
                assert isinstance(node, ast.Call)
                values = list(node.args)
            for value in values:
                for requirement in _literal_strings(value, where):
                    named.setdefault(requirement, []).append(where)
    return named


def _suite_files() -> list[Path]:
    return sorted(SUITES.glob("test_*.py"))


def _named_clauses() -> dict[str, list[str]]:
    """Clause ID -> where the suites name it (``file:line``)."""
    named: dict[str, list[str]] = {}
    for path in _suite_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for call in _clause_calls(tree):
            where = f"{path.relative_to(REPO_ROOT)}:{call.lineno}"
            first = call.args[0] if call.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                pytest.fail(f"{where}: clause() must name its ID as a string literal")
            named.setdefault(first.value, []).append(where)
    return named


def _is_marked(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    return any(_is_clause_call(decorator) for decorator in node.decorator_list)


def _module_marked(tree: ast.Module) -> bool:
    """``pytestmark = clause("ID")`` ties every test of the module to one clause."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark"
            for target in node.targets
        ):
            return any(True for _ in _clause_calls(node.value))
    return False


def test_there_are_suites_and_clauses() -> None:
    # The checks below are vacuous without both; so is the kit.
    assert _suite_files()
    assert load_clauses(SPECS)


def test_every_clause_has_a_test() -> None:
    untested = sorted(set(load_clauses(SPECS)) - set(_named_clauses()))
    assert not untested, (
        f"clauses in specs/ with no test in conformance/suites: {untested}"
    )


def test_every_test_names_a_known_clause() -> None:
    known = set(load_clauses(SPECS))
    unknown = {
        clause_id: where
        for clause_id, where in _named_clauses().items()
        if clause_id not in known
    }
    assert not unknown, f"suite tests name clauses that specs/ does not have: {unknown}"


def test_every_suite_test_is_tied_to_a_clause() -> None:
    unmarked = []
    for path in _suite_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if _module_marked(tree):
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                if _is_marked(node):
                    continue
                functions = [
                    child
                    for child in node.body
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                ]
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions = [node]
            else:
                continue
            unmarked += [
                f"{path.relative_to(REPO_ROOT)}:{function.lineno} {function.name}"
                for function in functions
                if function.name.startswith("test") and not _is_marked(function)
            ]
    assert not unmarked, f"suite tests without @clause(...): {unmarked}"


def test_clause_ids_are_upper_kebab_and_prefixed_by_their_family() -> None:
    wrong = []
    for clause in load_clauses(SPECS).values():
        prefix = clause.family.id.upper().replace("_", "-") + "-"
        if not CLAUSE_ID.fullmatch(clause.id) or not clause.id.startswith(prefix):
            wrong.append(f"{clause.id} (family {clause.family.id})")
    assert not wrong, (
        f"clause IDs must be UPPER-KEBAB and start with the family: {wrong}"
    )


def suite_file_of(family_id: str) -> Path:
    """``conformance/suites/test_<family>.py``: one name per family everywhere."""
    return SUITES / f"test_{family_id.replace('-', '_')}.py"


def test_one_name_per_family_in_specs_and_suites() -> None:
    """``specs/<family>.toml`` holds family ``<family>``, tested in its suite file.

    So a clause ID leads to its spec entry and its tests by file name alone.
    """
    clauses = load_clauses(SPECS)
    wrong = []
    for path in sorted(SPECS.glob("*.toml")):
        held = {clause.family.id for clause in load_clauses_of(path).values()}
        if held != {path.stem}:
            wrong.append(f"specs/{path.name} holds family {sorted(held)}")
    for clause_id, places in _named_clauses().items():
        if clause_id not in clauses:
            continue  # test_every_test_names_a_known_clause says so
        expected = suite_file_of(clauses[clause_id].family.id).relative_to(REPO_ROOT)
        wrong += [
            f"{clause_id} tested in {where}, not in {expected}"
            for where in places
            if not where.startswith(f"{expected}:")
        ]
    families = {clause.family.id for clause in clauses.values()}
    wrong += [
        f"{path.relative_to(REPO_ROOT)} is the suite of no family"
        for path in _suite_files()
        if path not in {suite_file_of(family) for family in families}
    ]
    assert not wrong, wrong


def load_clauses_of(path: Path) -> dict[str, Clause]:
    """The clauses of one spec file (the loader reads a folder)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(path, folder)
        return load_clauses(Path(folder))


@pytest.mark.parametrize(
    ("command", "rendered_file"),
    [
        (["-m", "conformance.spec"], "specs/SPEC.md"),
        (["tools/clause_index.py"], "docs/clause-index.md"),
    ],
)
def test_rendered_documents_are_current(command: list[str], rendered_file: str) -> None:
    rendered = subprocess.run(
        [sys.executable, *command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    on_disk = (REPO_ROOT / rendered_file).read_text(encoding="utf-8")
    assert on_disk == rendered, (
        f"{rendered_file} is stale: regenerate it with "
        f"`python {' '.join(command)} > {rendered_file}`"
    )


def test_every_requirement_a_clause_names_exists() -> None:
    from conformance.requirements import REQUIREMENTS

    unknown = [
        f"{clause.id}: {requirement!r}"
        for clause in load_clauses(SPECS).values()
        for requirement in clause.requires
        if requirement.removeprefix("not ").strip() not in REQUIREMENTS
    ]
    assert not unknown, (
        f"clauses require what conformance.requirements lacks: {unknown}"
    )


def test_every_requirement_a_test_names_exists() -> None:
    from conformance.requirements import REQUIREMENTS

    named = _named_requirements()
    # Vacuous without any: the suites do gate tests of their own.
    assert named
    unknown = {
        requirement: where
        for requirement, where in named.items()
        if requirement.removeprefix("not ").strip() not in REQUIREMENTS
    }
    assert not unknown, (
        f"suite tests require what conformance.requirements lacks: {unknown}"
    )


def test_an_unknown_requirement_is_refused_at_gating() -> None:
    from conformance.requirements import Environment, UnknownRequirement, unmet
    from conformance.spec import Clause, Family

    clause = Clause(
        id="X-Y",
        family=Family("x", "X", ""),
        level="MUST",
        text="t",
        source="s",
        requires=("not supports_teleportation",),
    )
    with pytest.raises(UnknownRequirement):
        unmet(clause, Environment(backend=object(), adapter=object()))  # type: ignore[arg-type]


def test_a_tests_own_requirements_gate_like_the_clauses() -> None:
    from types import SimpleNamespace

    from conformance.requirements import Environment, UnknownRequirement, unmet
    from conformance.spec import Clause, Family

    clause = Clause(
        id="X-Y", family=Family("x", "X", ""), level="MUST", text="t", source="s"
    )
    env = Environment(
        backend=SimpleNamespace(supports_defer=False),
        adapter=SimpleNamespace(settled=True, executes=True),  # type: ignore[arg-type]
    )
    assert unmet(clause, env) is None
    assert unmet(clause, env, ["executes", "not supports_defer"]) is None
    assert unmet(clause, env, ["supports_defer"]) == (
        "applies where backend.supports_defer is True"
    )
    assert unmet(clause, env, ["not executes"]) == (
        "applies only where it is false that the backend executes tasks"
    )
    with pytest.raises(UnknownRequirement):
        unmet(clause, env, ["supports_teleportation"])


# -- the loader refuses malformed clause files -------------------------------------
GOOD_CLAUSE = """
[family]
id = "demo"
title = "Demo"
description = "A family."

[[clause]]
id = "DEMO-ONE"
level = "MUST"
text = "Something holds."
source = "nowhere"
"""


@pytest.mark.parametrize(
    "extra",
    [
        '[[clause]]\nid = "DEMO-TWO"\nlevel = "MUST"\ntext = "t"\n',  # no source
        '[[clause]]\nid = "DEMO-TWO"\nlevel = "MAY"\ntext = "t"\nsource = "s"\n',
        '[[clause]]\nid = "DEMO-TWO"\nlevel = "MUST"\ntext = "t"\nsource = "s"\n'
        'flavour = "x"\n',  # an unknown key
        '[[clause]]\nid = "DEMO-TWO"\nlevel = "MUST"\ntext = "t"\nsource = "s"\n'
        'django = "six point one"\n',  # not a PEP 440 specifier
    ],
    ids=["missing-key", "bad-level", "unknown-key", "bad-specifier"],
)
def test_malformed_clause_is_refused(tmp_path: Path, extra: str) -> None:
    from conformance.spec import SpecError

    (tmp_path / "demo.toml").write_text(GOOD_CLAUSE + "\n" + extra, encoding="utf-8")
    with pytest.raises((SpecError, ValueError)):
        load_clauses(tmp_path)


def test_duplicate_clause_ids_are_refused(tmp_path: Path) -> None:
    from conformance.spec import SpecError

    (tmp_path / "a.toml").write_text(GOOD_CLAUSE, encoding="utf-8")
    (tmp_path / "b.toml").write_text(GOOD_CLAUSE, encoding="utf-8")
    with pytest.raises(SpecError):
        load_clauses(tmp_path)


def test_a_well_formed_file_loads_and_renders(tmp_path: Path) -> None:
    from conformance.spec import render_markdown

    (tmp_path / "demo.toml").write_text(
        GOOD_CLAUSE
        + '\n[[clause]]\nid = "DEMO-TWO"\nlevel = "SHOULD"\ntext = "a | b"\n'
        'source = "s"\ndjango = ">=6.1"\nrequires = ["supports_defer"]\n',
        encoding="utf-8",
    )
    clauses = load_clauses(tmp_path)
    assert list(clauses) == ["DEMO-ONE", "DEMO-TWO"]
    markdown = render_markdown(clauses.values())
    assert "## Demo (`demo`)" in markdown
    assert (
        "| `DEMO-TWO` | SHOULD | a \\| b | Django >=6.1, supports_defer | s |"
        in markdown
    )
