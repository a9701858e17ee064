"""The staff dashboard's read model: each RFP's ranking as last built, kept up to date by a
version bumped in the transaction of every change the ranking depends on
(evaluation.ranking_updates.changed, called by the receivers in evaluation/receivers.py on
reviews, assessments, assignments and conflicts, decisions) and rebuilt by one Celery task
(`evaluation.tasks.rebuild_ranking`, running `rebuild` here), one in flight per RFP.

What is stored (evaluation.models.RankingSnapshot, RankingRow): the Dashboard of
`evaluation.dashboard.build(rfp)` with the default sort, filter and funding line, split into a
header (summary, reviewer progress, distributions, calibration without its per-proposal part,
the rank intervals, and a `RowKey` of plain values per row: what sorting and the flags read) and
one pickled Row per proposal. A view reads the header (one query), sorts and filters the keys in
Python, and loads only the rows it shows (one query for the page, one for the picture of rank
intervals): the same queries for 3 or 20,000 proposals, and no scoring.

Freshness (evaluation/ranking_updates.py): `RankingSnapshot.version` is bumped (an UPDATE in
the writer's transaction, so a change and its bump commit together) and, once the transaction
commits, a rebuild is claimed (`rebuilding_since`, set only when no rebuild is in flight or the
last one is older than STUCK_AFTER) and queued. The rebuild reads the version before it reads
anything else, builds, stores the result as of that version, and lets go of its claim only if the
version did not move meanwhile; otherwise it builds again. So a burst of reviews costs one
rebuild in flight and one more after it, and the last change is always in the last build.

Until the rebuild lands, the view shows the last ranking with a line saying it is being
updated and when it was computed. When none was built yet (the first view after the deadline),
the view builds it in the request for up to BUILD_IN_REQUEST proposals, as the page always did
(the task's work, once); above, it queues the build and says so.
A chosen funding line (?line=) redraws the reviews at that line: that view builds fresh, as
before. Decisions and exports never read this: they build fresh
(evaluation.dashboard.build, evaluation.exports).

The stored pickles are written and read only by this module (like Django's cache, which
pickles too); never by anything a user sends.
"""

from __future__ import annotations

import pickle
import time
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.utils import timezone

from evaluation import dashboard
from evaluation.models import RankingRow, RankingSnapshot
from proposals.models import RFP, Proposal, SubmissionVersion

# --- The rebuild (the Celery task's work) ----------------------------------------------------


def rebuild(rfp_id: int) -> int:
    """Build the ranking until it is as of the latest version (the Celery task's work); the
    number of builds it took."""
    builds = 0
    while True:
        version = (
            RankingSnapshot.objects.filter(rfp_id=rfp_id).values_list("version", flat=True).first()
        )
        if version is None:
            return builds
        _store(RFP.objects.get(pk=rfp_id), version)
        builds += 1
        # Let go only if nothing changed meanwhile; else build again (the change's own request
        # found the claim held and queued nothing).
        if RankingSnapshot.objects.filter(rfp_id=rfp_id, version=version).update(
            rebuilding_since=None
        ):
            return builds


# --- Building and storing --------------------------------------------------------------------


@dataclass
class Header:
    """A snapshot's header: the board without rows, and each row's key."""

    board: dashboard.Dashboard  # rows=[], calibration without its per-proposal part
    keys: list[dashboard.RowKey]
    places: int  # the default funding line the intervals were drawn at


def _pack(value) -> bytes:
    return zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _unpack(data) -> object:
    return pickle.loads(zlib.decompress(bytes(data)))  # noqa: S301 (written by _pack only)


def _lean(row: dashboard.Row) -> dashboard.Row:
    """The row as the page reads it: the proposal and its version without their answers, no
    assignments (the page lists reviewers from the header)."""
    proposal = row.proposal
    version = row.version
    if version is not None:
        version = SubmissionVersion(pk=version.pk, proposal_id=proposal.pk, number=version.number)
    proposal = Proposal(
        pk=proposal.pk,
        rfp_id=proposal.rfp_id,
        owner_id=proposal.owner_id,
        title=proposal.title,
        state=proposal.state,
    )
    return replace(row, proposal=proposal, version=version, reviewers=[])


