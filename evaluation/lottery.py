"""A recorded lottery among proposals the reviews cannot tell apart at the funding line (the
band, evaluation.uncertainty), as the Swiss National Science Foundation breaks such ties.

Two steps, each in the audit trail, so that nobody can choose the seed after seeing what it
draws:

1. `commit`: a random seed is made (64 hexadecimal characters, `secrets.token_hex(32)`) and
   kept secret; its SHA-256 (the commitment) is recorded in the audit trail (LOTTERY_COMMITTED,
   never the seed) and shown with the candidates and the number of places.
2. `draw`: the seed is revealed and the draw made from it (LOTTERY_DRAWN, with the seed and the
   order). A lottery is drawn once.

The draw (`draw_order`), simple enough to redo in a few lines anywhere: for each candidate, take
the SHA-256 of the text "<seed>:<proposal id>" (the seed as its 64 lowercase hexadecimal
characters, the id in decimal, e.g. "3f9a…c2:12"), written in hexadecimal; order the candidates
by it, smallest first. The first `places` are chosen. In Python:

    sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())

or in a shell, one line per candidate: `printf '%s:%s' SEED 12 | sha256sum`. The commitment is
the SHA-256 of the seed's text (`printf '%s' SEED | sha256sum`). The order does not depend on
the order the candidates are listed in; they are stored in ascending order all the same.
`manage.py rerun_lottery` redoes the draw from a record or from a seed and a list of ids.

Who may commit and draw is for the views (staff); these functions take the actor and the
request like the other services. Pages read a lottery through `public_record`, which has no
seed until the draw.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from evaluation.decisions import is_published
from evaluation.models import Lottery
from proposals import rules as proposal_rules
from proposals.models import RFP, Proposal
from rfp_portal import audit
from rfp_portal.audit import AuditAction

SEED_BYTES = 32  # 64 hexadecimal characters
MAX_CANDIDATES = 500
_SEED = re.compile(r"[0-9a-f]{64}")


class LotteryError(Exception):
    pass


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def normal_seed(seed: str) -> str:
    """The seed as the draw reads it: 64 lowercase hexadecimal characters (ValueError else)."""
    seed = seed.strip().lower()
    if not _SEED.fullmatch(seed):
        raise ValueError("a seed is 64 hexadecimal characters")
    return seed


def commitment_of(seed: str) -> str:
    """The commitment published before the draw: the SHA-256 of the seed's text, in hex."""
    return sha256_hex(normal_seed(seed))


def draw_order(seed: str, candidates: Iterable[int]) -> list[int]:
    """Every candidate, in the order the seed draws them: by the SHA-256 (hex) of
    "<seed>:<proposal id>", smallest first. The same seed and candidates give the same order,
    whatever order the candidates are listed in."""
    seed = normal_seed(seed)
    ids = canonical(candidates)
    return sorted(ids, key=lambda i: (sha256_hex(f"{seed}:{i}"), i))


def canonical(candidates: Iterable[int]) -> list[int]:
    """Candidate ids in their canonical order (ascending); ValueError for a repeated id."""
    ids = [int(c) for c in candidates]
    if len(set(ids)) != len(ids):
        raise ValueError("a candidate is listed twice")
    return sorted(ids)


def chosen(order: list[int], places: int | None) -> list[int]:
    """The candidates the draw chooses: the first `places` of its order (all with None)."""
    return list(order) if places is None else list(order[:places])


@transaction.atomic
def commit(
    *,
    rfp: RFP,
    candidates: Iterable[int],
    places: int | None,
    actor,
    now: datetime,
    note: str = "",
    request=None,
) -> Lottery:
    """Make and keep a secret seed for a lottery among these submitted proposals of the RFP,
    choosing `places` of them (None: ordering them all), and record its commitment."""
    if proposal_rules.is_sealed(rfp):
        raise LotteryError(_("Proposals are still sealed."))
    if is_published(rfp):
        raise LotteryError(_("Decisions for this RFP are published and can no longer change."))
    try:
        ids = canonical(candidates)
    except (TypeError, ValueError) as error:
        raise LotteryError(_("List each proposal once.")) from error
    if len(ids) < 2:
        raise LotteryError(_("A lottery needs at least two proposals."))
    if len(ids) > MAX_CANDIDATES:
        raise LotteryError(_("A lottery takes at most %(n)s proposals.") % {"n": MAX_CANDIDATES})
    found = set(
        Proposal.objects.filter(rfp=rfp, pk__in=ids, state=Proposal.State.SUBMITTED).values_list(
            "pk", flat=True
        )
    )
    if found != set(ids):
        raise LotteryError(
            _("Every proposal in a lottery must be a submitted proposal of this RFP.")
        )
    if places is not None and not 1 <= places < len(ids):
        raise LotteryError(
            _("Choose between 1 and %(most)s places: fewer than the proposals in the lottery.")
            % {"most": len(ids) - 1}
        )
    seed = secrets.token_hex(SEED_BYTES)
    lottery = Lottery.objects.create(
        rfp=rfp,
        candidates=ids,
        places=places,
        note=note.strip(),
        commitment=commitment_of(seed),
        seed=seed,
        committed_at=now,
        committed_by=actor,
    )
    audit.record(
        action=AuditAction.LOTTERY_COMMITTED,
        actor=actor,
        obj=rfp,
        request=request,
        at=now,
        details={
            "lottery": lottery.pk,
            "candidates": ids,
            "places": places,
            "commitment": lottery.commitment,
        },
    )
    return lottery


