"""Sealing in every list of the admin (rule 2: "Staff see counts only: not who bid, in no list").

On top of the security scenario (scenario.py), a bidder with nothing on any other RFP bids on
the sealed RFP: they start a proposal (with a marker), invite a co-author who accepts and an
invitee who does not (an address that exists nowhere else), acknowledge an addendum, submit,
withdraw, get the answer to a public question and a deadline reminder. Twin accounts made the
same way do nothing: whatever staff can reach in the admin before opening must look the same
for the bidder and their twin, must never show the invitee's address or the marker, and after
opening the same pages do tell them apart (the checks can fail).

Every ModelAdmin registered on the site is visited (a new one is covered without a change
here): its changelist, every link the changelist offers to narrow or reorder it (each
list_filter choice, the date hierarchy, facets, sorting), a search for each address and for the
marker, and the change page of every object listed. A staff member and a superuser (who also
reaches the Django and allauth admins guarded by model permissions) look at all of them.
"""

from __future__ import annotations

import difflib
import html
import importlib
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.apps import apps as django_apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from proposals import addenda, questions, reminders, rules, services, submission
from proposals import team as team_service
from rfp_portal import permissions
from rfp_portal.models import OutboxMessage
from tests.factories import UserFactory
from tests.helpers.mfa import TOTP_SECRET
from tests.helpers.responses import body
from tests.security.scenario import (
    STAFF,
    build_scenario,
    marked_proposal,
    marker,
    submit_acknowledging_addenda,
)

pytestmark = pytest.mark.django_db

BIDDER = "bea.bidder@sealed-bid.example.com"
PARTNER = "paul.partner@sealed-bid.example.com"  # co-author who accepted
INVITEE = "ivy.invitee@sealed-bid.example.com"  # invited, never accepted: no account
IDLE = "ida.idle@no-bid.example.com"  # the bidder's twin: same account, no bid
IDLE_PARTNER = "pia.idle@no-bid.example.com"  # the partner's twin
NAMES = {
    BIDDER: "Bea Bidder",
    PARTNER: "Paul Partner",
    IDLE: "Ida Idle",
    IDLE_PARTNER: "Pia Idle",
}
TWINS = ((BIDDER, IDLE), (PARTNER, IDLE_PARTNER))
MARK = marker("sealed-bid")


def _staff_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def build():
    s = build_scenario()
    rfp, staff = s.sealed.rfp, s.users[STAFF]
    people = {
        email: UserFactory(email=email, full_name=NAMES[email], roles=[permissions.Role.PROPOSER])
        for email in (BIDDER, PARTNER, IDLE, IDLE_PARTNER)
    }
    superuser = UserFactory(
        email="root@foundation.example.org",
        full_name="Rory Root",
        roles=[permissions.Role.STAFF],
        is_staff=True,
        is_superuser=True,
    )
    TOTP.activate(superuser, TOTP_SECRET)

    now = timezone.now()
    at = iter(now - timedelta(hours=3) + timedelta(minutes=i) for i in range(1, 100))
    bidder, partner = people[BIDDER], people[PARTNER]
    proposal = marked_proposal(rfp, bidder, "sealed-bid", next(at))
    invitation = team_service.invite(proposal=proposal, owner=bidder, email=PARTNER, now=next(at))
    team_service.accept(invitation=invitation, user=partner, now=next(at))
    team_service.invite(proposal=proposal, owner=bidder, email=INVITEE, now=next(at))
    # An addendum after the bidder started: mailed to them, acknowledged before submitting.
    addenda.publish_addendum(
        rfp=rfp,
        changes={"summary": rfp.summary + " (amended again)"},
        change_note="Clearer still.",
        actor=staff,
        now=next(at),
    )
    submit_acknowledging_addenda(proposal, bidder, next(at))
    proposal.refresh_from_db()
    submission.withdraw_proposal(proposal=proposal, user=bidder, now=next(at))
    # The public answer is mailed to everyone concerned, the bidder's team included.
    questions.answer(
        question=rfp.questions.first(),
        staff_user=staff,
        answer_text="Yes, one milestone is enough.",
        publish=True,
        now=next(at),
    )
    # A withdrawn proposal is a draft again: the deadline reminder goes to its team.
    rfp.refresh_from_db()
    assert reminders.send_due(now=rfp.deadline_instant - timedelta(hours=23))
    for user in [*people.values(), superuser, *s.users.values()]:
        permissions._forget(user)
    clients = {"staff": _staff_client(staff), "superuser": _staff_client(superuser)}
    return s, people, clients


