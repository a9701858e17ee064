"""Authorization matrix: every URL pattern of the URLconf x every role x every phase.

The URLconf is walked with get_resolver(); a pattern without an entry in TABLE (or, for the
admin, without a rule for its ModelAdmin) fails the test by name. Each (URL, role, phase) has
an expected outcome:

- LOGIN: a redirect to a sign-in page (allauth's, or the admin's login, which sends there);
- F403 / F404 / F405: that status (no permission / someone else's or a sealed object / wrong
  method);
- OK: 2xx, or a redirect that is not to a sign-in page (the legitimate redirect);
- REFUSED (POST only): the product's own refusal (an error message on the page or after a
  redirect), with nothing changed;
- ADMIN_MISSING: the admin's "does not exist" redirect to its index (its 404).

GET is sent for every URL. POST (with valid-looking data, CSRF checks off) is sent for every
role whose expected POST outcome is not OK, and the state of the database (every proposals,
evaluation and outbox row, users and their groups) must be unchanged afterwards.

Whatever the outcome, a response (and the messages it queued) may contain a proposal's marker
only if the role may read that proposal at that moment (its team; staff and assigned reviewers
without a conflict once the RFP is opened).

Three phases are checked in one test, on one scenario (see scenario.py): sealed (an RFP before
its deadline), opened (another RFP after its deadline, opened, under review) and decided (the
same, after publish_decisions). All mismatches are collected and reported together.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from proposals import receipt_signing, rules
from rfp_portal import permissions
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.security.scenario import (
    ANON,
    DECIDED,
    OPENED,
    OWNER,
    PHASES,
    PROPOSERS,
    REV_FREE,
    REVIEWERS,
    ROLES,
    SEALED,
    STAFF,
    TEAM,
    Scenario,
    build_scenario,
    clients_for,
    decide,
)

pytestmark = pytest.mark.django_db

LOGIN, F403, F404, F405, OK, REFUSED, ADMIN_MISSING = (
    "login",
    "403",
    "404",
    "405",
    "ok",
    "refused",
    "admin-missing",
)
SIGN_IN_PATHS = ("/accounts/login/", "/admin/login/")

Rule = Callable[[str, str], str | None]


def rule(default: Any = None, **by: Any) -> Rule:
    """Expected outcome per role; a value may be a callable of the phase. Keys are role names,
    or the groups "team", "proposers", "reviewers", "users" (every signed-in role)."""

    def expected(role: str, phase: str):
        value = next((by[key] for key in (role, *_groups(role)) if key in by), default)
        return value(phase) if callable(value) else value

    return expected


def _groups(role: str) -> list[str]:
    groups = []
    if role in TEAM:
        groups.append("team")
    if role in PROPOSERS:
        groups.append("proposers")
    if role in REVIEWERS:
        groups.append("reviewers")
    if role != ANON:
        groups.append("users")
    return groups


def opened(then: str, before: str) -> Callable[[str], str]:
    return lambda phase: before if phase == SEALED else then


EVERYONE = rule(OK)
SIGNED_IN = rule(OK, anonymous=LOGIN)
POST_ONLY_SIGNED_IN = rule(F405, anonymous=LOGIN)
TEAM_ONLY = rule(F404, anonymous=LOGIN, team=OK)
STAFF_ONLY = rule(F403, anonymous=LOGIN, staff=OK)
STAFF_POST_ONLY = rule(F403, anonymous=LOGIN, staff=F405)
# Readers of submitted content: the team; once opened, staff and the assigned reviewer who
# declared no conflict.
READERS = rule(
    F404, anonymous=LOGIN, team=OK, staff=opened(OK, F404), reviewer_assigned=opened(OK, F404)
)
EVALUATORS_AND_TEAM = rule(
    F404,
    anonymous=LOGIN,
    team=opened(OK, F404),
    staff=opened(OK, F404),
    reviewer_assigned=opened(OK, F404),
)
REVIEWER_PAGE = rule(
    F404,
    anonymous=LOGIN,
    proposers=F403,
    staff=F403,
    reviewer_assigned=opened(OK, F404),
)


@dataclass(frozen=True)
class Entry:
    kwargs: Callable[[Scenario, str], dict] = lambda s, p: {}
    get: Rule = EVERYONE
    # None: the URL changes nothing on POST worth proving (or is only read); else the rule.
    post: Rule | None = None
    data: Callable[[Scenario, str], dict] = lambda s, p: {}
    query: str = ""


def rfp_slug(s: Scenario, phase: str) -> dict:
    return {"slug": s.side(phase).rfp.slug}


def proposal_pk(s: Scenario, phase: str) -> dict:
    return {"pk": s.side(phase).proposal.pk}


def proposal_id(s: Scenario, phase: str) -> dict:
    return {"proposal_id": s.side(phase).proposal.pk}


def version_kwargs(s: Scenario, phase: str) -> dict:
    side = s.side(phase)
    return {"pk": side.proposal.pk, "number": side.version.number}


def draft_form_data(s: Scenario, phase: str) -> dict:
    """The draft form as the team's browser would post it (with the current edit count)."""
    from proposals.forms import ProposalDraftForm
    from proposals.views.proposer import _milestones

    proposal = s.side(phase).proposal
    proposal.refresh_from_db()
    form = ProposalDraftForm(
        rfp=proposal.rfp,
        milestones=_milestones(proposal.rfp),
        initial=ProposalDraftForm.initial_from(proposal, proposal.rfp.elements.all()),
    )
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value in (None, "") or name == "document":
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    data["title"] = "Taken over"
    data["edit"] = str(proposal.edit_count)
    return data


