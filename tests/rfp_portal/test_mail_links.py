"""Every kind of mail the portal sends, with SITE_URL on a non-default port: each link in it
names the site (scheme, host and port) and opens for the person the mail was sent to.

The mails are made by the portal's own services, as its views, admin, commands and beat tasks
make them, through one RFP's whole life (subscriptions, submissions, team, questions, addenda,
reminders, opening, assignment, conflicts, clarifications, decisions) and the account mails
of a visitor. Then every link of every outbox message (body and headers) must name the site
and answer 200 when its path is opened by a client signed in as the recipient (reviewers and
staff have their second factor, which the reviewer and staff areas ask for). A second test
compares the mail templates covered with those under templates/*/email/, so that a new kind
of mail without a case here fails.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from evaluation import decisions, services, threads
from evaluation import reminders as evaluation_reminders
from evaluation.models import Assignment
from proposals import addenda, questions, reminders, submission, subscriptions
from proposals import services as rfp_services
from proposals import team as team_service
from proposals.models import RFP
from rfp_portal import deadlines, permissions
from rfp_portal.models import OutboxMessage, User
from tests.factories import RFPFactory, UserFactory
from tests.helpers.accounts import sign_up
from tests.helpers.proposals import open_now, submitted_proposal
from tests.helpers.reviews import make_reviewer

pytestmark = pytest.mark.django_db

SITE_URL = "http://127.0.0.1:8765"
SITE = urlsplit(SITE_URL)
LINK = re.compile(r"https?://[^\s<>\"']+")
TEMPLATES_DIR = Path(django_settings.BASE_DIR) / "templates"

# Mails that carry no link, and why.
WITHOUT_LINK = {
    # A short status note to each team; the decision mail that follows links to the debrief.
    "evaluation/email/preliminary",
    # A sign-in code, typed into the page that asked for it.
    "account/email/login_code",
}
# Where each kind of mail leads (URL names): what the mail promises is one click away.
DESTINATIONS = {
    "proposals/email/subscription_confirm": {"subscription_confirm"},
    "proposals/email/new_rfp": {"rfp_detail", "subscription_unsubscribe"},
    "proposals/email/receipt": {"proposal_version", "signed_receipt", "verify_receipt"},
    "proposals/email/invitation": {"accept_invitation"},
    "proposals/email/withdrawn": {"proposal_edit"},
    "proposals/email/answer": {"rfp_detail"},
    "proposals/email/addendum": {"addendum_detail"},
    "proposals/email/deadline_reminder": {"rfp_detail"},
    "evaluation/email/reviewer_invitation": {"reviewer_invitation"},
    "proposals/email/opened": {"reviewer_home"},
    "proposals/email/final_head": {"transparency_head", "transparency_rfp"},
    "evaluation/email/assigned": {"reviewer_home"},
    "evaluation/email/conflict_declared": {"staff_evaluation"},
    "evaluation/email/clarification_request": {"proposal_clarifications"},
    "evaluation/email/clarification_answer": {"review"},
    "proposals/email/review_reminder": {"reviewer_home"},
    "evaluation/email/decision": {"proposal_decision"},
    "account/email/email_confirmation_signup": {"account_confirm_email"},
    "account/email/email_confirmation": {"account_confirm_email"},
    "account/email/account_already_exists": {"account_reset_password"},
    "account/email/password_reset_key": {"account_reset_password_from_key"},
    "account/email/unknown_account": {"account_signup"},
}
# Account mails come from allauth, which writes links from the address the request reached
# (in production the site's own address: ALLOWED_HOSTS); they are opened signed out, since
# they are the way in.
ACCOUNT_TEMPLATES = {
    "account/email/email_confirmation_signup",
    "account/email/email_confirmation",
    "account/email/login_code",
    "account/email/account_already_exists",
    "account/email/password_reset_key",
    "account/email/unknown_account",
}


def project_mail_templates() -> set[str]:
    """Every mail body template of the portal (subject templates left out); allauth's mails
    the portal rewrites (templates/account/email/) are compared with ACCOUNT_TEMPLATES."""
    return {
        str(path.relative_to(TEMPLATES_DIR).with_suffix(""))
        for path in TEMPLATES_DIR.glob("*/email/*.txt")
        if not path.stem.endswith("_subject") and not path.is_relative_to(ACCOUNT_MAIL_DIR)
    }


ACCOUNT_MAIL_DIR = TEMPLATES_DIR / "account" / "email"


def rewritten_account_mails() -> set[str]:
    """allauth's mails with a body the portal rewrites ("…_message.txt" → its mail's name)."""
    return {
        f"account/email/{path.stem.removesuffix('_message')}"
        for path in ACCOUNT_MAIL_DIR.glob("*_message.txt")
    }


def links_of(message: OutboxMessage) -> list[str]:
    texts = [message.body_text, message.body_html, *message.headers.values()]
    return [link.rstrip(".,;:)>") for text in texts for link in LINK.findall(text)]


def send_every_kind_of_mail(rfp: RFP, staff) -> dict:
    """One RFP's life through the portal's services, and a visitor's account mails."""
    now = timezone.now()

    # Anyone: a subscription (double opt-in), then the announcement of a new RFP.
    subscription = subscriptions.subscribe(email="reader@example.org", now=now)
    subscriptions.confirm(subscription=subscription, now=now)
    rfp_services.publish_rfp(
        rfp=RFPFactory(status=RFP.Status.DRAFT, published_at=None), actor=staff, now=now
    )

    # Before the deadline: receipts, a co-author invitation, a withdrawal, an answered
    # question, an addendum and the deadline reminders.
    alpha_owner = UserFactory(email="alpha@alpha-team.example.io", organisation="Alpha")
    beta_owner = UserFactory(email="beta@beta-team.example.io", organisation="Beta")
    alpha = submitted_proposal(rfp, alpha_owner, "Alpha & Omega's proposal")
    beta = submitted_proposal(rfp, beta_owner, "Beta proposal")
    coauthor = UserFactory(email="co@alpha-team.example.io")
    team_service.invite(proposal=alpha, owner=alpha_owner, email=coauthor.email, now=now)
    gamma_owner = UserFactory(email="gamma@gamma-team.example.io")
    gamma = submitted_proposal(rfp, gamma_owner, "Gamma proposal")
    submission.withdraw_proposal(proposal=gamma, user=gamma_owner, now=timezone.now())
    drafter = UserFactory(email="drafter@delta-team.example.io")
    submission.start_proposal(rfp=rfp, user=drafter, title="Unfinished", now=now)
    interested = UserFactory(email="interested@example.net")
    addenda.register_interest(rfp=rfp, user=interested, now=now)
    question = questions.ask(rfp=rfp, user=interested, text="Don't we need R&D <and> QA?", now=now)
    questions.answer(
        question=question, staff_user=staff, answer_text='Yes: R&D "and" QA.', publish=True, now=now
    )
    addenda.publish_addendum(
        rfp=rfp,
        changes={"summary": rfp.summary + " (amended)"},
        change_note="The summary's clearer & shorter.",
        actor=staff,
        now=now,
    )
    assert reminders.send_due(now=rfp.deadline_instant - timedelta(minutes=30))

    # Reviewers: invited, one assigned while sealed (told at opening), then the automatic plan.
    reviewers = []
    for i in range(3):
        reviewer = make_reviewer(f"rev{i}@uni{i}.example.edu", f"Uni {i}")
        invitation = services.invite_reviewer(
            rfp=rfp, email=reviewer.email, staff_user=staff, now=now
        )
        services.accept_reviewer_invitation(invitation=invitation, user=reviewer, now=now)
        reviewers.append(reviewer)
    services.assign(proposal=alpha, reviewer=reviewers[0], staff_user=staff, now=now)
    open_now(rfp)
    alpha.refresh_from_db()
    beta.refresh_from_db()
    later = timezone.now()
    plan = services.plan_for(rfp, per_proposal=2)
    assert services.apply_plan(rfp=rfp, plan=plan, staff_user=staff, now=later) == 3

    # Conflicts: one declared (staff are told), one "no conflict" and a clarification.
    on_alpha = Assignment.objects.get(proposal=alpha, reviewer=reviewers[0])
    services.declare_conflict(
        assignment=on_alpha, user=reviewers[0], conflict=False, reason="", now=later
    )
    on_beta = Assignment.objects.filter(proposal=beta).exclude(reviewer=reviewers[0]).first()
    services.declare_conflict(
        assignment=on_beta,
        user=on_beta.reviewer,
        conflict=True,
        reason="I worked with this team's lead & co.",
        now=later,
    )
    threads.post_clarification(
        proposal=alpha, user=reviewers[0], text="Who's the lead & who codes?", now=later
    )
    threads.post_clarification(proposal=alpha, user=alpha_owner, text="Our lead.", now=later)
    assert evaluation_reminders.send_all_due(
        now=deadlines.review_due_instant(rfp.review_due) - timedelta(hours=36)
    )

    # Decisions: a preliminary status, then publication.
    feature = rfp.milestones.first().features.first()
    for proposal, outcome, awards in (
        (alpha, "selected", {feature.pk: feature.budget}),
        (beta, "not_selected", {}),
    ):
        decisions.record_decision(
            proposal=proposal,
            staff_user=staff,
            outcome=outcome,
            rationale="Weighed against the criteria & the team's plan.",
            awards=awards,
            confirm_over_cap=False,
            now=later,
        )
    decisions.send_preliminary(
        rfp=rfp, staff_user=staff, message="Decisions in two weeks & not before.", now=later
    )
    decisions.publish_decisions(rfp=rfp, staff_user=staff, now=later)

    # A visitor at the site's own address: a sign-up, a sign-up with a known address, and
    # password resets for a known and an unknown address.
    visitor = Client(HTTP_HOST=SITE.netloc)
    assert sign_up(visitor, email="newcomer@example.org").status_code == 302
    visitor = Client(HTTP_HOST=SITE.netloc)
    assert sign_up(visitor, email=alpha_owner.email).status_code == 302
    for email in (alpha_owner.email, "nobody@example.org"):
        visitor.post(reverse("account_reset_password"), {"email": email})
    # A sign-in code, and a change of address (a confirmation mail outside sign-up).
    Client(HTTP_HOST=SITE.netloc).post(
        reverse("account_request_login_code"), {"email": beta_owner.email}
    )
    changer = Client(HTTP_HOST=SITE.netloc)
    changer.force_login(UserFactory(email="changer@example.org"))
    changer.post(reverse("account_email"), {"action_add": "", "email": "changed@example.org"})
    return {
        "subscriber": "reader@example.org",
        "alpha": alpha_owner.email,
        "beta": beta_owner.email,
        "gamma": gamma_owner.email,
        "coauthor": coauthor.email,
        "drafter": drafter.email,
        "interested": interested.email,
        "staff": staff.email,
        **{f"rev{i}": reviewer.email for i, reviewer in enumerate(reviewers)},
        "conflicted": on_beta.reviewer.email,
    }


