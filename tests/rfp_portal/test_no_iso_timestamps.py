"""No machine timestamps where people read: every page and every mail, in English and Spanish.

The test builds a world with every kind of instant the portal shows (the demo's decided RFP with
its reviews, decisions and debriefs; an open RFP with questions, an addendum and a proposal
submitted twice; an RFP whose deadline staff set in Europe/Berlin, with a moved deadline, a
withdrawn proposal, drafts and reminders; an RFP in review with clarifications, a declared
conflict and a preliminary status; exports; the audit trail), then, for each role (a visitor, a
proposer, a team after its decision, a reviewer and staff, both with their second factor), it
crawls: from the home pages it follows same-origin links breadth-first (GET only, bounded), and
visits the pages no link leads to (a receipt verified, invitation links, each RFP's staff pages).

On every page the visible text (tags, scripts and attributes stripped; the attributes people
read, such as title and aria-label, kept) must hold no ISO 8601 timestamp, and every
``<time datetime>`` value must be valid HTML (at most three digits of a fraction). Every mail
in the outbox (subject and body) is read the same way. All findings are reported together.
The Django admin and downloads (CSV, ICS, PDF, Atom) are not pages for people to read here:
CSV keeps ISO 8601 on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from evaluation import decisions, services, threads
from evaluation import reminders as review_reminders
from evaluation.models import Export, PoolMember
from proposals import addenda, demo, questions, submission, subscriptions, team
from rfp_portal import deadlines
from rfp_portal.models import OutboxMessage, User
from tests.helpers import world as common
from tests.helpers.accounts import NEW_PASSWORD
from tests.helpers.crawling import Frontier
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import submitted_proposal

pytestmark = pytest.mark.django_db

# An ISO 8601 date and time as machines write it ("2026-12-01T07:11:49.034459Z", "2026-12-01
# 07:11:49+00:00"), and Python's own text for a datetime (a dict printed as it is).
ISO_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T|\s)\d{2}:\d{2}|datetime\.(?:datetime|date|time)\("
)
# What HTML allows in <time datetime>: a year, month, date, time, local or global date and
# time; seconds with at most three digits of a fraction.
_TIME = r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?"
_ZONE = r"(?:Z|[+-]\d{2}:?\d{2})"
VALID_DATETIME = re.compile(
    rf"^(?:\d{{4,}}|\d{{4,}}-\d{{2}}|\d{{4,}}-\d{{2}}-\d{{2}}|{_TIME}|{_ZONE}"
    rf"|\d{{4,}}-\d{{2}}-\d{{2}}[T ]{_TIME}{_ZONE}?)$"
)
# Attributes whose text people read (or hear).
READ_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "aria-description"})
NOT_SHOWN = frozenset({"script", "style", "template"})

PAGE_CAP = 90  # pages crawled from links, per role (the explicit pages come on top)
# Not followed: signing out, downloads (files, not pages), the language switch, the admin, and
# one-click links that change something.
SKIP = re.compile(
    r"^/accounts/logout/|\.pdf$|\.ics$|\.atom$|\.csv$|\.zip$|\.json$|/download/|/document/"
    r"|^/i18n/|^/static/|^/media/|^/admin/|^/subscribe/(stop|confirm)/|^/invitations/"
    r"|^/reviewers/join/"
)
ORIGIN = "http://testserver"


# --- Reading a page as a person does -----------------------------------------------------------


class PageReader(HTMLParser):
    """The visible text, the attribute texts people read, <time datetime> values and links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.datetimes: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag in NOT_SHOWN:
            self._hidden += 1
            return
        if "datetime" in attributes:
            self.datetimes.append(attributes["datetime"] or "")
        for name in READ_ATTRIBUTES & attributes.keys():
            self.text.append(attributes[name] or "")
        if tag == "input" and attributes.get("type") in {"submit", "button"}:
            self.text.append(attributes.get("value") or "")
        if tag == "a" and attributes.get("href") and "download" not in attributes:
            self.links.append(attributes["href"])

    def handle_endtag(self, tag) -> None:
        if tag in NOT_SHOWN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data) -> None:
        if not self._hidden:
            self.text.append(data)