def review_form_data(s: Scenario, phase: str) -> dict:
    data = {"overall_comment": "Overwritten", "action": "submit"}
    for criterion in s.side(phase).rfp.criteria.all():
        data[f"c{criterion.pk}"] = "fail" if criterion.is_gate else "0"
    return data


def decision_data(s: Scenario, phase: str) -> dict:
    return {"outcome": "disqualified", "rationale": "Overwritten."}


def addendum_data(s: Scenario, phase: str) -> dict:
    rfp = s.side(phase).rfp
    return {
        "change_note": "Moved.",
        "title": rfp.title,
        "summary": rfp.summary,
        "body_markdown": rfp.body_markdown,
        "deadline_date": str(rfp.deadline_date),
        "deadline_zone": rfp.deadline_zone,
    }


def _head_id(s: Scenario, phase: str) -> int:
    """A signed head of the side's RFP log (made now if it has none yet)."""
    from django.utils import timezone

    from proposals import transparency
    from proposals.models import TransparencyLog

    log = TransparencyLog.objects.get(rfp=s.side(phase).rfp)
    return transparency.refresh_head(log, now=timezone.now(), force=True).pk


def _stamped_head_id(s: Scenario, phase: str) -> int:
    """A head with a timestamp token stored (its bytes are not checked here: access only;
    tests/proposals/test_transparency_tsa.py stamps real ones)."""
    from django.utils import timezone

    from proposals.models import TreeHead

    head_id = _head_id(s, phase)
    TreeHead.objects.filter(pk=head_id).update(
        tsa_token=b"0\x03\x02\x01\x00", tsa_gen_time=timezone.now(), tsa_name="CN=Matrix TSA"
    )
    return head_id


