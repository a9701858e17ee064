"""Sealing, proved for every path that can read proposal data (rule 2).

A submitted proposal on a sealed RFP carries a unique marker in its title, its answers and its
PDF's file name (see scenario.py). Before opening, no page, download, admin page or search,
export, PDF or mail shows the marker to anyone but the proposal's team. After opening, staff
see it on the same paths: the checks are able to fail.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evaluation import decisions, export_requests
from evaluation.models import Export
from proposals import services
from proposals.models import Invitation, Proposal, ProposalMember
from rfp_portal import delivery
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.helpers.responses import body
from tests.security.scenario import (
    COAUTHOR,
    OTHER,
    OWNER,
    REV_CONFLICT,
    REV_FREE,
    REV_NONE,
    STAFF,
    build_scenario,
    clients_for,
    marker,
)

pytestmark = pytest.mark.django_db


def staff_paths(side) -> list[str]:
    """Every page staff could read proposal data on, for one RFP: staff pages, the audit trail
    (also searched for the marker), each ModelAdmin's changelist searched for the marker, and
    the admin's pages for the proposal, its version, its receipt mail and its audit events."""
    rfp, proposal, version = side.rfp, side.proposal, side.version
    # Searched for a part of the marker: a search page repeats its query, never the whole marker.
    term = marker(f"{rfp.slug}-own")[3:-1]
    paths = [
        reverse("staff_home"),
        reverse("staff_evaluation", args=[rfp.slug]),
        reverse("staff_evaluation", args=[rfp.slug]) + "?auto-per_proposal=2",
        reverse("staff_dashboard", args=[rfp.slug]),
        reverse("staff_exports", args=[rfp.slug]),
        reverse("staff_questions", args=[rfp.slug]),
        reverse("staff_decision", args=[rfp.slug, proposal.pk]),
        reverse("audit_log"),
        reverse("audit_log") + f"?object={term}",
        reverse("audit_log") + f"?object={proposal.pk}",
        reverse("proposal_version", args=[proposal.pk, version.number]),
        reverse("version_document", args=[proposal.pk, version.number]),
        reverse("proposal_clarifications", args=[proposal.pk]),
        reverse("admin:index"),
        reverse("admin:proposals_proposal_change", args=[proposal.pk]),
        reverse("admin:proposals_submissionversion_change", args=[version.pk]),
        reverse("admin:proposals_rfp_change", args=[rfp.pk]),
        reverse("admin:proposals_rfp_delete", args=[rfp.pk]),
        reverse("admin:rfp_portal_user_change", args=[proposal.owner_id]),
        reverse("admin:rfp_portal_user_delete", args=[proposal.owner_id]),
        reverse("admin:autocomplete")
        + f"?app_label=proposals&model_name=submissionversion&field_name=proposal&term={term}",
    ]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        paths.append(reverse("admin:{}_{}_changelist".format(*info)) + f"?q={term}")
    for message in OutboxMessage.objects.all():
        paths.append(reverse("admin:rfp_portal_outboxmessage_change", args=[message.pk]))
    for event in AuditEvent.objects.filter(
        object_type="proposals.proposal", object_id=str(proposal.pk)
    ):
        paths.append(reverse("admin:rfp_portal_auditevent_change", args=[event.pk]))
    return paths


def team_and_invitees(proposal) -> set[str]:
    members = ProposalMember.objects.filter(proposal=proposal).values_list("user__email", flat=True)
    invited = Invitation.objects.filter(proposal=proposal).values_list("email", flat=True)
    return {e.lower() for e in [*members, *invited]}


