"""Who may do what with RFPs and proposals: team membership, sealing (rule 2) and who reads
submitted content. Views, selectors, services and the admin ask here; roles and MFA are
rfp_portal.permissions', reviewing is evaluation.rules'.

A sealed RFP's proposals are readable only by their teams until it is opened: the sealing
filters below keep the audit trail and the outbox from telling who bid before then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db.models import BooleanField, Case, OuterRef, Q, QuerySet, Subquery, Value, When

from proposals.models import RFP, Addendum, Proposal, ProposalMember
from rfp_portal.audit import AuditAction
from rfp_portal.permissions import Role, has_role, is_staff_member

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import AnonymousUser

    from proposals.lifecycle import PublishedDecision
    from rfp_portal.models import AuditEvent, User

    AnyUser = User | AnonymousUser


# --- RFPs ----------------------------------------------------------------------------------


def can_manage_rfps(user: AnyUser) -> bool:
    return is_staff_member(user)


def can_view_rfp(user: AnyUser, rfp: RFP) -> bool:
    """Published RFPs are public; drafts only to staff."""
    return rfp.is_published or can_manage_rfps(user)


# --- Proposals: team membership ------------------------------------------------------------


def team_role(user: AnyUser, proposal: Proposal) -> str | None:
    """ "owner", "coauthor" or None; read once per (proposal object, user)."""
    if not user.is_authenticated or not user.is_active:
        return None
    cache = proposal.__dict__.setdefault("_portal_team_roles", {})
    if user.pk not in cache:
        cache[user.pk] = (
            ProposalMember.objects.filter(proposal=proposal, user=user)
            .values_list("role", flat=True)
            .first()
        )
    return cache[user.pk]


def team_role_subquery(user: AnyUser, proposal: str = "pk"):
    """An expression for `user`'s team role on each proposal of a query, so a page that checks
    the team reads the role with the proposal (one query fewer); see remember_team_role().
    `proposal` names the proposal's id in the outer query ("proposal_id" for versions)."""
    if not user.is_authenticated:
        return Value(None, output_field=ProposalMember._meta.get_field("role"))
    role = ProposalMember.objects.filter(proposal=OuterRef(proposal), user_id=user.pk)
    return Subquery(role.values("role")[:1])


def remember_team_role(proposal: Proposal, user: AnyUser, role: str | None) -> None:
    """Let team_role() answer from a role read by team_role_subquery() in the same query."""
    if user.is_authenticated and user.is_active:
        proposal.__dict__.setdefault("_portal_team_roles", {})[user.pk] = role


def is_on_team(user: AnyUser, proposal: Proposal) -> bool:
    return team_role(user, proposal) is not None


def can_edit_proposal(user: AnyUser, proposal: Proposal) -> bool:
    return is_on_team(user, proposal)


def can_start_proposal(user: AnyUser) -> bool:
    """Proposals are started by proposers (reviewers and staff act on them, never bid)."""
    return has_role(user, Role.PROPOSER)


def is_proposal_owner(user: AnyUser, proposal: Proposal) -> bool:
    return team_role(user, proposal) == ProposalMember.Role.OWNER


# --- Sealing (rule 2) ----------------------------------------------------------------------


def is_sealed(rfp: RFP) -> bool:
    """Rule 2: a sealed RFP's proposals are readable only by their teams until it is opened."""
    return rfp.sealed and rfp.opened_at is None


def sealed_audit_events() -> Q:
    """A Q for audit events about proposals of RFPs still sealed. Before opening staff see counts
    only (rule 2): such events are listed, but who did them, from where and with what details
    is sealed too, and they never match a search by person."""
    ids = Proposal.objects.filter(rfp__sealed=True, rfp__opened_at__isnull=True).values_list(
        "pk", flat=True
    )
    # Acknowledging an addendum is part of submitting (only a team with a proposal started
    # before it is asked to): who acknowledged is who bid.
    addenda = Addendum.objects.filter(rfp__sealed=True, rfp__opened_at__isnull=True).values_list(
        "pk", flat=True
    )
    return Q(object_type="proposals.proposal", object_id__in=[str(pk) for pk in ids]) | Q(
        object_type="proposals.addendum",
        action=AuditAction.ADDENDUM_ACKNOWLEDGED,
        object_id__in=[str(pk) for pk in addenda],
    )


def sealed_outbox_messages() -> Q:
    """A Q for outbox messages that tell who bid on an RFP still sealed (rule 2: staff see
    counts only, in no list). Who gets a receipt, a co-author invitation, a withdrawal notice,
    a deadline reminder about a draft, or an addendum or answer mailed to the teams, names a
    bidder; the caller of outbox.queue_mail says so (`about_bidder`). One whose RFP was
    deleted stays sealed: it was never opened."""
    return Q(about_bidder=True) & (
        Q(rfp__isnull=True) | Q(rfp__sealed=True, rfp__opened_at__isnull=True)
    )


def audit_events_for_staff(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """The audit events annotated with `sealed` (see sealed_audit_events)."""
    return events.annotate(
        sealed=Case(
            When(sealed_audit_events(), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


# --- Who reads submitted content ------------------------------------------------------------

# Readers of an opened (or never sealed) RFP's proposals besides their team and staff, added
# by the apps above this one: evaluation adds the assigned reviewer who declared no conflict
# (rule 5) when it is ready (evaluation.apps). Proposals cannot ask evaluation itself: it is
# the layer below.
_submission_readers: list[Callable[[AnyUser, Proposal], bool]] = []


def register_submission_reader(rule: Callable[[AnyUser, Proposal], bool]) -> None:
    """Add a rule naming who else reads a proposal's submitted content once it is not sealed."""
    if rule not in _submission_readers:
        _submission_readers.append(rule)


def can_read_submissions(user: AnyUser, proposal: Proposal) -> bool:
    """Submitted content: the team always; staff once the RFP is opened (or never sealed);
    an assigned reviewer once opened and after declaring no conflict (rule 5, registered by
    evaluation)."""
    if is_on_team(user, proposal):
        return True
    if is_sealed(proposal.rfp):
        return False
    return is_staff_member(user) or any(rule(user, proposal) for rule in _submission_readers)


# --- Published decisions --------------------------------------------------------------------

# Who reads a proposal's published decision: evaluation, the layer above, records and publishes
# decisions and registers its reader when it is ready (evaluation.apps); proposals.lifecycle
# asks here to show each proposal's stage. A reader answers for many proposals at once (one
# query for a whole list) and leaves out those without a published decision.
_decision_readers: list[Callable[[list[Proposal]], dict[int, PublishedDecision]]] = []


def register_decision_reader(
    reader: Callable[[list[Proposal]], dict[int, PublishedDecision]],
) -> None:
    """Add a reader of published decisions: proposals in, {proposal id: decision} out."""
    if reader not in _decision_readers:
        _decision_readers.append(reader)


def published_decisions(proposals: Iterable[Proposal]) -> dict[int, PublishedDecision]:
    """The published decision of each of `proposals` that has one, by proposal id."""
    proposals = list(proposals)
    found: dict[int, PublishedDecision] = {}
    if proposals:
        for reader in _decision_readers:
            found.update(reader(proposals))
    return found
