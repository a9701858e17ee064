"""The demo loader: every shared RFP file loads, twice changes nothing, the copy stays in sync."""

import filecmp
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.forms.models import model_to_dict

from evaluation import dashboard, lottery
from evaluation import demo as whole_demo
from evaluation.models import Decision, Lottery
from proposals import demo, services
from proposals.models import RFP, Criterion, Feature, Milestone, ProposalElement, TimelineEntry
from rfp_portal import deadlines, permissions
from rfp_portal.models import User

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "rfps"
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def snapshot():
    rows = []
    for model in (RFP, TimelineEntry, Milestone, Feature, ProposalElement, Criterion, User):
        for obj in model.objects.order_by("pk"):
            data = model_to_dict(obj)
            data.pop("last_login", None)
            rows.append((model.__name__, obj.pk, repr(sorted(data.items(), key=str))))
    return rows


def test_repo_copy_of_rfp_files_matches_shared_data():
    """The copy matches the digests recorded when it was taken from shared/data; where
    shared/data lies beside the checkout, the originals are compared too (never a skip)."""
    import hashlib

    manifest = dict(
        reversed(line.split(maxsplit=1))
        for line in (demo.DEMO_DATA_DIR / "SHA256SUMS").read_text().splitlines()
    )
    ours = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in demo.DEMO_DATA_DIR.glob("*.toml")
    }
    assert ours == manifest, "the demo copy changed: copy shared/data again and update SHA256SUMS"
    if SHARED.exists():
        shared = sorted(p.name for p in SHARED.glob("*.toml"))
        assert sorted(ours) == shared
        _, mismatch, errors = filecmp.cmpfiles(SHARED, demo.DEMO_DATA_DIR, shared, shallow=False)
        assert not mismatch and not errors, f"out of sync: {mismatch + errors}"


@pytest.mark.django_db
def test_loading_twice_changes_nothing():
    first = whole_demo.load_demo(now=NOW)
    assert sorted(first.rfps_created) == ["pypi-2019-q1", "pypi-2019-q4"]
    before = snapshot()
    lotteries = list(Lottery.objects.values_list("pk", "seed", "result"))
    assert len(lotteries) == 1
    second = whole_demo.load_demo(now=NOW + timedelta(hours=5))
    assert second.rfps_created == [] and second.users_created == []
    assert snapshot() == before
    assert list(Lottery.objects.values_list("pk", "seed", "result")) == lotteries


@pytest.mark.django_db
def test_decided_rfp_keeps_2019_dates_and_open_rfp_is_shifted():
    demo.load_demo(now=NOW)
    decided = RFP.objects.get(slug="pypi-2019-q1")
    assert deadlines.to_utc_iso(decided.deadline_instant) == "2019-02-01T12:00:00Z"
    assert decided.timeline.first().date == date(2018, 10, 30)
    open_rfp = RFP.objects.get(slug="pypi-2019-q4")
    assert open_rfp.deadline_date == NOW.date() + timedelta(days=14)
    # Every date moved by the same amount, so the RFP's rhythm is kept.
    shift = open_rfp.deadline_date - date(2019, 10, 21)
    assert open_rfp.timeline.get(label__startswith="Request for Proposals period opens").date == (
        date(2019, 9, 25) + shift
    )
    assert open_rfp.accepts_submissions_at(NOW)
    assert not decided.accepts_submissions_at(NOW)


@pytest.mark.django_db
def test_demo_people_have_roles_and_reviewers_and_staff_have_totp():
    from allauth.mfa.models import Authenticator

    demo.load_demo(now=NOW)
    staff = User.objects.get(email="staff@example.org")
    assert permissions.is_staff_member(staff) and permissions.can_use_admin(staff)
    reviewer = User.objects.get(email="reviewer@example.org")
    assert permissions.is_reviewer(reviewer)
    assert Authenticator.objects.filter(user=reviewer, type="totp").exists()
    proposer = User.objects.get(email="proposer@example.org")
    assert permissions.roles_of(proposer) == {permissions.Role.PROPOSER}
    assert proposer.check_password(demo.DEMO_PASSWORD)
    assert User.objects.filter(email__in=[t.email for t in demo.DEMO_TEAMS]).count() == 5


@pytest.mark.django_db
def test_load_demo_command_prints_logins(capsys):
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "staff@example.org" in out and demo.DEMO_PASSWORD in out
    assert demo.DEMO_TOTP_SECRET in out


@pytest.mark.django_db
def test_rfp_file_with_missing_key_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('slug = "x"\ntitle = "X"\n')
    with pytest.raises(services.RFPFileError, match="'summary' is missing"):
        services.read_rfp_file(broken)
    garbled = tmp_path / "garbled.toml"
    garbled.write_text("slug = \n")
    with pytest.raises(services.RFPFileError, match=r"garbled\.toml"):
        services.read_rfp_file(garbled)