@pytest.fixture
def people(settings, open_rfp, staff) -> dict[str, str]:
    settings.SITE_URL = SITE_URL
    return send_every_kind_of_mail(open_rfp, staff)


@pytest.fixture
def every_mail(people) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.order_by("pk"))


def client_for(message: OutboxMessage) -> tuple[Client, str]:
    """A client signed in as the recipient; signed out for account mails and for people
    without an account (a subscriber)."""
    client = Client()
    user = User.objects.filter(email__iexact=message.to).first()
    if message.template in ACCOUNT_TEMPLATES or user is None:
        return client, "signed out"
    client.force_login(user)
    if permissions.roles_of(user) & permissions.MFA_ROLES:
        assert permissions.has_mfa(user), f"{message.to} has no second factor"
    return client, user.email


def test_every_link_in_every_mail_names_the_site_and_opens_for_its_recipient(every_mail):
    problems = []
    for message in every_mail:
        links = links_of(message)
        if message.template in WITHOUT_LINK:
            assert not links, f"{message.template} has links now: take it out of WITHOUT_LINK"
            continue
        assert links, f"{message.template} to {message.to} has no link"
        client, who = client_for(message)
        names = set()
        for link in links:
            parts = urlsplit(link)
            where = f"{message.template} to {message.to}: {link}"
            if (parts.scheme, parts.netloc) != (SITE.scheme, SITE.netloc):
                problems.append(f"{where} does not start with {SITE_URL}")
                continue
            # Fragments stay in the browser; the query goes to the server.
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            names.add(resolve(parts.path).url_name)
            status = client.get(path).status_code
            if status != 200:
                problems.append(f"{where} answers {status} ({who})")
        if names != DESTINATIONS.get(message.template):
            problems.append(f"{message.template} leads to {sorted(names)}")
    assert not problems, "\n".join(problems)


