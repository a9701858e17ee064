"""A real Celery worker over the local Redis broker (database 15, flushed per test)."""

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker

from rfp_portal.celery import app
from tests.conftest import require_or_skip

BROKER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DEAD_BROKER = "redis://127.0.0.1:1/0"


def broker_answers(url: str = BROKER) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def reset_pool():
    # The producer pool was built for the previous broker URL; a new one is built on next use.
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    # kombu keeps producer pools per connection in a global registry; drop the stale ones.
    from kombu import pools

    pools.reset()


def flush_broker():
    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()


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


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
