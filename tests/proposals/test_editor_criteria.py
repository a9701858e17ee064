"""The editor's steps "What a proposal contains" and "Criteria" (proposals.views.editor_parts),
as staff's browser posts them without JavaScript: the PSF's Q4 2019 elements and criteria typed
in give exactly what its import gives; every wrong input answers 400, says what is wrong next to
its field and in the summary, and changes nothing; Move up / Move down / Remove and Update the
scale redraw the rows without saving; a published RFP is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from proposals import editor
from proposals.editor import CriterionItem, ElementItem
from proposals.models import RFP
from tests.factories import RFPFactory
from tests.helpers.rfp_fields import import_q4_as_draft, q4_data, q4_shift, rfp_fields

pytestmark = pytest.mark.django_db

NOT_SAVED_ORDER = "Not saved yet: press Save to keep this order."


@pytest.fixture
def draft() -> RFP:
    return RFPFactory(status=RFP.Status.DRAFT, published_at=None)


def _url(rfp: RFP, step: str) -> str:
    return reverse(f"staff_rfp_edit_{step}", args=[rfp.slug])


def _rows_data(prefix: str, rows: list[dict[str, Any]], **extra: str) -> dict[str, Any]:
    """A step's form as the browser posts it: the management form, then each row's fields."""
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "200",
        **extra,
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            if value is not None:
                data[f"{prefix}-{index}-{name}"] = value
    return data


def _element_row(key="team", kind="text", label="The team", help="", required=True) -> dict:
    return {"key": key, "kind": kind, "label": label, "help": help, "required": required or None}


def _blank_element() -> dict:
    # An empty row as drawn: its kind and Required keep their initial values.
    return _element_row(key="", label="")


def _meanings(scale=(0, 5), **texts: str) -> dict[str, str]:
    defaults = editor.default_anchors()
    return {
        f"anchor_{score}": texts.get(f"m{score}", defaults.get(str(score), f"Meaning {score}"))
        for score in range(scale[0], scale[1] + 1)
    }


def _criterion_row(
    key="experience",
    kind="scored",
    name="Experience",
    weight="1",
    questions=("Relevant experience?",),
    scale=(0, 5),
    **meanings: str,
) -> dict:
    return {
        "key": key,
        "kind": kind,
        "name": name,
        "weight": weight,
        "questions": [*questions, ""],
        "scale_min": str(scale[0]),
        "scale_max": str(scale[1]),
        **_meanings(scale, **meanings),
    }


def _blank_criterion() -> dict:
    return _criterion_row(key="", name="", questions=())


def _q4_element_rows() -> list[dict]:
    return [
        _element_row(e["key"], e["kind"], e["label"], e.get("help", ""), e.get("required", True))
        for e in q4_data()["elements"]
    ]


def _q4_criterion_rows() -> list[dict]:
    return [
        _criterion_row(
            c["key"],
            c["kind"],
            c["name"],
            str(c["weight"]) if c["kind"] == "scored" else "",
            c["questions"],
        )
        for c in q4_data()["criteria"]
    ]


def _existing(rfp: RFP) -> dict[str, Any]:
    fields = rfp_fields(rfp)
    return {"elements": fields["elements"], "criteria": fields["criteria"]}


def _keys_in_page(content: str, prefix: str) -> list[str]:
    return re.findall(rf'name="{prefix}-\d+-key"[^>]*value="([^"]*)"', content)


@pytest.fixture
def filled(draft) -> RFP:
    """A draft with two elements and two criteria already saved."""
    editor.replace_elements(
        draft, [ElementItem("team", "text", "The team"), ElementItem("doc", "pdf", "Document")]
    )
    editor.replace_criteria(
        draft,
        [
            CriterionItem("complete", "gate", "Complete", questions=["All there?"]),
            CriterionItem("cost", "scored", "Cost", weight=1, anchors=editor.default_anchors()),
        ],
    )
    return draft


# --- The PSF's Q4 2019 RFP, typed in --------------------------------------------------------


def test_the_q4_elements_and_criteria_typed_in_equal_their_import(staff_client, draft):
    rows = [*_q4_element_rows(), _blank_element(), _blank_element()]
    response = staff_client.post(
        _url(draft, "elements"), _rows_data("elements", rows, save_next="1")
    )
    assert response.status_code == 302
    assert response["Location"] == _url(draft, "criteria")

    rows = [*_q4_criterion_rows(), _blank_criterion()]
    response = staff_client.post(
        _url(draft, "criteria"), _rows_data("criteria", rows, save_next="1")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("staff_rfp_preview", args=[draft.slug])

    imported = import_q4_as_draft(slug="q4-imported", shift=q4_shift())
    written, expected = rfp_fields(draft), rfp_fields(imported)
    assert len(written["elements"]) == 7 and len(written["criteria"]) == 6
    assert written["elements"] == expected["elements"]
    assert written["criteria"] == expected["criteria"]
    gates = [c for c in written["criteria"] if c["kind"] == "gate"]
    assert len(gates) == 3 and all(c["anchors"] == {} and c["weight"] is None for c in gates)


def test_save_stays_on_the_step_and_the_page_shows_what_is_stored(staff_client, filled):
    response = staff_client.post(
        _url(filled, "elements"),
        _rows_data("elements", [_element_row(), _element_row("doc", "pdf", "Doc")], save="1"),
    )
    assert response.status_code == 302 and response["Location"] == _url(filled, "elements")
    page = staff_client.get(_url(filled, "elements")).content.decode()
    assert _keys_in_page(page, "elements")[:2] == ["team", "doc"]
    page = staff_client.get(_url(filled, "criteria")).content.decode()
    assert _keys_in_page(page, "criteria")[:2] == ["complete", "cost"]
    assert 'value="All there?"' in page


def test_a_new_scored_criterion_starts_with_the_default_meanings(staff_client, draft):
    page = staff_client.get(_url(draft, "criteria")).content.decode()
    for score, text in editor.default_anchors().items():
        assert f'id="id_criteria-0-anchor_{score}"' in page
        assert f'value="{text}"' in page
    assert "Meaning of 5" in page and "What each score means" in page
    assert 'data-empty-row="criteria"' in page and "Add a criterion" in page


def test_a_gate_has_no_weight_scale_or_meanings_whatever_the_hidden_inputs_say(staff_client, draft):
    gate = _criterion_row("complete", "gate", "Complete", weight="", scale=(3, 1))
    gate.update(anchor_0="", anchor_2="")
    response = staff_client.post(_url(draft, "criteria"), _rows_data("criteria", [gate]))
    assert response.status_code == 302
    stored = draft.criteria.get()
    assert (stored.weight, stored.anchors, stored.scale_min, stored.scale_max) == (None, {}, 0, 5)


def test_a_scored_criterion_on_another_scale_keeps_a_meaning_per_score(staff_client, draft):
    row = _criterion_row(scale=(1, 3), m1="Weak", m2="Fair", m3="Strong", weight="2.5")
    response = staff_client.post(_url(draft, "criteria"), _rows_data("criteria", [row]))
    assert response.status_code == 302
    stored = draft.criteria.get()
    assert stored.anchors == {"1": "Weak", "2": "Fair", "3": "Strong"}
    assert (stored.scale_min, stored.scale_max, str(stored.weight)) == (1, 3, "2.50")


# --- Wrong inputs: 400, said next to the field and in the summary, nothing changed ----------


def _assert_refused(response, message: str, target: str, rfp: RFP, before) -> str:
    content = response.content.decode()
    assert response.status_code == 400, content
    assert "Please correct the following" in content and "Nothing was saved." in content
    assert message in content
    assert f'href="#{target}"' in content
    assert _existing(rfp) == before
    return content


@pytest.mark.parametrize(
    "rows, message, target",
    [
        (
            [_element_row(), _element_row("team", label="Again")],
            "Another element has this key already: choose another.",
            "id_elements-1-key",
        ),
        (
            [_element_row("the team")],
            "Enter a valid “slug” consisting of letters, numbers, underscores or hyphens.",
            "id_elements-0-key",
        ),
        ([_element_row(label="")], "This field is required.", "id_elements-0-label"),
        (
            [_element_row("a", "pdf"), _element_row("b", "pdf")],
            "A proposal has one PDF document: another element is the PDF already.",
            "id_elements-1-kind",
        ),
    ],
    ids=["duplicate-key", "invalid-key", "missing-label", "two-pdfs"],
)
def test_a_wrong_element_is_refused_and_nothing_changes(
    staff_client, filled, rows, message, target
):
    before = _existing(filled)
    response = staff_client.post(_url(filled, "elements"), _rows_data("elements", rows))
    _assert_refused(response, message, target, filled, before)


def test_more_than_forty_elements_are_refused(staff_client, filled):
    before = _existing(filled)
    rows = [_element_row(f"e{n}", label=f"Element {n}") for n in range(41)]
    response = staff_client.post(_url(filled, "elements"), _rows_data("elements", rows))
    assert response.status_code == 400
    assert "At most 40 proposal elements; remove some." in response.content.decode()
    assert _existing(filled) == before


def test_empty_extra_rows_are_left_out(staff_client, draft):
    rows = [_blank_element(), _element_row(), _blank_element()]
    response = staff_client.post(_url(draft, "elements"), _rows_data("elements", rows))
    assert response.status_code == 302
    assert list(draft.elements.values_list("key", flat=True)) == ["team"]


def test_a_gate_keeps_no_weight_typed_for_it(staff_client, draft):
    # Without JavaScript a new row's weight of 1 is still there when "gate" is chosen.
    rows = [_criterion_row("complete", "gate", "Complete", weight="1")]
    response = staff_client.post(_url(draft, "criteria"), _rows_data("criteria", rows))
    assert response.status_code == 302
    gate = draft.criteria.get()
    assert (gate.kind, gate.weight, gate.anchors) == ("gate", None, {})


WEIGHT_NEEDED = "Weight: a scored criterion needs a weight above zero."


@pytest.mark.parametrize(
    "rows, message, target",
    [
        (
            [_criterion_row(), _criterion_row(name="Again")],
            "Another criterion has this key already: choose another.",
            "id_criteria-1-key",
        ),
        ([_criterion_row(weight="0")], WEIGHT_NEEDED, "id_criteria-0-weight"),
        ([_criterion_row(weight="")], WEIGHT_NEEDED, "id_criteria-0-weight"),
        (
            [_criterion_row(scale=(3, 3))],
            "Highest score: it must be above the lowest score.",
            "id_criteria-0-scale_max",
        ),
        (
            [_criterion_row(scale=(0, 11))],
            "Ensure this value is less than or equal to 10.",
            "id_criteria-0-scale_max",
        ),
        ([_criterion_row(m3="")], "Say what a score of 3 means.", "id_criteria-0-anchor_3"),
        (
            [_criterion_row(questions=("Fine?", "x" * 501))],
            "Item 2 has 501 characters; at most 500 are allowed.",
            "id_criteria-0-questions_0",
        ),
        ([_criterion_row(name="")], "This field is required.", "id_criteria-0-name"),
    ],
    ids=[
        "duplicate-key",
        "weight-zero",
        "scored-without-weight",
        "scale-not-ordered",
        "scale-too-high",
        "missing-meaning",
        "question-too-long",
        "missing-name",
    ],
)
def test_a_wrong_criterion_is_refused_and_nothing_changes(
    staff_client, filled, rows, message, target
):
    before = _existing(filled)
    response = staff_client.post(_url(filled, "criteria"), _rows_data("criteria", rows))
    _assert_refused(response, message, target, filled, before)


def test_the_summary_names_the_row_and_the_field(staff_client, filled):
    rows = [_criterion_row(), _criterion_row("cost", name="Cost", m3="")]
    response = staff_client.post(_url(filled, "criteria"), _rows_data("criteria", rows))
    content = response.content.decode()
    assert response.status_code == 400
    link = '<a href="#id_criteria-1-anchor_3">Criterion 2, Meaning of 3: Say what a score of 3'
    assert link + " means.</a>" in content
    assert 'aria-invalid="true"' in content


def test_a_new_scale_saved_without_javascript_asks_for_its_meanings(staff_client, filled):
    before = _existing(filled)
    # The scale went from 0-5 to 0-7; the browser had inputs for 0-5 only.
    row = _criterion_row(scale=(0, 5))
    row["scale_max"] = "7"
    response = staff_client.post(_url(filled, "criteria"), _rows_data("criteria", [row]))
    content = _assert_refused(
        response, "Say what a score of 6 means.", "id_criteria-0-anchor_6", filled, before
    )
    assert "Say what a score of 7 means." in content
    assert 'id="id_criteria-0-anchor_7"' in content and "Meaning of 7" in content
    assert "Say what a score of 5 means." not in content


def test_update_the_scale_redraws_the_meanings_without_saving(staff_client, filled):
    before = _existing(filled)
    row = _criterion_row(scale=(0, 5), m2="Typed meaning")
    row["scale_min"], row["scale_max"] = "1", "7"
    response = staff_client.post(
        _url(filled, "criteria"), _rows_data("criteria", [row], rescale="0")
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "Not saved yet: the meanings of the new scale are shown" in content
    assert 'id="id_criteria-0-anchor_7"' in content
    assert 'id="id_criteria-0-anchor_0"' not in content
    assert 'value="Typed meaning"' in content
    assert "Please correct the following" not in content
    assert _existing(filled) == before


# --- Reordering and removing: redrawn, not saved --------------------------------------------


@pytest.mark.parametrize(
    "step, prefix, rows",
    [
        (
            "elements",
            "elements",
            [_element_row("a", label="A"), _element_row("b", label="B"), _blank_element()],
        ),
        (
            "criteria",
            "criteria",
            [_criterion_row("a", name="A"), _criterion_row("b", name="B"), _blank_criterion()],
        ),
    ],
)
def test_move_up_and_down_redraw_the_rows_without_saving(staff_client, filled, step, prefix, rows):
    before = _existing(filled)
    response = staff_client.post(_url(filled, step), _rows_data(prefix, rows, move="up-1"))
    content = response.content.decode()
    assert response.status_code == 200
    assert NOT_SAVED_ORDER in content
    assert _keys_in_page(content, prefix)[:2] == ["b", "a"]
    assert "Please correct the following" not in content

    response = staff_client.post(_url(filled, step), _rows_data(prefix, rows, move="down-0"))
    assert _keys_in_page(response.content.decode(), prefix)[:2] == ["b", "a"]
    # Moving the first row up changes nothing.
    response = staff_client.post(_url(filled, step), _rows_data(prefix, rows, move="up-0"))
    assert _keys_in_page(response.content.decode(), prefix)[:2] == ["a", "b"]
    response = staff_client.post(_url(filled, step), _rows_data(prefix, rows, remove="0"))
    content = response.content.decode()
    assert response.status_code == 200
    assert _keys_in_page(content, prefix)[0] == "b"
    assert 'value="a"' not in content
    assert _existing(filled) == before


def test_a_moved_row_keeps_what_was_typed_even_when_wrong(staff_client, filled):
    rows = [_criterion_row("a", name="A"), _criterion_row("b", name="", weight="0", m4="")]
    response = staff_client.post(
        _url(filled, "criteria"), _rows_data("criteria", rows, move="up-1")
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert _keys_in_page(content, "criteria")[:2] == ["b", "a"]
    assert 'name="criteria-0-weight" value="0"' in content


# --- Refused --------------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["elements", "criteria"])
def test_a_published_rfp_is_refused(staff_client, step):
    rfp = RFPFactory()
    response = staff_client.get(_url(rfp, step))
    assert response.status_code == 200
    assert "This RFP is published" in response.content.decode()
    data = (
        _rows_data("elements", [_element_row("new")])
        if step == "elements"
        else _rows_data("criteria", [_criterion_row("new")])
    )
    response = staff_client.post(_url(rfp, step), data)
    assert response.status_code == 400
    assert not rfp.elements.exists() and not rfp.criteria.exists()
    # The refusal page offers no form.
    assert "-TOTAL_FORMS" not in response.content.decode()


def test_people_who_are_not_staff_get_no_editor(client, proposer, draft):
    client.force_login(proposer)
    assert client.get(_url(draft, "criteria")).status_code == 403