TABLE: dict[str, Entry] = {
    # --- Public pages ---------------------------------------------------------------------
    "home": Entry(),
    "rfp_detail": Entry(rfp_slug),
    "rfp_calendar": Entry(rfp_slug),
    "rfp_feed": Entry(),
    "addendum_detail": Entry(lambda s, p: {**rfp_slug(s, p), "number": s.side(p).addendum_number}),
    "addendum_acknowledge": Entry(
        lambda s, p: {**rfp_slug(s, p), "number": s.side(p).addendum_number},
        get=POST_ONLY_SIGNED_IN,
        post=SIGNED_IN,
    ),
    "verify_receipt": Entry(),
    # The public keys that sign receipts: public, and nothing but public keys.
    "receipt_keys": Entry(),
    "receipt_key_pem": Entry(lambda s, p: {"key_id": receipt_signing.current_key_id()}),
    # The transparency log: public and read-only, pseudonymous receipts' statements only.
    "transparency": Entry(),
    "transparency_rfp": Entry(rfp_slug),
    "transparency_heads": Entry(rfp_slug),
    "transparency_head": Entry(lambda s, p: {**rfp_slug(s, p), "head_id": _head_id(s, p)}),
    "transparency_head_statement": Entry(
        lambda s, p: {**rfp_slug(s, p), "head_id": _head_id(s, p)}
    ),
    "transparency_head_token": Entry(
        lambda s, p: {**rfp_slug(s, p), "head_id": _stamped_head_id(s, p)}
    ),
    "transparency_proof": Entry(rfp_slug, query="?index=0&size=1"),
    "transparency_consistency": Entry(rfp_slug, query="?first=1&second=1"),
    "transparency_leaves": Entry(rfp_slug, query="?start=0&end=1"),
    # Open contracting data (evaluation.ocds): public and read only; the marker check proves it
    # carries no proposal's content, in any phase (drafts: tests/evaluation/test_ocds.py).
    "ocds_release_package": Entry(rfp_slug, post=rule(F405)),
    "ocds_record_package": Entry(rfp_slug, post=rule(F405)),
    "ocds_releases": Entry(post=rule(F405)),
    "subscribe": Entry(),
    "subscription_confirm": Entry(lambda s, p: {"token": s.subscription_tokens["confirm"]}),
    "subscription_unsubscribe": Entry(lambda s, p: {"token": s.subscription_tokens["stop"]}),
    "set_time_zone": Entry(
        get=rule(F405), post=EVERYONE, data=lambda s, p: {"time_zone": "UTC", "next": "/"}
    ),
    "set_language": Entry(),
    # --- Operators' probes and scraper (rfp_portal.health, rfp_portal.metrics) --------------
    # The probes say "ok" or name each check and its state: nothing about anyone's proposal
    # (the marker check proves it). /metrics is never public: without the bearer token
    # (METRICS_TOKEN) it is the 404 of a missing page, for every role, staff included
    # (tests/rfp_portal/test_metrics.py tries the token itself).
    "health_live": Entry(),
    "health_ready": Entry(),
    "metrics": Entry(get=rule(F404), post=rule(F404)),
    # --- Proposers ------------------------------------------------------------------------
    "proposal_start": Entry(
        rfp_slug,
        get=POST_ONLY_SIGNED_IN,
        # Only proposers start proposals (reviewers and staff have no proposer role).
        post=rule(F403, anonymous=LOGIN, proposers=OK),
        data=lambda s, p: {"title": "A new one"},
    ),
    "rfp_interest": Entry(rfp_slug, get=POST_ONLY_SIGNED_IN, post=SIGNED_IN),
    "rfp_ask": Entry(
        rfp_slug, get=POST_ONLY_SIGNED_IN, post=SIGNED_IN, data=lambda s, p: {"text": "When?"}
    ),
    "my_proposals": Entry(get=SIGNED_IN),
    "profile": Entry(get=SIGNED_IN),
    "proposal_edit": Entry(proposal_pk, get=TEAM_ONLY, post=TEAM_ONLY, data=draft_form_data),
    "proposal_budget": Entry(
        proposal_pk, get=POST_ONLY_SIGNED_IN, post=TEAM_ONLY, data=draft_form_data
    ),
    "proposal_autosave": Entry(
        proposal_pk, get=POST_ONLY_SIGNED_IN, post=TEAM_ONLY, data=draft_form_data
    ),
    "proposal_document": Entry(proposal_pk, get=TEAM_ONLY),
    "proposal_submit": Entry(
        proposal_pk,
        get=TEAM_ONLY,
        post=TEAM_ONLY,
        data=lambda s, p: {"edit": str(s.side(p).proposal.edit_count)},
    ),
    "proposal_withdraw": Entry(
        proposal_pk,
        get=TEAM_ONLY,
        # Only the owner withdraws; a co-author is told so and nothing changes.
        post=rule(F404, anonymous=LOGIN, proposer_owner=OK, coauthor=REFUSED),
    ),
    "proposal_team": Entry(
        proposal_pk,
        get=TEAM_ONLY,
        post=rule(F404, anonymous=LOGIN, proposer_owner=OK, coauthor=REFUSED),
        data=lambda s, p: {"email": "intruder@example.com"},
    ),
    "proposal_remove_member": Entry(
        lambda s, p: {**proposal_pk(s, p), "member_id": s.side(p).coauthor_member.pk},
        get=POST_ONLY_SIGNED_IN,
        post=rule(F404, anonymous=LOGIN, proposer_owner=OK, coauthor=REFUSED),
    ),
    "proposal_version": Entry(version_kwargs, get=READERS),
    "version_document": Entry(version_kwargs, get=READERS),
    # The receipt is the team's: evaluators read the version page, not the receipt.
    "receipt_pdf": Entry(version_kwargs, get=TEAM_ONLY),
    "signed_receipt": Entry(version_kwargs, get=TEAM_ONLY),
    "proposal_decision": Entry(proposal_pk, get=TEAM_ONLY),
    "proposal_clarifications": Entry(
        proposal_pk,
        get=EVALUATORS_AND_TEAM,
        post=EVALUATORS_AND_TEAM,
        data=lambda s, p: {"text": "Let me in."},
    ),
    "accept_invitation": Entry(
        lambda s, p: {"token": s.side(p).invitation_token},
        get=SIGNED_IN,
        # Signed in as someone else than the invitee: refused, nothing changes.
        post=rule(REFUSED, anonymous=LOGIN),
    ),
    # --- Reviewers ------------------------------------------------------------------------
    "reviewer_home": Entry(get=rule(OK, anonymous=LOGIN, proposers=F403, staff=F403)),
    "review": Entry(proposal_id, get=REVIEWER_PAGE, post=REVIEWER_PAGE, data=review_form_data),
    "review_conflict": Entry(
        proposal_id,
        get=REVIEWER_PAGE,
        post=REVIEWER_PAGE,
        data=lambda s, p: {"decision": "none"},
    ),
    "review_scorecard": Entry(proposal_id, get=REVIEWER_PAGE),
    "review_autosave": Entry(
        proposal_id,
        get=rule(F405, anonymous=LOGIN, proposers=F403, staff=F403),
        post=REVIEWER_PAGE,
        data=review_form_data,
    ),
    "review_discussion": Entry(
        proposal_id,
        get=rule(F405, anonymous=LOGIN, proposers=F403),
        post=rule(
            F404,
            anonymous=LOGIN,
            proposers=F403,
            staff=opened(OK, F404),
            reviewer_assigned=opened(OK, F404),
        ),
        data=lambda s, p: {"text": "Hello."},
    ),
    "reviewer_invitation": Entry(
        lambda s, p: {"token": s.side(p).reviewer_invitation_token},
        get=SIGNED_IN,
        post=rule(REFUSED, anonymous=LOGIN),
    ),
    # --- Staff ----------------------------------------------------------------------------
    "staff_home": Entry(get=STAFF_ONLY),
    "audit_log": Entry(get=STAFF_ONLY, query="?object=Qzx"),
    "staff_addendum": Entry(rfp_slug, get=STAFF_ONLY, post=STAFF_ONLY, data=addendum_data),
    "staff_questions": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=STAFF_ONLY,
        data=lambda s, p: {"question": s.side(p).rfp.questions.first().pk, "answer": "Yes."},
    ),
    "staff_rfp_publish": Entry(
        rfp_slug, get=STAFF_ONLY, post=STAFF_ONLY, data=lambda s, p: {"understood": "on"}
    ),
    "staff_rfp_duplicate": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=STAFF_ONLY,
        data=lambda s, p: {
            "title": "A copy",
            "slug": f"copy-{p}",
            "deadline_date": "2031-01-31",
            "deadline_zone": "AoE",
        },
    ),
    "staff_rfp_download": Entry(rfp_slug, get=STAFF_ONLY),
    # The RFP's page as visitors will see it (?lang= switches the language); writes nothing.
    "staff_rfp_preview": Entry(rfp_slug, get=STAFF_ONLY, query="?lang=es"),
    # Opening by hand: the sealed RFP is before its cut-off (refused, 400); the opened one is
    # opened already (a second opening changes nothing: a redirect with the message).
    "staff_rfp_open": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=REFUSED),
        data=lambda s, p: {"understood": "1"},
    ),
    "staff_rfp_import": Entry(get=STAFF_ONLY, post=STAFF_ONLY, data=lambda s, p: {}),
    # The editor's first steps (edA). A new draft is created by staff only; the scenario's RFPs
    # are published, so their steps show staff the refusal page (GET 200) and refuse a POST
    # (400, nothing changed): a published RFP changes only by addendum.
    "staff_rfp_new": Entry(
        get=STAFF_ONLY,
        post=STAFF_ONLY,
        data=lambda s, p: {
            "title": "A new draft",
            "slug": f"new-draft-{p}",
            "funder": "Someone",
            "summary": "Something.",
            "currency": "USD",
            "save": "1",
        },
    ),
    "staff_rfp_edit_basics": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=REFUSED),
        data=lambda s, p: {
            "title": "Overwritten",
            "slug": s.side(p).rfp.slug,
            "funder": "Someone",
            "summary": "Overwritten.",
            "currency": "USD",
            "save": "1",
        },
    ),
    "staff_rfp_edit_deadline": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=REFUSED),
        data=lambda s, p: {
            "deadline_date": "2031-01-31",
            "deadline_zone": "AoE",
            "end_of_day": "1",
            "grace_seconds": "0",
            "max_revisions": "3",
            "save": "1",
        },
    ),
    # The editor's timeline and scope steps (edB1): as above, a published RFP's step shows
    # staff the refusal page and refuses a POST (400, nothing changed).
    "staff_rfp_edit_timeline": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=REFUSED),
        data=lambda s, p: {
            "t-TOTAL_FORMS": "1",
            "t-INITIAL_FORMS": "0",
            "t-0-date": "2031-01-31",
            "t-0-label": "Overwritten",
            "save": "1",
        },
    ),
    "staff_rfp_edit_scope": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=REFUSED),
        data=lambda s, p: {
            "m-TOTAL_FORMS": "1",
            "m-INITIAL_FORMS": "0",
            "m-0-name": "Overwritten",
            "m-0-f-TOTAL_FORMS": "1",
            "m-0-f-INITIAL_FORMS": "0",
            "m-0-f-0-name": "Overwritten",
            "m-0-f-0-budget": "1",
            "m-0-f-0-cap": "2",
            "save": "1",
        },
    ),
    # The editor's elements and criteria steps (edB2): as above, a published RFP's step shows
    # staff the refusal page and refuses a POST (400, nothing changed).
    "staff_rfp_edit_elements": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=REFUSED),
        data=lambda s, p: {
            "elements-TOTAL_FORMS": "1",
            "elements-INITIAL_FORMS": "0",
            "elements-0-key": "overwritten",
            "elements-0-kind": "text",
            "elements-0-label": "Overwritten",
            "elements-0-required": "on",
            "save": "1",
        },
    ),
    "staff_rfp_edit_criteria": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=REFUSED),
        data=lambda s, p: {
            "criteria-TOTAL_FORMS": "1",
            "criteria-INITIAL_FORMS": "0",
            "criteria-0-key": "overwritten",
            "criteria-0-kind": "gate",
            "criteria-0-name": "Overwritten",
            "save": "1",
        },
    ),
    "staff_markdown_preview": Entry(
        get=STAFF_POST_ONLY, post=STAFF_ONLY, data=lambda s, p: {"body_markdown": "**Moved**"}
    ),
    "staff_deadline_preview": Entry(
        get=STAFF_POST_ONLY,
        post=STAFF_ONLY,
        data=lambda s, p: {
            "deadline_date": "2031-01-31",
            "deadline_zone": "AoE",
            "end_of_day": "1",
        },
    ),
    "staff_evaluation": Entry(rfp_slug, get=STAFF_ONLY),
    "staff_invite_reviewer": Entry(
        rfp_slug,
        get=STAFF_POST_ONLY,
        post=STAFF_ONLY,
        data=lambda s, p: {"invite-email": "newreviewer@example.edu"},
    ),
    "staff_remove_reviewer": Entry(
        lambda s, p: {**rfp_slug(s, p), "user_id": s.users[REV_FREE].pk},
        get=STAFF_POST_ONLY,
        post=STAFF_ONLY,
    ),
    "staff_assign": Entry(
        rfp_slug,
        get=STAFF_POST_ONLY,
        # By hand only once opened (sealed proposals are not shown) and before publication.
        post=rule(F403, anonymous=LOGIN, staff=lambda p: {OPENED: OK}.get(p, REFUSED)),
        data=lambda s, p: {
            "proposal": s.side(p).other_proposal.pk,
            "reviewer": s.users[REV_FREE].pk,
        },
    ),
    "staff_auto_assign": Entry(
        rfp_slug,
        get=STAFF_POST_ONLY,
        # Once decisions are published, assignments no longer change.
        post=rule(F403, anonymous=LOGIN, staff=lambda p: {DECIDED: REFUSED}.get(p, OK)),
        data=lambda s, p: {"auto-per_proposal": 3},
    ),
    "staff_reopen_review": Entry(
        # The review is on the opened RFP: under the sealed RFP's slug it does not exist.
        lambda s, p: {**rfp_slug(s, p), "review_id": s.opened.review.pk},
        get=STAFF_POST_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=opened(OK, F404)),
    ),
    # Before opening the dashboard redirects to the evaluation page (OK for staff).
    "staff_dashboard": Entry(rfp_slug, get=STAFF_ONLY),
    "staff_decision": Entry(
        lambda s, p: {**rfp_slug(s, p), **proposal_id(s, p)},
        get=rule(F403, anonymous=LOGIN, staff=opened(OK, F404)),
        # Once published, decisions no longer change.
        post=rule(
            F403, anonymous=LOGIN, staff=lambda p: {SEALED: F404, OPENED: OK}.get(p, REFUSED)
        ),
        data=decision_data,
    ),
    "staff_publish_decisions": Entry(
        # GET: the confirmation page (sealed: a redirect with the refusal; decided: says when).
        rfp_slug,
        get=STAFF_ONLY,
        # Sealed: refused (and the refusal names no proposal); opened: publishes; decided: a
        # second publish sends nothing.
        post=rule(F403, anonymous=LOGIN, staff=lambda p: {OPENED: OK}.get(p, REFUSED)),
        data=lambda s, p: {"confirm": "1"},
    ),
    "staff_preliminary": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=opened(OK, REFUSED)),
        data=lambda s, p: {"message": "Evaluation takes longer.", "confirm": "1"},
    ),
    # The funding plan (evaluation.views.plan): staff only, once opened; sealed, each page
    # redirects to the evaluation page with the refusal (OK for a GET, REFUSED for a POST).
    "staff_plan": Entry(rfp_slug, get=STAFF_ONLY),
    "staff_plan_adopt": Entry(
        # GET: the confirmation (decided: says the decisions are published, offers nothing).
        rfp_slug,
        get=STAFF_ONLY,
        # Opened: writes the plan's draft decisions; decided: refused (published).
        post=rule(F403, anonymous=LOGIN, staff=lambda p: {OPENED: OK}.get(p, REFUSED)),
        data=lambda s, p: {"confirm": "1"},
    ),
    "staff_plan_lottery": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        # Opened: the scenario's reviews leave a band at the funding line, and the seed is
        # committed; decided: refused (published).
        post=rule(F403, anonymous=LOGIN, staff=lambda p: {OPENED: OK}.get(p, REFUSED)),
        data=lambda s, p: {"confirm": "1"},
    ),
    "staff_lottery": Entry(
        # No lottery in the scenario: 404 once opened (sealed: the refusal comes first).
        lambda s, p: {**rfp_slug(s, p), "lottery_id": 999999},
        get=rule(F403, anonymous=LOGIN, staff=opened(F404, OK)),
        post=rule(F403, anonymous=LOGIN, staff=opened(F404, REFUSED)),
    ),
    "staff_exports": Entry(
        rfp_slug,
        get=STAFF_ONLY,
        post=rule(F403, anonymous=LOGIN, staff=opened(OK, REFUSED)),
        data=lambda s, p: {"kind": "bundle"},
    ),
    "staff_export_status": Entry(
        lambda s, p: {**rfp_slug(s, p), "export_id": s.opened.export.pk},
        get=rule(F403, anonymous=LOGIN, staff=opened(OK, F404)),
    ),
    "staff_export_download": Entry(
        lambda s, p: {**rfp_slug(s, p), "export_id": s.opened.export.pk},
        get=rule(F403, anonymous=LOGIN, staff=opened(OK, F404)),
    ),
    # --- allauth: accounts and two-factor authentication ------------------------------------
    "account_login": Entry(),
    "account_signup": Entry(),
    "account_logout": Entry(),
    "account_inactive": Entry(),
    "account_email_verification_sent": Entry(),
    "account_confirm_email": Entry(lambda s, p: {"key": "not-a-real-key"}),
    "account_reset_password": Entry(),
    "account_reset_password_done": Entry(),
    "account_reset_password_from_key": Entry(lambda s, p: {"uidb36": "1", "key": "bad-key"}),
    "account_reset_password_from_key_done": Entry(),
    "account_request_login_code": Entry(),
    "account_confirm_login_code": Entry(),
    "account_email": Entry(get=SIGNED_IN),
    "account_change_password": Entry(get=SIGNED_IN),
    "account_set_password": Entry(get=SIGNED_IN),
    "account_reauthenticate": Entry(get=SIGNED_IN),
    "mfa_index": Entry(get=SIGNED_IN),
    "mfa_authenticate": Entry(),
    "mfa_reauthenticate": Entry(get=SIGNED_IN),
    "mfa_activate_totp": Entry(get=SIGNED_IN),
    # Without a TOTP authenticator there is nothing to deactivate.
    "mfa_deactivate_totp": Entry(get=rule(OK, anonymous=LOGIN, proposers=F404)),
    "mfa_add_webauthn": Entry(get=SIGNED_IN),
    "mfa_list_webauthn": Entry(get=SIGNED_IN),
    "mfa_reauthenticate_webauthn": Entry(get=SIGNED_IN),
    # Nobody here has generated recovery codes: nothing to view or download.
    "mfa_view_recovery_codes": Entry(get=rule(F404, anonymous=LOGIN)),
    "mfa_generate_recovery_codes": Entry(get=SIGNED_IN),
    "mfa_download_recovery_codes": Entry(get=rule(F404, anonymous=LOGIN)),
    # Another user's authenticator (staff's TOTP) under the WebAuthn URLs: allauth first asks
    # everyone to authenticate again (a redirect; the marker check still applies).
    "mfa_edit_webauthn": Entry(
        lambda s, p: {"pk": Authenticator.objects.get(user=s.users[STAFF]).pk}, get=SIGNED_IN
    ),
    "mfa_remove_webauthn": Entry(
        lambda s, p: {"pk": Authenticator.objects.get(user=s.users[STAFF]).pk}, get=SIGNED_IN
    ),
    # --- The admin's own views (the ModelAdmin views are generated below) ------------------
    "admin:index": Entry(get=rule(LOGIN, staff=OK)),
    "admin:login": Entry(get=rule(F403, anonymous=LOGIN, staff=OK)),
    # Django's LogoutView takes POST only; without the admin, the admin sends you to its index.
    "admin:logout": Entry(get=rule(OK, staff=F405)),
    "admin:password_change": Entry(get=rule(LOGIN, staff=OK)),
    "admin:password_change_done": Entry(get=rule(LOGIN, staff=OK)),
    "admin:jsi18n": Entry(get=rule(LOGIN, staff=OK)),
    # Proposals by title for a version's proposal field: staff get only what the proposal
    # admin's queryset lets them read (the marker check proves sealed ones stay out).
    "admin:autocomplete": Entry(
        get=rule(LOGIN, staff=OK),
        query="?app_label=proposals&model_name=submissionversion&field_name=proposal&term=Qzx",
    ),
    "admin:view_on_site": Entry(
        lambda s, p: {
            "content_type_id": ContentType.objects.get_for_model(s.side(p).proposal).pk,
            "object_id": s.side(p).proposal.pk,
        },
        get=rule(LOGIN, staff=OK),
    ),
    "admin/(?P<url>.*)$": Entry(lambda s, p: {"url": "no-such-page/"}, get=rule(LOGIN, staff=F404)),
}

