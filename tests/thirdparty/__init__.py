"""The kit against third-party backends from PyPI on a real Redis (tox -e thirdparty-redis)."""
