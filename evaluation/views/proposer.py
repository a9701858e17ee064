"""What a proposer sees of the evaluation: the team's decision and the clarification thread."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from evaluation import decisions, selectors, threads
from evaluation.forms import MessageForm
from proposals import rules as proposal_rules
from proposals import selectors as proposal_selectors


def proposal_decision(request: HttpRequest, pk: int) -> HttpResponse:
    """The team's own decision and debrief, once decisions are published."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    proposal = proposal_selectors.team_proposal(request, pk)
    return render(
        request,
        "evaluation/proposal_decision.html",
        {"proposal": proposal, "rfp": proposal.rfp, "debrief": decisions.debrief(proposal)},
    )


def proposal_clarifications(request: HttpRequest, pk: int) -> HttpResponse:
    """The private clarification thread of one proposal: its team and its evaluators."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    proposal = selectors.thread_proposal(request, pk)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            threads.post_clarification(
                proposal=proposal,
                user=request.user,
                text=form.cleaned_data["text"],
                now=request.received_at,
                request=request,
            )
        except threads.ThreadError as exc:
            form.add_error("text", str(exc))
        else:
            messages.success(request, _("Your message has been sent."))
            return redirect("proposal_clarifications", pk=proposal.pk)
    return render(
        request,
        "evaluation/clarifications.html",
        {
            "proposal": proposal,
            "rfp": proposal.rfp,
            "thread": threads.clarifications(proposal),
            "form": form,
            "on_team": proposal_rules.is_on_team(request.user, proposal),
        },
        status=400 if form.errors else 200,
    )