# The admin's app index pages, one per app label with registered models.
ADMIN_APP_RULES = {
    "rfp_portal": rule(LOGIN, staff=OK),
    "proposals": rule(LOGIN, staff=OK),
    # Models registered by Django and allauth use Django's model permissions, which portal
    # staff do not have: their app pages do not exist for them.
    "auth": rule(LOGIN, staff=F404),
    "account": rule(LOGIN, staff=F404),
    "mfa": rule(LOGIN, staff=F404),
}


# --- The ModelAdmins -------------------------------------------------------------------------


def _admin_object(model, s: Scenario, phase: str):
    side = s.side(phase)
    return {
        "rfp_portal.user": lambda: s.users[OWNER],
        "rfp_portal.auditevent": lambda: AuditEvent.objects.filter(
            object_type="proposals.proposal", object_id=str(side.proposal.pk)
        ).first(),
        "rfp_portal.outboxmessage": lambda: OutboxMessage.objects.get(
            idempotency_key=f"receipt:{side.version.pk}:{s.users[OWNER].pk}"
        ),
        "proposals.rfp": lambda: side.rfp,
        "proposals.milestone": lambda: side.rfp.milestones.first(),
        "proposals.proposal": lambda: side.proposal,
        "proposals.submissionversion": lambda: side.version,
        "proposals.question": lambda: side.rfp.questions.first(),
        "account.emailaddress": lambda: EmailAddress.objects.get(user=s.users[OWNER]),
        "auth.group": lambda: Group.objects.get(name=permissions.Role.PROPOSER.value),
        "mfa.authenticator": lambda: Authenticator.objects.get(user=s.users[STAFF]),
    }[model._meta.label_lower]()


