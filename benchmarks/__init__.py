"""Benchmarks of the reference database backend against django-tasks-db.

``python -m benchmarks.run --help``; the method is in ``docs/benchmarks.md``.
"""
