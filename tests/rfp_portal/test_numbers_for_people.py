"""Numbers for people (issue 15, point 3): amounts, counts and file sizes are grouped and use the
decimal mark of the reader's language, in Python-made messages as on pages.

English groups with commas ("969,999", "10,000.50"); Spanish, as Django's Spanish formats and
the RAE recommend, with a no-break space ("969 999", "10 000,50") and a decimal comma.
"""

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from proposals import budget, pdf_check
from proposals.forms import field_name
from proposals.models import Feature, Proposal, ProposalElement
from rfp_portal import formatting
from tests.helpers.proposals import form_data
from tests.pdfs import make_pdf

NBSP = "\xa0"
MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def _language_reset():
    """A Spanish request leaves Spanish active in the thread (LocaleMiddleware activates it for
    the request and nothing deactivates it): later tests must not inherit it."""
    yield
    translation.deactivate()


@pytest.mark.parametrize(
    ("language", "whole", "cents", "small"),
    [
        ("en", "USD 969,999", "USD 10,000.50", "USD 7,500"),
        ("es", f"USD 969{NBSP}999", f"USD 10{NBSP}000,50", f"USD 7{NBSP}500"),
    ],
)
def test_money_is_grouped_by_the_readers_language(language, whole, cents, small):
    with translation.override(language):
        assert formatting.money(Decimal("969999"), "USD") == whole
        assert formatting.money(Decimal("10000.50"), "USD") == cents
        assert formatting.money(Decimal("7500.00"), "USD") == small
        assert formatting.money(None, "USD") == ""


@pytest.mark.parametrize(
    ("language", "count", "amount"),
    [("en", "1,234,567", "1,234.50"), ("es", f"1{NBSP}234{NBSP}567", f"1{NBSP}234,50")],
)
def test_plain_numbers_are_grouped_by_the_readers_language(language, count, amount):
    with translation.override(language):
        assert formatting.number(1234567) == count
        assert formatting.number(Decimal("1234.5"), 2) == amount
        assert formatting.number(12) == "12"


@pytest.mark.parametrize(
    ("language", "mb", "kb", "small"),
    [("en", "20.0 MB", "49 KB", "512 bytes"), ("es", "20,0 MB", "49 KB", "512 bytes")],
)
def test_file_sizes_use_the_readers_decimal_mark(language, mb, kb, small):
    with translation.override(language):
        assert formatting.file_size(20 * MIB) == mb
        assert formatting.file_size(49 * 1024) == kb
        assert formatting.file_size(512) == small
        assert pdf_check.human_size(20 * MIB) == mb
    with translation.override("en"):
        assert formatting.file_size(1) == "1 byte"
        assert formatting.file_size(int(1.5 * MIB)) == "1.5 MB"


class F:
    def __init__(self, id, budget_, cap):
        self.id, self.name, self.budget, self.cap = id, f"F{id}", Decimal(budget_), Decimal(cap)


@pytest.mark.parametrize(
    ("language", "over", "cents"),
    [("en", "969,999", "1,000.50"), ("es", f"969{NBSP}999", f"1{NBSP}000,50")],
)
def test_budget_messages_write_amounts_in_the_readers_language(language, over, cents):
    features = [F(1, 20000, 30000)]
    over_cap = budget.check_budget(features, {1: Decimal(999999)}, total_cap=Decimal(30000))
    over_budget = budget.check_budget(features, {1: Decimal("21000.50")}, total_cap=None)
    with translation.override(language):
        assert over in over_cap.features[0].explanation
        assert over in over_cap.total_explanation
        assert cents in over_budget.features[0].explanation


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8000,50", Decimal("8000.50")),  # a decimal comma, as Spanish writes it
        ("8,000", Decimal("8000.00")),  # a comma before three digits groups thousands
        (f"10{NBSP}000", Decimal("10000.00")),  # copied from a Spanish page
        (f"10{NBSP}000,5", Decimal("10000.50")),
        ("10 000", Decimal("10000.00")),
    ],
)
def test_amounts_typed_as_the_page_writes_them_are_read_back(text, value):
    assert budget.parse_amount(text) == value


# --- Pages, in English and in Spanish ---------------------------------------------------------


def client_in(language: str, user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    return client


@pytest.fixture
def draft(proposer, open_rfp):
    client = client_in("en", proposer)
    client.post(reverse("proposal_start", args=[open_rfp.slug]), {"title": "Ours"})
    return Proposal.objects.get(owner=proposer)


@pytest.mark.parametrize(
    ("language", "words", "grouped", "wrong"),
    [
        ("en", "Over the cap by", "969,999", f"969{NBSP}999"),
        ("es", "Supera el tope en", f"969{NBSP}999", "969,999"),
    ],
)
def test_the_over_cap_message_of_the_budget_check_is_localised(
    draft, proposer, language, words, grouped, wrong
):
    element = draft.rfp.elements.get(kind=ProposalElement.Kind.PER_FEATURE_AMOUNT)
    feature = Feature.objects.filter(milestone__rfp=draft.rfp).order_by("pk").first()
    requested = feature.cap + 969999
    data = form_data(draft, **{field_name(element, feature): str(requested)})
    client = client_in(language, proposer)
    response = client.post(reverse("proposal_budget", args=[draft.pk]), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert f"{words} {grouped}" in body
    assert wrong not in body


@pytest.mark.parametrize(
    ("language", "limit", "wrong"), [("en", "1.5 MB", "1,5 MB"), ("es", "1,5 MB", "1.5 MB")]
)
def test_the_file_size_limit_is_written_in_the_readers_language(
    draft, proposer, settings, language, limit, wrong
):
    settings.MAX_PDF_BYTES = int(1.5 * MIB)
    client = client_in(language, proposer)
    page = client.get(reverse("proposal_edit", args=[draft.pk])).content.decode()
    assert limit in page and wrong not in page

    big = SimpleUploadedFile("big.pdf", make_pdf(1, padding=2 * MIB), "application/pdf")
    response = client.post(
        reverse("proposal_edit", args=[draft.pk]), {**form_data(draft), "document": big}
    )
    assert response.status_code == 400
    refused = response.content.decode()
    assert limit in refused and wrong not in refused
