"""The RFP editor's writes: staff write a draft RFP step by step in the portal (basics, deadline
and rules, timeline, milestones and features, proposal elements, criteria). Views, the admin and
tests call these functions; the editor's forms (proposals.editor_forms) check each field first,
and every function here checks the models again (full_clean) so nothing invalid is stored.

Also the preview's warnings (preview_warnings): what looks wrong in a draft before visitors see
it, each with the step where it is fixed. Why one module of about 450 lines: the steps' writes
and the warnings about what they wrote are one subject, and the preview links each warning to
its step by the same keys (STEPS).

Only a draft with no proposals may be edited: once published, an RFP changes only by addendum
(proposals.addenda). A step's parts (timeline entries, milestones with their features, elements,
criteria) are replaced as a whole, in the order given: a draft has no proposals, reviews or
addenda that could refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from proposals import services
from proposals.models import (
    RFP,
    Criterion,
    Feature,
    Milestone,
    ProposalElement,
    TimelineEntry,
)
from rfp_portal import audit, deadlines, formatting
from rfp_portal.audit import AuditAction

# The editor's steps in order: (key, label). The views, the step list and the audit use the key.
STEPS: list[tuple[str, Any]] = [
    ("basics", gettext_lazy("Basics")),
    ("deadline", gettext_lazy("Deadline and rules")),
    ("timeline", gettext_lazy("Timeline")),
    ("scope", gettext_lazy("Milestones and features")),
    ("elements", gettext_lazy("What a proposal contains")),
    ("criteria", gettext_lazy("Criteria")),
]
STEP_KEYS = [key for key, _label in STEPS]

# A new draft's deadline until staff set one: six weeks ahead, end of day AoE.
NEW_DRAFT_WEEKS = 6

# Basics and rules the editor writes on the RFP itself (the deadline fields are written by
# save_deadline, which computes the instant).
BASICS_FIELDS = (
    "title",
    "slug",
    "funder",
    "issuer",
    "summary",
    "body_markdown",
    "currency",
    "total_cap",
)
RULES_FIELDS = (
    "grace_seconds",
    "max_revisions",
    "review_due",
    "sealed",
    "refuse_active_content",
    "reviewers_see_others_first",
)


class EditRefused(Exception):
    """The RFP may not be edited in the editor (published, or proposals exist)."""


def edit_refusal(rfp: RFP) -> str | None:
    """Why this RFP cannot be edited in the editor, or None when it can."""
    if rfp.is_published:
        return _(
            "This RFP is published: it changes only by addendum, so that every bidder is told."
        )
    if rfp.pk and rfp.proposals.exists():
        return _("This draft has proposals already; it changes only by addendum.")
    return None


def _ensure_editable(rfp: RFP) -> None:
    refusal = edit_refusal(rfp)
    if refusal:
        raise EditRefused(refusal)


def _record(rfp: RFP, step: str, *, actor: Any, request: Any, **details: Any) -> None:
    audit.record(
        action=AuditAction.RFP_EDITED,
        actor=actor,
        obj=rfp,
        request=request,
        details={"step": step, **details},
    )


def new_draft_deadline(now: datetime) -> date:
    return (now + timedelta(weeks=NEW_DRAFT_WEEKS)).date()


@transaction.atomic
def create_draft(*, now: datetime, actor: Any = None, request: Any = None, **basics: Any) -> RFP:
    """A new draft from the basics step (title, slug, summary...); its deadline is six weeks
    ahead, end of day AoE, until the deadline step sets it."""
    unknown = set(basics) - set(BASICS_FIELDS)
    if unknown:
        raise TypeError(f"not a basics field: {', '.join(sorted(unknown))}")
    rfp = RFP(
        deadline_date=new_draft_deadline(now),
        deadline_zone=deadlines.AOE_ZONE_NAME,
        deadline_end_of_day=True,
        status=RFP.Status.DRAFT,
        **basics,
    )
    return services.save_rfp(rfp=rfp, actor=actor, request=request)


@transaction.atomic
def save_basics(rfp: RFP, *, actor: Any = None, request: Any = None, **basics: Any) -> RFP:
    _ensure_editable(rfp)
    for name in BASICS_FIELDS:
        if name in basics:
            setattr(rfp, name, basics[name])
    rfp.full_clean()
    rfp.save()
    _record(rfp, "basics", actor=actor, request=request)
    return rfp


def deadline_preview(
    deadline_date: date, zone: str, *, end_of_day: bool, at: time | None
) -> datetime:
    """The instant a deadline would be (the editor shows it before saving); UnknownZone or
    ValueError when the inputs do not make one."""
    return deadlines.deadline_instant(
        deadline_date, zone, end_of_day=end_of_day, at=None if end_of_day else at
    )


@transaction.atomic
def save_deadline(
    rfp: RFP,
    *,
    deadline_date: date,
    deadline_zone: str,
    deadline_end_of_day: bool,
    deadline_time: time | None,
    actor: Any = None,
    request: Any = None,
    **rules: Any,
) -> RFP:
    """The deadline (the instant is computed, never typed) and the submission and review rules
    (grace seconds, revisions, review due date, sealing, active content, open reviews)."""
    _ensure_editable(rfp)
    unknown = set(rules) - set(RULES_FIELDS)
    if unknown:
        raise TypeError(f"not a rules field: {', '.join(sorted(unknown))}")
    rfp.deadline_date = deadline_date
    rfp.deadline_zone = deadlines.canonical_zone_name(deadline_zone)
    rfp.deadline_end_of_day = deadline_end_of_day
    rfp.deadline_time = None if deadline_end_of_day else deadline_time
    for name, value in rules.items():
        setattr(rfp, name, value)
    services.compute_deadline(rfp)
    rfp.full_clean()
    rfp.save()
    _record(
        rfp,
        "deadline",
        actor=actor,
        request=request,
        deadline_utc=deadlines.to_utc_iso(rfp.deadline_instant),
    )
    return rfp


# --- The parts: replaced as a whole, in the order given -------------------------------------


@dataclass
class TimelineItem:
    date: date
    label: str
    precision: str = TimelineEntry.Precision.DAY  # "day" or "month" (date is the 1st)


@dataclass
class FeatureItem:
    name: str
    budget: Decimal
    cap: Decimal
    tasks: list[str] = field(default_factory=list)


@dataclass
class MilestoneItem:
    name: str
    features: list[FeatureItem] = field(default_factory=list)


@dataclass
class ElementItem:
    key: str
    kind: str
    label: str
    help: str = ""
    required: bool = True


@dataclass
class CriterionItem:
    key: str
    kind: str
    name: str
    weight: Decimal | None = None
    questions: list[str] = field(default_factory=list)
    scale_min: int = 0
    scale_max: int = 5
    anchors: dict[str, str] = field(default_factory=dict)


def _clean(obj: Any, *, exclude: list[str]) -> None:
    obj.full_clean(exclude=exclude, validate_unique=False)


@transaction.atomic
def replace_timeline(
    rfp: RFP, items: list[TimelineItem], *, actor: Any = None, request: Any = None
) -> None:
    _ensure_editable(rfp)
    entries = []
    for position, item in enumerate(items):
        day = item.date.replace(day=1) if item.precision == "month" else item.date
        entry = TimelineEntry(
            rfp=rfp, date=day, precision=item.precision, label=item.label, position=position
        )
        _clean(entry, exclude=["rfp"])
        entries.append(entry)
    rfp.timeline.all().delete()
    TimelineEntry.objects.bulk_create(entries)
    _record(rfp, "timeline", actor=actor, request=request, entries=len(entries))


@transaction.atomic
def replace_scope(
    rfp: RFP, items: list[MilestoneItem], *, actor: Any = None, request: Any = None
) -> None:
    """Milestones with their features (budgets, caps, tasks), in the order given."""
    _ensure_editable(rfp)
    names = [item.name for item in items]
    if len(set(names)) < len(names):
        raise ValidationError(_("Two milestones have the same name."))
    Feature.objects.filter(milestone__rfp=rfp).delete()
    rfp.milestones.all().delete()
    features = 0
    for m_position, item in enumerate(items):
        milestone = Milestone(rfp=rfp, name=item.name, position=m_position)
        _clean(milestone, exclude=["rfp"])
        milestone.save()
        for f_position, part in enumerate(item.features):
            feature = Feature(
                milestone=milestone,
                name=part.name,
                budget=part.budget,
                cap=part.cap,
                tasks=list(part.tasks),
                position=f_position,
            )
            _clean(feature, exclude=["milestone"])
            feature.save()
            features += 1
    _record(rfp, "scope", actor=actor, request=request, milestones=len(items), features=features)


@transaction.atomic
def replace_elements(
    rfp: RFP, items: list[ElementItem], *, actor: Any = None, request: Any = None
) -> None:
    _ensure_editable(rfp)
    keys = [item.key for item in items]
    if len(set(keys)) < len(keys):
        raise ValidationError(_("Two proposal elements have the same key."))
    elements = []
    for position, item in enumerate(items):
        element = ProposalElement(
            rfp=rfp,
            key=item.key,
            kind=item.kind,
            label=item.label,
            help=item.help,
            required=item.required,
            position=position,
        )
        _clean(element, exclude=["rfp"])
        elements.append(element)
    rfp.elements.all().delete()
    ProposalElement.objects.bulk_create(elements)
    _record(rfp, "elements", actor=actor, request=request, elements=len(elements))


@transaction.atomic
def replace_criteria(
    rfp: RFP, items: list[CriterionItem], *, actor: Any = None, request: Any = None
) -> None:
    """Gates (no weight) and scored criteria (weight above zero, a meaning for every score)."""
    _ensure_editable(rfp)
    keys = [item.key for item in items]
    if len(set(keys)) < len(keys):
        raise ValidationError(_("Two criteria have the same key."))
    criteria = []
    for position, item in enumerate(items):
        scored = item.kind == Criterion.Kind.SCORED
        criterion = Criterion(
            rfp=rfp,
            key=item.key,
            kind=item.kind,
            name=item.name,
            weight=item.weight if scored else None,
            questions=list(item.questions),
            scale_min=item.scale_min,
            scale_max=item.scale_max,
            anchors=dict(item.anchors) if scored else {},
            position=position,
        )
        _clean(criterion, exclude=["rfp"])
        criteria.append(criterion)
    rfp.criteria.all().delete()
    Criterion.objects.bulk_create(criteria)
    _record(rfp, "criteria", actor=actor, request=request, criteria=len(criteria))


def default_anchors() -> dict[str, str]:
    """What each score of the default 0-5 scale means (a new scored criterion starts with it,
    as an imported one without anchors does)."""
    return services.default_anchors()


# --- The preview's warnings: what looks wrong before visitors see it -----------------------

# Bidders need time to write a proposal: a deadline closer than this many days is flagged.
PREVIEW_MIN_DAYS = 14


@dataclass(frozen=True)
class PreviewWarning:
    """One thing that looks wrong in a draft, in words that say how to fix it.

    ``step`` is the editor step where it is fixed (a key of STEPS), so that the preview links
    there; None when the words say where. ``blocking``: publishing is refused until it is fixed
    (the rule is services.publication_problems, the one the Publish page applies)."""

    text: str
    step: str | None = None
    blocking: bool = False

    @property
    def step_label(self) -> str:
        return str(dict(STEPS)[self.step]) if self.step else ""


def preview_warnings(rfp: RFP, *, now: datetime) -> list[PreviewWarning]:
    """Everything that looks wrong in an RFP before it is published: first what refuses
    publishing, then what is allowed but probably a mistake, in the order of the editor's
    steps. Reads the RFP's prefetched parts when there are (selectors.rfp_for_page)."""
    warnings = [
        PreviewWarning(text, step=step, blocking=True)
        for step, text in services.publication_problems_by_step(rfp, now=now)
    ]

    def warn(step: str, text: str) -> None:
        warnings.append(PreviewWarning(text, step=step))

    if not rfp.summary.strip():
        warn(
            "basics",
            _(
                "The summary is empty: write a sentence or two on what is sought; the list of "
                "RFPs and the announcement show it."
            ),
        )
    left = rfp.deadline_instant - now
    if timedelta(0) < left < timedelta(days=PREVIEW_MIN_DAYS):
        warn(
            "deadline",
            ngettext(
                "Only %(days)s day until the deadline; bidders usually need at least "
                "%(minimum)s days. Set a later deadline.",
                "Only %(days)s days until the deadline; bidders usually need at least "
                "%(minimum)s days. Set a later deadline.",
                left.days,
            )
            % {"days": left.days, "minimum": PREVIEW_MIN_DAYS},
        )

    budgets = Decimal(0)
    for milestone in rfp.milestones.all():
        features = list(milestone.features.all())
        if not features:
            warn(
                "scope",
                _(
                    "The milestone “%(name)s” has no features: add at least one with its "
                    "budget and cap, or remove the milestone."
                )
                % {"name": milestone.name},
            )
        for feature in features:
            budgets += feature.budget
            if feature.budget == 0:
                warn(
                    "scope",
                    _(
                        "The feature “%(name)s” has a budget of 0: give it the amount you "
                        "expect to pay, or remove it."
                    )
                    % {"name": feature.name},
                )
    if rfp.total_cap is not None and budgets > rfp.total_cap:
        warn(
            "scope",
            _(
                "The features' budgets add up to %(budgets)s, above the total cap of %(cap)s: "
                "lower the budgets, or raise the total cap (%(step)s)."
            )
            % {
                "budgets": formatting.money(budgets, rfp.currency),
                "cap": formatting.money(rfp.total_cap, rfp.currency),
                "step": dict(STEPS)["basics"],
            },
        )

    elements = list(rfp.elements.all())
    if elements and not any(e.kind == ProposalElement.Kind.PDF for e in elements):
        warn(
            "elements",
            _(
                "No proposal element asks for a PDF document, and proposals usually have one: "
                "add an element of the kind “PDF document”, unless you mean to do without."
            ),
        )

    for criterion in rfp.criteria.all():
        if not criterion.is_gate and not any(q.strip() for q in criterion.questions):
            warn(
                "criteria",
                _(
                    "The scored criterion “%(name)s” has no guiding questions: add a few, so "
                    "that reviewers score it alike and bidders know what counts."
                )
                % {"name": criterion.name},
            )
    return warnings
