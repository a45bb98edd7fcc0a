"""The compatibility matrix: the kit run on every entry of ``matrix/entries``.

``python -m matrix [NAME ...]`` (``tox -e matrix``) runs the entries, keeps
each one's result in ``matrix/results/<name>.json`` and renders
``docs/compatibility.md`` and ``docs/compatibility.svg`` from every stored
result. The entry format is ``matrix/README.md``.
"""
