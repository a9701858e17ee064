"""Every write to RFPs: creating, saving (the deadline instant is computed here), publishing,
opening at the cut-off (rule 2), and loading an RFP described as TOML (the demo data and tests
use the same loader), and duplicating one.

Over 400 lines: the TOML loader checks every value (naming its key path) before it writes
anything, and those checks belong next to the writes they guard."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from proposals import signals, transparency
from proposals.models import (
    DEFAULT_SCALE_ANCHORS,
    RFP,
    Criterion,
    Feature,
    Milestone,
    Proposal,
    ProposalElement,
    TimelineEntry,
)
from rfp_portal import audit, deadlines
from rfp_portal.audit import AuditAction


def compute_deadline(rfp: RFP) -> datetime:
    """The one way an RFP's deadline instant is set: from date + zone (+ end of day)."""
    rfp.deadline_instant = deadlines.deadline_instant(
        rfp.deadline_date,
        rfp.deadline_zone,
        end_of_day=rfp.deadline_end_of_day,
        at=None if rfp.deadline_end_of_day else rfp.deadline_time,
    )
    return rfp.deadline_instant


@transaction.atomic
def save_rfp(*, rfp: RFP, actor: Any = None, request: Any = None) -> RFP:
    """Save an RFP's own fields (admin and staff forms call this), recomputing the deadline."""
    creating = rfp.pk is None
    was_published = (
        not creating and RFP.objects.filter(pk=rfp.pk, status=RFP.Status.PUBLISHED).exists()
    )
    compute_deadline(rfp)
    if rfp.is_published and rfp.published_at is None:
        rfp.published_at = timezone.now()
    rfp.full_clean()
    rfp.save()
    if rfp.is_published and not was_published:
        _announce(rfp, actor=actor, request=request)
    audit.record(
        action=AuditAction.RFP_CREATED if creating else AuditAction.RFP_SAVED,
        actor=actor,
        obj=rfp,
        request=request,
        details={"deadline_utc": deadlines.to_utc_iso(rfp.deadline_instant)},
    )
    return rfp


@transaction.atomic
def publish_rfp(*, rfp: RFP, actor: Any = None, request: Any = None, now: datetime) -> RFP:
    if rfp.is_published:
        return rfp
    rfp.status = RFP.Status.PUBLISHED
    rfp.published_at = now
    rfp.save(update_fields=["status", "published_at", "updated_at"])
    _announce(rfp, actor=actor, request=request)
    return rfp


def announcement_count() -> int:
    """How many people publishing an RFP mails now (the confirmation page says it)."""
    from proposals.subscriptions import announcement_recipients

    return announcement_recipients().count()


def publication_problems(rfp: RFP, *, now: datetime) -> list[str]:
    """What an RFP lacks before it may be published from the portal (empty: it may be)."""
    return [text for _step, text in publication_problems_by_step(rfp, now=now)]


def publication_problems_by_step(rfp: RFP, *, now: datetime) -> list[tuple[str, str]]:
    """The same, each with the key of the editor step where it is fixed (proposals.editor)."""
    problems = []
    if not deadlines.is_before_deadline(now, rfp.deadline_instant, 0):
        problems.append(("deadline", _("The deadline has passed already: set a later one first.")))
    if not Feature.objects.filter(milestone__rfp=rfp).exists():
        problems.append(("scope", _("There is no milestone with a feature (and its budget).")))
    if not rfp.elements.exists():
        problems.append(
            (
                "elements",
                _("Nothing says what a proposal must contain (no proposal elements)."),
            )
        )
    if not rfp.criteria.filter(kind=Criterion.Kind.SCORED).exists():
        problems.append(("criteria", _("There is no scored criterion to evaluate proposals with.")))
    return problems


def _announce(rfp: RFP, *, actor: Any, request: Any) -> None:
    from proposals.subscriptions import announce

    count = announce(rfp)
    audit.record(
        action=AuditAction.RFP_PUBLISHED,
        actor=actor,
        obj=rfp,
        request=request,
        details={"mailed": count},
    )


# --- Loading RFPs from TOML ----------------------------------------------------------------


class RFPFileError(ValueError):
    """A TOML description of an RFP is missing something or has a wrong value; the message
    names the key path (e.g. ``milestones[1].features[0].cap``)."""


