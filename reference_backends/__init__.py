"""Reference backends for Django's Tasks API, written to be read.

* :class:`reference_backends.immediate.ImmediateBackend` runs each task inside
  ``enqueue``, in the calling thread.
* :class:`reference_backends.dummy.DummyBackend` stores each result and never
  runs it: what an application's own test suite wants.
* :mod:`reference_backends.database`: a queue on the Django ORM, with a
  worker (``docs/database-backend.md``).

They import the Tasks API only through :mod:`reference_backends.compat`, so
they work on Django 6.0, 6.1 and on Django 5.2 with the ``django-tasks``
backport, and nothing from the kit (``conformance``): deploying a backend
must not install the kit's test dependencies. The
submodules are not imported here: importing a backend module reads Django's
settings, which a caller may not have configured yet.

What no file here implements, because Django's own classes keep it for every
backend that inherits them (``django/tasks/base.py``: ``task()``, ``Task``,
``TaskResult``, ``TaskError``, ``TaskContext``; ``django/tasks/backends/base.py``:
``BaseTaskBackend.validate_task`` and ``check``). A backend keeps these by not
overriding them, and by building its results as Django's frozen dataclasses:

* defining a task: DEFINITION-DECORATOR-RETURNS-TASK, DEFINITION-DEFAULTS,
  DEFINITION-FUNCTION-ATTRIBUTES, DEFINITION-DECORATOR-ARGUMENTS,
  DEFINITION-MODULE-LEVEL-ONLY, DEFINITION-TAKES-CONTEXT-PARAMETER,
  DEFINITION-ASYNC-REJECTED, DEFINITION-RUN-AFTER-NAIVE-REJECTED,
  DEFINITION-RUN-AFTER-NOT-IN-DECORATOR, DEFINITION-DECORATOR-FORWARDS-KWARGS,
  DEFINITION-UNKNOWN-BACKEND-REJECTED (``Task.__post_init__``, ``task()``);
* ``using()``: USING-RETURNS-NEW-TASK, USING-ORIGINAL-UNCHANGED,
  USING-APPLIES-CHANGES, USING-NONE-MEANS-UNCHANGED, USING-REVALIDATES,
  USING-BACKEND-SWITCH, USING-RESULT-CARRIES-DERIVED (``Task.using``);
* validation by ``validate_task``: PRIORITY-FRACTIONAL-REJECTED,
  PRIORITY-UNSUPPORTED-REJECTED, QUEUES-CONFIGURED-ACCEPTED,
  QUEUES-UNKNOWN-REJECTED, QUEUES-EMPTY-ACCEPTS-ANY;
* frozen and picklable dataclasses: IMMUTABILITY-TASK, IMMUTABILITY-RESULT,
  IMMUTABILITY-ERROR, IMMUTABILITY-CONTEXT, PICKLING-TASK-ROUND-TRIP,
  PICKLING-RESULT-ROUND-TRIP, ENQUEUE-RETURN-VALUE-UNFINISHED
  (``TaskResult.return_value``), ENQUEUE-STATUS-VALID (``is_finished``);
* ``Task.get_result`` over the backend's: GET-RESULT-MISMATCH,
  GET-RESULT-SAME-FUNCTION-MATCHES (they hold because each backend's
  ``get_result`` returns the stored task's own function);
* the check framework: CHECKS-RETURNS-MESSAGES, CHECKS-ACCEPTS-KWARGS,
  CHECKS-FRAMEWORK-RUNS, CHECKS-NO-ERRORS-WHEN-WORKING (the database
  backend adds its own messages after ``super().check()``).
"""
