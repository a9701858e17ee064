"""Who may do what: the one place every view, the admin and tasks ask.

Roles are Django groups (proposer, reviewer, staff). Reviewer and staff areas also need MFA: a
member of those groups without an authenticator is sent to the MFA set-up page first.
Rules about single objects (sealing, conflicts) join this module as their features land; views
never test `is_staff` or group names themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from proposals.models import RFP, Proposal
    from rfp_portal.models import User

    AnyUser = User | AnonymousUser


class Role(StrEnum):
    PROPOSER = "proposer"
    REVIEWER = "reviewer"
    STAFF = "staff"


class Area(StrEnum):
    """Parts of the site guarded as a whole."""

    REVIEWER = "reviewer"
    STAFF = "staff"


# Roles whose holders must have a second factor before they see anything of their role.
MFA_ROLES = frozenset({Role.REVIEWER, Role.STAFF})
AREA_ROLES = {Area.REVIEWER: Role.REVIEWER, Area.STAFF: Role.STAFF}


def ensure_groups() -> dict[Role, Group]:
    """Create the role groups if missing (migrations and the demo loader call this)."""
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}


def grant_role(user: User, role: Role | str) -> None:
    role = Role(role)
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    _forget(user)


def revoke_role(user: User, role: Role) -> None:
    user.groups.remove(*Group.objects.filter(name=role.value))
    _forget(user)


def _forget(user: AnyUser) -> None:
    for attr in ("_portal_roles", "_portal_has_mfa"):
        user.__dict__.pop(attr, None)


def roles_of(user: AnyUser) -> frozenset[Role]:
    """The user's roles, read once per request object."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = user.__dict__.get("_portal_roles")
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(role for role in Role if role.value in names)
        user.__dict__["_portal_roles"] = cached
    return cached


def has_role(user: AnyUser, role: Role) -> bool:
    return role in roles_of(user)


def holders_of(role: Role):
    """The active accounts holding a role (whom to tell, e.g. every staff member)."""
    from rfp_portal.models import User

    return User.objects.filter(is_active=True, groups__name=Role(role).value).order_by("pk")


def has_mfa(user: AnyUser) -> bool:
    """True when the user has a second factor that can sign them in (TOTP or WebAuthn)."""
    if not user.is_authenticated:
        return False
    cached = user.__dict__.get("_portal_has_mfa")
    if cached is None:
        from allauth.mfa.models import Authenticator

        cached = Authenticator.objects.filter(
            user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        ).exists()
        user.__dict__["_portal_has_mfa"] = cached
    return cached


def needs_mfa_setup(user: AnyUser) -> bool:
    return bool(roles_of(user) & MFA_ROLES) and not has_mfa(user)


def can_enter(user: AnyUser, area: Area) -> bool:
    return has_role(user, AREA_ROLES[area]) and has_mfa(user)


def is_staff_member(user: AnyUser) -> bool:
    return can_enter(user, Area.STAFF)


def is_reviewer(user: AnyUser) -> bool:
    return can_enter(user, Area.REVIEWER)


def can_use_admin(user: AnyUser) -> bool:
    """The Django admin is a staff tool: staff role, MFA and the admin flag."""
    return bool(user.is_authenticated and user.is_active and user.is_staff) and is_staff_member(
        user
    )


def can_manage_rfps(user: AnyUser) -> bool:
    return is_staff_member(user)


def can_view_rfp(user: AnyUser, rfp: RFP) -> bool:
    """Published RFPs are public; drafts only to staff."""
    return rfp.is_published or can_manage_rfps(user)


def can_browse_audit(user: AnyUser) -> bool:
    return is_staff_member(user)


# --- Proposals: team membership and sealing ---------------------------------------------


def team_role(user: AnyUser, proposal: Proposal) -> str | None:
    """ "owner", "coauthor" or None; read once per (proposal object, user)."""
    if not user.is_authenticated or not user.is_active:
        return None
    cache = proposal.__dict__.setdefault("_portal_team_roles", {})
    if user.pk not in cache:
        from proposals.models import ProposalMember

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
    from django.db.models import OuterRef, Subquery, Value

    from proposals.models import ProposalMember

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
    return team_role(user, proposal) == "owner"


def is_sealed(rfp: RFP) -> bool:
    """Rule 2: a sealed RFP's proposals are readable only by their teams until it is opened."""
    return rfp.sealed and rfp.opened_at is None


def sealed_audit_events():
    """A Q for audit events about proposals of RFPs still sealed. Before opening staff see counts
    only (rule 2): such events are listed, but who did them, from where and with what details
    is sealed too, and they never match a search by person."""
    from django.db.models import Q

    from proposals.models import Addendum, Proposal

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
        action="addendum.acknowledged",
        object_id__in=[str(pk) for pk in addenda],
    )


def sealed_outbox_messages():
    """A Q for outbox messages that tell who bid on an RFP still sealed (rule 2: staff see
    counts only, in no list). Who gets a receipt, a co-author invitation, a withdrawal notice,
    a deadline reminder about a draft, or an addendum or answer mailed to the teams, names a
    bidder; the caller of outbox.queue_mail says so (`about_bidder`). One whose RFP was
    deleted stays sealed: it was never opened."""
    from django.db.models import Q

    return Q(about_bidder=True) & (
        Q(rfp__isnull=True) | Q(rfp__sealed=True, rfp__opened_at__isnull=True)
    )