def test_every_kind_of_mail_is_covered(every_mail):
    sent = {m.template for m in every_mail}
    assert {t for t in sent if not t.startswith("account/")} == project_mail_templates()
    assert {t for t in sent if t.startswith("account/")} == ACCOUNT_TEMPLATES
    assert rewritten_account_mails() <= ACCOUNT_TEMPLATES
    assert sent == set(DESTINATIONS) | WITHOUT_LINK


def test_plain_text_mails_are_not_html_escaped(every_mail):
    """Titles, questions, answers, reasons and rationales above hold & ' " < >: a plain-text
    mail shows them as typed, never as HTML entities."""
    entity = re.compile(r"&(amp|lt|gt|quot|#x27|#39|#34);")
    escaped = [
        m.template for m in every_mail if entity.search(m.subject) or entity.search(m.body_text)
    ]
    assert not escaped, f"HTML entities in {sorted(set(escaped))}"
    texts = " ".join(m.subject + m.body_text for m in every_mail)
    assert "Alpha & Omega's proposal" in texts and "Don't we need R&D <and> QA?" in texts


def test_no_mail_names_another_address_or_port(every_mail):
    for message in every_mail:
        text = message.body_text + message.body_html + str(message.headers)
        assert "127.0.0.1:8000" not in text and "testserver" not in text, message.template