@dataclass(frozen=True)
class LoadResult:
    rfp: RFP
    created: bool


def read_rfp_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RFPFileError(f"{path.name}: {exc}") from exc
    for key in REQUIRED_KEYS:
        if key not in data:
            raise RFPFileError(f"{path.name}: the key {key!r} is missing.")
    return data


REQUIRED_KEYS = ("slug", "title", "summary", "deadline", "milestones", "elements", "criteria")


def _month_start(text: str) -> date:
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def _shift_month(day: date, delta: timedelta) -> date:
    shifted = day + delta
    return shifted.replace(day=1)


def demo_shift(data: dict[str, Any], *, today: date) -> timedelta:
    """How far an "open" demo RFP's dates move so its deadline lies open_days ahead."""
    demo = data.get("demo", {})
    if demo.get("state") != "open":
        return timedelta(0)
    deadline_day = date.fromisoformat(data["deadline"]["date"])
    return (today + timedelta(days=int(demo.get("open_days", 14)))) - deadline_day


def default_anchors() -> dict[str, str]:
    """What each score of the default 0-5 scale means, in the site's language (stored so)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {key: str(text) for key, text in DEFAULT_SCALE_ANCHORS.items()}


class _Table:
    """One TOML table read with its key path, so that every complaint names where it is."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise RFPFileError(f"{path or 'the file'}: expected a table, found {_kind(data)}.")
        self.data, self.path = data, path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, what: str = ""):
        if key not in self.data:
            if default is ...:
                raise RFPFileError(f"{self.at(key)}: missing (it is required).")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise RFPFileError(
                f"{self.at(key)}: expected {what or _names(kinds)}, found {_kind(value)}."
            )
        return value

    def text(self, key: str, default: Any = ...) -> str:
        return self.get(key, str, default, what="text")

    def day(self, key: str, default: Any = ...) -> date | None:
        value = self.get(key, (str, date), default, what='a date ("YYYY-MM-DD")')
        if value is None or isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise RFPFileError(f'{self.at(key)}: {value!r} is not a date ("YYYY-MM-DD").') from None

    def amount(self, key: str, default: Any = ...) -> Decimal | None:
        value = self.get(key, (int, float), default, what="a number")
        if value is None:
            return None
        amount = Decimal(str(value))
        if amount < 0:
            raise RFPFileError(f"{self.at(key)}: {value} is negative.")
        return amount

    def texts(self, key: str) -> list[str]:
        values = self.get(key, list, [], what="a list of texts")
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise RFPFileError(f"{self.at(key)}[{index}]: expected text, found {_kind(value)}.")
        return list(values)

    def tables(self, key: str, default: Any = ...) -> list[_Table]:
        values = self.get(key, list, default, what="a list of tables ([[" + key + "]])")
        return [_Table(value, f"{self.at(key)}[{index}]") for index, value in enumerate(values)]