def read_html(html: str) -> PageReader:
    reader = PageReader()
    reader.feed(html)
    reader.close()
    return reader


def timestamps_in(text: str) -> list[str]:
    """Each ISO timestamp in text, with a little of the text around it."""
    found = []
    for match in ISO_TIMESTAMP.finditer(text):
        start, end = max(0, match.start() - 40), min(len(text), match.end() + 30)
        found.append(" ".join(text[start:end].split()))
    return found


def invalid_datetimes(values: list[str]) -> list[str]:
    return [value for value in values if not VALID_DATETIME.match(value)]


# --- Crawling ----------------------------------------------------------------------------------


@dataclass
class Crawl:
    role: str
    client: Client
    findings: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)

    def check(self, path: str, response) -> PageReader | None:
        if "text/html" not in response.get("Content-Type", ""):
            return None
        reader = read_html(response.content.decode())
        self.checked.add(path)
        for snippet in timestamps_in(" ".join(reader.text)):
            self.findings.append(f"[{self.role}] page {path}: …{snippet}…")
        for value in invalid_datetimes(reader.datetimes):
            self.findings.append(f'[{self.role}] page {path}: <time datetime="{value}">')
        return reader

    def visit(self, path: str, *, data=None) -> None:
        """A page no link leads to (a form's answer when data is given)."""
        if data is None and path in self.checked:
            return
        response = self.client.post(path, data) if data is not None else self.client.get(path)
        self.check(path if data is None else f"POST {path}", response)

    def crawl(self, starts: list[str]) -> None:
        frontier = Frontier(starts)
        crawled = 0
        while frontier and crawled < PAGE_CAP:
            path = frontier.pop()
            response = self.client.get(path)
            crawled += 1
            found = []
            if response.status_code in {301, 302, 303, 307, 308}:
                found = [response["Location"]]
            else:
                reader = self.check(path, response)
                found = reader.links if reader else []
            for link in found:
                target = same_origin_path(link, base=path)
                if target is not None:
                    frontier.add(target)


def same_origin_path(href: str, *, base: str) -> str | None:
    parts = urlsplit(href)
    if parts.scheme and f"{parts.scheme}://{parts.netloc}" != ORIGIN:
        return None
    if not parts.scheme and parts.netloc:
        return None
    path = parts.path
    if not path:
        return None  # a fragment of the same page
    if not path.startswith("/"):
        path = base.rsplit("/", 1)[0] + "/" + path
    if SKIP.search(path):
        return None
    return urlunsplit(("", "", path, parts.query, ""))


def client_for(language: str, *, zone: str | None = None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if zone:
        client.cookies["tz"] = zone
    return client


def sign_in_with_second_factor(client: Client, user: User) -> None:
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": demo.DEMO_PASSWORD}
    )
    assert response.status_code == 302 and response.url == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(demo.DEMO_TOTP_SECRET)})
    assert response.status_code == 302, response.content[:500]


# --- The world ---------------------------------------------------------------------------------


