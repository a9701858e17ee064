"""Open contracting data: each published RFP as Open Contracting Data Standard (OCDS) 1.1
releases, a release package and a record package (issue 18). Pure builders from the models to
plain dicts; evaluation/views/ocds.py serves them as JSON.

What is published, and when (rule 2: nothing sealed before opening; no reviewer, ever):

- ``<ocid>-tender-<n>`` (tag "tender", then "tenderAmendment"): the RFP as published, with the
  amendments (addenda) so far. `n` is 1 + the number of addenda: each addendum is a new
  tender release with the next number. A counter rather than a hash of the content: the id of
  the same information must not change when a rendering detail changes (the plain text of the
  Markdown, say), and readers can tell which release superseded which. Only the latest tender
  release is served: the portal keeps what each addendum changed in words, not every earlier
  state of the RFP; its `amendments` list every addendum with its date and rationale.
- ``<ocid>-opening`` (tag "tenderUpdate"), once the RFP is opened (its submission cut-off has
  passed, so the number is final): `numberOfTenderers`, the submitted proposals counted.
  Nothing else of any proposal.
- ``<ocid>-award`` (tags "award", "tenderUpdate"), once the decisions are published: one award
  per selected proposal, with the features awarded and their amounts, and its supplier named
  by the organisation the team gave in its profile. Teams not selected are never named (no
  `tenderers`): no public page names who bid and lost, and a person bidding alone is a natural
  person; the count tells how much competition there was. No proposal title is published
  either: the public pages never show one, and the award says what was bought (the features).

Never in any release: reviewers, scores, comments, calibration, leniency, rationales,
proposal content or e-mail addresses. The data is in one language (the RFP's own texts, and
fixed English words around them), so every reader gets the same bytes. The OCID is
OCDS_OCID_PREFIX (see the settings: a real publisher registers one) + the RFP's slug.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import nh3
from django.conf import settings
from django.urls import reverse

from evaluation.models import Decision, DecisionRelease
from proposals import budget
from proposals.models import RFP, Feature, Proposal, ProposalMember
from rfp_portal.markdown import render_markdown

OCDS_VERSION = "1.1"
DEFAULT_OCID_PREFIX = "ocds-rfpportal-"


def ocid(rfp: RFP) -> str:
    return (getattr(settings, "OCDS_OCID_PREFIX", "") or DEFAULT_OCID_PREFIX) + rfp.slug


def instant(value: datetime) -> str:
    """An instant as OCDS writes it: RFC 3339 in UTC, "2026-12-01T22:00:00Z"."""
    return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def _when(release: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(release["date"])  # as text, "…01Z" sorts after "…01.5Z"


def amount(value: Decimal | int) -> int | float:
    """A JSON number (OCDS amounts are numbers): whole amounts as integers."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def money(value: Decimal | int, currency: str) -> dict[str, Any]:
    return {"amount": amount(value), "currency": currency}


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def publisher_name() -> str:
    return getattr(settings, "OCDS_PUBLISHER_NAME", "") or "RFP Portal"


_BLOCK_END = re.compile(r"</(p|h[2-6]|li|blockquote|pre|tr|table)>|<br\s*/?>|<hr\s*/?>")


def plain_text(markdown: str) -> str:
    """The Markdown as plain text: rendered (as the page shows it), its tags removed, each
    block (paragraph, heading, list item...) on one line, a blank line between blocks."""
    rendered = _BLOCK_END.sub("\n\n", str(render_markdown(markdown)))
    text = html.unescape(nh3.clean(rendered, tags=set()))
    blocks = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return "\n\n".join(block for block in blocks if block)


def _party_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"org-{slug or 'unnamed'}"


def _features(rfp: RFP) -> list[Feature]:
    return list(
        Feature.objects.filter(milestone__rfp=rfp)
        .select_related("milestone")
        .order_by("milestone__position", "milestone_id", "position", "id")
    )


def _feature_label(feature: Feature) -> str:
    return f"{feature.milestone.name}: {feature.name}"


def _item(feature: Feature, value: Decimal, currency: str, description: str) -> dict[str, Any]:
    """A feature as an OCDS item: one unit, worth `value` (its budget; or the amount awarded)."""
    unit = {"name": "feature", "value": money(value, currency)}
    return {"id": str(feature.pk), "description": description, "quantity": 1, "unit": unit}


