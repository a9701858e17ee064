"""RFPs and what they publish: timeline, scope (milestones → features), elements, criteria.

Fields and constraints only. Writes go through proposals.services (which computes the deadline
instant with rfp_portal.deadlines); reads that depend on the viewer through proposals.selectors.
Why one module of about 600 lines: Django finds an app's models in models.py, and these
sixteen models are one aggregate (an RFP with what it publishes and the proposals it
receives) whose constraints refer to each other; a models/ package would split that across
files without making any of it independent.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rfp_portal import deadlines

DEFAULT_SCALE_ANCHORS = {
    "0": _("Not addressed: the proposal says nothing on this."),
    "1": _("Poor: serious gaps or doubts."),
    "2": _("Weak: addressed, but unconvincing."),
    "3": _("Adequate: meets the expectation."),
    "4": _("Good: convincing, with minor gaps."),
    "5": _("Excellent: fully convincing, nothing missing."),
}


def default_reminder_offsets_for_rfp() -> list[int]:
    return [7 * 86_400, 2 * 86_400, 86_400, 3_600]


money_field = {"max_digits": 12, "decimal_places": 2, "validators": [MinValueValidator(0)]}


class RFP(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=200)
    funder = models.CharField(_("funder"), max_length=200, blank=True)
    issuer = models.CharField(_("issuer"), max_length=200, blank=True)
    summary = models.TextField(_("summary"))
    body_markdown = models.TextField(_("body (Markdown)"), blank=True)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 code."))],
    )
    total_cap = models.DecimalField(_("total cap"), null=True, blank=True, **money_field)

    deadline_date = models.DateField(_("deadline date"))
    deadline_zone = models.CharField(
        _("deadline time zone"),
        max_length=64,
        default=deadlines.AOE_ZONE_NAME,
        help_text=_("AoE (Anywhere on Earth, UTC-12), UTC or an IANA zone such as Europe/Berlin."),
    )
    deadline_end_of_day = models.BooleanField(
        _("end of day"),
        default=True,
        help_text=_("The deadline is the end of that day (24:00) in that zone."),
    )
    deadline_time = models.TimeField(
        _("deadline time"),
        null=True,
        blank=True,
        help_text=_("Only when not end of day: the local time of the deadline."),
    )
    deadline_instant = models.DateTimeField(
        _("deadline (UTC instant)"),
        editable=False,
        db_index=True,
        help_text=_("Computed from date, zone and end of day; never typed."),
    )
    grace_seconds = models.PositiveIntegerField(
        _("grace seconds"),
        default=0,
        help_text=_("Submissions reaching the server this many seconds after the deadline count."),
    )
    submissions_open_at = models.DateTimeField(
        _("submissions open at"),
        null=True,
        blank=True,
        help_text=_("Empty: proposals are accepted as soon as the RFP is published."),
    )
    review_due = models.DateField(_("review due date"), null=True, blank=True)
    max_revisions = models.PositiveSmallIntegerField(
        _("maximum revisions"),
        default=3,
        help_text=_("How many times a team may resubmit after its first submission."),
    )
    sealed = models.BooleanField(
        _("sealed until the deadline"),
        default=True,
        help_text=_("Nobody but the team can read a proposal before the deadline."),
    )
    reminder_offsets = models.JSONField(
        _("reminder offsets (seconds before the deadline)"),
        default=default_reminder_offsets_for_rfp,
        blank=True,
        help_text=_("Default: 7 days, 2 days, 1 day and 1 hour before."),
    )
    reviewers_see_others_first = models.BooleanField(
        _("reviewers see other reviews before submitting their own"), default=False
    )
    refuse_active_content = models.BooleanField(
        _("refuse PDFs with active content"),
        default=False,
        help_text=_(
            "JavaScript, actions, embedded files or forms. When not refused, such a PDF is "
            "accepted and reviewers are warned before they open it."
        ),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("RFP")
        verbose_name_plural = _("RFPs")
        ordering = ["-deadline_instant"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grace_seconds__lte=86_400),
                name="rfp_grace_at_most_a_day",
                violation_error_message=_("Grace seconds: at most 86,400 (one day)."),
            ),
            models.CheckConstraint(
                condition=Q(deadline_end_of_day=True) | Q(deadline_time__isnull=False),
                name="rfp_deadline_time_unless_end_of_day",
                violation_error_message=_(
                    "Deadline time: give a time of day, or tick “end of day”."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="rfp_published_has_time",
                violation_error_message=_(
                    "Published at: a published RFP needs the time it was published."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("rfp_detail", kwargs={"slug": self.slug})

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def submission_cutoff(self):
        return deadlines.submission_cutoff(self.deadline_instant, self.grace_seconds)

    def accepts_submissions_at(self, instant) -> bool:
        if not self.is_published:
            return False
        if self.submissions_open_at and instant < self.submissions_open_at:
            return False
        return deadlines.is_before_deadline(instant, self.deadline_instant, self.grace_seconds)


class TimelineEntry(models.Model):
    class Precision(models.TextChoices):
        DAY = "day", _("day")
        MONTH = "month", _("month")

    rfp = models.ForeignKey(RFP, on_delete=models.CASCADE, related_name="timeline")
    date = models.DateField(_("date"))
    precision = models.CharField(max_length=5, choices=Precision.choices, default=Precision.DAY)
    label = models.CharField(_("label"), max_length=300)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["date", "position"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")

    def __str__(self) -> str:
        return f"{self.date}: {self.label}"


class Milestone(models.Model):
    rfp = models.ForeignKey(RFP, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rfp", "name"], name="milestone_name_unique_in_rfp")
        ]

    def __str__(self) -> str:
        return self.name


class Feature(models.Model):
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="features")
    name = models.CharField(_("name"), max_length=200)
    budget = models.DecimalField(_("budget"), **money_field)
    cap = models.DecimalField(_("cap"), **money_field)
    tasks = models.JSONField(_("tasks"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["milestone__position", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget__gte=0),
                name="feature_budget_not_negative",
                violation_error_message=_("Budget: it cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(cap__gte=models.F("budget")),
                name="feature_cap_ge_budget",
                violation_error_message=_("Cap: it must be at least the budget."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


def field_name(element: ProposalElement, feature: Feature | None = None) -> str:
    """The name of the draft form's input that holds an element's answer (one per feature for
    a budget table); the submit rules name it too, so the pages can link to what is missing."""
    return f"e_{element.key}" + (f"__{feature.pk}" if feature is not None else "")


class ProposalElement(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("text")
        AGREEMENT = "agreement", _("agreement (checkbox)")
        MILESTONE_CHOICE = "milestone_choice", _("choice of milestones")
        PER_FEATURE_TEXT = "per_feature_text", _("a text per feature")
        PER_FEATURE_AMOUNT = "per_feature_amount", _("an amount per feature")
        PDF = "pdf", _("PDF document")

    rfp = models.ForeignKey(RFP, on_delete=models.CASCADE, related_name="elements")
    key = models.SlugField(_("key"), max_length=50)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=200)
    help = models.TextField(_("help"), blank=True)
    required = models.BooleanField(_("required"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rfp", "key"], name="element_key_unique_in_rfp")
        ]

    def __str__(self) -> str:
        return self.label


class Criterion(models.Model):
    class Kind(models.TextChoices):
        GATE = "gate", _("gate (pass/fail)")
        SCORED = "scored", _("scored")

    rfp = models.ForeignKey(RFP, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(_("key"), max_length=50)
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    questions = models.JSONField(_("guiding questions"), default=list, blank=True)
    weight = models.DecimalField(
        _("weight"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    scale_min = models.PositiveSmallIntegerField(_("lowest score"), default=0)
    scale_max = models.PositiveSmallIntegerField(_("highest score"), default=5)
    anchors = models.JSONField(
        _("scale anchors"), default=dict, blank=True, help_text=_("What each score means.")
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = _("criteria")
        constraints = [
            models.UniqueConstraint(fields=["rfp", "key"], name="criterion_key_unique_in_rfp"),
            models.CheckConstraint(
                condition=Q(kind="gate", weight__isnull=True)
                | Q(kind="scored", weight__isnull=False, weight__gt=0),
                name="criterion_weight_only_when_scored",
                violation_error_message=_(
                    "Weight: a scored criterion needs a weight above zero; a gate has none."
                ),
            ),
            models.CheckConstraint(
                condition=Q(scale_max__gt=models.F("scale_min")),
                name="criterion_scale_ordered",
                violation_error_message=_("Highest score: it must be above the lowest score."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_gate(self) -> bool:
        return self.kind == self.Kind.GATE

    def scale_points(self) -> list[tuple[int, str]]:
        """Each score with its anchor description (empty where none was written)."""
        return [
            (point, str(self.anchors.get(str(point), "")))
            for point in range(self.scale_min, self.scale_max + 1)
        ]


# --- Proposals ------------------------------------------------------------------------------


def draft_document_path(instance: Proposal, filename: str) -> str:
    # Never the uploader's name: an unguessable key, so a path reveals nothing and cannot be
    # guessed (files are served only through a permission-checked view anyway).
    import secrets

    return f"proposals/{instance.rfp_id}/{secrets.token_urlsafe(24)}.pdf"


class Proposal(models.Model):
    """A team's proposal to one RFP: the working draft plus its frozen submission versions."""

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        WITHDRAWN = "withdrawn", _("withdrawn")

    rfp = models.ForeignKey(RFP, on_delete=models.PROTECT, related_name="proposals")
    owner = models.ForeignKey(
        "rfp_portal.User", on_delete=models.PROTECT, related_name="owned_proposals"
    )
    title = models.CharField(_("proposal title"), max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    # The draft's answers, keyed by element key; per-feature elements hold {feature id: value}.
    fields = models.JSONField(default=dict, blank=True)
    document = models.FileField(upload_to=draft_document_path, blank=True, max_length=300)
    document_name = models.CharField(max_length=255, blank=True)
    document_size = models.PositiveBigIntegerField(null=True, blank=True)
    document_pages = models.PositiveIntegerField(null=True, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    # What a PDF viewer might act on (pdf_check.ACTIVE_CONTENT_LABELS), found by the check.
    document_active_content = models.JSONField(default=list, blank=True)
    # Bumped by every change, so a stale form (an old tab) is recognised and a replayed submit
    # returns the version it already created.
    edit_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["rfp", "state"])]
        constraints = [
            models.UniqueConstraint(fields=["rfp", "owner"], name="one_proposal_per_owner_and_rfp")
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.rfp.slug})"

    def get_absolute_url(self) -> str:
        return reverse("proposal_edit", kwargs={"pk": self.pk})

    @property
    def active_content_text(self) -> str:
        from proposals.pdf_check import describe_active_content

        return describe_active_content(self.document_active_content)

    def audit_label(self) -> str:
        """The audit trail's name for it: never the title (sealed until the RFP is opened)."""
        return f"Proposal #{self.pk} ({self.rfp.slug})"


