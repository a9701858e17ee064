"""The services a test may need (PostgreSQL, Redis, chromium): skip when one is missing, unless
CI requires every service (REQUIRE_SERVICES=1), and then fail."""

import os

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"


def require_or_skip(reason: str) -> None:
    """Skip a test whose service is missing, unless CI demands every service (then fail)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)