# How the admin treats staff, per kind of ModelAdmin and view (others: sign-in redirect).
FULL = {"changelist": OK, "add": OK, "change": OK, "delete": OK, "history": OK}
SEALED_ADMIN = {
    "changelist": OK,
    "add": F403,
    "change": opened(OK, ADMIN_MISSING),
    "delete": F403,
    "history": opened(OK, ADMIN_MISSING),
}
# Events about a sealed proposal: listed (who, where and details masked), their pages closed.
SEALED_EVENTS = {
    "changelist": OK,
    "add": F403,
    "change": opened(OK, F403),
    "delete": F403,
    "history": opened(OK, F403),
}
# Accounts are deactivated, never deleted (their "cannot delete" page would list what they own).
USERS = {**FULL, "delete": F403}
DJANGO_PERMS = {"changelist": F403, "add": F403, "change": F403, "delete": F403, "history": F403}
ADMIN_KINDS = {
    "rfp_portal.user": USERS,
    "rfp_portal.auditevent": SEALED_EVENTS,
    # The object is a receipt: a mail that tells who bid, closed like the events until opening.
    "rfp_portal.outboxmessage": SEALED_EVENTS,
    "proposals.rfp": FULL,
    "proposals.milestone": FULL,
    "proposals.question": FULL,
    "proposals.proposal": SEALED_ADMIN,
    "proposals.submissionversion": SEALED_ADMIN,
    "account.emailaddress": DJANGO_PERMS,
    "auth.group": DJANGO_PERMS,
    "mfa.authenticator": DJANGO_PERMS,
}


