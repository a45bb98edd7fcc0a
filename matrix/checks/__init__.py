"""Findings of the page checked by hand, a small script each, outside the kit.

Each script runs in its entry's environment (``matrix/.venvs/<entry>-*``) and
prints what the backend really does, in plain Django with no kit code: a
maintainer can run it to see the deviation for themselves.
"""
