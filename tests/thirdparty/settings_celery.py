"""Settings for the kit against django-tasks-celery, as its README configures it.

The project's Celery app is created when the settings load (Celery's Django
layout imports it from the project package); the backend finds it as
Celery's current app. ``CONFORMANCE_REDIS_URL`` names the test server.
"""

import os

from tests.thirdparty.settings_common import *  # noqa: F403

_REDIS = os.environ["CONFORMANCE_REDIS_URL"].rsplit("/", 1)[0]  # no database
CELERY_BROKER_URL = f"{_REDIS}/0"
CELERY_RESULT_BACKEND = f"{_REDIS}/1"
CELERY_RESULT_EXTENDED = True

from tests.thirdparty.celery_app import app as celery_app  # noqa: E402, F401
