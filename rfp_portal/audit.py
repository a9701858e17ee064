"""The audit trail: record() is the only way an AuditEvent is written; nothing edits one."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import Http404, HttpRequest
from django.utils import timezone

from rfp_portal.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a known proxy sets it.
    return request.META.get("REMOTE_ADDR") or None


def object_label(obj: models.Model) -> str:
    """How the trail names an object: its audit_label() if it has one (a proposal's title is
    sealed content, and an event can never be edited once the proposal is opened), else str()."""
    label = getattr(obj, "audit_label", None)
    return label() if callable(label) else str(obj)


def record(
    *,
    action: str,
    actor: Any = None,
    obj: models.Model | None = None,
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
    at: Any = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it describes."""
    if actor is None and request is not None:
        actor = request.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=getattr(actor, "email", "") if actor else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=object_label(obj)[:300] if obj is not None else "",
        ip_address=client_ip(request),
        details=details or {},
        at=at or timezone.now(),
    )


def refuse(
    request: HttpRequest,
    action: str,
    obj: models.Model | None = None,
    *,
    details: dict[str, Any] | None = None,
) -> Http404:
    """Record a refused access and give the 404 to raise: a foreign object is not found (nothing
    leaks), and the trail still says who looked. Use as `raise audit.refuse(request, ...)`."""
    record(action=action, request=request, obj=obj, details=details)
    return Http404()


def sealed_counts(events: models.QuerySet[AuditEvent]) -> list[dict[str, Any]]:
    """What staff see of events about sealed proposals (rule 2: counts only): per action, the
    number of events and of proposals (none for an addendum's acknowledgements, which are
    about the addendum). `events` is annotated by proposals.rules.audit_events_for_staff.
    """
    return list(
        events.filter(sealed=True)
        .values("action")
        .annotate(
            events=models.Count("id"),
            proposals=models.Count(
                "object_id",
                distinct=True,
                filter=models.Q(object_type="proposals.proposal"),
            ),
        )
        .order_by("action")
    )
