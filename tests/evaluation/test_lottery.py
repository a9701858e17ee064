"""The recorded lottery at the funding line: commitment first, draw after, re-run anywhere."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from evaluation import lottery as lotteries
from evaluation.models import Decision, DecisionRelease, Lottery
from proposals.models import Proposal
from rfp_portal.audit import AuditAction
from rfp_portal.audit_details import describe_details
from rfp_portal.models import AuditEvent
from tests.factories import ProposalFactory, RFPFactory, UserFactory

pytestmark = pytest.mark.django_db

SEED = "3f" * 32


@pytest.fixture
def rfp():
    return RFPFactory(opened_at=timezone.now())


@pytest.fixture
def band(rfp):
    """Four submitted proposals of the RFP: the band's candidates (ids)."""
    return [ProposalFactory(rfp=rfp, state=Proposal.State.SUBMITTED).pk for _ in range(4)]


@pytest.fixture
def officer(staff):
    return staff


def commit(rfp, candidates, places=2, actor=None, now=None, **kwargs):
    return lotteries.commit(
        rfp=rfp,
        candidates=candidates,
        places=places,
        actor=actor,
        now=now or timezone.now(),
        **kwargs,
    )


def rerun(*args):
    out = StringIO()
    call_command("rerun_lottery", *args, stdout=out)
    return out.getvalue()


def test_the_order_is_the_sha256_of_seed_and_id_smallest_first():
    candidates = [12, 7, 31, 5]
    expected = sorted(candidates, key=lambda i: hashlib.sha256(f"{SEED}:{i}".encode()).hexdigest())
    assert lotteries.draw_order(SEED, candidates) == expected
    # The same seed gives the same order whatever order the candidates are listed in.
    assert lotteries.draw_order(SEED.upper(), [5, 31, 7, 12]) == expected
    assert lotteries.commitment_of(SEED) == hashlib.sha256(SEED.encode()).hexdigest()


def test_different_seeds_draw_different_orders():
    candidates = list(range(1, 9))
    orders = {tuple(lotteries.draw_order(f"{n:064x}", candidates)) for n in range(20)}
    assert len(orders) > 15
    firsts = {lotteries.draw_order(f"{n:064x}", candidates)[0] for n in range(40)}
    assert len(firsts) > 4


def test_a_seed_is_64_hexadecimal_characters_and_a_candidate_is_listed_once():
    with pytest.raises(ValueError):
        lotteries.draw_order("not a seed", [1, 2])
    with pytest.raises(ValueError):
        lotteries.draw_order(SEED[:-2], [1, 2])
    with pytest.raises(ValueError):
        lotteries.draw_order(SEED, [1, 2, 1])


def test_commit_keeps_the_seed_secret_and_records_only_its_commitment(rfp, band, officer):
    lottery = commit(rfp, list(reversed(band)), places=2, actor=officer, note="Feature A")
    assert lottery.candidates == sorted(band)
    assert len(lottery.seed) == 64
    assert lottery.commitment == hashlib.sha256(lottery.seed.encode()).hexdigest()
    event = AuditEvent.objects.get(action=AuditAction.LOTTERY_COMMITTED)
    assert event.actor == officer
    assert event.details == {
        "lottery": lottery.pk,
        "candidates": sorted(band),
        "places": 2,
        "commitment": lottery.commitment,
    }
    assert lottery.seed not in str(event.details)
    # What pages read has no seed and no result before the draw.
    shown = lotteries.public_record(lottery)
    assert shown.seed is None and shown.order == () and shown.chosen == ()
    assert shown.commitment == lottery.commitment
    assert lottery.seed not in repr(shown)
    assert lottery.seed not in repr(lotteries.public_records(rfp))
    # Nor does the command: the seed is still secret.
    with pytest.raises(CommandError, match="not drawn yet"):
        rerun(str(lottery.pk))


def test_draw_reveals_the_seed_after_the_commitment_and_only_once(rfp, band, officer):
    committed_at = timezone.now()
    lottery = commit(rfp, band, places=2, actor=officer, now=committed_at)
    drawer = UserFactory()
    drawn = lotteries.draw(lottery=lottery, actor=drawer, now=committed_at + timedelta(minutes=5))
    assert drawn.result == lotteries.draw_order(drawn.seed, band)
    assert sorted(drawn.result) == sorted(band)
    events = list(AuditEvent.objects.filter(action__startswith="lottery.").order_by("at", "pk"))
    assert [e.action for e in events] == [AuditAction.LOTTERY_COMMITTED, AuditAction.LOTTERY_DRAWN]
    committed, revealed = events
    assert committed.at < revealed.at
    assert drawn.seed not in str(committed.details)
    assert revealed.details["seed"] == drawn.seed
    assert revealed.details["commitment"] == committed.details["commitment"]
    assert revealed.details["order"] == drawn.result
    assert revealed.details["chosen"] == drawn.result[:2]
    shown = lotteries.public_record(drawn)
    assert (shown.seed, shown.order, shown.chosen) == (
        drawn.seed,
        tuple(drawn.result),
        tuple(drawn.result[:2]),
    )
    with pytest.raises(lotteries.LotteryError):
        lotteries.draw(lottery=lottery, actor=drawer, now=timezone.now())
    assert AuditEvent.objects.filter(action=AuditAction.LOTTERY_DRAWN).count() == 1
    assert Lottery.objects.get(pk=lottery.pk).result == drawn.result


