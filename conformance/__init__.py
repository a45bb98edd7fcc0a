"""The Django Tasks API conformance kit: a pytest plugin and the executable spec.

The plugin module is :mod:`conformance.plugin`; the suites are in
:mod:`conformance.suites`; the spec is loaded by :mod:`conformance.spec`.
"""
