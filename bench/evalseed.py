"""An evaluated RFP of any size, for bench/dashboard.py and bench/report.py.

Proposals go through the real services (start, save draft with a PDF, submit, open), and so do
the reviewer pool (invite, accept) and decisions. Assignments, conflict declarations, reviews
and assessments, the bulk of the rows, are bulk-created as services.assign /
declare_conflict / save_review would leave them (no conflict, submitted, every criterion
assessed; a few declared conflicts), without their audit events: calling the services for 6,000
reviews would take minutes and nothing measured here reads those audit events.
"""

from __future__ import annotations

import io
import random
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

PDF_BYTES: bytes | None = None


def _pdf() -> SimpleUploadedFile:
    global PDF_BYTES
    if PDF_BYTES is None:
        from pypdf import PdfWriter

        writer = PdfWriter()
        for _ in range(3):
            writer.add_blank_page(612, 792)
        buffer = io.BytesIO()
        writer.write(buffer)
        PDF_BYTES = buffer.getvalue()
    return SimpleUploadedFile("proposal.pdf", PDF_BYTES, content_type="application/pdf")


@dataclass
class Seeded:
    rfp: object
    staff: object
    reviewers: list
    proposals: list


def staff_user(tag: str):
    from proposals.demo import DEMO_TOTP_SECRET
    from rfp_portal import permissions
    from rfp_portal.accounts import ensure_user

    user, _ = ensure_user(
        email=f"staff@{tag}.example",
        password=None,
        roles=(permissions.Role.STAFF,),
        full_name="Bench Staff",
        organisation="Bench Foundation",
        admin_access=True,
        totp_secret=DEMO_TOTP_SECRET,
    )
    return user