def admin_entries() -> dict[str, Entry]:
    entries = {}
    for model in admin.site._registry:
        label = model._meta.label_lower
        assert label in ADMIN_KINDS, f"No authorization rule for the admin of {label}"
        kinds = ADMIN_KINDS[label]
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"

        def obj_kwargs(s, p, model=model):
            return {"object_id": _admin_object(model, s, p).pk}

        for view, staff_outcome in kinds.items():
            needs_obj = view in ("change", "delete", "history")
            # POST is sent where staff are refused (nothing may change) and for everyone else.
            entries[f"{info}_{view}"] = Entry(
                obj_kwargs if needs_obj else (lambda s, p: {}),
                get=rule(LOGIN, staff=staff_outcome),
                post=rule(LOGIN, staff=staff_outcome),
                data=(lambda s, p: {"post": "yes"}) if view == "delete" else (lambda s, p: {}),
                query="?q=Qzx" if view == "changelist" else "",
            )
        # The pre-1.9 change URL, kept by Django as a redirect to the change page.
        route = f"admin/{model._meta.app_label}/{model._meta.model_name}/<path:object_id>/"
        entries[route] = Entry(obj_kwargs, get=rule(LOGIN, staff=OK))
        if label == "rfp_portal.user":
            entries["admin:auth_user_password_change"] = Entry(
                lambda s, p: {"id": s.users[OWNER].pk},
                get=rule(LOGIN, staff=OK),
                post=rule(LOGIN, staff=OK),
                data=lambda s, p: {"password1": "x-Hijacked-1234", "password2": "x-Hijacked-1234"},
            )
    return entries


