"""``DJANGO_SETTINGS_MODULE`` for the kit's runs and their worker processes.

Reads the configuration the plugin wrote (see :mod:`conformance.settings_file`).
"""

import os

from conformance.settings_file import ENV_VAR, KitConfig, settings_for

if ENV_VAR not in os.environ:  # pragma: no cover - misuse
    raise RuntimeError(
        f"{__name__} is the kit's settings module; {ENV_VAR} must name its file"
    )

globals().update(settings_for(KitConfig.read(os.environ[ENV_VAR])))