# --- Reading pages ---------------------------------------------------------------------------

SEARCH_BOX = re.compile(r'<input[^>]*name="q"[^>]*>')
HREF = re.compile(r'href="([^"]*)"')


def page(client: Client, url: str) -> tuple[int, str]:
    response = client.get(url, follow=True)
    # A search page repeats its query in the search box: that is the asker's own text.
    return response.status_code, SEARCH_BOX.sub("", body(response))


def links(text: str, prefix: str) -> set[str]:
    return {html.unescape(h) for h in HREF.findall(text) if html.unescape(h).startswith(prefix)}


def result_rows(text: str) -> int:
    table = text.split('id="result_list"', 1)
    if len(table) != 2:
        return 0
    return table[1].split("</table>", 1)[0].split("<tbody>", 1)[-1].count("<tr")


def changelists() -> list[tuple[str, str]]:
    return [
        (
            model._meta.label_lower,
            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"),
        )
        for model in admin.site._registry
    ]


def admin_views(client: Client) -> dict[str, str]:
    """Every admin page to look at, keyed by URL: index, app indexes, each changelist, each
    link on a changelist that narrows or reorders it, and each listed object's change page."""
    urls = {reverse("admin:index"): "index"}
    for label, changelist in changelists():
        urls[reverse("admin:app_list", args=[label.split(".")[0]])] = label
        urls[changelist] = label
        status, text = page(client, changelist)
        if status != 200:
            continue
        for query in links(text, "?"):
            urls[changelist + query] = label
        base = changelist.rstrip("/")
        for href in links(text, base + "/"):
            if href.endswith("/change/"):
                urls[href] = label
    return urls


def searches() -> dict[str, tuple[str, str]]:
    """For each changelist, a search for each address and the marker, with its twin search."""
    result = {}
    for _label, changelist in changelists():
        for bid, idle in TWINS:
            result[f"{changelist}?q={quote(bid)}"] = f"{changelist}?q={quote(idle)}"
        # Part of the marker: a search page repeats its query, never the whole marker.
        for term in (INVITEE, MARK[3:-1]):
            result[f"{changelist}?q={quote(term)}"] = ""
    return result


def leaks(client: Client, who: str) -> list[str]:
    """What this admin user can learn of the sealed bid, page by page."""
    problems = []
    for url in sorted(admin_views(client)):
        status, text = page(client, url)
        for secret in (INVITEE, MARK):
            if secret in text:
                problems.append(f"{who} {url} [{status}]: shows {secret}")
        if "/change/" in url:
            continue  # a person's own change page names them; see the account pages below
        for bid, idle in TWINS:
            if (bid in text) != (idle in text):
                problems.append(f"{who} {url} [{status}]: lists {bid} but not {idle} or back")
    for url, twin_url in sorted(searches().items()):
        status, text = page(client, url)
        for secret in (INVITEE, MARK):
            if secret in text:
                problems.append(f"{who} {url} [{status}]: shows {secret}")
        if twin_url:
            twin_status, twin = page(client, twin_url)
            if (status, result_rows(text)) != (twin_status, result_rows(twin)):
                problems.append(
                    f"{who} {url} [{status}]: {result_rows(text)} rows, its twin "
                    f"{twin_url} [{twin_status}]: {result_rows(twin)}"
                )
    return problems


def account_page(client: Client, url: str, user) -> tuple[int, str]:
    """An account's admin page as words, with what names the account itself blanked out."""
    status, text = page(client, url)
    # The header names the viewer ("Welcome, Sam"), the same on both pages: a viewer whose
    # name shares a word with the account's would otherwise be blanked on one page only.
    text = re.sub(r'<div id="user-tools">.*?</div>', " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\S*\*\*\*\S*", "", text)  # the password hash's masked salt and digest
    for own in (user.email, user.full_name, user.get_short_name()):
        text = text.replace(own, "~")
    # Digits go last, ids included: blanking the id as text would also hit digits inside times
    # and dates wherever it is short (SQLite's ids are), and differently for the two accounts.
    return status, " ".join(re.sub(r"\d", "", text).split())


