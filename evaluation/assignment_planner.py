"""Automatic reviewer assignment: k reviewers per proposal, balanced loads, no conflicts.

Plain values in, a proposed plan out: staff see the plan before it is applied. Declared
conflicts are never assigned; likely conflicts (a reviewer sharing an e-mail domain or an
organisation with someone on the team) are avoided too and reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

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


def likely_conflict(reviewer: Person, team: ProposalTeam) -> str | None:
    """Why this reviewer probably has a conflict with this team, or None."""
    for member in team.members:
        if member.id == reviewer.id:
            return "is on the team"
        if reviewer.domain == member.domain and reviewer.domain not in PUBLIC_MAIL_DOMAINS:
            return f"same e-mail domain as {member.email} ({reviewer.domain})"
        if reviewer.org and reviewer.org == member.org:
            return f"same organisation as {member.email} ({member.organisation})"
    return None


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
