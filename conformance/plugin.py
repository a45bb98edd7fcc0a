"""The pytest plugin: ``pytest --task-backend=path.to.Backend``.

Sections, in the order pytest calls them:

1. Options (each with an ini twin in ``[tool.pytest.ini_options]``).
2. Activation and Django bootstrap: nothing happens without a backend.
3. Collection: every suite test names one clause; clauses that do not apply
   are skipped as "n/a"; ``--task-clause`` selects.
4. Outcomes: a failing SHOULD clause becomes a warning; failures carry the
   clause sentence.
5. The report: terminal summary, ``--task-report`` JSON or Markdown.
6. Fixtures the suites use.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _pytest._code.code import ExceptionRepr, ReprFileLocation, TerminalRepr

from .settings_file import ENV_VAR, KitConfig

if TYPE_CHECKING:
    # Types only: the plugin loads in every pytest run, and must stay light
    # (and Django-free) in the runs that do not test a backend.
    from django.tasks.backends.base import BaseTaskBackend

    from .adapters import Adapter
    from .driver import Driver
    from .expected_failures import ExpectedFailure
    from .report import ConformanceReport
    from .requirements import Environment
    from .shared_batch import SharedBatches
    from .spec import Clause
    from .support import Api, SignalLog

SUITES_DIR = Path(__file__).resolve().parent / "suites"
SETTINGS_MODULE = "conformance.django_settings"

_STATE = pytest.StashKey["KitState"]()


# ---------------------------------------------------------------------------
# 1. Options
# ---------------------------------------------------------------------------
_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("task-backend", "Dotted path of the task backend class to test.", {}),
    ("task-backend-options", "JSON object passed as the backend's OPTIONS.", {}),
    (
        "task-installed-apps",
        "Comma-separated apps the backend needs (their migrations run).",
        {},
    ),
    (
        "task-worker",
        "Dotted path of callable(backend, queue_names) that runs ready tasks.",
        {},
    ),
    (
        "task-worker-command",
        "A management command that runs ready tasks, e.g. "
        "'db_worker --batch --queue-name={queues}' (placeholders {queues}, {queue}, "
        "{backend}).",
        {},
    ),
    (
        "task-worker-command-all",
        "The worker command when every queue is asked for (default: the "
        "--task-worker-command without its queue placeholder words).",
        {},
    ),
    (
        "task-worker-command-mode",
        "batch (the command exits when nothing is ready; default) or continuous "
        "(the kit starts it, waits for the due tasks, stops it).",
        {},
    ),
    ("task-adapter", "Dotted path of a conformance.adapters.Adapter subclass.", {}),
    ("task-timeout", "Seconds to wait for a task to finish (default 10).", {}),
    ("task-report", "Write the conformance report to FILE (.json or .md).", {}),
    (
        "task-database",
        "Database URL for the kit's settings (sqlite:///path, postgres://...).",
        {},
    ),
    (
        "task-time-zone",
        "TIME_ZONE of the kit's settings (default Asia/Kathmandu, +05:45; "
        "overrides a settings module's too).",
        {},
    ),
    (
        "task-clause",
        "Run only this clause ID or family (repeatable).",
        {"action": "append", "default": None},
    ),
    (
        "task-thorough",
        "Raise hypothesis example counts (nightly runs).",
        {"action": "store_true", "default": None},
    ),
    (
        "task-quick",
        "A smoke run: few hypothesis examples and no shrinking of failures.",
        {"action": "store_true", "default": None},
    ),
    (
        "task-expected-failures",
        "TOML file of the clauses the backend fails today: reported as expected.",
        {},
    ),
    (
        "task-write-expected-failures",
        "Write the clauses this run failed to FILE (an expected-failures file).",
        {},
    ),
]
#: Runs the kit with the ini configuration; the ini keys alone never do.
CONFORMANCE_FLAG = "--task-conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "Django Tasks API conformance kit")
    for name, help_text, extra in _OPTIONS:
        dest = name.replace("-", "_")
        group.addoption(f"--{name}", dest=dest, help=help_text, **extra)
        ini_type = "linelist" if name == "task-clause" else "string"
        if name in {"task-thorough", "task-quick"}:
            ini_type = "bool"
        parser.addini(dest, help_text, type=ini_type, default=None)  # type: ignore[arg-type]
    group.addoption(
        CONFORMANCE_FLAG,
        dest="task_conformance",
        action="store_true",
        default=False,
        help="Run the kit as configured by the task_* ini keys (which alone do not).",
    )


#: Options naming a file: in the ini file, relative to that file's directory
#: (a run from a subdirectory finds the same files); on the command line,
#: relative to the current directory, as any shell argument.
_PATH_OPTIONS = frozenset(
    {"task_report", "task_expected_failures", "task_write_expected_failures"}
)


def _option(config: pytest.Config, dest: str) -> Any:
    """The command-line value, else the ini value."""
    value = getattr(config.option, dest, None)
    if value is None:
        value = getattr(getattr(config, "known_args_namespace", None), dest, None)
    if value is None:
        try:
            value = config.getini(dest)
        except ValueError:
            value = None
        if value and dest in _PATH_OPTIONS:
            base = config.inipath.parent if config.inipath else config.rootpath
            value = str(base / value)
    return value or None


# ---------------------------------------------------------------------------
# 2. Activation and Django bootstrap
# ---------------------------------------------------------------------------
class KitState:
    """Everything the plugin holds for one run."""

    def __init__(self, config: KitConfig, workdir: Path, owns_workdir: bool) -> None:
        self.config = config
        self.workdir = workdir
        self.owns_workdir = owns_workdir
        #: Set by pytest_configure, once Django is set up.
        self._environment: Environment | None = None
        self._report: ConformanceReport | None = None
        self.saved_env: dict[str, str | None] = {}
        #: The adapter was unsettled at collection: gate again once probed.
        self.probe_gating = False
        #: The clause and family IDs of --task-clause, as the spec spells them.
        self.wanted: set[str] = set()
        #: The expected-failures file's entries that apply to this Django.
        self.expected: dict[str, ExpectedFailure] = {}
        #: A usage error found once clauses ran (the run stops: no report).
        self.usage_error = ""

    def configured(self, environment: Environment, report: ConformanceReport) -> None:
        self._environment, self._report = environment, report

    @property
    def is_configured(self) -> bool:
        return self._environment is not None and self._report is not None

    @property
    def environment(self) -> Environment:
        """The backend under test with its adapter (after pytest_configure)."""
        assert self._environment is not None, "the kit is not configured yet"
        return self._environment

    @property
    def report(self) -> ConformanceReport:
        """The run's conformance report (after pytest_configure)."""
        assert self._report is not None, "the kit is not configured yet"
        return self._report