def build_world() -> dict:
    # Microseconds everywhere, as in real use: each is a chance for an ISO text to show them.
    world = common.demo_world()
    now, staff = world.now, world.staff
    reviewer, proposer, tern = world.reviewer, world.proposer, world.tern
    reviewer2 = User.objects.get(email="reviewer2@example.org")
    kestrel = User.objects.get(email="team@kestrel-a11y.example")
    # People who chose their zone in their profile: pages and mails add a line in it.
    proposer.time_zone = "Asia/Tokyo"
    proposer.save(update_fields=["time_zone"])
    reviewer.time_zone = "America/St_Johns"
    reviewer.save(update_fields=["time_zone"])

    # Someone subscribed to new RFPs, and an RFP whose deadline staff set in Europe/Berlin.
    subscription = subscriptions.subscribe(email="fan@example.net", now=now)
    subscriptions.confirm(subscription=subscription, now=now)
    berlin = common.copy_of_open_rfp(
        now, "pypi-berlin-call", "PyPI Berlin call", zone="Europe/Berlin"
    )
    subscriptions.announce(berlin)

    # The proposer: a proposal to the open RFP submitted twice, a draft to the Berlin one, each
    # with a co-author; a pending invitation.
    common.share_proposals(world, berlin, submit_twice=True)
    # A proposal to the Berlin RFP, withdrawn; interest registered.
    withdrawn = submitted_proposal(berlin, tern, "Tern Labs: Berlin")
    submission.withdraw_proposal(proposal=withdrawn, user=tern, now=now)
    addenda.register_interest(rfp=berlin, user=kestrel, now=now)

    # Questions (one answered in public, one declined) and addenda, one moving the deadline.
    common.ask_and_amend(world)
    asked_berlin = questions.ask(rfp=berlin, user=kestrel, text="Is Berlin time binding?", now=now)
    questions.answer(
        question=asked_berlin, staff_user=staff, answer_text="Yes.", publish=True, now=now
    )
    addenda.publish_addendum(
        rfp=berlin,
        changes={"deadline_date": berlin.deadline_date + timedelta(days=3)},
        change_note="Three more days.",
        actor=staff,
        now=now,
    )
    berlin.refresh_from_db()

    # An RFP in review: reviewers invited, one assigned before the opening (the opening mail),
    # a conflict declared, a draft review, clarifications both ways, a preliminary status.
    common.review_round(world)
    review_rfp = world.review_rfp
    third = submitted_proposal(review_rfp, kestrel, "Kestrel: review round")
    for person in (reviewer, reviewer2):
        invitation = services.invite_reviewer(
            rfp=review_rfp, email=person.email, staff_user=staff, now=now
        )
        services.accept_reviewer_invitation(invitation=invitation, user=person, now=now)
    open_invitation = services.invite_reviewer(
        rfp=review_rfp, email="new.reviewer@example.edu", staff_user=staff, now=now
    )
    services.assign(proposal=world.first, reviewer=reviewer2, staff_user=staff, now=now)
    common.open_review_round(world)
    common.start_reviews(world)
    conflicted = services.assign(proposal=third, reviewer=reviewer, staff_user=staff, now=now)
    services.declare_conflict(
        assignment=conflicted, user=reviewer, conflict=True, reason="Former colleague.", now=now
    )
    threads.post_clarification(proposal=world.second, user=tern, text="Tomás leads it.", now=now)
    decisions.send_preliminary(
        rfp=review_rfp, staff_user=staff, message="The evaluation takes a week longer.", now=now
    )
    assert PoolMember.objects.filter(rfp=review_rfp).count() == 2

    # Exports of the decided RFP: finished, failed and running rows.
    for kind, state in (
        (Export.Kind.SCORES, Export.State.DONE),
        (Export.Kind.SUMMARY, Export.State.FAILED),
        (Export.Kind.REPORT, Export.State.RUNNING),
    ):
        Export.objects.create(
            rfp=world.decided,
            kind=kind,
            requested_by=staff,
            state=state,
            progress=100 if state == Export.State.DONE else 40,
            finished_at=now if state != Export.State.RUNNING else None,
            message="Interrupted." if state == Export.State.FAILED else "",
        )

    # Reminders: a day before the Berlin deadline, and a day before the reviews are due.
    review_reminders.send_all_due(now=berlin.deadline_instant - timedelta(hours=23))
    due = deadlines.review_due_instant(review_rfp.review_due)
    review_reminders.send_all_due(now=due - timedelta(hours=23))

    return {
        "now": now,
        "staff": staff,
        "reviewer": reviewer,
        "proposer": proposer,
        "coauthor": world.coauthor,
        "mossgreen": world.mossgreen,
        "tern": tern,
        "submitted": world.submitted,
        "draft": world.draft,
        "pending": world.pending,
        "withdrawn": withdrawn,
        "first": world.first,
        "second": world.second,
        "third": third,
        "decided": world.decided,
        "open_rfp": world.open_rfp,
        "berlin": berlin,
        "review_rfp": review_rfp,
        "open_invitation": open_invitation,
        "decided_proposal": world.decided_proposal,
    }


