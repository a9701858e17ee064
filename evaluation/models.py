"""Evaluation records: reviewer pools, assignments with conflict declarations, reviews and
their per-criterion assessments. Writes go through evaluation.services; reads that depend on
who asks go through evaluation.selectors and evaluation.rules."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PoolMember(models.Model):
    """A reviewer in an RFP's pool (staff invite them; they accept by a signed link)."""

    rfp = models.ForeignKey("proposals.RFP", on_delete=models.CASCADE, related_name="pool")
    user = models.ForeignKey(
        "rfp_portal.User", on_delete=models.CASCADE, related_name="pool_memberships"
    )
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rfp", "user"], name="pool_member_once")]

    def __str__(self) -> str:
        return f"{self.user} in {self.rfp}"


class ReviewerInvitation(models.Model):
    rfp = models.ForeignKey(
        "proposals.RFP", on_delete=models.CASCADE, related_name="reviewer_invitations"
    )
    email = models.EmailField()
    invited_by = models.ForeignKey("rfp_portal.User", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.email


class Assignment(models.Model):
    """A reviewer assigned to a proposal. Content is shown only after "no conflict"."""

    class Conflict(models.TextChoices):
        UNDECLARED = "undeclared", _("to declare")
        NONE = "none", _("no conflict")
        DECLARED = "declared", _("conflict")

    proposal = models.ForeignKey(
        "proposals.Proposal", on_delete=models.CASCADE, related_name="assignments"
    )
    reviewer = models.ForeignKey(
        "rfp_portal.User", on_delete=models.CASCADE, related_name="assignments"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        "rfp_portal.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    conflict = models.CharField(
        max_length=10, choices=Conflict.choices, default=Conflict.UNDECLARED
    )
    conflict_reason = models.TextField(blank=True)
    declared_at = models.DateTimeField(null=True, blank=True)
    # Set when the reviewer left the pool or declared a conflict: the row stays for the record.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["proposal_id", "reviewer_id"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "reviewer"], name="assigned_once"),
            models.CheckConstraint(
                condition=~Q(conflict="declared") | ~Q(conflict_reason=""),
                name="conflict_has_reason",
                violation_error_message=_(
                    "Conflict reason: say why there is a conflict of interest."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} → {self.proposal}"

    @property
    def active(self) -> bool:
        return self.removed_at is None

    @property
    def is_undeclared(self) -> bool:
        """The reviewer has not yet said whether they have a conflict."""
        return self.conflict == self.Conflict.UNDECLARED

    @property
    def is_declared(self) -> bool:
        """The reviewer declared a conflict (not: declared none)."""
        return self.conflict == self.Conflict.DECLARED

    @property
    def proposal_label(self) -> str:
        """How the reviewer sees the proposal named: its title only after declaring no conflict
        (rule 5: no content before that, and none at all with a conflict)."""
        if self.conflict == self.Conflict.NONE:
            return self.proposal.title
        return _("Proposal #%(id)s") % {"id": self.proposal_id}


class Review(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="review")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    overall_comment = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    # A submitted review of a reviewer who later left the pool stays, marked.
    withdrawn_reviewer = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Review by {self.assignment.reviewer} of {self.assignment.proposal}"

    @property
    def is_submitted(self) -> bool:
        return self.state == self.State.SUBMITTED


class Assessment(models.Model):
    """One criterion in one review: a score (scored criteria) or a verdict (gates)."""

    class Verdict(models.TextChoices):
        PASS = "pass", _("pass")
        FAIL = "fail", _("fail")
        UNSURE = "unsure", _("unsure")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="assessments")
    criterion = models.ForeignKey(
        "proposals.Criterion", on_delete=models.CASCADE, related_name="assessments"
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    verdict = models.CharField(max_length=6, choices=Verdict.choices, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="assessed_once"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion}: {self.score if self.score is not None else self.verdict}"


class Decision(models.Model):
    """Staff's decision on one proposal, with its rationale; published with all the others."""

    class Outcome(models.TextChoices):
        SELECTED = "selected", _("selected")
        NOT_SELECTED = "not_selected", _("not selected")
        DISQUALIFIED = "disqualified", _("disqualified at a gate")

    proposal = models.OneToOneField(
        "proposals.Proposal", on_delete=models.CASCADE, related_name="decision"
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    rationale = models.TextField()
    # {feature id: "amount"} for a selected proposal.
    awards = models.JSONField(default=dict, blank=True)
    decided_by = models.ForeignKey(
        "rfp_portal.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.proposal}: {self.outcome}"


class DecisionRelease(models.Model):
    """The one moment an RFP's decisions are published (and a preliminary notice, if any)."""

    class DebriefScores(models.TextChoices):
        """Which scores the proposers' debriefs show (staff choose when publishing)."""

        RAW = "raw", _("raw")
        CALIBRATED = "calibrated", _("calibrated")

    rfp = models.OneToOneField(
        "proposals.RFP", on_delete=models.CASCADE, related_name="decision_release"
    )
    preliminary_sent_at = models.DateTimeField(null=True, blank=True)
    preliminary_message = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        "rfp_portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    debrief_scores = models.CharField(
        max_length=10, choices=DebriefScores.choices, default=DebriefScores.RAW
    )

    def __str__(self) -> str:
        return f"Decisions for {self.rfp}"


class Message(models.Model):
    """A clarification (evaluators ↔ the proposal's team) or a discussion note (evaluators)."""

    class Kind(models.TextChoices):
        CLARIFICATION = "clarification", _("clarification")
        DISCUSSION = "discussion", _("discussion")

    proposal = models.ForeignKey(
        "proposals.Proposal", on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(max_length=14, choices=Kind.choices)
    author = models.ForeignKey("rfp_portal.User", on_delete=models.CASCADE, related_name="+")
    from_team = models.BooleanField(default=False)
    text = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.proposal} at {self.at:%Y-%m-%d %H:%M}"


class Export(models.Model):
    """A staff export rendered in the background: the page shows its progress, then a link."""

    class Kind(models.TextChoices):
        REPORT = "report", _("decision report (PDF)")
        SCORES = "scores", _("scores (CSV)")
        SUMMARY = "summary", _("score summary (CSV)")
        BUNDLE = "bundle", _("all proposals (ZIP of PDFs)")

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    rfp = models.ForeignKey("proposals.RFP", on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    requested_by = models.ForeignKey(
        "rfp_portal.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    # How many times a worker started rendering it: more than one means a worker died or the
    # broker redelivered the task, and the render started over.
    attempts = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True)
    problems = models.JSONField(default=list, blank=True)
    file = models.FileField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.rfp} ({self.state})"


class Lottery(models.Model):
    """A recorded lottery among proposals that reviews cannot tell apart at the funding line
    (evaluation.lottery). The seed is drawn and committed first: its SHA-256 (`commitment`) is
    recorded in the audit trail and shown, while the seed stays secret; the draw reveals it, and
    anyone can re-run the draw from it (`manage.py rerun_lottery`). Nothing shows `seed` before
    `drawn_at`: pages read a lottery through evaluation.lottery.public_record."""

    rfp = models.ForeignKey("proposals.RFP", on_delete=models.CASCADE, related_name="lotteries")
    # Proposal ids in their canonical order (ascending): what the draw orders.
    candidates = models.JSONField(default=list)
    # How many of the candidates the draw chooses (the first `places` of the order); null: the
    # draw only orders them.
    places = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)  # what the draw decides, in staff's words
    commitment = models.CharField(max_length=64)  # SHA-256 hex of the seed's text
    seed = models.CharField(max_length=64)  # secret until drawn_at
    committed_at = models.DateTimeField(default=timezone.now)
    committed_by = models.ForeignKey(
        "rfp_portal.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    drawn_at = models.DateTimeField(null=True, blank=True)
    drawn_by = models.ForeignKey(
        "rfp_portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The drawn order of every candidate (ids); empty until drawn.
    result = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["committed_at", "id"]
        verbose_name_plural = "lotteries"

    def __str__(self) -> str:
        return f"Lottery {self.pk} for {self.rfp}"

    @property
    def is_drawn(self) -> bool:
        return self.drawn_at is not None


class RankingSnapshot(models.Model):
    """The staff dashboard's read model of one RFP (evaluation.ranking_snapshot): the ranking as
    last built, and a version bumped in the transaction of every change it depends on."""

    rfp = models.OneToOneField(
        "proposals.RFP", on_delete=models.CASCADE, related_name="ranking_snapshot"
    )
    version = models.PositiveBigIntegerField(default=1)  # bumped by every change
    built_version = models.PositiveBigIntegerField(default=0)  # the version `data` was built at
    generation = models.BigIntegerField(default=0)  # which RankingRow rows belong to `data`
    previous_generation = models.BigIntegerField(default=0)  # kept for views mid-switch
    computed_at = models.DateTimeField(null=True, blank=True)
    build_seconds = models.FloatField(default=0)  # how long the last build took
    rebuilding_since = models.DateTimeField(null=True, blank=True)  # a rebuild is queued/running
    data = models.BinaryField(default=b"")  # the header: zlib-compressed pickle

    def __str__(self) -> str:
        return f"Ranking snapshot of {self.rfp_id} (v{self.built_version}/{self.version})"


class RankingRow(models.Model):
    """One proposal's row of a RankingSnapshot generation (pickled): only a page's rows are
    read back."""

    rfp = models.ForeignKey("proposals.RFP", on_delete=models.CASCADE, related_name="+")
    generation = models.BigIntegerField()
    proposal_id = models.BigIntegerField()
    payload = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rfp", "generation", "proposal_id"], name="ranking_row_once"
            )
        ]

    def __str__(self) -> str:
        return f"Ranking row of proposal {self.proposal_id} (generation {self.generation})"
