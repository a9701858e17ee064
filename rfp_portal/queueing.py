"""Queueing background work once the caller's transaction commits, whether or not the broker is up.

Every task that follows a write (deliver an outbox message, render a receipt PDF, render an
export) is queued here: after the commit, so the worker finds the rows it is handed, and never
at the cost of the request. If the broker cannot be reached the caller carries on; the row
written in the transaction is the record of the work, and whatever could not be queued is
picked up later (the outbox and exports by their periodic sweepers, in rfp_portal/celery.py;
a receipt PDF by its first download).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """Queue task(*args) once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args))


def enqueue(task: Task, *args: Any) -> None:
    """Queue task(*args) now (a sweeper, outside any transaction); never raises if the broker
    is down: the row the task is about stays, for the next sweep."""
    try:
        task.delay(*args)
    except Exception:  # broker down: never break the caller; the row waits for its sweeper
        log.warning(
            "Could not queue %s%r; its row waits to be picked up later.",
            task.name,
            args,
            exc_info=True,
        )
