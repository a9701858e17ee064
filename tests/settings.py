"""Settings for the test suite: the project's settings, on PostgreSQL, with test-only speed-ups.

DATABASE_URL wins if set. Otherwise the local PostgreSQL (127.0.0.1:5432, user postgres) is
used when it answers; a laptop without it falls back to SQLite with a warning, except with
REQUIRE_SERVICES=1 (CI), where a missing PostgreSQL is an error.
"""

import os
import socket
import sys
import tempfile
from pathlib import Path

DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rfp_portal"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"
# DATABASE_URL=sqlite:///... runs the suite on SQLite on purpose (CI's second run): tests marked
# `postgresql` are then left out, and REQUIRE_SERVICES does not demand PostgreSQL.
SQLITE_CHOSEN = os.environ.get("DATABASE_URL", "").startswith("sqlite:")
if not os.environ.get("DATABASE_URL"):
    if _answers("127.0.0.1", 5432):
        os.environ["DATABASE_URL"] = DEFAULT_TEST_DATABASE_URL
    elif REQUIRE_SERVICES:
        raise SystemExit("REQUIRE_SERVICES=1 but PostgreSQL does not answer on 127.0.0.1:5432.")
    else:
        print("PostgreSQL not reachable: tests run on SQLite instead.", file=sys.stderr)

os.environ.pop("REDIS_URL", None)  # tests choose their broker themselves (see tests/celery)
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.pop("AWS_STORAGE_BUCKET_NAME", None)
os.environ.setdefault("FAST_PASSWORD_HASHER", "1")
os.environ.setdefault("DJANGO_ENV", "development")
_tmp = Path(tempfile.mkdtemp(prefix="rfp-portal-tests-"))
os.environ["VAR_DIR"] = str(_tmp)
# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# under one unless told it is safe (it is: the loop is Playwright's, not ours).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from rfp_portal.settings import *  # noqa: E402, F403

MEDIA_ROOT = _tmp / "media"
CELERY_TASK_ALWAYS_EAGER = True

# Each checkout gets its own test database, so a developer's run and a CI run of another clone
# on the same PostgreSQL never drop or migrate each other's tables mid-run.
import hashlib  # noqa: E402

from rfp_portal.settings import BASE_DIR, DATABASES  # noqa: E402

_checkout = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]
# TEST_DATABASE_SUFFIX separates parallel runs inside one checkout (e.g. a benchmark author and
# the full suite at once).
_suffix = os.environ.get("TEST_DATABASE_SUFFIX", "")
ON_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")
# On SQLite the test database is a file with the portal's own options (WAL, IMMEDIATE, busy
# timeout), not Django's shared in-memory database: the live server's threads, the Celery
# worker's threads and the tests then meet the same locking as `make run` does.
DATABASES["default"].setdefault("TEST", {})["NAME"] = (
    str(_tmp / "test.sqlite3")
    if ON_SQLITE
    else f"test_{DATABASES['default']['NAME']}_{_checkout}{_suffix}"
)