class ProposalMember(models.Model):
    """Someone on a proposal's team: the owner or a co-author who accepted an invitation."""

    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        COAUTHOR = "coauthor", _("co-author")

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        "rfp_portal.User", on_delete=models.CASCADE, related_name="proposal_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "user"], name="member_once_per_proposal")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class Invitation(models.Model):
    """An e-mailed invitation to co-author a proposal; accepted through a signed link."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    invited_by = models.ForeignKey("rfp_portal.User", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        "rfp_portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class SubmissionVersion(models.Model):
    """An immutable snapshot frozen by a submit; it carries the receipt.

    Written once by proposals.services.submit_proposal and never updated.
    """

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    fields = models.JSONField()
    fields_sha256 = models.CharField(max_length=64)
    document = models.FileField(max_length=300)
    document_name = models.CharField(max_length=255)
    document_size = models.PositiveBigIntegerField()
    document_pages = models.PositiveIntegerField()
    document_sha256 = models.CharField(max_length=64)
    document_active_content = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField()
    submitted_by = models.ForeignKey("rfp_portal.User", on_delete=models.PROTECT, related_name="+")
    receipt_code = models.CharField(max_length=32, unique=True)
    # The draft's edit_count the submit was made from: a replayed form finds this version.
    from_edit = models.PositiveIntegerField()

    class Meta:
        ordering = ["proposal", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="version_number_unique"),
            models.UniqueConstraint(fields=["proposal", "from_edit"], name="version_once_per_edit"),
        ]

    def __str__(self) -> str:
        return f"{self.proposal} v{self.number}"

    @property
    def active_content_text(self) -> str:
        from proposals.pdf_check import describe_active_content

        return describe_active_content(self.document_active_content)


class ReceiptSignature(models.Model):
    """The signed statement of a version's receipt (proposals.receipt_signing), made at submit
    in the version's transaction and never changed: the exact signed bytes (ASCII JSON), the
    Ed25519 signature (base64) and the id of the key that made it."""

    version = models.OneToOneField(
        SubmissionVersion, on_delete=models.PROTECT, related_name="signature"
    )
    # The pseudonymous proposal id of the statement: one per proposal, reused by its versions.
    proposal_token = models.CharField(max_length=64, db_index=True)
    statement = models.TextField()
    signature = models.CharField(max_length=128)
    key_id = models.CharField(max_length=16)

    def __str__(self) -> str:
        return f"{self.version} signed by {self.key_id}"


class Interest(models.Model):
    """A signed-in person who registered interest in an RFP (Q&A answers, addenda, reminders)."""

    rfp = models.ForeignKey(RFP, on_delete=models.CASCADE, related_name="interests")
    user = models.ForeignKey("rfp_portal.User", on_delete=models.CASCADE, related_name="interests")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rfp", "user"], name="interest_once")]

    def __str__(self) -> str:
        return f"{self.user} → {self.rfp}"


class Addendum(models.Model):
    """A numbered, dated change to a published RFP, with what changed (before and after)."""

    rfp = models.ForeignKey(RFP, on_delete=models.CASCADE, related_name="addenda")
    number = models.PositiveIntegerField()
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        "rfp_portal.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_note = models.TextField(_("what changed and why"))
    # {field name: {"label": ..., "before": ..., "after": ...}}
    changes = models.JSONField(default=dict)
    deadline_before = models.DateTimeField(null=True, blank=True)
    deadline_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rfp", "number"]
        verbose_name_plural = _("addenda")
        constraints = [
            models.UniqueConstraint(fields=["rfp", "number"], name="addendum_number_unique")
        ]

    def __str__(self) -> str:
        return _("Addendum %(n)s to %(rfp)s") % {"n": self.number, "rfp": self.rfp.title}

    @property
    def extends_deadline(self) -> bool:
        return self.deadline_after is not None and self.deadline_after != self.deadline_before


class AddendumAcknowledgement(models.Model):
    addendum = models.ForeignKey(
        Addendum, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    user = models.ForeignKey("rfp_portal.User", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["addendum", "user"], name="acknowledged_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.addendum}"


class Question(models.Model):
    """A public question about an RFP: the asker stays private, the answer is published."""

    class State(models.TextChoices):
        OPEN = "open", _("waiting for an answer")
        ANSWERED = "answered", _("answered")
        DECLINED = "declined", _("not answered publicly")

    rfp = models.ForeignKey(RFP, on_delete=models.CASCADE, related_name="questions")
    asker = models.ForeignKey("rfp_portal.User", on_delete=models.CASCADE, related_name="+")
    text = models.TextField(_("question"), max_length=4000)
    asked_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        "rfp_portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["asked_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class Subscription(models.Model):
    """Someone (no account needed) who wants an e-mail when a new RFP is published.

    Double opt-in: nothing is sent but the confirmation until confirmed_at is set.
    """

    email = models.EmailField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.email

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class Reminder(models.Model):
    """One reminder to one person about one deadline instant: sent (or skipped) exactly once.

    The unique constraint is the guarantee: two workers running the same sweep cannot both
    insert the row, so at most one mail is queued.
    """

    class Kind(models.TextChoices):
        DEADLINE = "deadline", _("deadline reminder")
        REVIEW = "review", _("review reminder")

    rfp = models.ForeignKey(RFP, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey("rfp_portal.User", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    offset_seconds = models.PositiveIntegerField()
    due_instant = models.DateTimeField(help_text=_("The deadline (or review due) it was for."))
    created_at = models.DateTimeField(default=timezone.now)
    skipped = models.BooleanField(
        default=False, help_text=_("Not sent: a later reminder was already due.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rfp", "user", "kind", "offset_seconds", "due_instant"],
                name="reminder_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.offset_seconds}s before {self.due_instant} to {self.user}"


class TransparencyLog(models.Model):
    """The state of one RFP's append-only Merkle log (proposals.transparency): how many
    leaves, the right-edge frontier of subtree hashes and the root. Its row is the lock that
    appends take, so leaf indexes are dense and in commit order."""

    rfp = models.OneToOneField(RFP, on_delete=models.PROTECT, related_name="transparency_log")
    size = models.PositiveBigIntegerField(default=0)
    # Hex SHA-256 hashes of the perfect subtrees, largest (leftmost) first: one per set bit.
    frontier = models.JSONField(default=list)
    root_hash = models.CharField(
        max_length=64,
        default="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # MTH({})
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"log of {self.rfp} ({self.size} leaves)"


class LogLeaf(models.Model):
    """One leaf of a log, never changed or deleted: its exact entry (ASCII canonical JSON, a
    receipt's signed statement or a withdrawal) and leaf hash."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("receipt")
        WITHDRAWAL = "withdrawal", _("withdrawal")

    log = models.ForeignKey(TransparencyLog, on_delete=models.PROTECT, related_name="leaves")
    index = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    entry = models.TextField()
    leaf_hash = models.CharField(max_length=64)
    # The time the entry states (received_at, withdrawn_at), for the auditor's backdating check.
    claimed_at = models.DateTimeField()
    appended_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["log", "index"]
        constraints = [models.UniqueConstraint(fields=["log", "index"], name="log_leaf_index")]

    def __str__(self) -> str:
        return f"leaf {self.index} of {self.log_id}"


class TreeHead(models.Model):
    """A signed tree head: the canonical JSON statement signed (with a receipt key), its
    signature and key id. `final` marks the head made when the RFP opened."""

    log = models.ForeignKey(TransparencyLog, on_delete=models.PROTECT, related_name="heads")
    tree_size = models.PositiveBigIntegerField()
    root_hash = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    final = models.BooleanField(default=False)
    statement = models.TextField()
    signature = models.CharField(max_length=128)
    key_id = models.CharField(max_length=16)
    # RFC 3161 trusted time (rfp_portal.timestamping), added after the head is committed (by
    # proposals.tasks.stamp_tree_head, or the beat task's retry): the TSA's whole DER
    # TimeStampResp over `statement`'s exact bytes, verified before it is stored. Null while
    # no TSA is configured or it has not answered yet.
    tsa_token = models.BinaryField(null=True, blank=True)
    tsa_gen_time = models.DateTimeField(null=True, blank=True)
    tsa_serial = models.CharField(max_length=64, blank=True)  # decimal: up to 160 bits
    tsa_name = models.CharField(max_length=255, blank=True)  # the signing certificate's name
    tsa_url = models.CharField(max_length=255, blank=True)  # without credentials

    class Meta:
        ordering = ["log", "timestamp", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["log"], condition=models.Q(final=True), name="one_final_head"
            )
        ]

    def __str__(self) -> str:
        return f"head {self.tree_size} of {self.log_id}"

    @property
    def tsa_label(self) -> str:
        """The TSA for people: its certificate's common name (else the whole name, else URL)."""
        for part in self.tsa_name.split(","):
            key, _sep, value = part.strip().partition("=")
            if key.upper() == "CN" and value and "\\" not in value:
                return value
        return self.tsa_name or self.tsa_url