def test_each_mail_reaches_the_people_the_pages_promise_it_to(every_mail, people):
    """Who gets what, as the pages say: "everyone with a draft, a submission or registered
    interest" (addenda), "everyone registered" (answers), "you get answers, addenda and
    reminders by e-mail" (registered interest), "every team" (preliminary status and
    decisions), reviewers with new assignments, every staff member for a conflict."""
    p = people
    concerned = {p["alpha"], p["beta"], p["gamma"], p["drafter"], p["interested"]}
    expected = {
        "proposals/email/subscription_confirm": {p["subscriber"]},
        "proposals/email/new_rfp": {p["subscriber"]},
        "proposals/email/receipt": {p["alpha"], p["beta"], p["gamma"]},
        "proposals/email/invitation": {p["coauthor"]},
        "proposals/email/withdrawn": {p["gamma"]},
        "proposals/email/answer": concerned,
        "proposals/email/addendum": concerned,
        # Not the teams who submitted; a withdrawn proposal is a draft again.
        "proposals/email/deadline_reminder": {p["gamma"], p["drafter"], p["interested"]},
        "evaluation/email/reviewer_invitation": {p["rev0"], p["rev1"], p["rev2"]},
        "proposals/email/opened": {p["rev0"]},  # the one assigned before opening
        # Every member of every proposal with a submitted version (a withdrawn one too: its
        # receipt and its withdrawal are leaves the final head fixes).
        "proposals/email/final_head": {p["alpha"], p["beta"], p["gamma"]},
        "evaluation/email/assigned": {p["rev0"], p["rev1"], p["rev2"]},
        "evaluation/email/conflict_declared": {p["staff"]},
        "evaluation/email/clarification_request": {p["alpha"]},
        "evaluation/email/clarification_answer": {p["rev0"]},
        # Not the reviewer whose only assignment ended with a declared conflict.
        "proposals/email/review_reminder": {p["rev0"], p["rev1"], p["rev2"]} - {p["conflicted"]},
        "evaluation/email/preliminary": {p["alpha"], p["beta"]},
        "evaluation/email/decision": {p["alpha"], p["beta"]},
    }
    got: dict[str, list[str]] = {}
    for message in every_mail:
        if not message.template.startswith("account/"):
            got.setdefault(message.template, []).append(message.to)
    assert {t: set(to) for t, to in got.items()} == expected
    # One mail per person and kind here (each reviewer's new assignments came in one batch).
    assert all(len(to) == len(set(to)) for to in got.values())


def test_the_co_author_invitation_lasts_as_long_as_its_mail_says(every_mail):
    [invitation] = [m for m in every_mail if m.template == "proposals/email/invitation"]
    days = int(re.search(r"valid for (\d+) days", invitation.body_text).group(1))
    assert days * 24 * 3600 == team_service.MAX_AGE


def test_the_empty_home_page_links_to_both_ways_of_hearing_of_the_next_rfp(client):
    page = client.get(reverse("home")).content.decode()
    empty = page.split('id="open-heading"')[1].split("</section>")[0]
    assert "No RFP is open right now" in empty
    assert f'href="{reverse("subscribe")}"' in empty and f'href="{reverse("rfp_feed")}"' in empty
