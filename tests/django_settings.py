"""Minimal Django settings for the project's own unit tests (not the kit's).

The kit configures Django itself in its own (sub)processes; these settings are
only for tests that use the reference backends directly in the pytest
process. Aliases: "default" is the ImmediateBackend, "dummy" the DummyBackend.
"""

from conformance.versions import REQUIRED_APPS

SECRET_KEY = "tests-not-secret"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django.contrib.contenttypes", *REQUIRED_APPS]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING_CONFIG = None
TASKS = {
    "default": {
        "BACKEND": "reference_backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "other"],
    },
    "dummy": {
        "BACKEND": "reference_backends.dummy.DummyBackend",
        "QUEUES": ["default", "other"],
    },
}
