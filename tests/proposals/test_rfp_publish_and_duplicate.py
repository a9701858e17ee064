"""Staff publish an RFP from the portal with a confirmation (who is mailed, what becomes
read-only), and duplicate an RFP's structure with new dates (proposals.views.staff)."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from proposals import demo, services
from proposals.models import RFP, Feature, Proposal, Question, Subscription, TimelineEntry
from rfp_portal import deadlines
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def draft_q4(**changes) -> RFP:
    data = tomllib.loads((demo.DEMO_DATA_DIR / "pypi-2019-q4.toml").read_text())
    data.update(changes)
    now = timezone.now()
    shift = services.demo_shift(data, today=now.date())
    return services.load_rfp(data, shift=shift, now=now, publish=False).rfp


def subscribers() -> None:
    now = timezone.now()
    Subscription.objects.create(email="a@example.org", confirmed_at=now)
    Subscription.objects.create(email="b@example.org", confirmed_at=now)
    Subscription.objects.create(email="c@example.org", confirmed_at=now)
    Subscription.objects.create(email="unconfirmed@example.org")
    Subscription.objects.create(email="gone@example.org", confirmed_at=now, unsubscribed_at=now)


def announcements():
    return OutboxMessage.objects.filter(template="proposals/email/new_rfp")


def test_the_confirmation_says_who_is_mailed_and_what_becomes_read_only(staff_client):
    rfp = draft_q4()
    subscribers()
    page = staff_client.get(reverse("staff_rfp_publish", args=[rfp.slug]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "3 confirmed subscribers are e-mailed the announcement now." in text
    assert "change only by a numbered addendum" in text
    assert "Publish and e-mail 3 subscribers" in text
    assert deadlines.format_deadline(rfp.deadline_instant, rfp.deadline_zone) in text
    assert "left" in text
    # Nothing is published by looking.
    rfp.refresh_from_db()
    assert rfp.status == RFP.Status.DRAFT and not announcements().exists()


def test_publishing_needs_i_understand_then_mails_exactly_the_count(staff, staff_client):
    rfp = draft_q4()
    subscribers()
    url = reverse("staff_rfp_publish", args=[rfp.slug])

    refused = staff_client.post(url, {})
    assert refused.status_code == 400 and "This field is required" in refused.content.decode()
    assert RFP.objects.get(pk=rfp.pk).status == RFP.Status.DRAFT

    done = staff_client.post(url, {"understood": "on"})
    assert done.status_code == 302
    rfp.refresh_from_db()
    assert rfp.status == RFP.Status.PUBLISHED and rfp.published_at is not None
    assert sorted(announcements().values_list("to", flat=True)) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]
    event = AuditEvent.objects.get(action="rfp.published")
    assert event.actor == staff and event.details == {"mailed": 3}

    # Twice: nothing more is sent, and the page says so.
    again = staff_client.post(url, {"understood": "on"}, follow=True)
    assert "published already; nothing more was sent" in again.content.decode()
    assert announcements().count() == 3
    assert "This RFP is published already" in staff_client.get(url).content.decode()


def test_an_rfp_lacking_what_publication_needs_is_refused(staff_client):
    rfp = draft_q4(criteria=[{"key": "ok", "kind": "gate", "name": "Complete"}])
    Feature.objects.filter(milestone__rfp=rfp).delete()
    url = reverse("staff_rfp_publish", args=[rfp.slug])
    text = staff_client.get(url).content.decode()
    assert "It cannot be published yet" in text
    assert "no milestone with a feature" in text and "no scored criterion" in text
    assert staff_client.post(url, {"understood": "on"}).status_code == 400
    assert RFP.objects.get(pk=rfp.pk).status == RFP.Status.DRAFT


def test_a_past_deadline_is_refused(staff_client):
    rfp = draft_q4()
    rfp.deadline_date = date.today() - timedelta(days=3)
    services.save_rfp(rfp=rfp)
    response = staff_client.post(
        reverse("staff_rfp_publish", args=[rfp.slug]), {"understood": "on"}
    )
    assert response.status_code == 400 and "The deadline has passed" in response.content.decode()


def test_duplicate_copies_the_structure_with_shifted_dates_and_no_proposals(staff, staff_client):
    source = draft_q4()
    source.status, source.published_at = RFP.Status.PUBLISHED, timezone.now()
    source.save()
    TimelineEntry.objects.create(
        rfp=source, date=date(2030, 1, 1), precision="month", label="Work begins", position=9
    )
    Proposal.objects.create(rfp=source, owner=UserFactory(), title="Not copied")
    Question.objects.create(rfp=source, asker=UserFactory(), text="Not copied either?")
    new_deadline = source.deadline_date + timedelta(days=100)

    response = staff_client.post(
        reverse("staff_rfp_duplicate", args=[source.slug]),
        {
            "title": "PyPI, next round",
            "slug": "pypi-next",
            "deadline_date": new_deadline.isoformat(),
            "deadline_zone": "Europe/Berlin",
        },
    )

    assert response.status_code == 302
    copy = RFP.objects.get(slug="pypi-next")
    assert copy.status == RFP.Status.DRAFT and copy.published_at is None
    assert (copy.title, copy.deadline_date, copy.deadline_zone) == (
        "PyPI, next round",
        new_deadline,
        "Europe/Berlin",
    )
    assert copy.review_due == source.review_due + timedelta(days=100)
    for field in ("summary", "body_markdown", "currency", "total_cap", "sealed", "max_revisions"):
        assert getattr(copy, field) == getattr(source, field), field
    src_days = [(e.date, e.label) for e in source.timeline.filter(precision="day")]
    assert [(e.date, e.label) for e in copy.timeline.filter(precision="day")] == [
        (day + timedelta(days=100), label) for day, label in src_days
    ]
    assert copy.timeline.get(precision="month").date == date(2030, 4, 1)

    def structure(rfp):
        return (
            [
                (m.name, [(f.name, f.budget, f.cap, f.tasks) for f in m.features.all()])
                for m in rfp.milestones.all()
            ],
            list(rfp.elements.values_list("key", "kind", "label", "help", "required")),
            list(
                rfp.criteria.values_list(
                    "key", "kind", "name", "questions", "weight", "anchors", "scale_max"
                )
            ),
        )

    assert structure(copy) == structure(source)
    assert not copy.proposals.exists() and not copy.questions.exists()
    assert source.proposals.count() == 1 and source.milestones.count() == 3
    event = AuditEvent.objects.get(action="rfp.duplicated")
    assert event.actor == staff and event.details == {"copied_from": source.slug}


def test_duplicate_refuses_a_taken_slug_and_creates_nothing(staff_client):
    source = draft_q4()
    response = staff_client.post(
        reverse("staff_rfp_duplicate", args=[source.slug]),
        {
            "title": "Again",
            "slug": source.slug,
            "deadline_date": source.deadline_date.isoformat(),
            "deadline_zone": "AoE",
        },
    )
    assert response.status_code == 400
    assert "Another RFP has this slug already" in response.content.decode()
    assert RFP.objects.count() == 1


def test_staff_home_links_the_new_pages(staff_client):
    draft = draft_q4()
    text = staff_client.get(reverse("staff_home")).content.decode()
    for name in ("staff_rfp_publish", "staff_rfp_duplicate", "staff_rfp_download"):
        assert reverse(name, args=[draft.slug]) in text
    assert reverse("staff_rfp_import") in text


def test_download_and_import_pages(staff_client):
    rfp = draft_q4()
    download = staff_client.get(reverse("staff_rfp_download", args=[rfp.slug]))
    assert download["Content-Disposition"] == f'attachment; filename="{rfp.slug}.toml"'
    content = download.content
    rfp.delete()

    bad = SimpleUploadedFile("q4.toml", content.replace(b"cap = 30000", b"cap = 300"))
    refused = staff_client.post(reverse("staff_rfp_import"), {"file": bad})
    assert refused.status_code == 400
    assert "milestones[0].features[0].cap: 300 is below the budget 25000." in (
        refused.content.decode()
    )
    assert not RFP.objects.exists()

    good = SimpleUploadedFile("q4.toml", content)
    assert staff_client.post(reverse("staff_rfp_import"), {"file": good}).status_code == 302
    assert RFP.objects.get().status == RFP.Status.DRAFT


NEW_PAGES = ["staff_rfp_publish", "staff_rfp_duplicate", "staff_rfp_download"]


def test_the_new_pages_are_for_staff_with_two_factor_authentication(
    client, proposer, reviewer, staff_without_mfa
):
    rfp = draft_q4()
    urls = [reverse(name, args=[rfp.slug]) for name in NEW_PAGES] + [reverse("staff_rfp_import")]
    for url in urls:
        assert "/accounts/login/" in client.get(url)["Location"], url
    for user in (proposer, reviewer):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 403, (user, url)
            assert client.post(url, {"understood": "on"}).status_code == 403, (user, url)
    client.force_login(staff_without_mfa)
    for url in urls:
        assert client.get(url)["Location"] == reverse("mfa_index"), url
    assert RFP.objects.get().status == RFP.Status.DRAFT
