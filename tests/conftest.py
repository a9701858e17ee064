"""Fixtures shared by every test: people in each role, TOTP codes, a clean cache."""

import os
import time
import tomllib
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from proposals import demo, services
from proposals.models import RFP
from rfp_portal import permissions
from tests.factories import PASSWORD, UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def require_or_skip(reason: str) -> None:
    """Skip a test whose service is missing, unless CI demands every service (then fail)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _database_is_postgresql_in_ci(django_db_blocker):
    from django.db import connection

    if REQUIRE_SERVICES and connection.vendor != "postgresql" and not settings.SQLITE_CHOSEN:
        pytest.exit(
            "REQUIRE_SERVICES=1: PostgreSQL does not answer (set DATABASE_URL=sqlite:///... "
            "to run on SQLite on purpose)",
            returncode=3,
        )


def pytest_collection_modifyitems(config, items):
    """On SQLite, leave out tests of PostgreSQL-only features (each marker gives its reason).

    They are deselected, not skipped: the SQLite run does not claim to have tried them, and the
    PostgreSQL run of the same suite runs them.
    """
    if not settings.ON_SQLITE:
        return
    kept, left_out = [], []
    for item in items:
        (left_out if item.get_closest_marker("postgresql") else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate limits and used TOTP codes live in the cache; each test starts from nothing.
    cache.clear()
    yield
    cache.clear()


def totp_code(secret: str = TOTP_SECRET, *, offset: int = 0) -> str:
    # Never hand out a code about to expire: a journey types it a moment later.
    if 30 - time.time() % 30 < 3:
        time.sleep(3)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def proposer(db):
    return UserFactory(roles=[permissions.Role.PROPOSER])


def _with_totp(user):
    TOTP.activate(user, TOTP_SECRET)
    return user


@pytest.fixture
def reviewer(db):
    return _with_totp(UserFactory(roles=[permissions.Role.REVIEWER]))


@pytest.fixture
def reviewer_without_mfa(db):
    return UserFactory(roles=[permissions.Role.REVIEWER])


@pytest.fixture
def staff(db):
    return _with_totp(UserFactory(roles=[permissions.Role.STAFF], is_staff=True))


@pytest.fixture
def staff_without_mfa(db):
    return UserFactory(roles=[permissions.Role.STAFF], is_staff=True)


@pytest.fixture
def open_rfp(db) -> RFP:
    path = demo.DEMO_DATA_DIR / "pypi-2019-q4.toml"
    data = tomllib.loads(path.read_text())
    now = timezone.now()
    shift = services.demo_shift(data, today=now.date())
    return services.load_rfp(data, shift=shift, now=now - timedelta(days=1)).rfp