def account_leaks(client: Client, who: str, people) -> list[str]:
    """A bidder's account pages (change, delete, history) read as their twin's do."""
    problems = []
    for bid, idle in TWINS:
        for view in ("change", "delete", "history"):
            name = f"admin:rfp_portal_user_{view}"
            mine = account_page(client, reverse(name, args=[people[bid].pk]), people[bid])
            twin = account_page(client, reverse(name, args=[people[idle].pk]), people[idle])
            if mine != twin:
                words = difflib.ndiff(mine[1].split(), twin[1].split())
                diff = " ".join(w for w in words if w[:1] in "+-")
                problems.append(f"{who} {name} differs for {bid} and {idle}: {diff}")
    return problems


def test_no_admin_list_filter_or_search_tells_who_bid_before_opening():
    s, people, clients = build()
    assert rules.is_sealed(s.sealed.rfp)
    problems = []
    for who, client in clients.items():
        problems += leaks(client, who) + account_leaks(client, who, people)
    assert not problems, f"{len(problems)} leaks of a sealed bid:\n" + "\n".join(problems)

    # Staff see counts only: the outbox says how many mails it does not list, and a sealed
    # mail's own page is closed.
    staff = clients["staff"]
    _status, outbox = page(staff, reverse("admin:rfp_portal_outboxmessage_changelist"))
    hidden = OutboxMessage.objects.filter(rules.sealed_outbox_messages()).count()
    assert hidden
    assert f"{hidden} messages tell who bid on RFPs that are still sealed" in outbox
    receipt = OutboxMessage.objects.get(template="proposals/email/receipt", to=BIDDER)
    for view in ("change", "history"):
        url = reverse(f"admin:rfp_portal_outboxmessage_{view}", args=[receipt.pk])
        assert staff.get(url).status_code == 403


def test_after_opening_staff_see_who_bid_on_the_same_pages():
    s, _people, clients = build()
    rfp = s.sealed.rfp
    assert services.open_due_rfps(
        now=rfp.deadline_instant + timedelta(seconds=rfp.grace_seconds + 1)
    )
    staff = clients["staff"]
    outbox = reverse("admin:rfp_portal_outboxmessage_changelist")
    _status, receipts = page(staff, outbox + "?template__exact=proposals%2Femail%2Freceipt")
    assert BIDDER in receipts and PARTNER in receipts and IDLE not in receipts
    _status, invitations = page(staff, outbox + f"?q={quote(INVITEE)}")
    assert result_rows(invitations) == 1 and INVITEE in invitations
    _status, proposals = page(staff, reverse("admin:proposals_proposal_changelist"))
    assert MARK in proposals
    audit = reverse("admin:rfp_portal_auditevent_changelist")
    assert BIDDER in page(staff, audit)[1] and IDLE not in page(staff, audit)[1]
    assert leaks(staff, "staff"), "the checks could not tell a bid from none"
    receipt = OutboxMessage.objects.get(template="proposals/email/receipt", to=BIDDER)
    change = reverse("admin:rfp_portal_outboxmessage_change", args=[receipt.pk])
    assert BIDDER in page(staff, change)[1]


def test_mails_stored_before_the_outbox_knew_its_rfp_are_sealed_as_new_ones_are():
    """The migration that added OutboxMessage.rfp and about_bidder marks the messages already
    stored from their idempotency keys, as outbox.queue_mail's callers mark new ones."""
    build()
    migration = importlib.import_module("rfp_portal.migrations.0006_outbox_rfp_about_bidder")
    sealed = rules.sealed_outbox_messages()
    expected = set(OutboxMessage.objects.filter(sealed).values_list("pk", "rfp_id"))
    assert {to for (to,) in OutboxMessage.objects.filter(sealed).values_list("to")} >= {
        BIDDER,
        PARTNER,
        INVITEE,
    }
    OutboxMessage.objects.update(rfp=None, about_bidder=False)
    migration.mark_existing(django_apps, None)
    assert set(OutboxMessage.objects.filter(sealed).values_list("pk", "rfp_id")) == expected