# The mails the world must have produced, so that a template nobody renders cannot pass.
EXPECTED_MAILS = {
    "proposals/email/receipt",
    "proposals/email/withdrawn",
    "proposals/email/answer",
    "proposals/email/addendum",
    "proposals/email/invitation",
    "proposals/email/new_rfp",
    "proposals/email/subscription_confirm",
    "proposals/email/deadline_reminder",
    "proposals/email/review_reminder",
    "proposals/email/opened",
    "evaluation/email/reviewer_invitation",
    "evaluation/email/assigned",
    "evaluation/email/conflict_declared",
    "evaluation/email/clarification_request",
    "evaluation/email/clarification_answer",
    "evaluation/email/preliminary",
    "evaluation/email/decision",
    "account/email/email_confirmation_signup",
    "account/email/password_reset_key",
}


# --- What each role visits beyond the links ----------------------------------------------------


def anonymous_pages(crawl: Crawl, world: dict) -> None:
    for rfp in (world["open_rfp"], world["berlin"]):
        crawl.visit(f"/rfps/{rfp.slug}/addenda/1/")
    # A receipt verified: the public result, for each kind of RFP.
    for proposal in (world["submitted"], world["withdrawn"], world["decided_proposal"]):
        version = proposal.versions.order_by("number").first()
        crawl.visit(reverse("verify_receipt"), data={"code": version.receipt_code})
    crawl.visit(reverse("verify_receipt"), data={"code": "R-NOPE-NOPE-NOPE"})
    crawl.visit(reverse("accept_invitation", args=[team.invitation_token(world["pending"])]))
    crawl.visit(
        reverse("reviewer_invitation", args=[services.invitation_token(world["open_invitation"])])
    )
    crawl.visit("/no-such-page/")
    crawl.visit(reverse("account_reset_password"), data={"email": "proposer@example.org"})
    # Signing up: the confirmation mail is written in the page's language.
    crawl.visit(
        reverse("account_signup"),
        data={
            "email": "new.person@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "full_name": "New Person",
            "organisation": "Example Co-op",
        },
    )


def proposer_pages(crawl: Crawl, world: dict) -> None:
    submitted, draft = world["submitted"], world["draft"]
    for path in ("", "team/", "submit/", "withdraw/", "versions/1/", "versions/2/"):
        crawl.visit(f"/proposals/{submitted.pk}/{path}")
    for path in ("", "team/", "submit/"):
        crawl.visit(f"/proposals/{draft.pk}/{path}")
    for rfp in (world["open_rfp"], world["berlin"]):
        crawl.visit(rfp.get_absolute_url())
        crawl.visit(f"/rfps/{rfp.slug}/addenda/1/")


def team_pages(crawl: Crawl, world: dict) -> None:
    decided = world["decided_proposal"]
    crawl.visit(f"/proposals/{decided.pk}/")
    crawl.visit(f"/proposals/{decided.pk}/decision/")
    crawl.visit(f"/proposals/{decided.pk}/versions/1/")
    crawl.visit(f"/proposals/{world['first'].pk}/")
    crawl.visit(f"/proposals/{world['first'].pk}/clarifications/")


def tern_pages(crawl: Crawl, world: dict) -> None:
    crawl.visit(f"/proposals/{world['second'].pk}/clarifications/")
    crawl.visit(f"/proposals/{world['withdrawn'].pk}/")
    crawl.visit(f"/proposals/{world['withdrawn'].pk}/versions/1/")


def reviewer_pages(crawl: Crawl, world: dict) -> None:
    crawl.visit("/review/")
    crawl.visit(f"/review/{world['first'].pk}/conflict/")
    crawl.visit(f"/review/{world['second'].pk}/")
    crawl.visit(f"/proposals/{world['second'].pk}/clarifications/")
    crawl.visit(f"/review/{world['decided_proposal'].pk}/")


