"""An entry's virtualenv: made with uv, kept while its requirements stay the same.

The kit is installed editable from this checkout, so a change to the kit
needs no new environment; a change to what is installed (the entry's
requirements, its Python, the kit's own dependencies in pyproject.toml)
names a new one. Environments live in ``matrix/.venvs`` (not committed).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from .entry import Entry

ROOT = Path(__file__).resolve().parent.parent
VENVS = Path(__file__).resolve().parent / ".venvs"
#: Written last: an environment without it was left half-made.
READY = "matrix-ready"
INSTALL_TIMEOUT = 900.0


class SetupError(RuntimeError):
    """The environment could not be made; the message says why."""


def uv() -> str:
    """The uv binary: the one installed beside this Python, else on PATH."""
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return str(find_uv_bin())
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            raise SetupError("uv not found: pip install uv") from None
        return found


def extras(entry: Entry) -> str:
    return "kit,postgres" if entry.database == "postgres" else "kit"


def key(entry: Entry) -> str:
    """What the environment holds, hashed: the entry's installs and the kit's."""
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    what = json.dumps([entry.python, extras(entry), entry.requirements])
    return hashlib.sha256(what.encode() + pyproject).hexdigest()[:12]


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure(entry: Entry) -> Path:
    """The entry's environment, made if needed; its directory."""
    venv = VENVS / f"{entry.name}-{key(entry)}"
    if (venv / READY).exists():
        return venv
    # The entry's older environments: its name and a key, never another
    # entry's whose name merely starts with this one's.
    for stale in VENVS.glob(f"{entry.name}-*"):
        if re.fullmatch(rf"{re.escape(entry.name)}-[0-9a-f]{{12}}", stale.name):
            shutil.rmtree(stale, ignore_errors=True)
    env = {**os.environ, "UV_PYTHON_PREFERENCE": "only-system"}
    env.pop("VIRTUAL_ENV", None)
    _run([uv(), "venv", "--quiet", "--python", entry.python, str(venv)], env)
    _run(
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python_of(venv)),
            "-e",
            f"{ROOT}[{extras(entry)}]",
            *entry.requirements,
        ],
        env,
    )
    (venv / READY).write_text(json.dumps(entry.requirements) + "\n", "utf-8")
    return venv


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise SetupError(f"{command[1:3]} took over {INSTALL_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-12:]
        raise SetupError(f"{' '.join(command[1:3])} failed: " + "\n".join(last))


def installed_version(venv: Path, distribution: str) -> str:
    """The version of ``distribution`` the environment holds ("" if none)."""
    done = subprocess.run(
        [
            str(python_of(venv)),
            "-c",
            "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))",
            distribution,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else ""