def _buyer_and_parties(rfp: RFP) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The buyer (the RFP's issuer as its page shows it, else its funder, else the publisher)
    and the parties: the buyer, and the funder when the page names a different one."""
    buyer_name = rfp.issuer or rfp.funder or publisher_name()
    buyer = {"id": _party_id(buyer_name), "name": buyer_name}
    roles = ["buyer", "procuringEntity"]
    parties = [{**buyer, "roles": roles}]
    if rfp.funder:
        if _party_id(rfp.funder) == buyer["id"]:
            roles.append("funder")
        else:
            parties.append({"id": _party_id(rfp.funder), "name": rfp.funder, "roles": ["funder"]})
    return buyer, parties


# --- Releases --------------------------------------------------------------------------------


def _release(rfp: RFP, *, suffix: str, date: datetime, tags: list[str]) -> dict[str, Any]:
    return {
        "ocid": ocid(rfp),
        "id": f"{ocid(rfp)}-{suffix}",
        "date": instant(date),
        "tag": tags,
        "initiationType": "tender",
    }


def tender_release(rfp: RFP) -> dict[str, Any]:
    """The RFP as published, amended by its addenda (see the module's docstring)."""
    addenda = list(rfp.addenda.order_by("number"))
    number = len(addenda) + 1
    date = addenda[-1].published_at if addenda else rfp.published_at
    release = _release(
        rfp,
        suffix=f"tender-{number}",
        date=date,
        tags=["tender"] if number == 1 else ["tenderAmendment"],
    )
    buyer, parties = _buyer_and_parties(rfp)
    features = _features(rfp)
    total_budget = sum((f.budget for f in features), Decimal(0))
    description = rfp.summary.strip()
    body = plain_text(rfp.body_markdown)
    if body:
        description = f"{description}\n\n{body}"
    page = absolute(rfp.get_absolute_url())
    tender: dict[str, Any] = {
        "id": f"{ocid(rfp)}-tender",
        "title": rfp.title,
        "description": description,
        "status": "active",
        "procuringEntity": buyer,
        "procurementMethod": "open",
        "mainProcurementCategory": "services",
        "awardCriteria": "ratedCriteria",
        "awardCriteriaDetails": "The criteria published on the RFP's page: " + page,
        "submissionMethod": ["electronicSubmission"],
        "submissionMethodDetails": page,
        # What all the awards together may come to (proposals.budget.total_limit).
        "value": money(budget.total_limit(total_budget, rfp.total_cap), rfp.currency),
        "tenderPeriod": {
            "startDate": instant(rfp.submissions_open_at or rfp.published_at),
            "endDate": instant(rfp.deadline_instant),
        },
        "items": [
            _item(
                feature,
                feature.budget,
                rfp.currency,
                f"{_feature_label(feature)} (budget {feature.budget:.2f} {rfp.currency}, "
                f"cap {feature.cap:.2f} {rfp.currency})",
            )
            for feature in features
        ],
        "documents": [
            {
                "id": "rfp-page",
                "documentType": "tenderNotice",
                "title": rfp.title,
                "url": page,
                "format": "text/html",
                "datePublished": instant(rfp.published_at),
                **({"dateModified": instant(date)} if addenda else {}),
            }
        ],
    }
    if addenda:
        tender["amendments"] = [
            {
                "id": str(addendum.number),
                "date": instant(addendum.published_at),
                "rationale": addendum.change_note,
                "amendsReleaseID": f"{ocid(rfp)}-tender-{addendum.number}",
                "releaseID": f"{ocid(rfp)}-tender-{addendum.number + 1}",
            }
            for addendum in addenda
        ]
    release.update({"buyer": buyer, "parties": parties, "tender": tender})
    return release


def opening_release(rfp: RFP) -> dict[str, Any] | None:
    """How many proposals were submitted, once the RFP is opened; None before."""
    if not rfp.is_published or rfp.opened_at is None:
        return None
    count = Proposal.objects.filter(rfp=rfp, state=Proposal.State.SUBMITTED).count()
    release = _release(rfp, suffix="opening", date=rfp.opened_at, tags=["tenderUpdate"])
    release["tender"] = {"id": f"{ocid(rfp)}-tender", "numberOfTenderers": count}
    return release


def _supplier_name(proposal: Proposal, members: list[ProposalMember], number: int) -> str:
    """The organisation the team gave: the owner's, else the first other member's; never a
    person's name or address."""
    ordered = sorted(members, key=lambda m: (m.user_id != proposal.owner_id, m.added_at, m.pk))
    for member in ordered:
        if member.user.organisation.strip():
            return member.user.organisation.strip()
    return f"Team {number} (no organisation given)"


def award_release(rfp: RFP) -> dict[str, Any] | None:
    """One award per selected proposal, once the decisions are published; None before."""
    if not rfp.is_published or rfp.opened_at is None:
        return None
    published_at = (
        DecisionRelease.objects.filter(rfp=rfp, published_at__isnull=False)
        .values_list("published_at", flat=True)
        .first()
    )
    if published_at is None:
        return None
    selected = list(
        Decision.objects.filter(
            proposal__rfp=rfp,
            proposal__state=Proposal.State.SUBMITTED,
            outcome=Decision.Outcome.SELECTED,
        )
        .select_related("proposal")
        .order_by("proposal_id")
    )
    members: dict[int, list[ProposalMember]] = {}
    for member in ProposalMember.objects.filter(
        proposal__in=[d.proposal_id for d in selected]
    ).select_related("user"):
        members.setdefault(member.proposal_id, []).append(member)
    features = {f.pk: f for f in _features(rfp)}
    order = {pk: index for index, pk in enumerate(features)}
    date = instant(published_at)
    awards, parties = [], []
    for number, decision in enumerate(selected, start=1):
        supplier = {
            "id": f"supplier-{number}",
            "name": _supplier_name(
                decision.proposal, members.get(decision.proposal_id, []), number
            ),
        }
        parties.append({**supplier, "roles": ["supplier"]})
        items, total = [], Decimal(0)
        for feature_id, awarded in decision.awards.items():
            value = Decimal(str(awarded))
            feature = features.get(int(feature_id))
            if not value or feature is None:
                continue
            total += value
            items.append(_item(feature, value, rfp.currency, _feature_label(feature)))
        items.sort(key=lambda item: order[int(item["id"])])
        awards.append(
            {
                "id": f"award-{number}",
                "title": f"Award to {supplier['name']}",
                "status": "active",
                "date": date,
                "value": money(total, rfp.currency),
                "suppliers": [supplier],
                "items": items,
            }
        )
    release = _release(
        rfp,
        suffix="award",
        date=published_at,
        tags=["award", "tenderUpdate"] if awards else ["tenderUpdate"],
    )
    release["tender"] = {
        "id": f"{ocid(rfp)}-tender",
        "status": "complete" if awards else "unsuccessful",
    }
    if awards:
        release["parties"] = parties
        release["awards"] = awards
    return release


def releases(rfp: RFP) -> list[dict[str, Any]]:
    """Every release of a published RFP, in date order; none for a draft."""
    if not rfp.is_published:
        return []
    found = [tender_release(rfp), opening_release(rfp), award_release(rfp)]
    return sorted((r for r in found if r is not None), key=_when)


# --- Packages --------------------------------------------------------------------------------


def _publisher() -> dict[str, str]:
    return {"name": publisher_name(), "uri": settings.SITE_URL + "/"}


def release_package(found: list[dict[str, Any]], *, uri: str) -> dict[str, Any]:
    """Releases in a package. Generated on demand, so its publishedDate is that of the latest
    release in it (OCDS: "the date of the last change to the underlying contents")."""
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "publisher": _publisher(),
        "publishedDate": max(found, key=_when)["date"] if found else instant(datetime.now(UTC)),
        "releases": found,
    }


def record_package(rfp: RFP, *, uri: str, package_uri: str) -> dict[str, Any]:
    """One record: the RFP's releases and the compiled release (see compile_releases)."""
    found = releases(rfp)
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "publisher": _publisher(),
        "publishedDate": max(found, key=_when)["date"],
        "packages": [package_uri],
        "records": [
            {"ocid": ocid(rfp), "releases": found, "compiledRelease": compile_releases(found)}
        ],
    }


