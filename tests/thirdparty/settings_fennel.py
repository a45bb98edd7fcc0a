"""Settings for the kit against django-tasks-fennel, as its README configures it.

The package's app installs its own Celery app (configured from the
``CELERY_`` settings) when no project app exists. ``CONFORMANCE_REDIS_URL``
names the test server.
"""

import os

from tests.thirdparty.settings_common import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_fennel"]  # noqa: F405

_REDIS = os.environ["CONFORMANCE_REDIS_URL"].rsplit("/", 1)[0]  # no database
CELERY_BROKER_URL = f"{_REDIS}/0"
CELERY_RESULT_BACKEND = f"{_REDIS}/1"
CELERY_RESULT_EXTENDED = True
