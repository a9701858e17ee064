"""Reviewer pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rfp_portal import permissions


@permissions.reviewer_required
def reviewer_home(request: HttpRequest) -> HttpResponse:
    # Assignments arrive with the evaluation feature; until then the queue is honestly empty.
    return render(request, "evaluation/home.html", {"assignments": []})
