"""The executable specification: one module per feature family.

Every test carries ``@clause("ID")`` naming its clause in ``specs/``.
"""