def _names(kinds: tuple[type, ...]) -> str:
    words = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
    words.update({list: "a list", dict: "a table", date: "a date"})
    return " or ".join(words.get(kind, kind.__name__) for kind in kinds)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true or false)"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _checked(obj: Any, path: str, *, exclude: list[str]) -> None:
    """Django's own field checks (lengths, slugs, choices, uniqueness), named by key path."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        problems = [
            f"{path}.{field}: {' '.join(messages)}"
            if field != "__all__"
            else f"{path}: " + " ".join(messages)
            for field, messages in exc.message_dict.items()
        ]
        raise RFPFileError("; ".join(problems)) from exc


def _criterion(table: _Table, *, rfp: RFP, position: int) -> Criterion:
    kind = table.text("kind")
    if kind not in Criterion.Kind.values:
        raise RFPFileError(
            f"{table.at('kind')}: {kind!r} is not a kind of criterion (gate or scored)."
        )
    scored = kind == Criterion.Kind.SCORED
    weight = table.amount("weight", Decimal(1) if scored else None)
    if not scored and weight is not None:
        raise RFPFileError(f"{table.at('weight')}: a gate has no weight.")
    if scored and weight <= 0:
        raise RFPFileError(f"{table.at('weight')}: {weight} is not above zero.")
    scale_min = table.get("scale_min", int, 0)
    scale_max = table.get("scale_max", int, 5)
    if scale_max <= scale_min:
        raise RFPFileError(
            f"{table.at('scale_max')}: {scale_max} is not above scale_min {scale_min}."
        )
    anchors = table.get("anchors", dict, None)
    if anchors is None:
        anchors = default_anchors() if scored else {}
    anchors_table = _Table(anchors, table.at("anchors"))
    anchors = {key: anchors_table.text(key) for key in anchors}
    return Criterion(
        rfp=rfp,
        key=table.text("key"),
        kind=kind,
        name=table.text("name"),
        questions=table.texts("questions"),
        # The PSF published no weights: equal weights unless the file says otherwise.
        weight=weight,
        scale_min=scale_min,
        scale_max=scale_max,
        anchors=anchors,
        position=position,
    )


@transaction.atomic
def load_rfp(
    data: dict[str, Any],
    *,
    shift: timedelta = timedelta(0),
    now: datetime,
    publish: bool = True,
    actor: Any = None,
    request: Any = None,
) -> LoadResult:
    """Create an RFP with all its parts from a parsed TOML description (the demo data, tests
    and proposals.rfp_files use this one loader). Every value is checked first; a wrong one
    raises RFPFileError naming its key path, and nothing is created.

    An RFP whose slug exists already is left exactly as it is (idempotent loading).
    """
    root = _Table(data, "")
    slug = root.text("slug")
    existing = RFP.objects.filter(slug=slug).first()
    if existing is not None:
        return LoadResult(existing, created=False)

    deadline = _Table(
        root.get("deadline", dict, what="a table ({ date = ..., zone = ... })"), "deadline"
    )
    zone = deadline.text("zone", deadlines.AOE_ZONE_NAME)
    try:
        deadlines.resolve_zone(zone)
    except deadlines.UnknownZone:
        raise RFPFileError(f"deadline.zone: {zone!r} is not a time zone.") from None
    end_of_day = deadline.get("end_of_day", bool, True)
    at_time = None
    if not end_of_day:
        text = deadline.text("time")
        try:
            at_time = time.fromisoformat(text)
        except ValueError:
            raise RFPFileError(f'deadline.time: {text!r} is not a time ("HH:MM").') from None
    review_due = root.day("review_due", None)
    rfp = RFP(
        slug=slug,
        title=root.text("title"),
        funder=root.text("funder", ""),
        issuer=root.text("issuer", ""),
        summary=root.text("summary").strip(),
        body_markdown=root.text("body_markdown", "").strip(),
        currency=root.text("currency", "USD"),
        total_cap=root.amount("total_cap", None),
        deadline_date=deadline.day("date") + shift,
        deadline_zone=zone,
        deadline_end_of_day=end_of_day,
        deadline_time=at_time,
        review_due=review_due + shift if review_due else None,
        max_revisions=root.get("max_revisions", int, 3),
        sealed=root.get("sealed", bool, True),
        grace_seconds=root.get("grace_seconds", int, 0),
        status=RFP.Status.PUBLISHED if publish else RFP.Status.DRAFT,
        published_at=now if publish else None,
    )
    compute_deadline(rfp)
    _checked(rfp, "", exclude=[])

    timeline = []
    for position, entry in enumerate(root.tables("timeline", [])):
        if "month" in entry.data:
            month = entry.text("month")
            try:
                when, precision = _shift_month(_month_start(month), shift), "month"
            except ValueError:
                raise RFPFileError(
                    f'{entry.at("month")}: {month!r} is not a month ("YYYY-MM").'
                ) from None
        else:
            when, precision = entry.day("date") + shift, "day"
        item = TimelineEntry(
            date=when, precision=precision, label=entry.text("label"), position=position
        )
        _checked(item, entry.path, exclude=["rfp"])
        timeline.append(item)

    milestones = []
    for m_position, m_table in enumerate(root.tables("milestones")):
        milestone = Milestone(name=m_table.text("name"), position=m_position)
        _checked(milestone, m_table.path, exclude=["rfp"])
        features = []
        for f_position, f_table in enumerate(m_table.tables("features", [])):
            feature = Feature(
                name=f_table.text("name"),
                budget=f_table.amount("budget"),
                cap=f_table.amount("cap"),
                tasks=f_table.texts("tasks"),
                position=f_position,
            )
            if feature.cap < feature.budget:
                raise RFPFileError(
                    f"{f_table.at('cap')}: {_number(feature.cap)} is below the budget "
                    f"{_number(feature.budget)}."
                )
            _checked(feature, f_table.path, exclude=["milestone"])
            features.append(feature)
        milestones.append((milestone, features))
    if len({m.name for m, _features in milestones}) < len(milestones):
        raise RFPFileError("milestones: two milestones have the same name.")

    elements = []
    for position, table in enumerate(root.tables("elements")):
        kind = table.text("kind")
        if kind not in ProposalElement.Kind.values:
            raise RFPFileError(
                f"{table.at('kind')}: {kind!r} is not a kind of element "
                f"({', '.join(ProposalElement.Kind.values)})."
            )
        element = ProposalElement(
            key=table.text("key"),
            kind=kind,
            label=table.text("label"),
            help=table.text("help", ""),
            required=table.get("required", bool, True),
            position=position,
        )
        _checked(element, table.path, exclude=["rfp"])
        elements.append(element)
    _unique_keys(elements, "elements")

    criteria = []
    for position, table in enumerate(root.tables("criteria")):
        criterion = _criterion(table, rfp=rfp, position=position)
        _checked(criterion, table.path, exclude=["rfp"])
        criteria.append(criterion)
    _unique_keys(criteria, "criteria")

    save_rfp(rfp=rfp, actor=actor, request=request)
    for item in timeline:
        item.rfp = rfp
        item.save()
    for milestone, features in milestones:
        milestone.rfp = rfp
        milestone.save()
        for feature in features:
            feature.milestone = milestone
            feature.save()
    for element in elements:
        element.rfp = rfp
        element.save()
    for criterion in criteria:
        criterion.rfp = rfp
        criterion.save()
    return LoadResult(rfp, created=True)


def _unique_keys(items: list[Any], path: str) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.key in seen:
            raise RFPFileError(
                f"{path}[{index}].key: {item.key!r} is used already by {path}[{seen[item.key]}]."
            )
        seen[item.key] = index


def _number(amount: Decimal) -> str:
    return str(int(amount)) if amount == amount.to_integral_value() else f"{amount:.2f}"


# --- Duplicating ---------------------------------------------------------------------------


@transaction.atomic
def duplicate_rfp(
    source: RFP,
    *,
    title: str,
    slug: str,
    deadline_date: date,
    deadline_zone: str,
    actor: Any = None,
    request: Any = None,
) -> RFP:
    """A draft copy of an RFP's structure (texts, timeline, milestones and features, proposal
    elements, criteria, rules), its dates moved by as much as the deadline moves. Nothing that
    people wrote to or about the original comes along: no proposals, questions, addenda,
    subscriptions or reviews."""
    shift = deadline_date - source.deadline_date
    copy = RFP(
        slug=slug,
        title=title,
        funder=source.funder,
        issuer=source.issuer,
        summary=source.summary,
        body_markdown=source.body_markdown,
        currency=source.currency,
        total_cap=source.total_cap,
        deadline_date=deadline_date,
        deadline_zone=deadline_zone,
        deadline_end_of_day=source.deadline_end_of_day,
        deadline_time=source.deadline_time,
        grace_seconds=source.grace_seconds,
        submissions_open_at=source.submissions_open_at + shift
        if source.submissions_open_at
        else None,
        review_due=source.review_due + shift if source.review_due else None,
        max_revisions=source.max_revisions,
        sealed=source.sealed,
        reminder_offsets=list(source.reminder_offsets),
        reviewers_see_others_first=source.reviewers_see_others_first,
        refuse_active_content=source.refuse_active_content,
        status=RFP.Status.DRAFT,
    )
    save_rfp(rfp=copy, actor=actor, request=request)
    for entry in source.timeline.all():
        month = entry.precision == TimelineEntry.Precision.MONTH
        TimelineEntry.objects.create(
            rfp=copy,
            date=_shift_month(entry.date, shift) if month else entry.date + shift,
            precision=entry.precision,
            label=entry.label,
            position=entry.position,
        )
    for milestone in source.milestones.all():
        features = list(milestone.features.all())
        milestone.pk, milestone.rfp = None, copy
        milestone.save(force_insert=True)
        for feature in features:
            feature.pk, feature.milestone = None, milestone
            feature.tasks = list(feature.tasks)
            feature.save(force_insert=True)
    for part in [*source.elements.all(), *source.criteria.all()]:
        part.pk, part.rfp = None, copy
        part.save(force_insert=True)
    audit.record(
        action=AuditAction.RFP_DUPLICATED,
        actor=actor,
        obj=copy,
        request=request,
        details={"copied_from": source.slug},
    )
    return copy


# --- Opening (rule 2) -----------------------------------------------------------------------


class OpeningRefused(Exception):
    """The RFP may not be opened now (a draft, or its submission cut-off has not passed)."""


def opening_refusal(rfp: RFP, *, now: datetime) -> str | None:
    """Why this RFP cannot be opened at ``now``, or None when it can (or is opened already:
    opening again changes nothing). Never before the submission cut-off (deadline + grace):
    a proposal may still arrive until then, and nobody may read one before every team has
    had its last chance to submit."""
    if rfp.opened_at is not None:
        return None
    if not rfp.is_published:
        return _("This RFP is a draft: it has no proposals to open.")
    if deadlines.is_before_deadline(now, rfp.deadline_instant, rfp.grace_seconds):
        cutoff = deadlines.format_deadline(rfp.submission_cutoff, rfp.deadline_zone)
        if rfp.grace_seconds:
            return _(
                "Proposals are sealed until %(cutoff)s, the deadline plus its grace; they "
                "cannot be opened earlier."
            ) % {"cutoff": cutoff}
        return _(
            "Proposals are sealed until the deadline, %(cutoff)s; they cannot be opened earlier."
        ) % {"cutoff": cutoff}
    return None


@transaction.atomic
def open_rfp(
    rfp: RFP, *, now: datetime, actor: Any = None, request: Any = None, by_hand: bool = False
) -> bool:
    """Open one RFP whose submission cut-off has passed: its submitted proposals become
    readable to staff and to the reviewers assigned (rules.is_sealed), and evaluation tells
    those reviewers (the rfp_opened signal, in this transaction).

    True when this call opened it; False when it was opened already (by the beat task, or by
    a second click): opening twice changes nothing. OpeningRefused before the cut-off.
    Staff open by hand (by_hand=True, audited with who did it) only when the scheduler is late.
    """
    locked = RFP.objects.select_for_update().get(pk=rfp.pk)
    if locked.opened_at is not None:
        rfp.opened_at = locked.opened_at
        return False
    refusal = opening_refusal(locked, now=now)
    if refusal:
        raise OpeningRefused(refusal)
    locked.opened_at = now
    locked.save(update_fields=["opened_at", "updated_at"])
    rfp.opened_at, rfp.updated_at = locked.opened_at, locked.updated_at
    details: dict[str, Any] = {
        "submitted": locked.proposals.filter(state=Proposal.State.SUBMITTED).count()
    }
    if by_hand:
        details["by_hand"] = True
    audit.record(
        action=AuditAction.RFP_OPENED,
        actor=actor,
        obj=locked,
        request=request,
        at=now,
        details=details,
    )
    # In this transaction: evaluation tells the reviewers assigned before opening.
    signals.rfp_opened.send(sender=RFP, rfp=rfp, now=now)
    # The final head of the RFP's transparency log fixes the set of on-time submissions (no
    # submit is in flight: the RFP row is locked for update); it is mailed to every bidder.
    transparency.publish_final_head(locked, now=now)
    return True


@transaction.atomic
def open_due_rfps(*, now: datetime) -> list[RFP]:
    """Open every RFP whose submission cut-off (deadline + grace) has passed (the beat task
    runs this every 30 seconds; staff may open one by hand when it is late, open_rfp).

    Opening at the cut-off, not the deadline, means no submission can arrive after opening.
    """
    opened = []
    for rfp in RFP.objects.select_for_update().filter(
        opened_at__isnull=True, status=RFP.Status.PUBLISHED
    ):
        if deadlines.is_before_deadline(now, rfp.deadline_instant, rfp.grace_seconds):
            continue
        if open_rfp(rfp, now=now):
            opened.append(rfp)
    return opened