def test_sealed_proposals_reach_no_one_but_their_team_until_opening():
    s = build_scenario()
    clients = clients_for(s.users)
    side = s.sealed
    mark = marker(f"{side.rfp.slug}-own")
    assert mark in side.proposal.title and mark in side.proposal.document_name
    assert mark in str(side.proposal.fields)

    # Staff: every staff page, the admin (pages and searches) and the audit trail.
    staff = clients[STAFF]
    leaks = [path for path in staff_paths(side) if mark in body(staff.get(path, follow=True))]
    assert not leaks, f"sealed content shown to staff at: {leaks}"

    # Who worked on it is sealed too (staff see counts only): the audit trail and the admin
    # list none of the proposal's events (their times next to a sign-up would name the bidder),
    # the trail counts them, and a search by person finds nothing.
    owner_email = s.users[OWNER].email
    label = side.proposal.audit_label()
    assert AuditEvent.objects.filter(
        object_type="proposals.proposal", object_id=str(side.proposal.pk), actor_label=owner_email
    ).exists()

    def rows_about_it(html: str) -> list[str]:
        return [row for row in html.split("<tr") if label in row]

    trail_page = staff.get(reverse("audit_log"))
    trail = body(trail_page)
    assert not rows_about_it(trail), "a sealed proposal's events are listed"
    sealed_count = sum(row["events"] for row in trail_page.context["sealed"])
    # object_type too: on SQLite ids restart with each test, so an RFP or a user may share the
    # proposal's id.
    about_it = AuditEvent.objects.filter(
        object_type="proposals.proposal", object_id=str(side.proposal.pk)
    )
    assert sealed_count >= about_it.count() > 0
    assert "events about sealed proposals, not listed" in trail
    by_person = body(staff.get(reverse("audit_log") + f"?actor={owner_email}"))
    assert not rows_about_it(by_person)
    admin_list = reverse("admin:rfp_portal_auditevent_changelist")
    assert not rows_about_it(body(staff.get(admin_list)))
    assert not rows_about_it(body(staff.get(admin_list + f"?q={owner_email}")))
    sealed_event = about_it.first()
    change = reverse("admin:rfp_portal_auditevent_change", args=[sealed_event.pk])
    assert staff.get(change).status_code == 403

    # Exports are refused before opening (and the refusal names no proposal).
    with pytest.raises(export_requests.ExportRefused) as refused:
        export_requests.request_export(
            rfp=side.rfp, kind="bundle", user=s.users[STAFF], now=timezone.now()
        )
    assert mark not in str(refused.value)
    assert not Export.objects.filter(rfp=side.rfp).exists()
    response = staff.post(reverse("staff_exports", args=[side.rfp.slug]), {"kind": "report"})
    assert not Export.objects.filter(rfp=side.rfp).exists()
    assert mark not in body(staff.get(response.url))
    # Deciding is refused too, without naming the undecided (sealed) proposals.
    with pytest.raises(decisions.DecisionError) as refused:
        decisions.publish_decisions(rfp=side.rfp, staff_user=s.users[STAFF], now=timezone.now())
    assert mark not in str(refused.value)

    # Reviewers, assigned or not: their queue, the review and conflict pages, the scorecard.
    for key in (REV_NONE, REV_CONFLICT, REV_FREE):
        client = clients[key]
        for path in (
            reverse("reviewer_home"),
            reverse("review", args=[side.proposal.pk]),
            reverse("review_conflict", args=[side.proposal.pk]),
            reverse("review_scorecard", args=[side.proposal.pk]),
            reverse("proposal_version", args=[side.proposal.pk, side.version.number]),
        ):
            response = client.get(path)
            assert mark not in body(response), (key, path)
        assert client.get(reverse("review", args=[side.proposal.pk])).status_code == 404

    # Another team and the public: the RFP page, their own lists, the receipt check, the open
    # contracting data (which has not even the number of proposals before opening).
    ocds_paths = (
        reverse("ocds_release_package", args=[side.rfp.slug]),
        reverse("ocds_record_package", args=[side.rfp.slug]),
        reverse("ocds_releases"),
    )
    for client in (clients[OTHER], Client()):
        for path in (reverse("home"), reverse("rfp_detail", args=[side.rfp.slug]), *ocds_paths):
            assert mark not in body(client.get(path))
    assert "numberOfTenderers" not in body(Client().get(ocds_paths[0]))
    verified = Client().post(reverse("verify_receipt"), {"code": side.version.receipt_code})
    assert verified.status_code == 200 and side.rfp.title in body(verified)
    assert mark not in body(verified)

    # PDFs: the receipt is the team's (and shows their title); nobody else gets it.
    receipt = reverse("receipt_pdf", args=[side.proposal.pk, side.version.number])
    for key in (OWNER, COAUTHOR):
        assert mark in body(clients[key].get(receipt))
    for key in (OTHER, REV_FREE, STAFF):
        assert clients[key].get(receipt).status_code == 404

    # Mails: everything queued so far, delivered; the marker goes only to the team (and the
    # people the owner invited onto it).
    for message_id in delivery.pending_ids():
        delivery.deliver(message_id)
    allowed = team_and_invitees(side.proposal)
    stored = [(m.to, m.subject + m.body_text + m.body_html) for m in OutboxMessage.objects.all()]
    sent = [
        (address, message.subject + message.body)
        for message in mail.outbox
        for address in message.to
    ]
    assert sent, "the outbox delivered nothing: the mail check would prove nothing"
    wrong = [to for to, text in stored + sent if mark in text and to.lower() not in allowed]
    assert not wrong, f"sealed content mailed to {wrong}"
    assert any(mark in text for to, text in stored if to.lower() in allowed)

    # After opening, staff read the same proposal on the same paths: the checks can fail.
    assert services.open_due_rfps(
        now=side.rfp.deadline_instant + timedelta(seconds=side.rfp.grace_seconds + 1)
    )
    staff_after = staff
    version_page = reverse("proposal_version", args=[side.proposal.pk, side.version.number])
    assert mark in body(staff_after.get(version_page))
    changelist = reverse("admin:proposals_proposal_changelist") + f"?q={mark[3:-1]}"
    assert mark in body(staff_after.get(changelist))
    assert Proposal.objects.get(pk=side.proposal.pk).rfp.opened_at is not None
    opened_trail = body(staff_after.get(reverse("audit_log") + f"?actor={owner_email}"))
    assert [r for r in rows_about_it(opened_trail) if owner_email in r]
    assert staff_after.get(change).status_code == 200
    # The open contracting data now counts the proposals (the check above could fail), and
    # still shows none of their content.
    opened_data = body(Client().get(ocds_paths[0]))
    assert '"numberOfTenderers": 2' in opened_data and mark not in opened_data
