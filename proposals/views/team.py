"""Team pages: invite and remove co-authors; accept an invitation."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from proposals import rules, selectors
from proposals import team as team_service
from proposals.forms import InviteForm
from rfp_portal import views as portal_views


@login_required
def team(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.team_proposal(request, pk)
    is_owner = rules.is_proposal_owner(request.user, proposal)
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        if not is_owner:
            messages.error(request, _("Only the proposal's owner can invite co-authors."))
        elif form.is_valid():
            try:
                team_service.invite(
                    proposal=proposal,
                    owner=request.user,
                    email=form.cleaned_data["email"],
                    now=request.received_at,
                    request=request,
                )
            except team_service.TeamError as exc:
                form.add_error("email", str(exc))
            else:
                messages.success(
                    request,
                    _("An invitation has been sent to %(email)s.")
                    % {"email": form.cleaned_data["email"]},
                )
                return redirect("proposal_team", pk=proposal.pk)
    return render(
        request,
        "proposals/team.html",
        {
            "proposal": proposal,
            "rfp": proposal.rfp,
            "members": proposal.members.select_related("user").order_by("added_at"),
            "invitations": [i for i in proposal.invitations.all() if i.is_open],
            "form": form,
            "is_owner": is_owner,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def remove_member(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    proposal = selectors.team_proposal(request, pk)
    member = get_object_or_404(proposal.members.select_related("user"), pk=member_id)
    try:
        team_service.remove_member(
            proposal=proposal,
            owner=request.user,
            member=member,
            now=request.received_at,
            request=request,
        )
    except team_service.TeamError as exc:
        messages.error(request, str(exc))
    except PermissionDenied:
        messages.error(request, _("Only the proposal's owner can remove co-authors."))
    else:
        messages.success(request, _("%(name)s is no longer on the team.") % {"name": member.user})
    return redirect("proposal_team", pk=proposal.pk)


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    return portal_views.invitation_link_page(
        request,
        token,
        load=team_service.invitation_from_token,
        accept=team_service.accept,
        failure=team_service.TeamError,
        template="proposals/invitation.html",
        sign_in_message=lambda invitation: (
            _("Sign in (or create an account with %(email)s) to join the proposal “%(title)s”.")
            % {"email": invitation.email, "title": invitation.proposal.title}
        ),
        accepted=lambda proposal: (_("You are now a co-author of this proposal."), proposal),
    )
