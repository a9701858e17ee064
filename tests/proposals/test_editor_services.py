"""The RFP editor's writes (proposals.editor): each step replaces its parts in the order given,
checks the models, refuses a published RFP or one with proposals, and is audited. Written step
by step, the PSF's Q4 2019 RFP equals its import field by field."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from proposals import editor
from proposals.editor import CriterionItem, ElementItem, FeatureItem, MilestoneItem, TimelineItem
from proposals.models import RFP, Criterion, Feature
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent
from tests.factories import ProposalFactory, RFPFactory
from tests.helpers.rfp_fields import import_q4_as_draft, q4_data, q4_shift, rfp_fields

pytestmark = pytest.mark.django_db


def _q4_by_steps(now, shift) -> RFP:
    """The Q4 2019 file's content typed into the editor's steps (what a person would enter)."""
    data = q4_data()
    rfp = editor.create_draft(
        now=now,
        slug=data["slug"],
        title=data["title"],
        funder=data["funder"],
        issuer=data["issuer"],
        summary=data["summary"].strip(),
        body_markdown=data["body_markdown"].strip(),
        currency="USD",
        total_cap=Decimal(data["total_cap"]),
    )
    deadline = timezone.datetime.fromisoformat(data["deadline"]["date"]).date() + shift
    review_due = timezone.datetime.fromisoformat(data["review_due"]).date() + shift
    editor.save_deadline(
        rfp,
        deadline_date=deadline,
        deadline_zone="AoE",
        deadline_end_of_day=True,
        deadline_time=None,
        max_revisions=3,
        review_due=review_due,
        sealed=True,
        grace_seconds=0,
    )
    editor.replace_timeline(
        rfp,
        [
            TimelineItem(date=timezone.datetime.fromisoformat(t["date"]).date() + shift,
                         label=t["label"])
            for t in data["timeline"]
        ],
    )  # fmt: skip
    editor.replace_scope(
        rfp,
        [
            MilestoneItem(
                name=m["name"],
                features=[
                    FeatureItem(f["name"], Decimal(f["budget"]), Decimal(f["cap"]), f["tasks"])
                    for f in m["features"]
                ],
            )
            for m in data["milestones"]
        ],
    )
    editor.replace_elements(
        rfp,
        [
            ElementItem(key=e["key"], kind=e["kind"], label=e["label"], help=e.get("help", ""))
            for e in data["elements"]
        ],
    )
    editor.replace_criteria(
        rfp,
        [
            CriterionItem(
                key=c["key"],
                kind=c["kind"],
                name=c["name"],
                weight=Decimal(c["weight"]) if "weight" in c else None,
                questions=c["questions"],
                anchors=editor.default_anchors() if c["kind"] == "scored" else {},
            )
            for c in data["criteria"]
        ],
    )
    return RFP.objects.get(pk=rfp.pk)


def test_the_q4_rfp_written_step_by_step_equals_its_import():
    now = timezone.now()
    shift = q4_shift(now.date())
    written = _q4_by_steps(now, shift)
    imported = import_q4_as_draft(slug="imported-q4", shift=shift)
    assert rfp_fields(written, with_slug=False) == rfp_fields(imported, with_slug=False)
    assert written.milestones.count() == 3 and written.criteria.count() == 6
    steps = list(
        AuditEvent.objects.filter(action=AuditAction.RFP_EDITED, object_id=str(written.pk))
        .order_by("id")
        .values_list("details__step", flat=True)
    )
    assert steps == ["deadline", "timeline", "scope", "elements", "criteria"]


def test_a_step_replaces_its_parts_in_the_order_given():
    rfp = RFPFactory(status=RFP.Status.DRAFT, published_at=None)
    editor.replace_scope(
        rfp,
        [
            MilestoneItem("B", [FeatureItem("b1", Decimal(1), Decimal(2), ["t"])]),
            MilestoneItem("A", [FeatureItem("a1", Decimal(3), Decimal(3))]),
        ],
    )
    editor.replace_scope(rfp, [MilestoneItem("A", [FeatureItem("a2", Decimal(5), Decimal(6))])])
    assert [(m.name, m.position) for m in rfp.milestones.all()] == [("A", 0)]
    assert list(Feature.objects.filter(milestone__rfp=rfp).values_list("name", flat=True)) == ["a2"]


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (
            lambda rfp: editor.replace_scope(
                rfp, [MilestoneItem("A", [FeatureItem("f", Decimal(10), Decimal(5))])]
            ),
            "at least the budget",
        ),
        (
            lambda rfp: editor.replace_scope(rfp, [MilestoneItem("A"), MilestoneItem("A")]),
            "same name",
        ),
        (
            lambda rfp: editor.replace_criteria(
                rfp, [CriterionItem(key="c", kind="scored", name="C", weight=Decimal(0))]
            ),
            "above zero|0.01",
        ),
        (
            lambda rfp: editor.replace_criteria(
                rfp,
                [CriterionItem(key="c", kind="scored", name="C", weight=Decimal(1), scale_max=0)],
            ),
            "above the lowest score",
        ),
        (
            lambda rfp: editor.replace_elements(
                rfp,
                [ElementItem(key="a", kind="text", label="A"), ElementItem("a", "pdf", "B")],
            ),
            "same key",
        ),
        (
            lambda rfp: editor.replace_elements(rfp, [ElementItem("a", "poem", "A")]),
            "not a valid choice",
        ),
    ],
)
def test_a_wrong_part_is_refused_and_the_old_parts_stay(write, message):
    rfp = RFPFactory(status=RFP.Status.DRAFT, published_at=None)
    editor.replace_criteria(rfp, [CriterionItem(key="old", kind="gate", name="Old")])
    editor.replace_scope(rfp, [MilestoneItem("Old", [FeatureItem("f", Decimal(1), Decimal(1))])])
    editor.replace_elements(rfp, [ElementItem("old", "text", "Old")])
    with pytest.raises(ValidationError, match=message):
        write(rfp)
    assert list(rfp.criteria.values_list("key", flat=True)) == ["old"]
    assert list(rfp.milestones.values_list("name", flat=True)) == ["Old"]
    assert list(rfp.elements.values_list("key", flat=True)) == ["old"]


def test_a_gate_keeps_no_weight_or_meanings():
    rfp = RFPFactory(status=RFP.Status.DRAFT, published_at=None)
    editor.replace_criteria(
        rfp,
        [CriterionItem(key="g", kind="gate", name="G", weight=Decimal(2), anchors={"0": "x"})],
    )
    gate = Criterion.objects.get(rfp=rfp)
    assert gate.weight is None and gate.anchors == {}


def test_a_published_rfp_or_one_with_proposals_is_not_edited():
    published = RFPFactory()
    with pytest.raises(editor.EditRefused, match="addendum"):
        editor.replace_timeline(published, [])
    with pytest.raises(editor.EditRefused):
        editor.save_basics(published, title="Changed")
    published.refresh_from_db()
    assert published.title != "Changed"

    draft = RFPFactory(status=RFP.Status.DRAFT, published_at=None)
    ProposalFactory(rfp=draft)
    assert "proposals already" in editor.edit_refusal(draft)
    with pytest.raises(editor.EditRefused):
        editor.replace_elements(draft, [])


def test_the_deadline_is_computed_from_date_zone_and_time():
    now = timezone.now()
    rfp = editor.create_draft(now=now, slug="d", title="D", summary="S")
    assert rfp.deadline_date == (now + timedelta(weeks=6)).date()
    assert rfp.status == RFP.Status.DRAFT
    editor.save_deadline(
        rfp,
        deadline_date=(now + timedelta(days=40)).date(),
        deadline_zone="Europe/Berlin",
        deadline_end_of_day=False,
        deadline_time=time(17, 0),
    )
    rfp.refresh_from_db()
    local = timezone.localtime(
        rfp.deadline_instant, timezone=editor.deadlines.resolve_zone("Europe/Berlin")
    )
    assert (local.date(), local.hour, local.minute) == ((now + timedelta(days=40)).date(), 17, 0)
    assert (
        editor.deadline_preview(
            rfp.deadline_date, "Europe/Berlin", end_of_day=False, at=time(17, 0)
        )
        == rfp.deadline_instant
    )
