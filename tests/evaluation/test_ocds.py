"""Issue 18, point 4: open contracting data. Each published RFP is a tender release, an
opening release once opened (the number of tenderers only) and an award release once the
decisions are published, in OCDS 1.1 JSON valid against the standard's own schemas (kept in
tests/data/ocds, resolved offline); nothing sealed before opening and no reviewer ever."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from evaluation import decisions, ocds
from evaluation.models import DecisionRelease
from evaluation.views import ocds as ocds_views
from proposals import addenda, demo
from proposals import services as rfp_services
from proposals.models import RFP, Feature
from tests.helpers.proposals import open_now
from tests.helpers.reviews import assessments, declare_no_conflict, save_review

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "ocds"


@cache
def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text())
        resources.append((contents["id"], Resource.from_contents(contents, DRAFT4)))
    return Registry().with_resources(resources)


def validate(data: dict, schema_file: str) -> None:
    """Raise on the first error against the named OCDS 1.1 schema (every $ref resolved to
    the local copies: an unknown one raises, nothing is fetched)."""
    schema = json.loads((SCHEMAS / schema_file).read_text())
    validator = Draft4Validator(
        schema, registry=_registry(), format_checker=Draft4Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    )


def get_json(client, url: str) -> tuple[dict, str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response["Content-Type"] == "application/json"
    assert "public" in response["Cache-Control"] and response["ETag"]
    text = response.content.decode()
    return json.loads(text), text


def package_url(rfp) -> str:
    return reverse("ocds_release_package", args=[rfp.slug])


def record_url(rfp) -> str:
    return reverse("ocds_record_package", args=[rfp.slug])


def all_outputs(client, rfp) -> str:
    """Every OCDS output about the RFP, each validated, as one text to search."""
    package, package_text = get_json(client, package_url(rfp))
    validate(package, "release-package-schema.json")
    for release in package["releases"]:
        validate(release, "release-schema.json")
    record, record_text = get_json(client, record_url(rfp))
    validate(record, "record-package-schema.json")
    validate(record["records"][0]["compiledRelease"], "release-schema.json")
    listing, listing_text = get_json(client, reverse("ocds_releases"))
    validate(listing, "release-package-schema.json")
    return package_text + record_text + listing_text


def keys_of(data) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in keys_of(v)}
    if isinstance(data, list):
        return {k for v in data for k in keys_of(v)}
    return set()


def test_the_schemas_are_the_standards_and_validation_can_fail(open_rfp):
    release = ocds.tender_release(open_rfp)
    validate(release, "release-schema.json")
    broken = {**release, "tag": ["tendered"], "date": "yesterday"}
    with pytest.raises(AssertionError) as failed:
        validate(broken, "release-schema.json")
    assert "tag/0" in str(failed.value) and "date" in str(failed.value)
    package = ocds.release_package([release], uri="https://example.org/p.json")
    validate(package, "release-package-schema.json")
    with pytest.raises(AssertionError):
        validate({**package, "releases": [{**release, "initiationType": None}]},
                 "release-package-schema.json")  # fmt: skip


def test_the_tender_release_is_the_published_rfp_and_nothing_from_its_proposals(
    client, evaluation_setup
):
    rfp = evaluation_setup["rfp"]
    package, text = get_json(client, package_url(rfp))
    validate(package, "release-package-schema.json")
    (release,) = package["releases"]
    validate(release, "release-schema.json")

    prefix = ocds.DEFAULT_OCID_PREFIX
    assert release["ocid"] == f"{prefix}{rfp.slug}"
    assert release["id"] == f"{prefix}{rfp.slug}-tender-1" and release["tag"] == ["tender"]
    assert release["date"] == ocds.instant(rfp.published_at)
    tender = release["tender"]
    features = list(Feature.objects.filter(milestone__rfp=rfp))
    total_budget = sum(f.budget for f in features)
    limit = rfp.total_cap if rfp.total_cap is not None else total_budget
    assert tender["title"] == rfp.title and tender["description"].startswith(rfp.summary)
    assert "#" not in tender["description"]  # plain text, not the Markdown source
    assert (tender["status"], tender["procurementMethod"]) == ("active", "open")
    assert tender["mainProcurementCategory"] == "services"
    assert tender["value"] == {"amount": ocds.amount(limit), "currency": rfp.currency}
    assert tender["tenderPeriod"]["endDate"] == ocds.instant(rfp.deadline_instant)
    assert tender["tenderPeriod"]["endDate"].endswith("Z")
    assert {item["id"] for item in tender["items"]} == {str(f.pk) for f in features}
    first = next(i for i in tender["items"] if i["id"] == str(features[0].pk))
    assert first["unit"]["value"]["amount"] == ocds.amount(features[0].budget)
    assert f"cap {features[0].cap:.2f} {rfp.currency}" in first["description"]
    assert tender["documents"][0]["url"].endswith(rfp.get_absolute_url())
    buyer_name = rfp.issuer or rfp.funder
    assert release["buyer"]["name"] == buyer_name
    assert "buyer" in next(p for p in release["parties"] if p["name"] == buyer_name)["roles"]

    # Sealed: no count, no tenderer, no award, no trace of the two submitted proposals.
    everything = text + all_outputs(client, rfp)
    for secret in ("numberOfTenderers", "awards", "tenderers", "suppliers"):
        assert secret not in everything
    for secret in ("Alpha proposal", "Beta proposal", "alpha@", "beta@", '"Alpha"', '"Beta"'):
        assert secret not in everything


def test_after_opening_only_the_number_of_tenderers(client, evaluation_setup):
    rfp = evaluation_setup["rfp"]
    open_now(rfp)
    text = all_outputs(client, rfp)
    package, _text = get_json(client, package_url(rfp))
    tender, opening = package["releases"]
    assert opening["id"].endswith("-opening") and opening["tag"] == ["tenderUpdate"]
    assert opening["date"] == ocds.instant(rfp.opened_at)
    assert opening["tender"] == {"id": tender["tender"]["id"], "numberOfTenderers": 2}
    record, _text = get_json(client, record_url(rfp))
    compiled = record["records"][0]["compiledRelease"]
    assert compiled["tender"]["numberOfTenderers"] == 2
    assert compiled["tender"]["title"] == rfp.title and compiled["tag"] == ["compiled"]
    for secret in ("Alpha proposal", "Beta proposal", "alpha@", "beta@", "awards", "suppliers"):
        assert secret not in text


def test_published_decisions_are_award_releases_without_any_reviewer(
    client, evaluation_setup, staff
):
    rfp, alpha, beta = (evaluation_setup[k] for k in ("rfp", "alpha", "beta"))
    reviewers = evaluation_setup["reviewers"]
    open_now(rfp)
    for proposal in (alpha, beta):
        for reviewer in reviewers:
            assignment = evaluation_setup["assign"](proposal, reviewer, staff)
            declare_no_conflict(assignment, reviewer)
            save_review(
                assignment,
                reviewer,
                assessments(rfp, 4, comment=lambda c, r=reviewer: f"Crit-note {r.pk} Zq"),
                submit=True,
                comment=f"Overall note by {reviewer.email}",
            )
    features = list(
        Feature.objects.filter(milestone__rfp=rfp).order_by("milestone__position", "position")
    )
    awards = {features[0].pk: features[0].budget, features[-1].pk: Decimal("1234.50")}
    now = timezone.now()
    decisions.record_decision(
        proposal=alpha,
        staff_user=staff,
        outcome="selected",
        rationale="Rationale-Alpha-Secret: strongest plan.",
        awards=awards,
        confirm_over_cap=True,
        now=now,
    )
    decisions.record_decision(
        proposal=beta,
        staff_user=staff,
        outcome="not_selected",
        rationale="Rationale-Beta-Secret.",
        awards={},
        confirm_over_cap=False,
        now=now,
    )
    # Recorded but not published: still no award.
    assert "awards" not in all_outputs(client, rfp)
    # open_now opened it at its deadline (in the future): published a day after that.
    decisions.publish_decisions(rfp=rfp, staff_user=staff, now=rfp.opened_at + timedelta(days=1))

    text = all_outputs(client, rfp)
    package, _text = get_json(client, package_url(rfp))
    award_release = package["releases"][-1]
    assert award_release["id"].endswith("-award")
    assert award_release["tag"] == ["award", "tenderUpdate"]
    published_at = DecisionRelease.objects.get(rfp=rfp).published_at
    assert award_release["date"] == ocds.instant(published_at)
    assert award_release["tender"]["status"] == "complete"
    (award,) = award_release["awards"]
    assert award["status"] == "active" and award["date"] == ocds.instant(published_at)
    assert award["value"] == {
        "amount": ocds.amount(features[0].budget + Decimal("1234.50")),
        "currency": rfp.currency,
    }
    assert [(i["id"], i["unit"]["value"]["amount"]) for i in award["items"]] == [
        (str(features[0].pk), ocds.amount(features[0].budget)),
        (str(features[-1].pk), 1234.5),
    ]
    (supplier,) = award["suppliers"]
    assert supplier["name"] == "Alpha"  # the selected team's organisation
    assert {"id": supplier["id"], "name": "Alpha", "roles": ["supplier"]} in award_release[
        "parties"
    ]
    record, _text = get_json(client, record_url(rfp))
    compiled = record["records"][0]["compiledRelease"]
    assert compiled["tender"]["numberOfTenderers"] == 2
    assert compiled["tender"]["status"] == "complete"
    assert [p["roles"] for p in compiled["parties"]][-1] == ["supplier"]
    assert compiled["awards"] == award_release["awards"]

    # Never a reviewer (e-mail, name, organisation), a score, a comment, a rationale, a
    # proposal's title, or the team that was not selected.
    forbidden = ["Crit-note", "Overall note", "Rationale-Alpha", "Rationale-Beta"]
    forbidden += ["Alpha proposal", "Beta proposal", "alpha@", "beta@", '"Beta"', staff.email]
    for reviewer in reviewers:
        forbidden += [reviewer.email, reviewer.full_name, reviewer.organisation]
    shown = [secret for secret in forbidden if secret in text]
    assert not shown
    for package_data in (package, record):
        keys = {k.lower() for k in keys_of(package_data)}
        assert not [k for k in keys if any(w in k for w in ("score", "review", "calibrat"))]
        assert not [k for k in keys if any(w in k for w in ("lenien", "comment", "tenderers_"))]
        assert "tenderers" not in keys


def test_an_addendum_is_a_new_tender_release_with_the_next_number(client, open_rfp, staff):
    addendum = addenda.publish_addendum(
        rfp=open_rfp,
        changes={"summary": open_rfp.summary + " Now clearer."},
        change_note="The summary is clearer.",
        actor=staff,
        now=timezone.now(),
    )
    open_rfp.refresh_from_db()
    package, _text = get_json(client, package_url(open_rfp))
    validate(package, "release-package-schema.json")
    (release,) = package["releases"]
    base = ocds.ocid(open_rfp)
    assert release["id"] == f"{base}-tender-2" and release["tag"] == ["tenderAmendment"]
    assert release["date"] == ocds.instant(addendum.published_at)
    assert release["tender"]["description"].startswith(open_rfp.summary)
    assert release["tender"]["amendments"] == [
        {
            "id": "1",
            "date": ocds.instant(addendum.published_at),
            "rationale": "The summary is clearer.",
            "amendsReleaseID": f"{base}-tender-1",
            "releaseID": f"{base}-tender-2",
        }
    ]
    # The same state gives the same bytes (stable ids, a stable ETag).
    first = client.get(package_url(open_rfp))
    again = client.get(package_url(open_rfp), headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304


def another_rfp(slug: str, *, publish: bool = True) -> RFP:
    data = tomllib.loads((demo.DEMO_DATA_DIR / "pypi-2019-q4.toml").read_text())
    data.update({"slug": slug, "title": f"RFP {slug}"})
    return rfp_services.load_rfp(data, now=timezone.now(), publish=publish).rfp


def test_drafts_are_not_published_for_anyone(client, staff_client, open_rfp, settings):
    draft = another_rfp("a-draft", publish=False)
    assert draft.status == RFP.Status.DRAFT
    for some_client in (client, staff_client):
        assert some_client.get(package_url(draft)).status_code == 404
        assert some_client.get(record_url(draft)).status_code == 404
    _listing, text = get_json(client, reverse("ocds_releases"))
    assert "a-draft" not in text and ocds.ocid(open_rfp) in text
    # Read only: POST is refused.
    assert client.post(package_url(open_rfp)).status_code == 405

    # The OCID prefix is configurable (a publisher registers its own).
    settings.OCDS_OCID_PREFIX = "ocds-abc123-"
    package, _text = get_json(client, package_url(open_rfp))
    assert package["releases"][0]["ocid"] == f"ocds-abc123-{open_rfp.slug}"


def test_the_list_of_every_release_is_paged(client, open_rfp, monkeypatch):
    second = another_rfp("second-rfp")
    monkeypatch.setattr(ocds_views, "PAGE_SIZE", 1)
    first_page = client.get(reverse("ocds_releases"))
    data = json.loads(first_page.content)
    validate(data, "release-package-schema.json")
    assert [r["ocid"] for r in data["releases"]] == [ocds.ocid(open_rfp)]
    assert 'rel="next"' in first_page["Link"] and "?page=2" in first_page["Link"]
    second_page = client.get(reverse("ocds_releases") + "?page=2")
    assert [r["ocid"] for r in json.loads(second_page.content)["releases"]] == [ocds.ocid(second)]
    assert 'rel="prev"' in second_page["Link"]
    assert client.get(reverse("ocds_releases") + "?page=3").status_code == 404
    assert client.get(reverse("ocds_releases") + "?page=x").status_code == 404


def test_the_rfp_page_links_its_open_contracting_data(client, open_rfp):
    page = client.get(open_rfp.get_absolute_url()).content.decode()
    assert f'href="{package_url(open_rfp)}"' in page
    assert "Open contracting data (.ocds.json)" in page


def test_compiling_merges_objects_and_arrays_of_objects_by_id():
    first = {
        "ocid": "o",
        "id": "o-1",
        "date": "2026-01-01T00:00:00Z",
        "tag": ["tender"],
        "initiationType": "tender",
        "parties": [{"id": "b", "name": "Buyer", "roles": ["buyer"]}],
        "tender": {"id": "t", "title": "T", "items": [{"id": "1", "quantity": 1}]},
    }
    later = {
        "ocid": "o",
        "id": "o-2",
        "date": "2026-02-01T00:00:00Z",
        "tag": ["award"],
        "initiationType": "tender",
        "parties": [
            {"id": "s", "name": "Supplier", "roles": ["supplier"]},
            {"id": "b", "roles": ["buyer", "funder"]},
        ],
        "tender": {"id": "t", "status": "complete"},
    }
    compiled = ocds.compile_releases([later, first])
    assert compiled["id"] == "o-2026-02-01T00:00:00Z" and compiled["tag"] == ["compiled"]
    assert compiled["date"] == "2026-02-01T00:00:00Z"
    assert compiled["tender"] == {
        "id": "t",
        "title": "T",
        "items": [{"id": "1", "quantity": 1}],
        "status": "complete",
    }
    assert compiled["parties"] == [
        {"id": "b", "name": "Buyer", "roles": ["buyer", "funder"]},
        {"id": "s", "name": "Supplier", "roles": ["supplier"]},
    ]
