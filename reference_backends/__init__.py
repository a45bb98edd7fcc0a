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
"""
