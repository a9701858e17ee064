"""Staff preview an RFP's page as visitors will see it (with warnings), open an RFP by hand after
its cut-off, and cannot publish in the admin (issue 16)."""

import re
import tomllib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from proposals import demo, editor, services
from proposals.models import RFP, Criterion, ProposalElement
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.factories import (
    AssignmentFactory,
    CriterionFactory,
    ElementFactory,
    FeatureFactory,
    MilestoneFactory,
    ProposalFactory,
    RFPFactory,
)
from tests.helpers.mfa import totp_code

pytestmark = pytest.mark.django_db

Q4 = demo.DEMO_DATA_DIR / "pypi-2019-q4.toml"


def draft(**kwargs) -> RFP:
    return RFPFactory(status=RFP.Status.DRAFT, published_at=None, **kwargs)


def complete_draft(**kwargs) -> RFP:
    """A draft that publication_problems lets through: a feature, an element, a criterion."""
    rfp = draft(**kwargs)
    FeatureFactory(milestone=MilestoneFactory(rfp=rfp))
    ElementFactory(rfp=rfp, kind=ProposalElement.Kind.PDF, label="Proposal document")
    CriterionFactory(rfp=rfp, questions=["Relevant experience?"])
    return rfp


def crafted_draft() -> RFP:
    """A draft that may be published, with one of each thing that looks wrong."""
    rfp = draft(
        title="Crafted draft",
        summary=" ",
        total_cap=Decimal("1000"),
        deadline_date=date.today() + timedelta(days=5),
    )
    paid = MilestoneFactory(rfp=rfp, name="Paid work", position=0)
    FeatureFactory(milestone=paid, name="Free lunch", budget=Decimal("0"), cap=Decimal("10"))
    FeatureFactory(milestone=paid, name="Big work", budget=Decimal("1500"), cap=Decimal("2000"))
    MilestoneFactory(rfp=rfp, name="Empty milestone", position=1)
    ElementFactory(rfp=rfp, kind=ProposalElement.Kind.TEXT, label="The team")
    CriterionFactory(rfp=rfp, kind=Criterion.Kind.SCORED, name="Vague criterion", questions=[])
    CriterionFactory(
        rfp=rfp, key="gate", kind=Criterion.Kind.GATE, weight=None, name="A gate", questions=[]
    )
    return rfp


def q4_draft() -> RFP:
    """The PSF's complete Q4 2019 RFP, as a draft whose deadline is 30 days ahead."""
    data = tomllib.loads(Q4.read_text())
    now = timezone.now()
    shift = (now.date() + timedelta(days=30)) - date.fromisoformat(data["deadline"]["date"])
    return services.load_rfp(data, shift=shift, now=now, publish=False).rfp


# --- Preview ------------------------------------------------------------------------------


def test_preview_warnings_name_each_problem_and_the_step_that_fixes_it():
    rfp = crafted_draft()
    warnings = editor.preview_warnings(rfp, now=timezone.now())
    assert not [w for w in warnings if w.blocking]
    by_step = [(w.step, w.text) for w in warnings]
    assert [step for step, _text in by_step] == [
        "basics",
        "deadline",
        "scope",
        "scope",
        "scope",
        "elements",
        "criteria",
    ]
    texts = " | ".join(text for _step, text in by_step)
    assert "The summary is empty" in texts
    assert "days until the deadline; bidders usually need at least 14 days" in texts
    assert "“Free lunch” has a budget of 0" in texts
    assert "“Empty milestone” has no features" in texts
    assert "add up to USD 1,500, above the total cap of USD 1,000" in texts
    assert "No proposal element asks for a PDF document" in texts
    # Gates need no guiding questions; a scored criterion does.
    assert "“Vague criterion” has no guiding questions" in texts
    assert "A gate" not in texts


def test_the_complete_psf_file_gives_no_warning(staff_client):
    rfp = q4_draft()
    assert editor.preview_warnings(rfp, now=timezone.now()) == []
    page = staff_client.get(reverse("staff_rfp_preview", args=[rfp.slug])).content.decode()
    assert "Nothing looks wrong" in page
    assert "things to check" not in page