def test_the_command_reruns_a_drawn_lottery_and_checks_its_commitment(rfp, band, officer):
    lottery = commit(rfp, band, places=2, actor=officer)
    drawn = lotteries.draw(lottery=lottery, actor=officer, now=timezone.now())
    order = ", ".join(str(i) for i in drawn.result)
    chosen = ", ".join(str(i) for i in drawn.result[:2])

    from_record = rerun(str(drawn.pk))
    assert f"Commitment (SHA-256 of the seed): {drawn.commitment}" in from_record
    assert "The seed matches the commitment." in from_record
    assert f"Order: {order}" in from_record
    assert f"Chosen (2): {chosen}" in from_record
    assert "The same order as recorded at the draw." in from_record

    candidates = ",".join(str(i) for i in reversed(band))
    from_seed = rerun(
        "--seed", drawn.seed, "--candidates", candidates, "--places", "2",
        "--commitment", drawn.commitment,
    )  # fmt: skip
    assert f"Order: {order}" in from_seed
    assert f"Chosen (2): {chosen}" in from_seed
    assert "The seed matches the commitment." in from_seed

    with pytest.raises(CommandError, match="could not be confirmed"):
        rerun("--seed", SEED, "--candidates", candidates, "--commitment", drawn.commitment)
    with pytest.raises(CommandError):
        rerun("--seed", "xyz", "--candidates", candidates)
    with pytest.raises(CommandError):
        rerun("--seed", SEED, "--candidates", "1,two")


def test_commit_refuses_what_is_not_a_lottery_of_this_rfp(rfp, band, officer):
    other = ProposalFactory(state=Proposal.State.SUBMITTED).pk
    draft = ProposalFactory(rfp=rfp).pk
    for candidates, places in [
        ([band[0]], None),  # one proposal is no lottery
        ([*band, other], 2),  # another RFP's proposal
        ([*band, draft], 2),  # not submitted
        ([*band, band[0]], 2),  # listed twice
        (band, 0),
        (band, len(band)),  # every candidate chosen: nothing to draw
    ]:
        with pytest.raises(lotteries.LotteryError):
            commit(rfp, candidates, places=places, actor=officer)
    assert not Lottery.objects.exists()
    assert commit(rfp, band, places=None, actor=officer).places is None


def test_commit_refuses_a_sealed_rfp_or_published_decisions(band, rfp, officer):
    sealed = RFPFactory(sealed=True, opened_at=None)
    sealed_band = [ProposalFactory(rfp=sealed, state=Proposal.State.SUBMITTED).pk for _ in "ab"]
    with pytest.raises(lotteries.LotteryError):
        commit(sealed, sealed_band, places=1, actor=officer)
    Decision.objects.create(
        proposal_id=band[0], outcome=Decision.Outcome.NOT_SELECTED, rationale="x"
    )
    DecisionRelease.objects.create(rfp=rfp, published_at=timezone.now())
    with pytest.raises(lotteries.LotteryError):
        commit(rfp, band, places=1, actor=officer)


def test_the_audit_trail_reads_a_lottery_in_words(rfp, band, officer):
    lottery = lotteries.draw(
        lottery=commit(rfp, band, places=1, actor=officer), actor=officer, now=timezone.now()
    )
    committed, drawn = AuditEvent.objects.filter(action__startswith="lottery.").order_by("pk")
    words = [str(d) for d in describe_details(committed.details)]
    assert f"Seed commitment (SHA-256): {lottery.commitment}" in words
    assert "1 place to fill" in words
    assert f"Candidates: proposals no. {', '.join(str(i) for i in sorted(band))}" in words
    words = [str(d) for d in describe_details(drawn.details)]
    assert f"Seed: {lottery.seed}" in words
    assert f"Chosen: proposals no. {lottery.result[0]}" in words
    assert str(AuditAction.LOTTERY_COMMITTED.label) == "Lottery seed committed"