@transaction.atomic
def draw(*, lottery: Lottery, actor, now: datetime, request=None) -> Lottery:
    """Reveal the seed and draw: the order of every candidate, the first `places` chosen. A
    lottery is drawn once; its commitment was recorded before."""
    lottery = Lottery.objects.select_for_update().select_related("rfp").get(pk=lottery.pk)
    if lottery.is_drawn:
        raise LotteryError(_("This lottery has been drawn already."))
    if now < lottery.committed_at:
        raise LotteryError(_("A lottery is drawn after its seed is committed."))
    if commitment_of(lottery.seed) != lottery.commitment:  # never expected: a stored record
        raise LotteryError(_("The seed does not match its commitment: nothing was drawn."))
    order = draw_order(lottery.seed, lottery.candidates)
    lottery.result = order
    lottery.drawn_at = now
    lottery.drawn_by = actor
    lottery.save(update_fields=["result", "drawn_at", "drawn_by"])
    audit.record(
        action=AuditAction.LOTTERY_DRAWN,
        actor=actor,
        obj=lottery.rfp,
        request=request,
        at=now,
        details={
            "lottery": lottery.pk,
            "commitment": lottery.commitment,
            "seed": lottery.seed,
            "order": order,
            "chosen": chosen(order, lottery.places),
        },
    )
    return lottery


@dataclass(frozen=True)
class PublicRecord:
    """What a page shows of a lottery: everything but the seed until it is drawn."""

    id: int
    rfp_id: int
    candidates: tuple[int, ...]
    places: int | None
    note: str
    commitment: str
    committed_at: datetime
    committed_by: str
    drawn_at: datetime | None
    drawn_by: str
    seed: str | None  # None until drawn
    order: tuple[int, ...]  # () until drawn
    chosen: tuple[int, ...]  # () until drawn

    @property
    def is_drawn(self) -> bool:
        return self.drawn_at is not None


def public_record(lottery: Lottery) -> PublicRecord:
    """The lottery for pages and reports: the seed and the result only once drawn."""
    drawn = lottery.is_drawn
    return PublicRecord(
        id=lottery.pk,
        rfp_id=lottery.rfp_id,
        candidates=tuple(lottery.candidates),
        places=lottery.places,
        note=lottery.note,
        commitment=lottery.commitment,
        committed_at=lottery.committed_at,
        committed_by=_person(lottery.committed_by),
        drawn_at=lottery.drawn_at,
        drawn_by=_person(lottery.drawn_by) if drawn else "",
        seed=lottery.seed if drawn else None,
        order=tuple(lottery.result) if drawn else (),
        chosen=tuple(chosen(lottery.result, lottery.places)) if drawn else (),
    )


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.email


@dataclass(frozen=True)
class Rerun:
    """A draw redone from a seed: the order, the chosen, and whether the seed matches."""

    commitment: str  # SHA-256 of the seed
    order: list[int]
    chosen: list[int]
    matches_commitment: bool | None  # None: no commitment to compare with
    matches_result: bool | None  # None: no recorded result to compare with


def rerun(
    seed: str,
    candidates: Iterable[int],
    places: int | None,
    *,
    commitment: str | None = None,
    result: Iterable[int] | None = None,
) -> Rerun:
    """Redo a draw (the management command's work): the same order `draw` recorded."""
    order = draw_order(seed, candidates)
    made = commitment_of(seed)
    return Rerun(
        commitment=made,
        order=order,
        chosen=chosen(order, places),
        matches_commitment=None if commitment is None else made == commitment.strip().lower(),
        matches_result=None if result is None else [int(i) for i in result] == order,
    )


def public_records(rfp: RFP) -> list[PublicRecord]:
    """Every lottery of the RFP, drawn or not, in the order they were committed (the report
    lists them all: a lottery committed and never drawn, or drawn again, stays visible)."""
    return [
        public_record(lottery)
        for lottery in Lottery.objects.filter(rfp=rfp).select_related("committed_by", "drawn_by")
    ]