def audit_events_for_staff(events):
    """The audit events annotated with `sealed` (see sealed_audit_events)."""
    from django.db.models import BooleanField, Case, Value, When

    return events.annotate(
        sealed=Case(
            When(sealed_audit_events(), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def can_read_submissions(user: AnyUser, proposal: Proposal) -> bool:
    """Submitted content: the team always; staff once the RFP is opened (or never sealed);
    an assigned reviewer once opened and after declaring no conflict (rule 5)."""
    if is_on_team(user, proposal):
        return True
    if is_sealed(proposal.rfp):
        return False
    return is_staff_member(user) or can_review(user, proposal)


# --- Reviewing: assignments, conflicts, visibility of reviews (rule 5) --------------------


def assignment_of(user: AnyUser, proposal: Proposal):
    """The user's active assignment to this proposal, or None (read once per object)."""
    if not user.is_authenticated:
        return None
    cache = proposal.__dict__.setdefault("_portal_assignments", {})
    if user.pk not in cache:
        from evaluation.models import Assignment

        cache[user.pk] = (
            Assignment.objects.filter(proposal=proposal, reviewer=user, removed_at__isnull=True)
            .select_related("proposal__rfp")
            .first()
        )
    return cache[user.pk]


def can_declare_conflict(user: AnyUser, proposal: Proposal) -> bool:
    return (
        is_reviewer(user)
        and not is_sealed(proposal.rfp)
        and assignment_of(user, proposal) is not None
    )


def can_review(user: AnyUser, proposal: Proposal) -> bool:
    """Assigned, active, opened, and declared no conflict: only then is content shown."""
    if not is_reviewer(user) or is_sealed(proposal.rfp):
        return False
    assignment = assignment_of(user, proposal)
    return assignment is not None and assignment.conflict == "none"


def can_see_other_reviews(user: AnyUser, proposal: Proposal) -> bool:
    """Staff always (after opening); a reviewer after submitting their own, unless the RFP
    lets reviewers see others' reviews first."""
    if is_sealed(proposal.rfp):
        return False
    if is_staff_member(user):
        return True
    if not can_review(user, proposal):
        return False
    if proposal.rfp.reviewers_see_others_first:
        return True
    from evaluation.models import Review

    return Review.objects.filter(
        assignment=assignment_of(user, proposal), state=Review.State.SUBMITTED
    ).exists()


def area_denial(request: HttpRequest, area: Area) -> HttpResponse | None:
    """None when the request may enter the area, else the response that turns it away.

    Signed out → sign-in page; no role → 403; role without MFA → MFA set-up with a reason.
    """
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_role(user, AREA_ROLES[area]):
        raise PermissionDenied(_("This part of the portal is not open to your account."))
    if not has_mfa(user):
        messages.warning(
            request,
            _(
                "Reviewers and staff must protect their account with two-factor "
                "authentication before they can continue. Set up an authenticator app "
                "(or a security key) below, then go back to the page you wanted."
            ),
        )
        return redirect("mfa_index")
    return None


def area_required(area: Area) -> Callable[[Callable[..., HttpResponse]], Callable[..., Any]]:
    """View decorator: the view runs only for users who may enter the area."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            denial = area_denial(request, area)
            if denial is not None:
                return denial
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_required = area_required(Area.STAFF)
reviewer_required = area_required(Area.REVIEWER)


def reviewer_or_staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For pages both evaluators' roles use: staff, or reviewers (each with MFA)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        area = Area.STAFF if has_role(request.user, Role.STAFF) else Area.REVIEWER
        denial = area_denial(request, area)
        if denial is not None:
            return denial
        return view(request, *args, **kwargs)

    return wrapper


def nav_for(user: AnyUser) -> dict[str, bool]:
    """What the navigation offers this user (drawn in templates/partials/nav.html)."""
    roles = roles_of(user)
    return {
        "signed_in": bool(user.is_authenticated),
        "proposer": Role.PROPOSER in roles,
        "reviewer": Role.REVIEWER in roles,
        "staff": Role.STAFF in roles,
        "admin": can_use_admin(user),
        "needs_mfa": needs_mfa_setup(user),
    }


def is_evaluator_of(user: AnyUser, proposal: Proposal) -> bool:
    """Staff (after opening) or an assigned reviewer who declared no conflict."""
    if is_sealed(proposal.rfp):
        return False
    return is_staff_member(user) or can_review(user, proposal)


def can_use_clarifications(user: AnyUser, proposal: Proposal) -> bool:
    """The private thread between evaluators and one team (after the deadline)."""
    return is_evaluator_of(user, proposal) or (
        is_on_team(user, proposal) and not is_sealed(proposal.rfp)
    )


def can_discuss(user: AnyUser, proposal: Proposal) -> bool:
    """The evaluators' discussion: staff, and reviewers once they may see others' reviews."""
    return can_see_other_reviews(user, proposal)