def _store(rfp: RFP, version: int) -> float:
    """Build the ranking, store it as of `version` (unless a newer build is stored already);
    the seconds the build took."""
    started = time.perf_counter()
    board = dashboard.build(rfp)
    generation = time.time_ns()
    RankingRow.objects.bulk_create(
        (
            RankingRow(
                rfp_id=rfp.pk,
                generation=generation,
                proposal_id=row.proposal.pk,
                payload=pickle.dumps(_lean(row), protocol=pickle.HIGHEST_PROTOCOL),
            )
            for row in board.rows
        ),
        batch_size=1000,
    )
    keys = [dashboard.row_key(row) for row in board.rows]
    calibration = board.calibration
    if calibration is not None:
        calibration = replace(calibration, proposals={})
    header = Header(
        board=replace(board, rows=[], calibration=calibration, specs=[], reviews={}, results={}),
        keys=keys,
        places=board.line.places,
    )
    data = _pack(header)
    seconds = time.perf_counter() - started
    with transaction.atomic():
        snapshot = RankingSnapshot.objects.select_for_update().get(rfp_id=rfp.pk)
        if snapshot.built_version > version:  # a newer build landed meanwhile: keep it
            RankingRow.objects.filter(rfp_id=rfp.pk, generation=generation).delete()
            return seconds
        previous, older = snapshot.generation, snapshot.previous_generation
        RankingSnapshot.objects.filter(pk=snapshot.pk).update(
            built_version=version,
            generation=generation,
            previous_generation=previous,
            computed_at=timezone.now(),
            build_seconds=seconds,
            data=data,
        )
    # The previous generation stays for views that read the header just before the switch; the
    # one before it goes (never a generation another build is still writing).
    RankingRow.objects.filter(rfp_id=rfp.pk, generation=older).exclude(
        generation__in=(generation, previous)
    ).delete()
    return seconds


def build_now(rfp: RFP) -> None:
    """Build the first snapshot of an RFP in the caller's request (no snapshot yet)."""
    snapshot, _ = RankingSnapshot.objects.get_or_create(rfp=rfp)
    _store(rfp, snapshot.version)


# --- Reading -----------------------------------------------------------------------------------


class _Pairs:
    """(row, interval) of the ranked rows shown, by expected rank, loading only the rows sliced."""

    def __init__(self, intervals, loader):
        self._intervals = intervals
        self._loader = loader

    @property
    def ids(self) -> list[int]:
        return [i.proposal_id for i in self._intervals]

    def __len__(self) -> int:
        return len(self._intervals)

    def __bool__(self) -> bool:
        return bool(self._intervals)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        chosen = self._intervals[index]
        rows = self._loader([i.proposal_id for i in chosen])
        return [(rows[i.proposal_id], i) for i in chosen]

    def __iter__(self):
        return iter(self[:])


@dataclass
class SnapshotDashboard(dashboard.Dashboard):
    """A Dashboard read from the snapshot: `rows` are the keys of the rows shown (sorted and
    filtered); the page's rows and the picture's are loaded on demand."""

    shown_keys: list = field(default_factory=list)
    loader: object = None

    @property
    def intervals(self):
        shown = {key.pk for key in self.shown_keys}
        if not self.uncertainty:
            return []
        return _Pairs(
            [i for i in self.uncertainty.intervals if i.proposal_id in shown], self.loader
        )

    @property
    def reviews_due(self) -> int:
        return sum(key.assigned for key in self.shown_keys)

    @property
    def reviews_submitted(self) -> int:
        return sum(key.reviews for key in self.shown_keys)


