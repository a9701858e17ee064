"""The browser fixtures of tests/browser (Debian's chromium, axe-core), for the demo test."""

from tests.browser.conftest import (  # noqa: F401  (fixtures and the report hook, re-exported)
    ARTIFACTS,
    assert_accessible,
    axe,
    browser,
    pytest_runtest_makereport,
)