def _kit_config(early_config: pytest.Config, workdir: Path) -> KitConfig:
    raw_options = _option(early_config, "task_backend_options")
    try:
        options = json.loads(raw_options) if raw_options else {}
    except json.JSONDecodeError as exc:
        raise pytest.UsageError(f"--task-backend-options is not JSON: {exc}") from exc
    if not isinstance(options, dict):
        raise pytest.UsageError("--task-backend-options must be a JSON object")
    apps = _option(early_config, "task_installed_apps") or ""
    user_settings = getattr(early_config.known_args_namespace, "ds", None) or (
        os.environ.get("DJANGO_SETTINGS_MODULE")
    )
    if user_settings == SETTINGS_MODULE:
        user_settings = None
    return KitConfig(
        backend=_option(early_config, "task_backend"),
        options=options,
        installed_apps=[app.strip() for app in apps.split(",") if app.strip()],
        base_settings=user_settings,
        database_url=_option(early_config, "task_database"),
        workdir=str(workdir),
        time_zone=_time_zone(early_config),
    )


def _time_zone(early_config: pytest.Config) -> str | None:
    """``--task-time-zone``, checked: a name the zone database knows."""
    import zoneinfo

    name = _option(early_config, "task_time_zone")
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
        raise pytest.UsageError(
            f"--task-time-zone: {name!r} is not a time zone name (e.g. UTC, "
            "Asia/Kathmandu)"
        ) from exc
    return str(name)


