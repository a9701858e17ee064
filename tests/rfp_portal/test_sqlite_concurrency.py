"""The embedded SQLite database under concurrent writers, as `make run` configures it.

A review's autosave and its submit (or two saves of one draft) are two requests in two threads,
each a transaction that reads and then writes. In SQLite's default (DEFERRED) mode both take a
read snapshot; the second to write cannot upgrade it and fails at once with "database is locked",
whatever the busy timeout. The portal's options (IMMEDIATE, WAL, busy timeout) make the second
wait for the first instead. These tests use a database file of their own, so they run in the
PostgreSQL run of the suite too.
"""

import contextlib
import threading

import pytest
from django.db import OperationalError, connections, transaction

from rfp_portal import config


def _race(tmp_path, options: dict) -> tuple[list[Exception], int]:
    """Two threads: read the counter, wait (up to a second) for the other, then increment it."""
    alias = "sqlite_race"
    settings_dict = config.database_config({}, default_sqlite=tmp_path / "race.sqlite3")
    settings_dict["OPTIONS"] = options
    configured = connections.configure_settings({"default": settings_dict})  # fills defaults
    connections.settings[alias] = configured["default"]
    errors: list[Exception] = []
    both_read = threading.Barrier(2, timeout=1)

    def writer():
        try:
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                cursor.execute("SELECT n FROM counter")
                cursor.fetchone()
                # A broken barrier: the other writer is queued behind this one (IMMEDIATE).
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_read.wait()
                cursor.execute("UPDATE counter SET n = n + 1")
        except OperationalError as exc:
            errors.append(exc)
        finally:
            connections[alias].close()

    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("CREATE TABLE counter (n integer)")
            cursor.execute("INSERT INTO counter VALUES (0)")
        threads = [threading.Thread(target=writer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT n FROM counter")
            (count,) = cursor.fetchone()
        return errors, count
    finally:
        connections[alias].close()
        del connections[alias]  # this thread's wrapper, bound to this test's file
        del connections.settings[alias]


@pytest.fixture
def unblocked(django_db_blocker):
    with django_db_blocker.unblock():
        yield


def test_two_writers_that_read_first_both_commit_with_the_portal_options(tmp_path, unblocked):
    errors, count = _race(tmp_path, config.sqlite_options())
    assert errors == []
    assert count == 2


def test_without_them_the_same_race_fails_as_the_demo_did(tmp_path, unblocked):
    # The control: SQLite's default mode, with the same busy timeout, loses one of the two.
    errors, count = _race(tmp_path, {"timeout": config.SQLITE_BUSY_TIMEOUT_SECONDS})
    assert [str(e) for e in errors] == ["database is locked"]
    assert count == 1


def test_the_embedded_database_uses_wal_and_immediate_transactions(tmp_path):
    options = config.database_config({}, default_sqlite=tmp_path / "db.sqlite3")["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert options["timeout"] >= 10
    # A sqlite:// DATABASE_URL gets the same options.
    url = config.database_config(
        {"DATABASE_URL": f"sqlite:///{tmp_path}/other.sqlite3"}, default_sqlite=tmp_path
    )
    assert url["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
