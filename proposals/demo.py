"""The demo's RFPs from proposals/demo_data/rfps (a copy of shared/data/rfps), its people, and
the decided RFP's proposals (proposals.demo_teams).

load_demo() is idempotent: what exists already is left untouched. evaluation.demo.load_demo()
loads this and then the evaluation of the decided RFP: `manage.py load_demo` runs that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import transaction

from proposals import demo_teams, services
from proposals.models import RFP
from rfp_portal import permissions
from rfp_portal.accounts import ensure_user

DEMO_DATA_DIR = Path(__file__).resolve().parent / "demo_data" / "rfps"
DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105  a published demo login, by design
# A fixed base32 TOTP secret, so reviewer and staff demo logins work with any authenticator app
# (or `python manage.py demo_totp`). Demo only: never use a known secret for a real account.
DEMO_TOTP_SECRET = "RFPPORTALDEMOKEYRFPPORTALDEMOKEY"  # noqa: S105  published demo secret


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    organisation: str
    roles: tuple[permissions.Role, ...]
    admin_access: bool = False

    @property
    def has_mfa(self) -> bool:
        return bool(set(self.roles) & permissions.MFA_ROLES)


DEMO_PEOPLE = (
    DemoPerson(
        "staff@example.org",
        "Sam Staff",
        "Python Software Foundation",
        (permissions.Role.STAFF,),
        admin_access=True,
    ),
    DemoPerson(
        "reviewer@example.org", "Rae Reviewer", "Packaging WG", (permissions.Role.REVIEWER,)
    ),
    DemoPerson(
        "reviewer2@example.org", "Rio Reviewer", "Packaging WG", (permissions.Role.REVIEWER,)
    ),
    DemoPerson(
        "reviewer3@example.org", "Ren Reviewer", "Accessibility WG", (permissions.Role.REVIEWER,)
    ),
    DemoPerson(
        "proposer@example.org", "Pat Proposer", "Pat Consulting", (permissions.Role.PROPOSER,)
    ),
)

# Fictional teams that bid for the decided 2019 RFP (their proposals: proposals.demo_teams).
DEMO_TEAMS = (
    DemoPerson(
        "lead@mossgreen.example",
        "Mira Moss",
        "Mossgreen Software Co-op",
        (permissions.Role.PROPOSER,),
    ),
    DemoPerson("hello@tern-labs.example", "Tomás Tern", "Tern Labs", (permissions.Role.PROPOSER,)),
    DemoPerson(
        "ana@quillwork.example", "Ana Quill", "Quillwork (freelance)", (permissions.Role.PROPOSER,)
    ),
    DemoPerson(
        "ops@brightfield.example",
        "Bo Bright",
        "Brightfield Consulting Ltd",
        (permissions.Role.PROPOSER,),
    ),
    DemoPerson(
        "team@kestrel-a11y.example",
        "Kit Kestrel",
        "Kestrel Accessibility",
        (permissions.Role.PROPOSER,),
    ),
)


@dataclass
class DemoReport:
    rfps_created: list[str] = field(default_factory=list)
    rfps_kept: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    # RFPs created in the decided state by this load: their teams' proposals are submitted and
    # the RFP is opened; evaluation.demo reviews and decides them.
    decided: list[RFP] = field(default_factory=list)


def demo_files(directory: Path = DEMO_DATA_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))


@transaction.atomic
def load_demo(*, now: datetime, directory: Path = DEMO_DATA_DIR) -> DemoReport:
    report = DemoReport()
    permissions.ensure_groups()
    for path in demo_files(directory):
        data = services.read_rfp_file(path)
        shift = services.demo_shift(data, today=now.date())
        # A decided RFP was published in its own time, before its proposals arrived.
        published = now if shift else min(now, _first_date(data))
        result = services.load_rfp(data, shift=shift, now=published)
        (report.rfps_created if result.created else report.rfps_kept).append(result.rfp.slug)
        if result.created and data.get("demo", {}).get("state") == "decided":
            report.decided.append(result.rfp)
    for person in DEMO_PEOPLE + DEMO_TEAMS:
        user, created = ensure_user(
            email=person.email,
            password=DEMO_PASSWORD,
            roles=person.roles,
            full_name=person.full_name,
            organisation=person.organisation,
            admin_access=person.admin_access,
            totp_secret=DEMO_TOTP_SECRET if person.has_mfa else None,
        )
        if created:
            report.users_created.append(user.email)
    for rfp in report.decided:
        demo_teams.submit_team_proposals(rfp)
    return report


def _first_date(data) -> datetime:
    from datetime import UTC, date, datetime

    first = min(
        date.fromisoformat(e["date"]) if "date" in e else date.fromisoformat(e["month"] + "-01")
        for e in data.get("timeline", [])
    )
    return datetime(first.year, first.month, first.day, tzinfo=UTC)
