"""Co-authors: the owner invites by e-mail, the invitee accepts through a signed link."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from proposals import rules
from proposals.models import Invitation, Proposal, ProposalMember
from rfp_portal import audit, outbox, permissions, tokens
from rfp_portal.audit import AuditAction

SALT = "proposals.invitation"
MAX_AGE = 14 * 24 * 3600


class TeamError(Exception):
    pass


def invitation_token(invitation: Invitation) -> str:
    return tokens.make({"i": invitation.pk, "e": invitation.email}, salt=SALT)


def invitation_from_token(token: str) -> Invitation:
    """The open invitation a token names; TeamError with a reason otherwise."""
    invitation, data = tokens.load(
        token,
        salt=SALT,
        max_age=MAX_AGE,
        queryset=Invitation.objects.select_related("proposal__rfp"),
        id_key="i",
        error=TeamError,
        expired=_("This invitation has expired. Ask the proposal's owner for a new one."),
        invalid=_("This invitation link is not valid."),
    )
    if invitation is None or invitation.email != data.get("e") or not invitation.is_open:
        raise TeamError(_("This invitation is no longer valid."))
    return invitation


@transaction.atomic
def invite(*, proposal: Proposal, owner, email: str, now: datetime, request=None) -> Invitation:
    if not rules.is_proposal_owner(owner, proposal):
        raise PermissionDenied
    email = email.strip().lower()
    if proposal.members.filter(user__email__iexact=email).exists():
        raise TeamError(_("%(email)s is already on the team.") % {"email": email})
    invitation = Invitation.objects.create(
        proposal=proposal, email=email, invited_by=owner, created_at=now
    )
    link = settings.SITE_URL + reverse("accept_invitation", args=[invitation_token(invitation)])
    ctx = {"proposal": proposal, "rfp": proposal.rfp, "owner": owner, "link": link}
    outbox.queue_templated_mail(
        to=email,
        template="proposals/email/invitation",
        context=ctx,
        idempotency_key=f"invitation:{invitation.pk}",
        rfp=proposal.rfp,
        about_bidder=True,
    )
    audit.record(
        action=AuditAction.TEAM_INVITED,
        actor=owner,
        obj=proposal,
        request=request,
        at=now,
        details={"email": email},
    )
    return invitation


@transaction.atomic
def accept(*, invitation: Invitation, user, now: datetime, request=None) -> Proposal:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise TeamError(_("This invitation is no longer valid."))
    if user.email.lower() != invitation.email.lower():
        raise TeamError(
            _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    ProposalMember.objects.get_or_create(
        proposal=invitation.proposal,
        user=user,
        defaults={"role": ProposalMember.Role.COAUTHOR, "added_at": now},
    )
    invitation.accepted_at = now
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    permissions.grant_role(user, permissions.Role.PROPOSER)
    audit.record(
        action=AuditAction.TEAM_JOINED, actor=user, obj=invitation.proposal, request=request, at=now
    )
    return invitation.proposal


@transaction.atomic
def remove_member(*, proposal: Proposal, owner, member: ProposalMember, now, request=None) -> None:
    if not rules.is_proposal_owner(owner, proposal):
        raise PermissionDenied
    if member.proposal_id != proposal.pk:
        raise PermissionDenied
    if member.role == ProposalMember.Role.OWNER:
        raise TeamError(_("The owner cannot be removed."))
    member.delete()
    audit.record(
        action=AuditAction.TEAM_REMOVED,
        actor=owner,
        obj=proposal,
        request=request,
        at=now,
        details={"email": member.user.email},
    )


@transaction.atomic
def revoke(*, invitation: Invitation, owner, now, request=None) -> None:
    if not rules.is_proposal_owner(owner, invitation.proposal):
        raise PermissionDenied
    invitation.revoked_at = now
    invitation.save(update_fields=["revoked_at"])
    audit.record(
        action=AuditAction.TEAM_INVITATION_REVOKED, actor=owner, obj=invitation.proposal, at=now
    )
