"""Deliberately broken backends: each must make the kit fail on one clause.

Each module breaks one family; each class breaks one rule, on top of a
correct reference backend so that nothing else fails.
"""
