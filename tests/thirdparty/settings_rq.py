"""Settings for the kit against django-tasks-rq: the backend's own, nothing of the kit's.

``CONFORMANCE_REDIS_URL`` names the Redis the tests started; the kit adds
``TASKS`` (and runs on the SQLite database given with ``--task-database``).
"""

import os

from conformance.settings_file import QUEUES
from tests.thirdparty.settings_common import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "django_rq"]  # noqa: F405

# The queues the kit uses, each on the test server's Redis.
RQ_QUEUES = {name: {"URL": os.environ["CONFORMANCE_REDIS_URL"]} for name in QUEUES}