def rfp_package_uri(rfp: RFP) -> str:
    return absolute(reverse("ocds_release_package", kwargs={"slug": rfp.slug}))


def rfp_record_uri(rfp: RFP) -> str:
    return absolute(reverse("ocds_record_package", kwargs={"slug": rfp.slug}))


# --- Compiling a record ----------------------------------------------------------------------
# ocdsmerge would need the release schema at run time; the releases above use only fields
# merged by OCDS's default rules, so a small merge suffices: releases apply in date order;
# objects merge field by field; an array of objects that all carry an `id` merges item by item
# on it (awards, parties, items, amendments); any other value (a string, a number, an array of
# strings such as `roles`) is replaced by the later release's.
# The release-level `id` and `tag` are not merged (omitWhenMerged): the compiled release gets
# the tag "compiled", the date of the latest release and the id "<ocid>-<that date>".


def _merge(earlier: Any, later: Any) -> Any:
    if isinstance(earlier, dict) and isinstance(later, dict):
        merged = dict(earlier)
        for key, value in later.items():
            merged[key] = _merge(earlier[key], value) if key in earlier else value
        return merged
    if (
        isinstance(earlier, list)
        and isinstance(later, list)
        and all(isinstance(item, dict) and "id" in item for item in [*earlier, *later])
    ):
        merged_items = {item["id"]: item for item in earlier}
        for item in later:
            merged_items[item["id"]] = (
                _merge(merged_items[item["id"]], item) if item["id"] in merged_items else item
            )
        return list(merged_items.values())
    return later


def compile_releases(found: list[dict[str, Any]]) -> dict[str, Any]:
    compiled: dict[str, Any] = {}
    for release in sorted(found, key=_when):
        body = {k: v for k, v in release.items() if k not in ("id", "tag")}
        compiled = _merge(compiled, body)
    compiled["id"] = f"{compiled['ocid']}-{compiled['date']}"
    compiled["tag"] = ["compiled"]
    return compiled
