"""An entry of the matrix (``matrix/entries/<name>.toml``): read and validated.

The format is ``matrix/README.md``. Validation is strict, because an entry
is all a run knows about a backend: a misspelt key would otherwise be a
setting silently left out, and a row published on the wrong configuration.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

ENTRIES_DIR = Path(__file__).resolve().parent / "entries"
SERVICES = ("postgres", "redis")
DATABASES = ("sqlite", "postgres")
DEFAULT_PYTHON = "3.12"


class EntryError(ValueError):
    """An entry file that does not follow matrix/README.md."""


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    requirement: str
    django: str
    backend: str
    python: str = DEFAULT_PYTHON
    pins: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    database: str = "sqlite"
    installed_apps: tuple[str, ...] = ()
    kit_args: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def distribution(self) -> str:
        """The PyPI name whose version the row shows ("" = the kit's own).

        Without a requirement the backend is bundled: Django's own backends
        have Django's version, the reference backends the kit's.
        """
        if self.requirement:
            return Requirement(self.requirement).name
        return "Django" if self.backend.split(".")[0] == "django" else ""

    @property
    def requirements(self) -> tuple[str, ...]:
        """Everything installed beside the kit, Django first."""
        return tuple(filter(None, (self.django, self.requirement, *self.pins)))


#: key -> the type its value must have (TOML's, before conversion).
_KEYS: dict[str, type] = {
    "title": str,
    "requirement": str,
    "django": str,
    "backend": str,
    "python": str,
    "pins": list,
    "services": list,
    "database": str,
    "installed_apps": list,
    "kit_args": list,
    "settings": dict,
    "options": dict,
}
_REQUIRED = ("title", "requirement", "django", "backend")
_LISTS = ("pins", "services", "installed_apps", "kit_args")


def parse(name: str, data: dict[str, Any]) -> Entry:
    """``data`` (an entry file's TOML) as an :class:`Entry`, or EntryError."""
    where = f"matrix entry {name!r}"
    unknown = sorted(data.keys() - _KEYS.keys())
    if unknown:
        raise EntryError(f"{where}: unknown key(s) {unknown}; see matrix/README.md")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise EntryError(f"{where}: missing key(s) {missing}")
    for key, value in data.items():
        if not isinstance(value, _KEYS[key]):
            raise EntryError(f"{where}: {key} must be a {_KEYS[key].__name__}")
    for key in _LISTS:
        if not all(isinstance(item, str) for item in data.get(key, [])):
            raise EntryError(f"{where}: {key} must be a list of strings")
    if not data["django"]:
        raise EntryError(f"{where}: django must name the Django it runs on")
    for text in filter(
        None, (data["requirement"], data["django"], *data.get("pins", []))
    ):
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise EntryError(f"{where}: {text!r} is not a requirement: {exc}") from None
    if "." not in data["backend"]:
        raise EntryError(f"{where}: backend must be a dotted path")
    services = data.get("services", [])
    if not set(services) <= set(SERVICES):
        raise EntryError(f"{where}: services must be among {SERVICES}")
    database = data.get("database", "sqlite")
    if database not in DATABASES:
        raise EntryError(f"{where}: database must be one of {DATABASES}")
    if database == "postgres" and "postgres" not in services:
        raise EntryError(f"{where}: database 'postgres' needs service 'postgres'")
    converted: dict[str, Any] = {
        k: tuple(v) if k in _LISTS else v for k, v in data.items()
    }
    return Entry(name=name, **converted)


def load(path: Path) -> Entry:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise EntryError(f"{path}: {exc}") from None
    return parse(path.stem, data)


def load_all(directory: Path = ENTRIES_DIR) -> dict[str, Entry]:
    """Every entry, by name (the file's stem), in name order."""
    return {path.stem: load(path) for path in sorted(directory.glob("*.toml"))}
