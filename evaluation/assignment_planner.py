"""Automatic reviewer assignment: k reviewers per proposal, balanced loads, no conflicts.

Plain values in, a proposed plan out: staff see the plan before it is applied. Declared
conflicts are never assigned; likely conflicts (a reviewer sharing an e-mail domain or an
organisation with someone on the team, or who has been on a proposal's team with one of them)
are avoided too and reported. `conflict_hint` is the one home of that rule: hand assignment
(evaluation.services.assign) asks it too, and warns instead of avoiding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

# Domains shared by unrelated people: sharing one says nothing about a conflict.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
        "icloud.com", "me.com", "proton.me", "protonmail.com", "fastmail.com", "gmx.de",
        "gmx.net", "web.de", "mail.ru", "yandex.ru", "qq.com", "163.com", "aol.com",
        "example.com", "example.org", "example.net",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    organisation: str = ""
    # Everyone this person has been on a proposal's team with (any RFP): co-authors.
    coauthors: frozenset[int] = frozenset()

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].strip().lower()

    @property
    def org(self) -> str:
        return " ".join(self.organisation.lower().split())


@dataclass(frozen=True)
class ProposalTeam:
    proposal_id: int
    members: tuple[Person, ...]


@dataclass(frozen=True)
class ConflictHint:
    """Why a reviewer probably has a conflict with a team: the kind, the team member it
    concerns and what they share (a domain or an organisation)."""

    kind: str  # "team", "domain", "organisation" or "coauthor"
    member: str  # the team member's e-mail address
    shared: str = ""

    @property
    def reason(self) -> str:
        """Short, for the list of conflicts the automatic plan avoided."""
        if self.kind == "team":
            return "is on the team"
        if self.kind == "domain":
            return f"same e-mail domain as {self.member} ({self.shared})"
        if self.kind == "organisation":
            return f"same organisation as {self.member} ({self.shared})"
        return f"co-author of {self.member} on another proposal"

    def sentence(self, reviewer_email: str) -> str:
        """The warning staff read before confirming (in the active language)."""
        values = {"reviewer": reviewer_email, "member": self.member, "shared": self.shared}
        if self.kind == "team":
            text = _("%(reviewer)s is on the team of this proposal.")
        elif self.kind == "domain":
            text = _(
                "%(reviewer)s shares the e-mail domain %(shared)s with the team member %(member)s."
            )
        elif self.kind == "organisation":
            text = _(
                "%(reviewer)s shares the organisation %(shared)s with the team member %(member)s."
            )
        else:
            text = _("%(reviewer)s and the team member %(member)s have co-authored a proposal.")
        return text % values


def conflict_hint(reviewer: Person, team: ProposalTeam) -> ConflictHint | None:
    """Why this reviewer probably has a conflict with this team, or None."""
    for member in team.members:
        if member.id == reviewer.id:
            return ConflictHint("team", member.email)
        if reviewer.domain == member.domain and reviewer.domain not in PUBLIC_MAIL_DOMAINS:
            return ConflictHint("domain", member.email, reviewer.domain)
        if reviewer.org and reviewer.org == member.org:
            return ConflictHint("organisation", member.email, member.organisation)
        if member.id in reviewer.coauthors:
            return ConflictHint("coauthor", member.email)
    return None


def likely_conflict(reviewer: Person, team: ProposalTeam) -> str | None:
    """Why this reviewer probably has a conflict with this team (short), or None."""
    hint = conflict_hint(reviewer, team)
    return hint.reason if hint else None


@dataclass
class Plan:
    """The proposed assignment: new pairs, what was avoided, and what could not be filled."""

    new: list[tuple[int, int]] = field(default_factory=list)  # (proposal id, reviewer id)
    avoided: list[tuple[int, int, str]] = field(default_factory=list)
    short: dict[int, int] = field(default_factory=dict)  # proposal id → reviewers missing
    loads: dict[int, int] = field(default_factory=dict)  # reviewer id → total after the plan


def plan_assignments(
    teams: Iterable[ProposalTeam],
    reviewers: Iterable[Person],
    *,
    per_proposal: int,
    existing: Iterable[tuple[int, int]] = (),
    declared_conflicts: Iterable[tuple[int, int]] = (),
) -> Plan:
    """Give every proposal `per_proposal` reviewers, keeping loads as even as possible.

    Proposals with the fewest eligible reviewers are served first, each taking the eligible
    reviewers with the lowest load (ties by id, so the plan is deterministic). Existing
    assignments count towards both the proposal's need and the reviewer's load.
    """
    teams = sorted(teams, key=lambda t: t.proposal_id)
    reviewers = sorted(reviewers, key=lambda r: r.id)
    existing = set(existing)
    declared = set(declared_conflicts)
    loads = {r.id: 0 for r in reviewers}
    for _proposal, reviewer_id in existing:
        if reviewer_id in loads:
            loads[reviewer_id] += 1
    plan = Plan()
    eligible: dict[int, list[Person]] = {}
    for team in teams:
        eligible[team.proposal_id] = []
        for reviewer in reviewers:
            pair = (team.proposal_id, reviewer.id)
            if pair in existing:
                continue
            if pair in declared:
                plan.avoided.append((team.proposal_id, reviewer.id, "declared conflict"))
                continue
            reason = likely_conflict(reviewer, team)
            if reason:
                plan.avoided.append((team.proposal_id, reviewer.id, reason))
                continue
            eligible[team.proposal_id].append(reviewer)
    have = {t.proposal_id: sum(1 for p, _ in existing if p == t.proposal_id) for t in teams}
    order = sorted(teams, key=lambda t: (len(eligible[t.proposal_id]), t.proposal_id))
    for team in order:
        need = max(0, per_proposal - have[team.proposal_id])
        candidates = sorted(eligible[team.proposal_id], key=lambda r: (loads[r.id], r.id))
        chosen = candidates[:need]
        for reviewer in chosen:
            plan.new.append((team.proposal_id, reviewer.id))
            loads[reviewer.id] += 1
        if len(chosen) < need:
            plan.short[team.proposal_id] = need - len(chosen)
    plan.new.sort()
    plan.loads = loads
    return plan
