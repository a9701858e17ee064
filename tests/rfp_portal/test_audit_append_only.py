"""The audit trail cannot be edited or deleted, even by raw SQL, on PostgreSQL."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models.deletion import ProtectedError

from rfp_portal import audit
from rfp_portal.models import AuditEvent
from tests.helpers.required_services import require_or_skip

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgresql(reason="the append-only trigger is PostgreSQL's (README: Audit trail)"),
]


@pytest.fixture
def event(proposer):
    if connection.vendor != "postgresql":
        require_or_skip("the append-only trigger exists on PostgreSQL only")
    return audit.record(action="test.recorded", actor=proposer, details={"n": 1})


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE rfp_portal_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM rfp_portal_auditevent WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_raw_update_and_delete_are_refused_by_the_database(event, sql):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.pk])
    event.refresh_from_db()
    assert event.action == "test.recorded"


def test_orm_update_and_delete_are_refused(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk, action="test.recorded").exists()


def test_a_person_with_audit_events_cannot_be_deleted(event, proposer):
    with pytest.raises(ProtectedError), transaction.atomic():
        proposer.delete()
    assert AuditEvent.objects.filter(pk=event.pk, actor=proposer).exists()