def staff_pages(crawl: Crawl, world: dict) -> None:
    crawl.visit("/staff/")
    crawl.visit("/staff/audit/")
    for rfp in (world["decided"], world["review_rfp"], world["open_rfp"], world["berlin"]):
        crawl.visit(f"/staff/rfps/{rfp.slug}/addendum/")
        crawl.visit(f"/staff/rfps/{rfp.slug}/questions/")
        crawl.visit(f"/staff/rfps/{rfp.slug}/evaluation/")
        crawl.visit(f"/staff/rfps/{rfp.slug}/evaluation/dashboard/")
        crawl.visit(f"/staff/rfps/{rfp.slug}/evaluation/exports/")
    decided, review_rfp = world["decided"], world["review_rfp"]
    crawl.visit(f"/staff/rfps/{decided.slug}/evaluation/decisions/{world['decided_proposal'].pk}/")
    crawl.visit(f"/staff/rfps/{review_rfp.slug}/evaluation/decisions/{world['first'].pk}/")
    for export in Export.objects.filter(rfp=decided):
        crawl.visit(f"/staff/rfps/{decided.slug}/evaluation/exports/{export.pk}/")
    crawl.visit(f"/proposals/{world['decided_proposal'].pk}/versions/1/")
    crawl.visit(f"/proposals/{world['second'].pk}/clarifications/")
    crawl.visit(f"/review/{world['second'].pk}/")


def mail_findings(language: str) -> tuple[list[str], set[str]]:
    findings, templates = [], set()
    for message in OutboxMessage.objects.order_by("pk"):
        templates.add(message.template)
        text = "\n".join(
            [message.subject, message.body_text, " ".join(read_html(message.body_html).text)]
        )
        for snippet in timestamps_in(text):
            findings.append(f"[{language}] mail {message.template} to {message.to}: …{snippet}…")
    return findings, templates


# --- The test ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_page_or_mail_shows_a_machine_timestamp(language):
    with translation.override(language):
        world = build_world()
    roles = [
        ("visitor", None, None, anonymous_pages),
        ("proposer", world["proposer"], False, proposer_pages),
        ("co-author", world["coauthor"], False, proposer_pages),
        ("decided team", world["mossgreen"], False, team_pages),
        ("team in review", world["tern"], False, tern_pages),
        ("reviewer", world["reviewer"], True, reviewer_pages),
        ("staff", world["staff"], True, staff_pages),
    ]
    findings: list[str] = []
    checked = 0
    for role, user, second_factor, extras in roles:
        # The visitor's browser has told the portal its zone (the cookie portal.js sets).
        client = client_for(language, zone="Europe/Berlin" if user is None else None)
        # LocaleMiddleware activates each request's language for the thread: put it back after.
        with translation.override(language):
            if user is not None and second_factor:
                sign_in_with_second_factor(client, user)
            elif user is not None:
                client.force_login(user)
            crawl = Crawl(f"{language} {role}", client)
            crawl.crawl(["/", "/proposals/", "/review/", "/staff/", "/accounts/profile/"])
            extras(crawl, world)
        findings.extend(crawl.findings)
        checked += len(crawl.checked)
        if role == "staff":
            # The crawl reached the pages that matter most (a broken sign-in would not).
            assert "/staff/audit/" in crawl.checked
            assert f"/staff/rfps/{world['decided'].slug}/evaluation/dashboard/" in crawl.checked
    assert checked > 100, f"only {checked} pages checked"

    mails, templates = mail_findings(language)
    findings.extend(mails)
    assert not EXPECTED_MAILS - templates, f"mails never written: {EXPECTED_MAILS - templates}"
    assert not findings, f"{len(findings)} machine timestamps for people:\n" + "\n".join(
        sorted(set(findings))
    )


# --- The reader itself -------------------------------------------------------------------------


def test_reader_finds_iso_text_and_invalid_datetime_values_but_not_attributes():
    html = (
        '<p data-x="2026-12-01T07:11:49Z">Received <time datetime="2026-12-01T07:11:49.034459Z">'
        "2026-12-01T07:11:49.034459Z</time></p><script>var t='2026-12-01T07:11:00Z';</script>"
        '<time datetime="2026-12-01T07:11:49Z">Tuesday 1 December 2026, 07:11 UTC</time>'
        '<span title="at 2026-12-01 07:11:49">x</span>'
    )
    reader = read_html(html)
    text = " ".join(reader.text)
    assert len(timestamps_in(text)) == 2  # the element text and the title, not data-x or script
    assert invalid_datetimes(reader.datetimes) == ["2026-12-01T07:11:49.034459Z"]
    assert invalid_datetimes(["2026-12-01", "2026-12", "2026-12-01T07:11:49.034Z"]) == []