# --- Walking the URLconf ---------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    key: str  # the URL name (with namespace), or the full route for unnamed patterns
    route: str
    pattern: URLPattern


def walk_urlconf() -> list[Found]:
    found = []

    def walk(resolver, prefix: str, namespace: str | None) -> None:
        for item in resolver.url_patterns:
            if isinstance(item, URLResolver):
                ns = namespace
                if item.namespace:
                    ns = f"{namespace}:{item.namespace}" if namespace else item.namespace
                walk(item, prefix + str(item.pattern), ns)
            else:
                route = prefix + str(item.pattern)
                if item.name:
                    key = f"{namespace}:{item.name}" if namespace else item.name
                else:
                    key = route
                found.append(Found(key, route, item))

    walk(get_resolver(), "", None)
    return found


def url_for(found: Found, kwargs: dict) -> str:
    if found.key == found.route:  # unnamed: fill the route by hand
        path = found.route
        for name, value in kwargs.items():
            path = re.sub(rf"<(?:\w+:)?{name}>|\(\?P<{name}>[^)]*\)", str(value), path)
        return "/" + path.replace("$", "")
    return reverse(found.key.split("[")[0], kwargs=kwargs)


# --- State and content checks ----------------------------------------------------------------


def _fingerprinted_tables() -> list[tuple[str, list[str], str]]:
    """(table, columns, primary key) of every row an action could change. The audit trail grows
    on refusals and last_login/last_used_at move on sign-in: those are left out."""
    from django.contrib.auth.models import Group

    from rfp_portal.models import User

    models = [
        model
        for label in ("proposals", "evaluation", "rfp_portal", "admin", "mfa", "account")
        for model in apps.get_app_config(label).get_models()
        if model is not AuditEvent
    ] + [User.groups.through, Group]
    return [
        (
            model._meta.db_table,
            [
                f.column
                for f in model._meta.concrete_fields
                if f.column not in ("last_login", "last_used_at")
            ],
            model._meta.pk.column,
        )
        for model in models
    ]


def state_fingerprint() -> tuple:
    """A digest of every such row, in one query on PostgreSQL."""
    from django.db import connection

    quote = connection.ops.quote_name
    tables = _fingerprinted_tables()
    if connection.vendor == "postgresql":
        # Table and column names from the models' own metadata, quoted: no input here.
        parts = [
            f"SELECT md5(coalesce(string_agg(row({', '.join(quote(c) for c in cols)})::text, "  # noqa: S608
            f"'|' ORDER BY {quote(pk)}), '')) FROM {quote(table)}"
            for table, cols, pk in tables
        ]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(f"({p})" for p in parts))
            return tuple(row[0] for row in cursor.fetchall())
    rows = []
    with connection.cursor() as cursor:
        for table, cols, pk in tables:
            columns = ", ".join(quote(c) for c in cols)
            cursor.execute(f"SELECT {columns} FROM {quote(table)} ORDER BY {quote(pk)}")  # noqa: S608
            rows.append(tuple(cursor.fetchall()))
    return tuple(rows)