@dataclass
class Shown:
    """What the dashboard view shows: the board, the page of rows, and how fresh it is."""

    board: dashboard.Dashboard
    page: Page
    rows: list
    computed_at: datetime | None = None  # None: built fresh for this view
    updating: bool = False  # a newer ranking is being computed


def _loader(rfp: RFP, generation: int):
    cache: dict[int, dashboard.Row] = {}
    asked: list[bool] = []

    def load(ids) -> dict[int, dashboard.Row]:
        missing = [pid for pid in ids if pid not in cache]
        if missing or not asked:  # one query even for an empty page: the same count always
            asked.append(True)
            for pid, payload in RankingRow.objects.filter(
                rfp_id=rfp.pk, generation=generation, proposal_id__in=missing or [0]
            ).values_list("proposal_id", "payload"):
                cache[pid] = pickle.loads(bytes(payload))  # noqa: S301 (written by _store only)
        return cache

    return load


# The first view of an RFP with no ranking built yet builds it in the request up to this many
# submitted proposals (about 3 s at 2,000 on a busy 2-vCPU machine: bench/dashboard.py); above,
# it is queued and the view says so (40 s at 20,000 would outlast a web worker's timeout).
BUILD_IN_REQUEST = 2000


def first_build(rfp: RFP) -> bool:
    """No ranking built yet: build it now (True) for an RFP of up to BUILD_IN_REQUEST submitted
    proposals; else make sure the read model exists, for the caller to queue its rebuild
    (False)."""
    submitted = Proposal.objects.filter(rfp=rfp, state=Proposal.State.SUBMITTED).count()
    if submitted <= BUILD_IN_REQUEST:
        build_now(rfp)
        return True
    RankingSnapshot.objects.get_or_create(rfp=rfp)  # version 1, built 0: stale, to be claimed
    return False


def show(
    rfp: RFP, *, sort: str, flag: str | None, line: str | None, page: str | None
) -> Shown | None:
    """The dashboard for a view: from the snapshot, or built fresh when staff chose a funding
    line other than the default. None when there is no ranking yet and it is too big to build
    in the request (`first_build`): the caller queues it and says so."""
    snapshot = RankingSnapshot.objects.filter(rfp=rfp).first()
    if snapshot is None or not snapshot.built_version:
        if not first_build(rfp):
            return None
        snapshot = RankingSnapshot.objects.get(rfp=rfp)
    header: Header = _unpack(snapshot.data)
    at = header.board.line
    if (line or "").strip():
        # The default line's intervals are stored; another line redraws the reviews: fresh.
        at = dashboard.funding_line(line, ranked=at.ranked, selected=at.default, features=0)
        if at.places != header.places or at.adjusted:
            board = dashboard.build(rfp, sort=sort, flag=flag, line=line)
            paged = Paginator(board.rows, dashboard.PAGE_SIZE).get_page(page)
            return Shown(board, paged, list(paged.object_list))
    shown_keys = dashboard.ordered(
        [(key, key) for key in header.keys],
        sort=sort,
        flag=flag,
        calibrated=header.board.calibrated,
    )
    load = _loader(rfp, snapshot.generation)
    board = SnapshotDashboard(
        **{f: getattr(header.board, f) for f in header.board.__dataclass_fields__},
        shown_keys=shown_keys,
        loader=load,
    )
    board.rows = shown_keys
    board.line = at
    paged = Paginator(shown_keys, dashboard.PAGE_SIZE).get_page(page)
    # The page's rows and the picture's (a window around the funding line), in one query.
    ranked = board.intervals.ids if board.uncertainty else []
    start = dashboard.chart_start(len(ranked), at.places)
    window = ranked[start : start + dashboard.CHART_ROWS]
    rows_by_id = load([key.pk for key in paged.object_list] + window)
    rows = [rows_by_id[key.pk] for key in paged.object_list]
    updating = snapshot.version > snapshot.built_version
    return Shown(board, paged, rows, computed_at=snapshot.computed_at, updating=updating)
