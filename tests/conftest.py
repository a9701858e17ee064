"""Fixtures used in more than one test directory: people in each role, an open RFP, one with
submitted proposals and a pool of reviewers, a clean cache, and a real Celery worker.

Only fixtures live in conftest.py files; the plain helpers tests share are in tests/helpers/.
"""

import tomllib
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from evaluation import services as evaluation_services
from evaluation.models import PoolMember
from proposals import demo, services
from proposals.models import RFP
from rfp_portal import permissions
from rfp_portal.celery import app
from tests.factories import PASSWORD, UserFactory
from tests.helpers.broker import BROKER, broker_answers, flush_broker, reset_pool
from tests.helpers.mfa import TOTP_SECRET
from tests.helpers.proposals import submitted_proposal
from tests.helpers.required_services import REQUIRE_SERVICES, require_or_skip
from tests.helpers.reviews import make_reviewer


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


@pytest.fixture(scope="session", autouse=True)
def _receipt_key(tmp_path_factory):
    """Receipts are signed at submit: every test signs with a key made here, in a directory of
    its own (a test that rotates keys uses its own directory, see test_receipt_signing)."""
    from django.test import override_settings

    from proposals import receipt_signing

    directory = tmp_path_factory.mktemp("receipt-keys")
    receipt_signing.create_key(directory)
    with override_settings(RECEIPT_KEYS_DIR=directory):
        yield directory


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate limits and used TOTP codes live in the cache; each test starts from nothing.
    cache.clear()
    yield
    cache.clear()


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
def staff_client(client, staff):
    """Django's test client signed in as `staff`."""
    client.force_login(staff)
    return client


@pytest.fixture
def open_rfp(db) -> RFP:
    path = demo.DEMO_DATA_DIR / "pypi-2019-q4.toml"
    data = tomllib.loads(path.read_text())
    now = timezone.now()
    shift = services.demo_shift(data, today=now.date())
    return services.load_rfp(data, shift=shift, now=now - timedelta(days=1)).rfp


@pytest.fixture
def evaluation_setup(open_rfp):
    """The open RFP with a submitted proposal from each of two teams and a pool of three
    reviewers (with a second factor); `assign` assigns a proposal to a reviewer as staff."""
    alpha_owner = UserFactory(email="alpha@alpha-team.example.io", organisation="Alpha")
    beta_owner = UserFactory(email="beta@beta-team.example.io", organisation="Beta")
    alpha = submitted_proposal(open_rfp, alpha_owner, "Alpha proposal")
    beta = submitted_proposal(open_rfp, beta_owner, "Beta proposal")
    reviewers = [make_reviewer(f"rev{i}@uni{i}.example.edu", f"Uni {i}") for i in range(3)]
    for reviewer in reviewers:
        PoolMember.objects.create(rfp=open_rfp, user=reviewer)
    return {
        "rfp": open_rfp,
        "alpha": alpha,
        "beta": beta,
        "alpha_owner": alpha_owner,
        "reviewers": reviewers,
        "assign": lambda proposal, reviewer, staff: evaluation_services.assign(
            proposal=proposal, reviewer=reviewer, staff_user=staff, now=timezone.now()
        ),
    }


# A real Celery worker over the local Redis broker (database 15, flushed per test).


@pytest.fixture
def broker_conf():
    saved = {key: app.conf.get(key) for key in ("broker_url", "task_always_eager")}

    def use(url):
        app.conf.update(broker_url=url, task_always_eager=False)
        reset_pool()

    yield use
    app.conf.update(saved)
    reset_pool()


@pytest.fixture
def live_broker(broker_conf):
    """Tasks go to the real Redis broker (flushed); no worker is started."""
    if not broker_answers(BROKER):
        require_or_skip(f"Redis does not answer at {BROKER}")
    broker_conf(BROKER)
    flush_broker()
    return BROKER


@pytest.fixture
def worker(live_broker):
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield app
