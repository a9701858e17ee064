"""Plain helpers the tests share, each module named for what it holds.

Fixtures are not here: pytest injects them from the conftest.py nearest to the tests that use
them (tests/conftest.py for those used in more than one directory), and no test imports one.
"""
