"""The demo's world with more of everything for the crawling tests (tests/browser/test_crawl.py,
tests/rfp_portal/test_no_iso_timestamps.py), built with the product's services in steps, so that
each test adds its own between them:

1. `demo_world()`: the whole demo loaded, its people and its decided and open RFPs;
2. `copy_of_open_rfp(...)`: another open RFP like the demo's open one;
3. `share_proposals(world, second_rfp)`: the proposer's submitted proposal to the open RFP and
   draft to a second RFP, both shared with a co-author, and a pending invitation;
4. `ask_and_amend(world)`: questions on the open RFP (one answered) and an addendum;
5. `review_round(world)`, `open_review_round(world)`, `start_reviews(world)`: an RFP with two
   proposals, opened at its deadline, the reviewer assigned to both, no conflict declared for
   the second, a draft review and a clarification asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from evaluation import demo as whole_demo
from evaluation import services, threads
from evaluation.models import Assignment
from proposals import addenda, demo, questions, submission, team
from proposals import services as rfp_services
from proposals.models import RFP, Invitation, Proposal
from rfp_portal import permissions
from rfp_portal.models import User
from tests.factories import UserFactory
from tests.helpers.lifecycle import pass_deadline
from tests.helpers.proposals import complete_answers, pdf_upload, submitted_proposal


@dataclass
class World:
    now: datetime
    staff: User
    reviewer: User
    proposer: User
    mossgreen: User
    tern: User
    decided: RFP
    open_rfp: RFP
    coauthor: User | None = None
    submitted: Proposal | None = None
    draft: Proposal | None = None
    pending: Invitation | None = None
    review_rfp: RFP | None = None
    first: Proposal | None = None
    second: Proposal | None = None
    declared: Assignment | None = None

    @property
    def decided_proposal(self) -> Proposal:
        return Proposal.objects.filter(rfp=self.decided).order_by("pk").first()


def demo_world() -> World:
    # Microseconds everywhere, as in real use.
    now = timezone.now()
    whole_demo.load_demo(now=now)
    return World(
        now=now,
        staff=User.objects.get(email="staff@example.org"),
        reviewer=User.objects.get(email="reviewer@example.org"),
        proposer=User.objects.get(email="proposer@example.org"),
        mossgreen=User.objects.get(email="lead@mossgreen.example"),
        tern=User.objects.get(email="hello@tern-labs.example"),
        decided=RFP.objects.get(slug="pypi-2019-q1"),
        open_rfp=RFP.objects.get(slug="pypi-2019-q4"),
    )


def copy_of_open_rfp(now, slug: str, title: str, *, zone: str | None = None) -> RFP:
    """Another open RFP like the demo's open one (one proposal per person and RFP), its
    deadline in `zone` if given."""
    data = rfp_services.read_rfp_file(demo.DEMO_DATA_DIR / "pypi-2019-q4.toml")
    data["slug"] = slug
    data["title"] = title
    if zone:
        data["deadline"] = {**data["deadline"], "zone": zone}
    shift = rfp_services.demo_shift(data, today=now.date())
    return rfp_services.load_rfp(data, shift=shift, now=now - timedelta(days=1)).rfp


def submit_again(proposal: Proposal, user: User, now) -> None:
    """A second version: a new title, other amounts and a three-page PDF."""
    proposal = submission.save_draft(
        proposal=proposal,
        user=user,
        title=proposal.title + " (revised)",
        fields=complete_answers(proposal.rfp, amount="1200"),
        document=pdf_upload(pages=3),
        expected_edit=proposal.edit_count,
        now=now,
    )
    submission.submit_proposal(
        proposal=proposal, user=user, expected_edit=proposal.edit_count, now=now
    )


def share_proposals(world: World, second_rfp: RFP, *, submit_twice: bool = False) -> None:
    """The proposer: a proposal to the open RFP submitted (twice with `submit_twice`), and an
    incomplete draft to `second_rfp`, both shared with a co-author; a pending invitation to the
    draft's team."""
    now, proposer = world.now, world.proposer
    world.submitted = submitted_proposal(world.open_rfp, proposer, "Pat's signed uploads")
    if submit_twice:
        submit_again(world.submitted, proposer, now)
    draft = submission.start_proposal(
        rfp=second_rfp, user=proposer, title="Pat's audit trail", now=now
    )
    world.draft = submission.save_draft(
        proposal=draft,
        user=proposer,
        title=draft.title,
        fields={"team": "Pat and a colleague."},
        document=None,
        expected_edit=draft.edit_count,
        now=now,
    )
    world.coauthor = UserFactory(
        email="coauthor@example.org", full_name="Cora Author", roles=[permissions.Role.PROPOSER]
    )
    for proposal in (world.submitted, world.draft):
        invitation = team.invite(
            proposal=proposal, owner=proposer, email=world.coauthor.email, now=now
        )
        team.accept(invitation=invitation, user=world.coauthor, now=now)
    world.pending = team.invite(
        proposal=world.draft, owner=proposer, email="pending@example.net", now=now
    )


def ask_and_amend(world: World) -> None:
    """Questions on the open RFP (the proposer's answered in public, the co-author's not yet),
    and an addendum to it."""
    now, staff, open_rfp = world.now, world.staff, world.open_rfp
    asked = questions.ask(
        rfp=open_rfp, user=world.proposer, text="May we bid for one feature only?", now=now
    )
    questions.answer(
        question=asked, staff_user=staff, answer_text="Yes, any subset.", publish=True, now=now
    )
    questions.ask(rfp=open_rfp, user=world.coauthor, text="Is travel covered?", now=now)
    addenda.publish_addendum(
        rfp=open_rfp,
        changes={"summary": open_rfp.summary + " Questions are answered on this page."},
        change_note="Said where questions are answered.",
        actor=staff,
        now=now,
    )


def review_round(world: World) -> None:
    """A third RFP, still open, with Mossgreen's (`first`) and Tern Labs' (`second`) proposals."""
    world.review_rfp = copy_of_open_rfp(world.now, "pypi-review-round", "PyPI review round")
    world.first = submitted_proposal(world.review_rfp, world.mossgreen, "Mossgreen: review round")
    world.second = submitted_proposal(world.review_rfp, world.tern, "Tern Labs: review round")


def open_review_round(world: World) -> None:
    """The review round's deadline passes (two days back: AoE is UTC-12) and it is opened; the
    other RFPs stay open for proposals."""
    pass_deadline(world.review_rfp)
    assert rfp_services.open_due_rfps(now=timezone.now()) == [world.review_rfp]
    world.review_rfp.refresh_from_db()


def start_reviews(world: World) -> None:
    """The reviewer (in the RFP's pool) assigned to both proposals, no conflict declared for the
    second (`declared`) and a draft review of it, and a clarification asked of its team."""
    now, reviewer, staff = world.now, world.reviewer, world.staff
    services.assign(proposal=world.first, reviewer=reviewer, staff_user=staff, now=now)
    world.declared = services.assign(
        proposal=world.second, reviewer=reviewer, staff_user=staff, now=now
    )
    services.declare_conflict(
        assignment=world.declared, user=reviewer, conflict=False, reason="", now=now
    )
    services.save_review(
        assignment=world.declared,
        user=reviewer,
        assessments=[],
        overall_comment="Started.",
        submit=False,
        now=now,
    )
    threads.post_clarification(
        proposal=world.second, user=reviewer, text="Who leads the work?", now=now
    )
