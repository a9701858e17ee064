"""Rules for uploaded PDFs (by content) and for the budget check."""

import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proposals import budget, pdf_check
from tests.pdfs import encrypted_pdf, make_pdf, truncated_pdf

LIMIT = 5 * 1024 * 1024


def inspect(data: bytes, limit: int = LIMIT):
    return pdf_check.inspect_pdf(io.BytesIO(data), max_bytes=limit)


def test_valid_pdf_gives_pages_size_and_digest():
    data = make_pdf(3)
    info = inspect(data)
    assert info.pages == 3 and info.size == len(data)
    import hashlib

    assert info.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"PK\x03\x04 this is a zip renamed to .pdf", "not a PDF"),
        (b"<!doctype html><html><body>hi</body></html>", "not a PDF"),
        (truncated_pdf(), "incomplete"),
        (encrypted_pdf(), "password"),
        (b"%PDF-1.7\n garbage that is no pdf at all\n%%EOF\n", "damaged"),
    ],
    ids=["empty", "zip-renamed", "html", "truncated", "encrypted", "malformed"],
)
def test_bad_files_are_refused_with_a_clear_reason(data, reason):
    with pytest.raises(pdf_check.PDFRejected, match=reason):
        inspect(data)


def test_one_byte_over_the_limit_is_refused_and_at_the_limit_accepted():
    data = make_pdf(1)
    assert inspect(data, limit=len(data)).size == len(data)
    with pytest.raises(pdf_check.PDFRejected, match="largest PDF accepted"):
        inspect(data, limit=len(data) - 1)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, budget.Standing.NOT_REQUESTED),
        (Decimal("0"), budget.Standing.NOT_REQUESTED),
        (Decimal("8000"), budget.Standing.WITHIN_BUDGET),
        (Decimal("8000.01"), budget.Standing.OVER_BUDGET_WITHIN_CAP),
        (Decimal("10000"), budget.Standing.OVER_BUDGET_WITHIN_CAP),
        (Decimal("10000.01"), budget.Standing.OVER_CAP),
    ],
)
def test_standing_against_budget_8000_and_cap_10000(requested, expected):
    assert budget.standing(requested, Decimal(8000), Decimal(10000)) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [("8000", Decimal("8000.00")), (" 8,000.50 ", Decimal("8000.50")), ("", None), (None, None)],
)
def test_amounts_are_parsed_as_typed(text, value):
    assert budget.parse_amount(text) == value


@pytest.mark.parametrize("text", ["eight thousand", "-5", "1.234", "NaN", "Infinity", "1e12"])
def test_bad_amounts_are_refused_in_words(text):
    with pytest.raises(ValueError):
        budget.parse_amount(text)


class F:
    def __init__(self, id, budget_, cap):
        self.id, self.name, self.budget, self.cap = id, f"F{id}", Decimal(budget_), Decimal(cap)


def test_total_is_checked_against_the_sum_of_budgets_or_the_overall_cap():
    features = [F(1, 8000, 10000), F(2, 5000, 7000)]
    # Without a total cap, over one feature's budget must be made up under budget elsewhere.
    made_up = budget.check_budget(features, {1: Decimal(9500), 2: Decimal(3500)}, total_cap=None)
    assert made_up.total_cap == 13000 and made_up.total_within_cap
    assert made_up.total_explanation == "The total is within the sum of the feature budgets."
    check = budget.check_budget(features, {1: Decimal(10000), 2: Decimal(7000)}, total_cap=None)
    assert check.total_requested == 17000 and check.total_cap == 13000
    assert not check.total_within_cap
    assert "over the sum of the feature budgets by 4,000" in check.total_explanation
    assert budget.total_limit(Decimal(13000), None) == 13000
    assert budget.total_limit(Decimal(13000), Decimal(15000)) == 15000
    tight = budget.check_budget(features, {1: Decimal(10000), 2: Decimal(7000)}, total_cap=15000)
    assert not tight.total_within_cap
    assert "over the overall cap by 2,000" in tight.total_explanation


@given(st.binary(max_size=4096))
def test_random_bytes_are_never_accepted_as_pdf_unless_they_parse(data):
    try:
        info = inspect(data)
    except pdf_check.PDFRejected:
        return
    assert data.find(b"%PDF-") != -1 and info.pages >= 1


class CountingStream(io.BytesIO):
    """A file that remembers how many bytes were read from it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


VALID = make_pdf(2)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(VALID) - 1), st.integers(0, 255)),
        max_size=12,
    ),
    st.integers(min_value=0, max_value=len(VALID)),
)
def test_mutated_pdfs_never_crash_the_validator(flips, cut):
    data = bytearray(VALID[: max(cut, 1)] if cut < len(VALID) else VALID)
    for position, value in flips:
        if position < len(data):
            data[position] = value
    try:
        info = inspect(bytes(data))
    except pdf_check.PDFRejected:
        return
    assert b"%PDF-" in bytes(data)[:1024] and info.pages >= 1


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=512), st.integers(min_value=1, max_value=4096))
def test_a_file_over_the_limit_is_refused_without_reading_its_content(prefix, extra):
    data = prefix + b"\0" * extra
    limit = len(data) - 1
    stream = CountingStream(data)
    with pytest.raises(pdf_check.PDFRejected, match="largest PDF accepted"):
        pdf_check.inspect_pdf(stream, max_bytes=limit)
    assert stream.bytes_read == 0
