"""The local Redis broker the Celery tests use (database 15, flushed per test), and a broker
address where nothing answers."""

import os

import redis
from kombu import pools

from rfp_portal.celery import app

BROKER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DEAD_BROKER = "redis://127.0.0.1:1/0"


def broker_answers(url: str = BROKER) -> bool:
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
    pools.reset()


def flush_broker():
    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()