def seed_evaluated_rfp(
    *,
    tag: str,
    proposals: int,
    reviewers: int,
    per_proposal: int,
    decide_every: int = 10,
    through_services: int | None = None,
) -> Seeded:
    """An opened RFP (slug bench-<tag>) with `proposals` submitted proposals, each reviewed by
    `per_proposal` of `reviewers` pool members (spread evenly), and some decisions.

    `through_services`: how many proposals are made through the services (all by default); the
    rest are bulk-created copies of them (`_copies`), for sizes where 20,000 submissions one by
    one would take most of an hour."""
    from django.db import connection

    from evaluation import decisions, services
    from evaluation.models import Assessment, Assignment, Review
    from proposals import demo, submission
    from proposals import services as rfp_services
    from proposals.demo import DEMO_TOTP_SECRET
    from proposals.demo_teams import _answers
    from proposals.models import Feature, Proposal
    from rfp_portal import permissions
    from rfp_portal.accounts import ensure_user

    with connection.cursor() as cursor:  # this seeding session only: no fsync wait per commit
        cursor.execute("SET synchronous_commit TO off")
    rng = random.Random(f"bench-{tag}")
    data = tomllib.loads((demo.DEMO_DATA_DIR / "pypi-2019-q1.toml").read_text())
    data["slug"] = f"bench-{tag}"
    data["title"] = f"Bench RFP {tag} ({proposals} proposals)"
    # The 2019 dates as published: the deadline is long past, so the RFP can be opened.
    rfp = rfp_services.load_rfp(data, now=data_now(data)).rfp
    staff = staff_user(tag)
    before = rfp.deadline_instant - timedelta(days=3)
    pool = []
    for index in range(reviewers):
        user, _ = ensure_user(
            email=f"reviewer{index}@{tag}.example",
            password=None,
            roles=(permissions.Role.REVIEWER,),
            full_name=f"Reviewer {index}",
            organisation=f"Review Org {index % 7}",
            totp_secret=DEMO_TOTP_SECRET,
        )
        invitation = services.invite_reviewer(
            rfp=rfp, email=user.email, staff_user=staff, now=before - timedelta(days=10)
        )
        services.accept_reviewer_invitation(
            invitation=invitation, user=user, now=before - timedelta(days=9)
        )
        pool.append(user)

    made = []
    for index in range(proposals):
        owner, _ = ensure_user(
            email=f"team{index}@{tag}-proposers.example",
            password=None,
            roles=(permissions.Role.PROPOSER,),
            full_name=f"Team Lead {index}",
            organisation=f"Team {index}",
        )
        at = before + timedelta(seconds=index)
        title = f"Proposal {index}: {rng.choice(['secure', 'accessible', 'fast'])} PyPI"
        with transaction.atomic():
            proposal = submission.start_proposal(rfp=rfp, user=owner, title=title, now=at)
            proposal = submission.save_draft(
                proposal=proposal,
                user=owner,
                title=title,
                fields=_answers(rfp, rng.choice([0.8, 0.95, 1.1, 1.3])),
                document=_pdf(),
                expected_edit=proposal.edit_count,
                now=at,
            )
            submission.submit_proposal(
                proposal=proposal, user=owner, expected_edit=proposal.edit_count, now=at
            )
        made.append(proposal)
        if through_services is not None and len(made) >= through_services:
            break
    if len(made) < proposals:
        made += _copies(rfp, made, proposals - len(made), tag=tag, rng=rng, at=before)
    opened_at = rfp.deadline_instant + timedelta(seconds=rfp.grace_seconds + 1)
    rfp_services.open_due_rfps(now=opened_at)
    rfp.refresh_from_db()

    criteria = list(rfp.criteria.all())
    reviewed_at = opened_at + timedelta(days=1)
    with transaction.atomic():
        assignments = []
        for index, proposal in enumerate(made):
            for slot in range(per_proposal):
                reviewer = pool[(index * per_proposal + slot) % len(pool)]
                assignments.append(
                    Assignment(
                        proposal=proposal,
                        reviewer=reviewer,
                        assigned_by=staff,
                        assigned_at=opened_at,
                        conflict=Assignment.Conflict.NONE,
                        declared_at=opened_at + timedelta(hours=1),
                    )
                )
            if index % 50 == 7:  # now and then a reviewer declares a conflict
                reviewer = pool[(index * per_proposal + per_proposal) % len(pool)]
                assignments.append(
                    Assignment(
                        proposal=proposal,
                        reviewer=reviewer,
                        assigned_by=staff,
                        assigned_at=opened_at,
                        conflict=Assignment.Conflict.DECLARED,
                        conflict_reason="Worked with this team last year.",
                        declared_at=opened_at + timedelta(hours=1),
                        removed_at=opened_at + timedelta(hours=1),
                    )
                )
        Assignment.objects.bulk_create(assignments, batch_size=2000)
        active = [a for a in assignments if a.conflict == Assignment.Conflict.NONE]
        reviews = Review.objects.bulk_create(
            [
                Review(
                    assignment=a,
                    state=Review.State.SUBMITTED,
                    overall_comment="Clear plan; the budget is explained.",
                    updated_at=reviewed_at,
                    submitted_at=reviewed_at,
                )
                for a in active
            ],
            batch_size=2000,
        )
        assessments = []
        for review in reviews:
            for criterion in criteria:
                if criterion.is_gate:
                    verdict = rng.choices(["pass", "fail", "unsure"], weights=[90, 5, 5])[0]
                    assessments.append(
                        Assessment(review=review, criterion=criterion, verdict=verdict)
                    )
                else:
                    score = rng.randint(criterion.scale_min, criterion.scale_max)
                    assessments.append(
                        Assessment(
                            review=review, criterion=criterion, score=score, comment="Solid."
                        )
                    )
        Assessment.objects.bulk_create(assessments, batch_size=5000)

    features = list(Feature.objects.filter(milestone__rfp=rfp).order_by("pk"))
    decided = reviewed_at + timedelta(days=1)
    for index, proposal in enumerate(made):
        if index % decide_every:
            continue
        proposal = Proposal.objects.select_related("rfp").get(pk=proposal.pk)
        outcome = ["selected", "not_selected", "disqualified"][index // decide_every % 3]
        decisions.record_decision(
            proposal=proposal,
            staff_user=staff,
            outcome=outcome,
            rationale="Decided by the bench.",
            awards={features[0].pk: Decimal(features[0].budget)} if outcome == "selected" else {},
            confirm_over_cap=True,
            now=decided,
        )
    return Seeded(rfp=rfp, staff=staff, reviewers=pool, proposals=made)


def _copies(rfp, made: list, count: int, *, tag: str, rng, at) -> list:
    """`count` more submitted proposals, bulk-created as copies of the ones `made` through the
    services (their answers, so budgets vary alike; their document and first version), each with
    its own owner (a plain account: owners do not sign in here). No receipt, transparency leaf,
    audit event or mail: nothing measured here reads them."""
    from django.contrib.auth.hashers import make_password

    from proposals.models import Proposal, ProposalMember, SubmissionVersion
    from rfp_portal.models import User

    start = len(made)
    made = list(Proposal.objects.filter(pk__in=[p.pk for p in made]).order_by("pk"))
    templates = list(SubmissionVersion.objects.filter(proposal__in=made).order_by("pk"))
    password = make_password(None)
    owners = User.objects.bulk_create(
        [
            User(
                email=f"team{index}@{tag}-proposers.example",
                full_name=f"Team Lead {index}",
                organisation=f"Team {index}",
                password=password,
            )
            for index in range(start, start + count)
        ],
        batch_size=2000,
    )

    def copy(instance, **changes):
        values = {
            f.attname: getattr(instance, f.attname)
            for f in instance._meta.concrete_fields
            if not f.primary_key
        }
        values.update(changes)
        return type(instance)(**values)

    by_proposal = {t.proposal_id: t for t in templates}
    sources = [p for p in made if p.pk in by_proposal]
    copies = []
    for offset, owner in enumerate(owners):
        index = start + offset
        source = sources[offset % len(sources)]
        title = f"Proposal {index}: {rng.choice(['secure', 'accessible', 'fast'])} PyPI"
        copies.append(
            copy(
                source,
                owner_id=owner.pk,
                title=title,
                created_at=at + timedelta(seconds=index),
                updated_at=at + timedelta(seconds=index),
            )
        )
    copies = Proposal.objects.bulk_create(copies, batch_size=2000)
    ProposalMember.objects.bulk_create(
        [
            ProposalMember(proposal=proposal, user=owner, role="owner")
            for proposal, owner in zip(copies, owners, strict=True)
        ],
        batch_size=2000,
    )
    SubmissionVersion.objects.bulk_create(
        [
            copy(
                by_proposal[sources[offset % len(sources)].pk],
                proposal_id=proposal.pk,
                submitted_by_id=proposal.owner_id,
                receipt_code=f"R-BENCH-{tag}-{start + offset}",
                received_at=at + timedelta(seconds=start + offset),
            )
            for offset, proposal in enumerate(copies)
        ],
        batch_size=2000,
    )
    return copies


def data_now(data):
    from datetime import UTC, datetime

    # Loaded a month before its deadline, as staff would have created it.
    return datetime.fromisoformat(data["deadline"]["date"]).replace(tzinfo=UTC) - timedelta(days=30)