def _switched_on(early_config: pytest.Config) -> bool:
    """``--task-backend`` on the command line, or ``--task-conformance``.

    The ini keys configure the kit but never switch it on: a project that
    keeps them in its pyproject runs its own tests with plain ``pytest``.
    """
    namespace = early_config.known_args_namespace
    if getattr(namespace, "task_backend", None):
        return True
    if not getattr(namespace, "task_conformance", False):
        return False
    if not _option(early_config, "task_backend"):
        raise pytest.UsageError(
            f"{CONFORMANCE_FLAG} needs task_backend in [tool.pytest.ini_options]"
            " (or --task-backend)"
        )
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    if not _switched_on(early_config):
        return  # an ordinary pytest run: the plugin stays out of the way
    workdir = Path(tempfile.mkdtemp(prefix="conformance-"))
    state = KitState(_kit_config(early_config, workdir), workdir, owns_workdir=True)
    early_config.stash[_STATE] = state

    settings_path = workdir / "settings.json"
    state.config.write(settings_path)
    for name, value in (
        (ENV_VAR, str(settings_path)),
        ("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE),
    ):
        state.saved_env[name] = os.environ.get(name)
        os.environ[name] = value
    # pytest-django reads --ds before the environment; point it at ours too.
    if getattr(early_config.known_args_namespace, "ds", None):
        early_config.known_args_namespace.ds = SETTINGS_MODULE
        args[:] = [a for a in args if not a.startswith("--ds")] + [
            f"--ds={SETTINGS_MODULE}"
        ]

    import django

    try:
        django.setup()
    except Exception as exc:  # an unimportable backend or app: say so plainly
        raise pytest.UsageError(f"conformance kit: Django setup failed: {exc}") from exc

    # The suites ship inside the package; collect them (and only them, unless
    # the user named paths as well).
    args.append(str(SUITES_DIR))
    _keep_hypothesis_files_in_cache(workdir)
    if _option(early_config, "task_thorough"):
        _load_hypothesis_profile("conformance-thorough")
    elif _option(early_config, "task_quick"):
        _load_hypothesis_profile("conformance-quick")
    else:
        _load_hypothesis_profile("conformance")


def _keep_hypothesis_files_in_cache(workdir: Path) -> None:
    """Hypothesis keeps Unicode tables on disk, in ``.hypothesis/`` of the
    current directory by default: litter in the user's run directory, and
    seconds to rebuild in every new one. The user's cache directory holds
    them instead (the run's own temporary directory if that is not writable);
    ``HYPOTHESIS_STORAGE_DIRECTORY`` still wins."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = cache / "django-tasks-conformance" / "hypothesis"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        target = workdir / "hypothesis"
    set_hypothesis_home_dir(target)


def _load_hypothesis_profile(name: str) -> None:
    from hypothesis import HealthCheck, Phase, settings

    common: dict[str, Any] = {
        "deadline": None,
        "database": None,  # never litter the user's checkout with .hypothesis/
        "suppress_health_check": [
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
        ],
    }
    settings.register_profile(
        "conformance", max_examples=40, derandomize=True, **common
    )
    settings.register_profile("conformance-thorough", max_examples=1000, **common)
    # A failure is reported as first found: shrinking it costs more than the run.
    settings.register_profile(
        "conformance-quick",
        max_examples=10,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        **common,
    )
    settings.load_profile(name)


def _state(config: pytest.Config) -> KitState | None:
    return config.stash.get(_STATE, None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "clause(id, requires=()): the spec clause a test checks"
    )
    config.addinivalue_line(
        "markers", "requires(*names): what a test or parametrized case needs"
    )
    state = _state(config)
    if state is None:
        return
    from . import compat
    from .adapters import adapter_for
    from .report import REPORT_SUFFIXES, ConformanceReport
    from .requirements import Environment

    target = _option(config, "task_report")
    if target and Path(target).suffix not in REPORT_SUFFIXES:
        # Refuse now, not after the whole run.
        raise pytest.UsageError(f"--task-report must end in .json or .md, not {target}")
    state.wanted = _wanted_clauses(config)
    state.expected = _expected_failures(config)
    try:
        backend = compat.task_backends[compat.DEFAULT_TASK_BACKEND_ALIAS]
    except Exception as exc:
        raise pytest.UsageError(
            f"conformance kit: cannot create backend {state.config.backend!r}: {exc}"
            + _not_importable_hint(exc)
        ) from exc
    if state.config.options:
        _check_options(backend)
    try:
        timeout = float(_option(config, "task_timeout") or 10)
    except ValueError as exc:
        raise pytest.UsageError(f"--task-timeout must be a number: {exc}") from exc
    from django.utils.module_loading import import_string

    for name in ("task_adapter", "task_worker"):
        path = _option(config, name)
        try:
            if path:
                import_string(path)
        except ImportError as exc:
            raise pytest.UsageError(
                f"--{name.replace('_', '-')}={path} does not import: {exc}"
            ) from exc
    adapter = adapter_for(
        backend,
        adapter_path=_option(config, "task_adapter"),
        worker_path=_option(config, "task_worker"),
        worker=_worker_command(config, timeout),
        timeout=timeout,
    )
    environment = Environment(backend=backend, adapter=adapter)
    from django.conf import settings

    state.configured(
        environment,
        ConformanceReport(
            backend=state.config.backend,
            django=compat.api_version_label(),
            kit=_kit_version(),
            flags=environment.flags(),
            adapter=adapter.describe(),
            time_zone=str(settings.TIME_ZONE),
        ),
    )
    config.pluginmanager.register(_OutcomeRecorder(state), "conformance-outcomes")


def _worker_command(config: pytest.Config, timeout: float) -> Any:
    """``--task-worker-command``'s worker callable (None without it); every
    mistake in it a one-line usage error."""
    command = _option(config, "task_worker_command")
    every_queue = _option(config, "task_worker_command_all")
    mode = _option(config, "task_worker_command_mode")
    if not command:
        if every_queue or mode:
            raise pytest.UsageError(
                "--task-worker-command-all and --task-worker-command-mode need "
                "--task-worker-command"
            )
        return None
    if _option(config, "task_worker"):
        raise pytest.UsageError(
            "--task-worker and --task-worker-command: give one worker, not both"
        )
    from .adapters.command import CommandWorker, WorkerCommandError

    try:
        worker = CommandWorker(
            command, every_queue=every_queue, mode=mode or "batch", timeout=timeout
        )
        worker.check()
    except WorkerCommandError as exc:
        raise pytest.UsageError(f"--task-worker-command: {exc}") from exc
    return worker


def _wanted_clauses(config: pytest.Config) -> set[str]:
    """``--task-clause`` IDs as the spec spells them (any letter case)."""
    from .expected_failures import suggest
    from .spec import load_clauses

    known: dict[str, str] = {}
    for clause in load_clauses().values():
        known[clause.id.upper()] = clause.id
        known[clause.family.id.upper()] = clause.family.id
    wanted = set()
    for name in _option(config, "task_clause") or ():
        canonical = known.get(name.strip().upper())
        if canonical is None:
            raise pytest.UsageError(
                f"--task-clause: {name} is neither a clause nor a family"
                + suggest(name, known.values())
            )
        wanted.add(canonical)
    return wanted


def _expected_failures(config: pytest.Config) -> dict[str, ExpectedFailure]:
    """The expected-failures file's entries for the Django under test."""
    from .expected_failures import ExpectedFailuresError, load
    from .spec import load_clauses
    from .versions import DJANGO_VERSION

    path = _option(config, "task_expected_failures")
    if not path:
        return {}
    try:
        entries = load(Path(path), load_clauses())
    except ExpectedFailuresError as exc:
        raise pytest.UsageError(f"--task-expected-failures: {exc}") from exc
    return {
        cid: entry for cid, entry in entries.items() if entry.applies_to(DJANGO_VERSION)
    }


def _check_options(backend: Any) -> None:
    """Options the backend refuses (errors from its ``check()``): a usage error,
    before a run in which every clause would fail for the same reason."""
    try:
        messages = list(backend.check())
        errors = [str(m.msg) for m in messages if m.is_serious()]
    except Exception:
        return  # a check() that misbehaves is a finding of the checks clauses
    if errors:
        raise pytest.UsageError(
            "conformance kit: the backend refuses --task-backend-options: "
            + "; ".join(errors)
        )


def _kit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("django-tasks-conformance")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "unknown"


def pytest_unconfigure(config: pytest.Config) -> None:
    state = _state(config)
    if state is None:
        return
    try:
        if state.is_configured:
            # What the run enqueued must not outlive it in a shared broker.
            environment = state.environment
            environment.adapter.close(environment.backend)
    finally:
        # A close() that raised must not leave the environment or the
        # working directory behind.
        for name, value in state.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if state.owns_workdir:
            shutil.rmtree(state.workdir, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = _state(config)
    if state is None or not state.is_configured:
        return None
    report = state.report
    flags = ", ".join(f"{k}={v}" for k, v in sorted(report.flags.items()))
    return [
        f"conformance: backend {report.backend} ({report.django})",
        f"conformance: flags {flags}",
        f"conformance: adapter {report.adapter}",
        f"conformance: TIME_ZONE {report.time_zone}",
    ]


# ---------------------------------------------------------------------------
# 3. Collection
# ---------------------------------------------------------------------------
def clause_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("clause")
    return str(marker.args[0]) if marker else None


def requirements_of(item: pytest.Item) -> tuple[str, ...]:
    """What the test needs beyond its clause: ``clause(..., requires=)`` and
    ``requires(...)`` marks (the latter on parametrized cases too)."""
    needed: list[str] = []
    marker = item.get_closest_marker("clause")
    if marker is not None:
        needed += marker.kwargs.get("requires", ())
    for mark in item.iter_markers("requires"):
        needed += mark.args
    return tuple(needed)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``--task-clause``, only the suites of the families selected are read.

    Each family has one suite file (``test_<family>.py``): importing and
    collecting the other suites would cost a run more than its tests.
    """
    state = _state(config)
    wanted = state.wanted if state else set()
    if not wanted or collection_path.parent != SUITES_DIR:
        return None
    if not collection_path.name.startswith("test_"):
        return None
    from .spec import load_clauses

    families = {}
    for clause in load_clauses().values():
        families[clause.id] = clause.family.id
        families[clause.family.id] = clause.family.id
    suites = {f"test_{families[w].replace('-', '_')}.py" for w in wanted}
    return collection_path.name not in suites or None


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = _state(config)
    if state is None:
        return
    from .requirements import unmet
    from .spec import load_clauses

    clauses = load_clauses()
    state.probe_gating = not state.environment.adapter.settled
    wanted = state.wanted
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        clause_id = clause_of(item)
        if clause_id is None:
            if Path(str(item.path)).is_relative_to(SUITES_DIR):
                raise pytest.UsageError(f"{item.nodeid} names no clause")
            selected.append(item)  # the user's own tests, if they named any
            continue
        clause = clauses.get(clause_id)
        if clause is None:
            raise pytest.UsageError(f"{item.nodeid} names unknown clause {clause_id}")
        if wanted and not wanted & {clause.id, clause.family.id}:
            deselected.append(item)
            continue
        selected.append(item)
        # JUnit XML testcase properties: CI test views group by clause.
        item.user_properties += [("clause", clause.id), ("level", clause.level)]
        _report_violations_plainly(item)
        if clause.id in state.expected:
            _report_first_found(item)
        reason = unmet(clause, state.environment, requirements_of(item))
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"n/a: {reason}"))
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    # Lay the report out in spec order, whatever order the tests run in.
    chosen = {clause_of(item) for item in items}
    from .report import ClauseRecord

    for clause in clauses.values():
        if clause.id in chosen:
            state.report.records.setdefault(clause.id, ClauseRecord(clause))


def _report_first_found(item: pytest.Item) -> None:
    """A clause the expected-failures file lists fails as the file says, or
    the file is stale: either way hypothesis need not shrink the failure (on
    a backend whose worker is a process per call, minutes per clause)."""
    test = getattr(item, "obj", None)
    current = getattr(test, "_hypothesis_internal_use_settings", None)
    if current is None:
        return
    from hypothesis import Phase, settings

    test._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
        current, phases=[phase for phase in current.phases if phase != Phase.shrink]
    )


# ---------------------------------------------------------------------------
# 4. Outcomes
# ---------------------------------------------------------------------------
def _report_violations_plainly(item: pytest.Item) -> None:
    """A violation in a test's body is reported as its bug report alone.

    pytest would first format the kit's whole stack (with source) and the
    report would then throw it away: seconds per hundred failures.
    """
    formatted = item.repr_failure

    def repr_failure(excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
        from .spec import load_clauses
        from .violation import ClauseViolation

        clause_id = clause_of(item)
        if clause_id is None or not excinfo.errisinstance(ClauseViolation):
            return formatted(excinfo)
        clause = load_clauses()[clause_id]
        rerun = _rerun_command(item.config, clause.id)
        return _bug_report(item, clause, excinfo.value, rerun)

    setattr(item, "repr_failure", repr_failure)  # noqa: B010 - a method of one item


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The clause at hand: where a task found lost is reported."""
    if _state(item.config) is not None:
        from .lost import LOST

        LOST.at_hand = clause_of(item) or ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    state = _state(item.config)
    clause_id = clause_of(item)
    if state is None or clause_id is None:
        return report
    from .spec import load_clauses

    clause = load_clauses()[clause_id]
    report.conformance_clause = clause_id  # type: ignore[attr-defined]
    expected = state.expected.get(clause_id)
    if report.failed and expected is not None:
        failure = str(report.longrepr)
        if expected.matches(failure):
            # Failing as the expected-failures file says: pytest's xfail.
            report.outcome = "skipped"
            report.wasxfail = f"expected: {expected.reason}"  # type: ignore[attr-defined]
            report.conformance_expected = _first_line(failure)  # type: ignore[attr-defined]
            return report
    if report.failed:
        missing = _missing_app(str(report.longrepr))
        if missing:
            # The run's settings, not the backend: no clause can pass.
            state.usage_error = missing
            pytest.exit(missing, returncode=pytest.ExitCode.USAGE_ERROR)
        from .violation import ClauseViolation

        rerun = _rerun_command(item.config, clause.id)
        if call.excinfo is not None and call.excinfo.errisinstance(ClauseViolation):
            # A violation is a finding about the backend: show the bug report,
            # not the kit's stack. In a test's body, repr_failure has made it
            # already (_report_violations_plainly); in a fixture, it is made here.
            if report.when != "call":
                report.longrepr = _bug_report(item, clause, call.excinfo.value, rerun)
        else:
            from .lost import LOST

            cause = LOST.likely_cause()
            report.sections.insert(
                0,
                (
                    f"clause {clause.id} ({clause.level})",
                    f"{clause.text}\nsource: {clause.source_line}\nrerun: {rerun}"
                    + (f"\n{cause}" if cause else ""),
                ),
            )
        if clause.level == "SHOULD" and report.when == "call":
            # A SHOULD clause that fails is reported, but does not fail the run.
            report.conformance_warning = str(report.longrepr)  # type: ignore[attr-defined]
            report.outcome = "passed"
        elif clause.level == "NOTE" and report.when == "call":
            # A portability note: what the backend does, not a deviation.
            report.conformance_note = str(report.longrepr)  # type: ignore[attr-defined]
            report.outcome = "passed"
    return report


#: Django's error for a model whose app is not in INSTALLED_APPS.
_NOT_INSTALLED = re.compile(
    r"Model class ([\w.]+?)\.models\.(\w+) doesn't declare an explicit app_label"
    r" and isn't in an application in INSTALLED_APPS"
)


def _missing_app(failure: str) -> str:
    """The usage error for a backend whose models' app the run did not
    install (``--task-installed-apps``), or ""."""
    found = _NOT_INSTALLED.search(failure)
    if found is None:
        return ""
    app, model = found.groups()
    return (
        f"conformance kit: the backend's model {app}.models.{model} is not in "
        f"an installed app: add --task-installed-apps={app} (or task_installed_apps "
        "in the ini file)"
    )


#: Left out of a rerun line: the clause it narrows to, and the files a rerun
#: must not overwrite.
_NOT_RERUN = (
    "--task-clause",
    "--task-report",
    "--task-write-expected-failures",
    "--junitxml",
    "--junit-xml",
)


def _not_importable_hint(exc: BaseException) -> str:
    """What to try when the backend's own package does not import: ``pytest``
    (unlike ``python -m pytest``) does not put the current directory on
    ``sys.path``."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ModuleNotFoundError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return ""
    return (
        f" (is {cause.name!r} installed, e.g. 'pip install -e .', or on sys.path,"
        ' e.g. pythonpath = ["."] in [tool.pytest.ini_options]?)'
    )


def _rerun_command(config: pytest.Config, clause_id: str) -> str:
    """The user's own command line, narrowed to one clause."""
    import shlex

    args: list[str] = []
    skip_value = False
    for arg in config.invocation_params.args:
        if skip_value:
            skip_value = False
        elif arg in _NOT_RERUN:
            skip_value = True
        elif not arg.startswith(
            tuple(f"{name}=" for name in _NOT_RERUN)
        ) and arg != str(SUITES_DIR):
            args.append(arg)
    return shlex.join(["pytest", *args, f"--task-clause={clause_id}"])


class BugReport(TerminalRepr):
    """A clause's bug report as pytest shows it: the whole text in the failure
    block; the clause and what was observed alone on the summary line and in
    junit's message (on CI pytest prints that line untrimmed)."""

    def __init__(self, text: str, summary: str, path: str, lineno: int) -> None:
        self.text = text
        self.reprcrash = ReprFileLocation(path, lineno, summary)

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)


def _bug_report(
    item: pytest.Item, clause: Clause, violation: BaseException, rerun: str
) -> BugReport:
    from .lost import LOST

    path, lineno, _ = item.location
    notes = "\n".join(getattr(violation, "__notes__", ()))
    text = "\n".join(
        part
        for part in (
            f"clause {clause.id} ({clause.level}): {clause.text}",
            f"source: {clause.source_line}",
            str(violation),
            notes,
            LOST.likely_cause(str(violation)),
            f"test: {item.nodeid} ({path}:{(lineno or 0) + 1})",
            f"rerun: {rerun}",
        )
        if part
    )
    summary = f"{clause.id} ({clause.level}) {_first_line(text)}"
    return BugReport(text, summary, path, (lineno or 0) + 1)


class _OutcomeRecorder:
    """Feeds every suite test's outcome into the run's report."""

    def __init__(self, state: KitState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        clause_id = getattr(report, "conformance_clause", None)
        if clause_id is None:
            return
        from .report import EXPECTED, FAIL, NA, NOTE, PASS, WARN
        from .spec import load_clauses

        clause = load_clauses()[clause_id]
        record = self.state.report.record
        warning = getattr(report, "conformance_warning", None)
        expected = getattr(report, "conformance_expected", None)
        if expected is not None:
            record(clause, report.nodeid, EXPECTED, expected)
            self.state.report.records[clause_id].expected_reason = self.state.expected[
                clause_id
            ].reason
        elif warning is not None:
            record(clause, report.nodeid, WARN, _first_line(warning))
            self._note_cause(clause_id, report)
        elif getattr(report, "conformance_note", None) is not None:
            note = report.conformance_note  # type: ignore[attr-defined]
            record(clause, report.nodeid, NOTE, _first_line(note))
        elif report.failed:
            record(clause, report.nodeid, FAIL, _first_line(str(report.longrepr)))
            self._note_cause(clause_id, report)
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            reason = reason.removeprefix("Skipped: ").removeprefix("n/a: ")
            record(clause, report.nodeid, NA, reason)
        elif report.when == "call":
            record(clause, report.nodeid, PASS)

    def _note_cause(self, clause_id: str, report: pytest.TestReport) -> None:
        """The first likely cause a failure of the clause names (lost tasks)."""
        from .lost import LIKELY_CAUSE

        record = self.state.report.records[clause_id]
        if record.likely_cause:
            return
        texts = [str(report.longrepr), *(content for _, content in report.sections)]
        for text in texts:
            for line in text.splitlines():
                if line.startswith(LIKELY_CAUSE):
                    record.likely_cause = line.strip()
                    return


def _first_line(text: str) -> str:
    """The line of a failure the report shows: what was observed."""
    for line in text.splitlines():
        if line.startswith("observed: "):
            return line
    for line in text.splitlines():
        if line.startswith("E ") and line[2:].strip():
            return line[2:].strip()
    return text.strip().splitlines()[-1] if text.strip() else ""


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    if getattr(report, "conformance_warning", None) is not None:
        return "warned", "W", "WARN (SHOULD clause not met)"
    if getattr(report, "conformance_note", None) is not None:
        return "noted", "N", "NOTE (portability: Django is silent)"
    return None


# ---------------------------------------------------------------------------
# 5. The report
# ---------------------------------------------------------------------------
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Gate on the expected-failures file; one failure block per clause."""
    state = _state(session.config)
    if state is None or not state.is_configured or state.usage_error:
        return
    from .expected_failures import stale

    path = _option(session.config, "task_expected_failures") or ""
    report = state.report
    report.expected_file = path
    report.stale = stale(state.expected, report.records, path)
    if report.stale and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    target = _option(session.config, "task_write_expected_failures")
    if target:
        from .expected_failures import write

        write(Path(target), report.records, state.expected)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and session.config.get_verbosity() < 1:
        _one_block_per_clause(reporter.stats.get("failed", []))


def _one_block_per_clause(failed: list[pytest.TestReport]) -> None:
    """The first failing case of a clause shows its bug report; the others are
    named under it (``-v`` and the JSON report keep every one)."""
    by_clause: dict[str, list[pytest.TestReport]] = {}
    for rep in failed:
        clause_id = getattr(rep, "conformance_clause", None)
        if clause_id is not None:
            by_clause.setdefault(clause_id, []).append(rep)
    for clause_id, reports in by_clause.items():
        first, *more = reports
        if not more:
            continue
        for rep in more:
            rep._pdbshown = True  # type: ignore[attr-defined] # pytest's "shown already"
        names = "\n".join(f"  {rep.nodeid}" for rep in more)
        text = (
            f"and {len(more)} more cases of {clause_id} (all shown with -v):\n{names}"
        )
        if isinstance(first.longrepr, BugReport):
            first.longrepr.text += "\n" + text
        elif isinstance(first.longrepr, str):
            first.longrepr += "\n" + text
        elif isinstance(first.longrepr, ExceptionRepr):
            first.longrepr.addsection(f"{len(more)} more cases", text)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    state = _state(config)
    if state is None or not state.is_configured or state.usage_error:
        return
    report = state.report
    warned = terminalreporter.stats.get("warned", [])
    if warned:
        terminalreporter.section("SHOULD clauses not met (warnings)", sep="=")
        for rep in warned:
            terminalreporter.write_line(f"{rep.nodeid}")
            terminalreporter.write_line(rep.conformance_warning)
    terminalreporter.section("conformance report", sep="=")
    for line in report.terminal_lines():
        terminalreporter.write_line(line)
    target = _option(config, "task_report")
    if target:
        path = Path(target)
        report.write(path)
        terminalreporter.write_line(f"report written to {path.resolve()}")
    written = _option(config, "task_write_expected_failures")
    if written:
        terminalreporter.write_line(
            f"expected failures written to {Path(written).resolve()}"
        )


# ---------------------------------------------------------------------------
# 6. Fixtures
# ---------------------------------------------------------------------------
def _require_state(config: pytest.Config) -> KitState:
    state = _state(config)
    if state is None:
        raise pytest.UsageError("conformance fixtures need --task-backend")
    return state


@pytest.fixture(scope="session", autouse=True)
def _conformance_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run migrations once; lift pytest-django's database blocker if present."""
    state = _state(request.config)
    if state is None:
        yield
        return
    blocker = None
    if (
        "django_db_blocker" in request.fixturenames
        or request.config.pluginmanager.hasplugin("django")
    ):
        blocker = request.getfixturevalue("django_db_blocker")
        blocker.unblock()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    yield
    if blocker is not None:
        blocker.restore()


@pytest.fixture(autouse=True)
def _conformance_probed(request: pytest.FixtureRequest) -> None:
    """An unknown backend without a worker: probe how it executes, then gate.

    Collection cannot enqueue (the database is migrated later), so clauses
    that depend on the execution mode are decided here, once probed.
    """
    state = _state(request.config)
    clause_id = clause_of(request.node)
    if state is None or clause_id is None or not state.probe_gating:
        return
    request.getfixturevalue("_conformance_database")
    adapter = state.environment.adapter
    if not adapter.settled:
        adapter.probe(state.environment.backend)
        state.report.adapter = adapter.describe()
    from .requirements import ADAPTER_REQUIREMENTS, names, unmet
    from .spec import load_clauses

    clause = load_clauses()[clause_id]
    own = requirements_of(request.node)
    reason = unmet(clause, state.environment, own)
    if reason:
        needed = names((*clause.requires, *own))
        hint = ""
        if adapter.hint and needed & ADAPTER_REQUIREMENTS - {"record_access"}:
            hint = f" ({adapter.hint})"
        pytest.skip(f"n/a: {reason}{hint}")


@pytest.fixture(scope="session")
def task_environment(request: pytest.FixtureRequest) -> Environment:
    """The backend under test with its adapter (:class:`Environment`)."""
    return _require_state(request.config).environment


@pytest.fixture(scope="session")
def task_backend(task_environment: Environment) -> BaseTaskBackend:
    """The backend under test, as configured under the "default" alias."""
    backend: BaseTaskBackend = task_environment.backend
    return backend


@pytest.fixture(scope="session")
def task_adapter(task_environment: Environment) -> Adapter:
    """How to make the backend run its tasks (:class:`conformance.adapters.Adapter`)."""
    return task_environment.adapter


@pytest.fixture(scope="session")
def task_driver(task_environment: Environment) -> Driver:
    """Runs the backend's tasks and waits for them (:class:`conformance.driver.Driver`)."""
    from .driver import Driver

    return Driver(task_environment.adapter, task_environment.backend)


@pytest.fixture(scope="session")
def shared_batches(task_environment: Environment) -> SharedBatches:
    """The jobs the outcome clauses share, run once (:mod:`conformance.shared_batch`)."""
    from .shared_batch import shared_batch

    return shared_batch(task_environment.adapter, task_environment.backend)


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Api:
    """The sync and the async form of enqueue/get_result/refresh."""
    from .support import Api

    return Api(request.param)


@pytest.fixture
def signal_log() -> Iterator[SignalLog]:
    """Signals sent during the test (:class:`conformance.support.SignalLog`)."""
    from .support import SignalLog

    with SignalLog.recording() as log:
        yield log