@pytest.mark.django_db
def test_loaded_scope_and_criteria_match_the_file():
    demo.load_demo(now=NOW)
    rfp = RFP.objects.get(slug="pypi-2019-q1")
    features = Feature.objects.filter(milestone__rfp=rfp)
    assert features.count() == 5
    assert sum(f.budget for f in features) == 33000
    assert sum(f.cap for f in features) == 42500
    assert list(rfp.criteria.values_list("kind", flat=True)) == ["gate"] * 3 + ["scored"] * 3
    assert all(c.weight == 1 for c in rfp.criteria.filter(kind="scored"))
    assert rfp.elements.get(key="document").kind == "pdf"


@pytest.mark.django_db
def test_decided_demo_rfp_is_evaluated_and_its_decisions_published(client):
    from evaluation.models import Assignment, Decision, DecisionRelease, Review
    from proposals.models import Proposal

    whole_demo.load_demo(now=NOW)
    rfp = RFP.objects.get(slug="pypi-2019-q1")
    assert rfp.opened_at == rfp.deadline_instant
    assert Proposal.objects.filter(rfp=rfp, state="submitted").count() == 5
    assert all(p.versions.get().received_at < rfp.deadline_instant for p in rfp.proposals.all())
    assert Assignment.objects.filter(proposal__rfp=rfp, conflict="declared").count() == 1
    assert Review.objects.filter(assignment__proposal__rfp=rfp, state="submitted").count() == 14
    assert Decision.objects.filter(proposal__rfp=rfp, outcome="selected").count() == 2
    assert DecisionRelease.objects.get(rfp=rfp).published_at is not None
    # The open RFP stays sealed and untouched.
    assert RFP.objects.get(slug="pypi-2019-q4").opened_at is None
    staff = User.objects.get(email="staff@example.org")
    client.force_login(staff)
    body = client.get(f"/staff/rfps/{rfp.slug}/evaluation/dashboard/").content.decode()
    assert "Mossgreen" in body and "failed a gate" in body and "<svg" in body


@pytest.mark.django_db
def test_decided_demo_rfp_orders_its_reserve_list_by_a_recorded_lottery_before_publishing():
    from rfp_portal.audit import AuditAction
    from rfp_portal.models import AuditEvent

    whole_demo.load_demo(now=NOW)
    rfp = RFP.objects.get(slug="pypi-2019-q1")
    drawn = Lottery.objects.get(rfp=rfp)
    assert drawn.is_drawn and drawn.places is None  # orders the reserve list, chooses no one
    assert drawn.note.startswith("Order of the reserve list, should a selected team withdraw.")
    not_selected = set(
        Decision.objects.filter(proposal__rfp=rfp, outcome="not_selected").values_list(
            "proposal_id", flat=True
        )
    )
    assert len(drawn.candidates) >= 2 and set(drawn.candidates) <= not_selected
    assert sorted(drawn.result) == drawn.candidates
    # Anyone can re-run the draw from the revealed seed and get the recorded order.
    again = lottery.rerun(
        drawn.seed, drawn.candidates, drawn.places, commitment=drawn.commitment, result=drawn.result
    )
    assert again.matches_commitment and again.matches_result and again.order == drawn.result
    # 2019 times: committed after the decisions were recorded, drawn a quarter of an hour
    # later, both before the decisions were published.
    release = rfp.decision_release
    recorded = max(Decision.objects.filter(proposal__rfp=rfp).values_list("decided_at", flat=True))
    assert drawn.committed_at.year == 2019
    assert recorded < drawn.committed_at < drawn.drawn_at < release.published_at
    assert drawn.drawn_at - drawn.committed_at == timedelta(minutes=15)
    trail = list(
        AuditEvent.objects.filter(
            action__in=[AuditAction.LOTTERY_COMMITTED, AuditAction.LOTTERY_DRAWN]
        ).order_by("at", "pk")
    )
    assert [e.action for e in trail] == [AuditAction.LOTTERY_COMMITTED, AuditAction.LOTTERY_DRAWN]
    assert trail[0].details["commitment"] == drawn.commitment and "seed" not in trail[0].details
    assert trail[1].details["seed"] == drawn.seed
    # The band the note speaks of is the dashboard's, at the line after the places selected.
    board = dashboard.build(rfp)
    assert board.line.places == 2
    in_band = set(board.uncertainty.band) & not_selected
    if len(in_band) >= 2:
        assert set(drawn.candidates) == in_band and "are in the band" in drawn.note
    else:
        assert "Fewer than two of the proposals not selected" in drawn.note
    # Calibration is usable on the demo: the dashboard shows the calibrated Overall.
    assert board.calibrated, board.calibration.message
    assert all(row.calibrated_points is not None for row in board.rows if row.rank is not None)