def test_the_preview_is_the_public_page_for_a_visitor_with_the_warnings(staff_client):
    rfp = crafted_draft()
    response = staff_client.get(reverse("staff_rfp_preview", args=[rfp.slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Preview: this is how visitors will see this RFP once it is published" in page
    # The public page itself: its title, scope table, criteria; as a signed-out visitor sees
    # it once published (no draft badge, "sign in to propose").
    assert '<h1 id="rfp-title">Crafted draft</h1>' in page
    assert "Scope and budget" in page and "Vague criterion" in page
    assert "Draft: not visible to the public" not in page
    assert "Sign in to propose" in page
    assert "Reviewer and staff accounts cannot submit proposals" not in page
    # The time left, and seven warnings, each with its link to the editor step.
    assert re.search(r"— <strong>\d+ days?[^<]* left</strong>", page)
    assert "7 things to check before publishing" in page
    for step in ("basics", "deadline", "scope", "elements", "criteria"):
        assert f'href="{reverse(f"staff_rfp_edit_{step}", args=[rfp.slug])}"' in page
    assert "Fix it in “Milestones and features”" in page
    assert f'href="{reverse("staff_rfp_publish", args=[rfp.slug])}"' in page
    # Nothing is written: the draft stays a draft.
    rfp.refresh_from_db()
    assert rfp.status == RFP.Status.DRAFT and rfp.published_at is None


def test_a_draft_with_no_parts_at_all_is_previewed_with_what_blocks_publishing(staff_client):
    rfp = draft(title="Bare draft", summary="")
    response = staff_client.get(reverse("staff_rfp_preview", args=[rfp.slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bare draft" in page
    assert "Publishing is refused until this is fixed:" in page
    assert "There is no milestone with a feature" in page
    assert "no proposal elements" in page
    assert "There is no scored criterion" in page


def test_the_spanish_preview_is_spanish_and_the_english_one_english(staff_client):
    rfp = crafted_draft()
    url = reverse("staff_rfp_preview", args=[rfp.slug])
    spanish = staff_client.get(url + "?lang=es")
    assert spanish.status_code == 200
    assert spanish["Content-Language"] == "es"
    page = spanish.content.decode()
    assert '<html lang="es">' in page
    assert "Alcance y presupuesto" in page and "Participar" in page
    assert "Scope and budget" not in page
    # The language links name each language in itself.
    assert 'hreflang="en"' in page and ">English<" in page
    # The override ends with the page: the next one is English again.
    english = staff_client.get(url).content.decode()
    assert '<html lang="en">' in english and "Scope and budget" in english
    assert staff_client.get(url + "?lang=xx").status_code == 200


def test_a_published_rfp_is_previewed_as_published(staff_client):
    rfp = complete_draft(title="Out there")
    services.publish_rfp(rfp=rfp, now=timezone.now())
    page = staff_client.get(reverse("staff_rfp_preview", args=[rfp.slug])).content.decode()
    assert "this RFP is published; this is how visitors see it now" in page
    assert "things to check" not in page
    assert reverse("staff_rfp_publish", args=[rfp.slug]) not in page


def test_the_publish_page_shows_the_warnings_that_do_not_block(staff_client):
    rfp = crafted_draft()
    response = staff_client.get(reverse("staff_rfp_publish", args=[rfp.slug]))
    page = response.content.decode()
    assert "Allowed, but it looks wrong:" in page
    assert "“Vague criterion” has no guiding questions" in page
    assert "It cannot be published yet" not in page


def test_staff_home_offers_edit_preview_and_new(staff_client):
    rfp = draft(title="Draft on the list")
    page = staff_client.get(reverse("staff_home")).content.decode()
    assert f'href="{reverse("staff_rfp_new")}"' in page and "New RFP" in page
    assert "Create an RFP (admin)" not in page
    assert f'href="{reverse("staff_rfp_edit_basics", args=[rfp.slug])}"' in page
    assert f'href="{reverse("staff_rfp_preview", args=[rfp.slug])}"' in page


# --- Opening by hand ------------------------------------------------------------------------


def past_cutoff_rfp(**kwargs) -> RFP:
    """Published, sealed, its deadline (end of yesterday, UTC) passed, not opened: the beat
    task is late. One submitted proposal, with a reviewer assigned before opening."""
    rfp = RFPFactory(
        title="Late scheduler",
        deadline_date=date.today() - timedelta(days=1),
        deadline_zone="UTC",
        **kwargs,
    )
    AssignmentFactory(proposal=ProposalFactory(rfp=rfp, submitted=True))
    ProposalFactory(rfp=rfp)  # a draft: not counted
    return rfp


def test_opening_is_refused_before_the_cutoff(staff_client):
    rfp = RFPFactory(title="Still sealed")
    url = reverse("staff_rfp_open", args=[rfp.slug])
    page = staff_client.get(url).content.decode()
    assert "Proposals are sealed until" in page and "cannot be opened earlier" in page
    assert "Open the proposals now" not in page
    response = staff_client.post(url, {"understood": "1"})
    assert response.status_code == 400
    rfp.refresh_from_db()
    assert rfp.opened_at is None
    assert not AuditEvent.objects.filter(action="rfp.opened").exists()


def test_the_cutoff_is_the_deadline_plus_grace(staff_client):
    # The deadline passed at midnight UTC; a day of grace keeps the proposals sealed.
    rfp = past_cutoff_rfp(grace_seconds=86_400)
    url = reverse("staff_rfp_open", args=[rfp.slug])
    assert "Open now…" not in staff_client.get(reverse("staff_home")).content.decode()
    assert staff_client.post(url, {"understood": "1"}).status_code == 400
    rfp.refresh_from_db()
    assert rfp.opened_at is None


def test_opening_by_hand_needs_i_understand_and_happens_once(staff_client, staff):
    rfp = past_cutoff_rfp()
    url = reverse("staff_rfp_open", args=[rfp.slug])
    home = staff_client.get(reverse("staff_home")).content.decode()
    assert f'href="{url}"' in home and "Open now…" in home

    page = staff_client.get(url).content.decode()
    assert "1 submitted proposal becomes readable" in page
    assert "Reviewers assigned before opening are e-mailed" in page
    assert "cannot be undone" in page and "Open the proposals now" in page

    # Without the box ticked: refused, nothing happens.
    response = staff_client.post(url, {})
    assert response.status_code == 400
    assert "Tick “I understand this cannot be undone”" in response.content.decode()
    rfp.refresh_from_db()
    assert rfp.opened_at is None

    response = staff_client.post(url, {"understood": "1"})
    assert response.status_code == 302 and response["Location"] == reverse("staff_home")
    rfp.refresh_from_db()
    opened_at = rfp.opened_at
    assert opened_at is not None
    event = AuditEvent.objects.get(action="rfp.opened", object_id=str(rfp.pk))
    assert event.actor == staff
    assert event.details == {"submitted": 1, "by_hand": True}
    # evaluation heard of it: the reviewer assigned before opening is told.
    assert OutboxMessage.objects.filter(template="proposals/email/opened", rfp=rfp).count() == 1

    # Again: nothing changes, and the page says when it was opened.
    response = staff_client.post(url, {"understood": "1"})
    assert response.status_code == 302
    rfp.refresh_from_db()
    assert rfp.opened_at == opened_at
    assert AuditEvent.objects.filter(action="rfp.opened").count() == 1
    assert OutboxMessage.objects.filter(template="proposals/email/opened").count() == 1
    page = staff_client.get(url).content.decode()
    assert "The proposals were opened" in page and "Open the proposals now" not in page
    assert "Open now…" not in staff_client.get(reverse("staff_home")).content.decode()
    # The beat task finds nothing more to open.
    assert services.open_due_rfps(now=timezone.now()) == []


def test_the_beat_task_opens_without_an_actor_or_by_hand():
    rfp = past_cutoff_rfp()
    assert services.open_due_rfps(now=timezone.now()) == [rfp]
    event = AuditEvent.objects.get(action="rfp.opened", object_id=str(rfp.pk))
    assert event.actor is None and event.details == {"submitted": 1}


def test_a_draft_cannot_be_opened(staff_client):
    rfp = draft(deadline_date=date.today() - timedelta(days=3))
    with pytest.raises(services.OpeningRefused):
        services.open_rfp(rfp, now=timezone.now(), by_hand=True)
    response = staff_client.post(reverse("staff_rfp_open", args=[rfp.slug]), {"understood": "1"})
    assert response.status_code == 400
    rfp.refresh_from_db()
    assert rfp.opened_at is None


# --- The admin does not publish -------------------------------------------------------------


def admin_client(client, staff, password):
    client.post(reverse("account_login"), {"login": staff.email, "password": password})
    client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    return client


def admin_post_data(rfp: RFP, **changes) -> dict:
    data = {
        "title": rfp.title,
        "slug": rfp.slug,
        "funder": rfp.funder,
        "issuer": rfp.issuer,
        "summary": rfp.summary,
        "body_markdown": rfp.body_markdown,
        "deadline_date": rfp.deadline_date.isoformat(),
        "deadline_zone": rfp.deadline_zone,
        "deadline_end_of_day": "on",
        "grace_seconds": "0",
        "currency": rfp.currency,
        "max_revisions": "3",
        "sealed": "on",
        # What the old status drop-down sent; the admin no longer reads it.
        "status": "published",
        "published_at_0": date.today().isoformat(),
        "published_at_1": "10:00:00",
    }
    for prefix in ("timeline", "milestones", "elements", "criteria"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(changes)
    return data


def test_the_admin_cannot_publish_and_the_portal_page_does(client, staff, password):
    rfp = complete_draft(title="Admin draft")
    admin_client(client, staff, password)
    change = reverse("admin:proposals_rfp_change", args=[rfp.pk])
    form = client.get(change).content.decode()
    assert 'name="status"' not in form and 'name="published_at_0"' not in form
    assert f'href="{reverse("staff_rfp_publish", args=[rfp.slug])}"' in form

    response = client.post(change, admin_post_data(rfp, title="Admin draft, fixed"))
    assert response.status_code == 302, response.content.decode()[:2000]
    rfp.refresh_from_db()
    assert (rfp.title, rfp.status, rfp.published_at) == ("Admin draft, fixed", "draft", None)
    assert not AuditEvent.objects.filter(action="rfp.published").exists()

    # Adding one in the admin makes a draft, whatever is posted.
    response = client.post(
        reverse("admin:proposals_rfp_add"), admin_post_data(rfp, slug="added-in-admin")
    )
    assert response.status_code == 302
    assert RFP.objects.get(slug="added-in-admin").status == RFP.Status.DRAFT

    # The portal's confirmation publishes it.
    client.post(reverse("staff_rfp_publish", args=[rfp.slug]), {"understood": "on"})
    rfp.refresh_from_db()
    assert rfp.status == RFP.Status.PUBLISHED and rfp.published_at is not None
