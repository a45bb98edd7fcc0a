"""``python -m conformance.worker_main ARGV``: ``python -m django ARGV`` with
the kit's tasks imported first.

The kit runs a worker command in a process of its own when the worker is
called from another thread, or runs continuously. Some workers run only the
tasks registered in their own process: a registry that the ``@task``
decorator fills through the backend's ``task_class``, or one built by
importing each installed app's ``tasks`` module at start-up (as
django-task-psql does). A project's worker finds the project's tasks that
way; the kit's tasks live in :mod:`conformance.tasks`, which is no app's
``tasks`` module, so such a worker would refuse every task of the kit
("not registered") and the kit would report a failure that is the glue's,
not the backend's. Importing the module first gives the worker process what
the kit's own process has (where the in-process worker runs): the tasks,
defined on the backend under test, and the kit's signal recording.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str]) -> None:
    import django

    django.setup()
    # After setup: the decorator takes task_class from the configured backend.
    from django.core.management import execute_from_command_line

    from . import tasks  # noqa: F401 - imported for its registrations

    execute_from_command_line(["python -m django", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