def entitled(role: str, user, proposal) -> bool:
    """May this role read this proposal's content right now (proposals.rules' rule)?"""
    if role == ANON:
        return False
    proposal = type(proposal).objects.select_related("rfp").get(pk=proposal.pk)
    permissions._forget(user)
    return rules.can_read_submissions(user, proposal)


def response_text(response) -> str:
    parts = []
    content = b"".join(response.streaming_content) if response.streaming else response.content
    parts.append(content.decode("latin-1"))
    parts.append(response.get("Content-Disposition", ""))
    parts.append(response.get("Location", ""))
    storage = getattr(response.wsgi_request, "_messages", None)
    if storage is not None:
        parts.extend(str(m) for m in getattr(storage, "_queued_messages", []))
    return "\n".join(parts)


def outcome_of(response) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        location = response["Location"]
        if any(location.startswith(p) for p in SIGN_IN_PATHS) and "next=" in location:
            return LOGIN
        if location.split("?")[0] == "/admin/" and status == 302:
            return ADMIN_MISSING + "|" + OK
        return OK
    return {403: F403, 404: F404, 405: F405}.get(status, OK if status < 300 else str(status))


def matches(expected: str, response, changed: bool, *, post: bool) -> bool:
    actual = outcome_of(response)
    if post and changed and expected != OK:
        return False
    if expected == REFUSED:
        return response.status_code in (200, 302, 400, 403) and actual != LOGIN
    if response.status_code >= 500:
        return False
    return expected in actual.split("|")


# --- The test --------------------------------------------------------------------------------


# Capability links: whoever holds the token sees what the invitee would (the proposal's title),
# so the marker check does not apply to them.
CAPABILITY_URLS = {"accept_invitation"}


def check_phase(s: Scenario, phase: str, clients, table, found, problems, visits) -> None:
    markers = s.all_markers()
    may_read = {
        role: {m for m, prop in markers.items() if entitled(role, s.users.get(role), prop)}
        for role in ROLES
    }
    before, dirty = state_fingerprint(), False
    for item in found:
        entry = table[item.key]
        url = url_for(item, entry.kwargs(s, phase)) + entry.query
        for role in ROLES:
            client = clients[role]
            methods = [("GET", entry.get(role, phase))]
            if entry.post is not None and entry.post(role, phase) not in (OK, None):
                methods.append(("POST", entry.post(role, phase)))
            for method, expected in methods:
                if method == "GET":
                    response = client.get(url)
                    dirty = True  # some pages record things (an audit event, a release row)
                else:
                    data = entry.data(s, phase)
                    if dirty:
                        before, dirty = state_fingerprint(), False
                    response = client.post(url, data)
                visits.append((phase, item.key, role, method))
                changed = False
                if method == "POST":
                    after = state_fingerprint()
                    changed = after != before
                    before = after
                where = f"{phase:8} {method:4} {item.key} as {role} ({url})"
                if not matches(expected, response, changed, post=method == "POST"):
                    also = " and the state CHANGED" if changed else ""
                    problems.append(
                        f"{where}: expected {expected}, got {response.status_code}"
                        f" {response.get('Location', '')}{also}"
                    )
                if item.key in CAPABILITY_URLS:
                    client.get("/")  # shows (and so drops) the message naming the proposal
                    continue
                text = response_text(response)
                for mark in markers:
                    if mark in text and mark not in may_read[role]:
                        problems.append(f"{where}: shows {mark} (not readable by {role})")


def matrix() -> tuple[dict[str, Entry], list[Found]]:
    table = {**TABLE, **admin_entries()}
    for app_label, app_rule in ADMIN_APP_RULES.items():
        table[f"admin:app_list[{app_label}]"] = Entry(
            lambda s, p, a=app_label: {"app_label": a}, get=app_rule
        )
    found = []
    for item in walk_urlconf():
        if item.key == "admin:app_list":
            found.extend(
                Found(f"admin:app_list[{a}]", item.route, item.pattern) for a in ADMIN_APP_RULES
            )
        else:
            found.append(item)
    return table, found


def test_every_url_pattern_has_an_entry_in_the_matrix():
    table, found = matrix()
    missing = sorted({f.key for f in found} - set(table))
    assert not missing, f"URL patterns without an entry in the authorization matrix: {missing}"
    stale = sorted(set(table) - {f.key for f in found})
    assert not stale, f"Entries for URL patterns that no longer exist: {stale}"
    app_labels = {model._meta.app_label for model in admin.site._registry}
    assert app_labels == set(ADMIN_APP_RULES), app_labels


@pytest.mark.parametrize("phase", PHASES)
def test_every_url_for_every_role(phase):
    table, found = matrix()
    missing = sorted({f.key for f in found} - set(table))
    assert not missing, f"URL patterns without an entry in the authorization matrix: {missing}"

    s = build_scenario()
    if phase == DECIDED:
        decide(s)
    clients = clients_for(s.users)
    problems: list[str] = []
    visits: list[tuple] = []
    # Each refused request logs a warning with a traceback: thousands of them cost seconds.
    request_logger = logging.getLogger("django.request")
    level = request_logger.level
    request_logger.setLevel(logging.ERROR)
    try:
        check_phase(s, phase, clients, table, found, problems, visits)
    finally:
        request_logger.setLevel(level)
    assert {key for _p, key, _r, _m in visits} == {f.key for f in found}
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)
