"""What the kit's settings and its signal helper do, in this process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance import compat
from conformance.settings_file import TIME_ZONE, KitConfig, settings_for
from conformance.support import no_task_signal_receivers


def _config(tmp_path: Path, **changes: Any) -> KitConfig:
    return KitConfig(backend="x.Backend", workdir=str(tmp_path), **changes)


def test_the_kits_zone_unless_told_otherwise(tmp_path: Path) -> None:
    assert settings_for(_config(tmp_path))["TIME_ZONE"] == TIME_ZONE == "Asia/Kathmandu"
    assert settings_for(_config(tmp_path, time_zone="UTC"))["TIME_ZONE"] == "UTC"


def test_the_option_overrides_a_settings_modules_zone(tmp_path: Path) -> None:
    base = "tests.django_settings"  # TIME_ZONE = "UTC"
    told = _config(tmp_path, base_settings=base, time_zone="Asia/Kathmandu")
    assert settings_for(told)["TIME_ZONE"] == "Asia/Kathmandu"
    assert settings_for(_config(tmp_path, base_settings=base))["TIME_ZONE"] == "UTC"


def test_no_receivers_meanwhile_and_all_back_after() -> None:
    heard: list[str] = []

    def before(sender: Any, **kwargs: Any) -> None:
        heard.append("before")

    def meanwhile(sender: Any, **kwargs: Any) -> None:
        heard.append("meanwhile")

    signal = compat.task_started
    signal.connect(before, weak=False, dispatch_uid="unit-before")
    try:
        connected = list(signal.receivers)
        with no_task_signal_receivers():
            assert not signal.has_listeners()
            assert not compat.task_finished.has_listeners()
            signal.send(object, task_result=None)
            signal.connect(meanwhile, weak=False, dispatch_uid="unit-meanwhile")
        assert signal.receivers[: len(connected)] == connected
        # Robust: Django's logging receiver is back, and raises on None.
        signal.send_robust(object, task_result=None)
    finally:
        signal.disconnect(dispatch_uid="unit-before")
        signal.disconnect(dispatch_uid="unit-meanwhile")
    assert heard == ["before", "meanwhile"]
