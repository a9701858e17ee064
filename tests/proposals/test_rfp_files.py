"""An RFP as a TOML file and back (proposals.rfp_files): the demo files round-trip exactly, and
a bad file is answered with where and what is wrong, creating nothing."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from proposals import demo, rfp_files, services
from proposals.models import RFP, Criterion, Feature, TimelineEntry
from proposals.services import RFPFileError
from rfp_portal.models import AuditEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2019, 1, 1, tzinfo=UTC)
DEMO_FILES = ["pypi-2019-q1.toml", "pypi-2019-q4.toml"]


def demo_bytes(name: str) -> bytes:
    return (demo.DEMO_DATA_DIR / name).read_bytes()


def without_demo(data: dict) -> dict:
    """The `demo` table says how the demo loader presents a file; it is no part of an RFP."""
    return {key: value for key, value in data.items() if key != "demo"}


@pytest.mark.parametrize("name", DEMO_FILES)
def test_a_demo_file_loaded_and_exported_parses_to_the_same_data(name):
    original = tomllib.loads(demo_bytes(name).decode())
    rfp = services.load_rfp(original, now=NOW).rfp

    exported = tomllib.loads(rfp_files.export_rfp(rfp))

    assert exported == without_demo(original)


@pytest.mark.parametrize("name", DEMO_FILES)
def test_export_import_export_is_byte_identical(name):
    rfp = services.load_rfp(tomllib.loads(demo_bytes(name).decode()), now=NOW).rfp
    first = rfp_files.export_rfp(rfp)
    rfp.delete()

    imported = rfp_files.import_rfp(first.encode(), now=NOW)

    assert imported.status == RFP.Status.DRAFT and imported.published_at is None
    assert rfp_files.export_rfp(imported) == first


def test_what_the_demo_format_does_not_show_round_trips_too(open_rfp):
    """A time of day instead of end of day, grace, optional elements, other scales and score
    meanings, month-precision timeline entries, quotes and backslashes in texts."""
    rfp = open_rfp
    rfp.deadline_end_of_day, rfp.deadline_time = False, datetime(2019, 1, 1, 17, 30).time()
    rfp.grace_seconds, rfp.total_cap = 300, None
    rfp.summary = 'A "quoted" summary with a back\\slash and three quotes """ inside."'
    services.save_rfp(rfp=rfp)
    rfp.elements.filter(key="similar_projects").update(required=False)
    rfp.criteria.filter(key="cost").update(
        scale_min=1, scale_max=3, anchors={"1": "Too dear", "2": "Fair", "3": "Cheap"}
    )
    TimelineEntry.objects.create(rfp=rfp, date=rfp.deadline_date, precision="month", label="M")
    first = rfp_files.export_rfp(rfp)
    slug = rfp.slug
    rfp.delete()

    imported = rfp_files.import_rfp(first.encode(), now=NOW)

    assert imported.slug == slug and imported.grace_seconds == 300
    assert imported.deadline_time.strftime("%H:%M") == "17:30" and imported.total_cap is None
    assert imported.summary.startswith('A "quoted"') and imported.summary.endswith('inside."')
    assert not imported.elements.get(key="similar_projects").required
    cost = imported.criteria.get(key="cost")
    assert (cost.scale_min, cost.scale_max, cost.anchors["2"]) == (1, 3, "Fair")
    assert rfp_files.export_rfp(imported) == first


def q4_text() -> str:
    return demo_bytes("pypi-2019-q4.toml").decode()


def replaced(old: str, new: str) -> bytes:
    text = q4_text()
    assert old in text
    return text.replace(old, new, 1).encode()


BAD_FILES = {
    "toml syntax": (
        lambda: replaced('currency = "USD"', "currency = USD"),
        "line 5, column 12: Invalid value.",
    ),
    "not utf-8": (
        lambda: replaced("Q4 2019", "Q4 2019 @").replace(b"@", b"\xff", 1),
        "line 2: the file is not UTF-8 text.",
    ),
    "missing key": (
        lambda: replaced('title = "PyPI', 'titel = "PyPI'),
        "title: missing (it is required).",
    ),
    "wrong type": (
        lambda: replaced("max_revisions = 3", 'max_revisions = "three"'),
        "max_revisions: expected a whole number, found the text 'three'.",
    ),
    "cap below budget": (
        lambda: replaced("budget = 3000\ncap = 5500", "budget = 3500\ncap = 3000"),
        "milestones[2].features[0].cap: 3000 is below the budget 3500.",
    ),
    "unknown criterion kind": (
        lambda: replaced('key = "cost"\nkind = "scored"', 'key = "cost"\nkind = "weighted"'),
        "criteria[4].kind: 'weighted' is not a kind of criterion (gate or scored).",
    ),
    "bad date": (
        lambda: replaced('date = "2019-10-21", zone', 'date = "2019-10-32", zone'),
        "deadline.date: '2019-10-32' is not a date (\"YYYY-MM-DD\").",
    ),
    "unknown zone": (
        lambda: replaced('zone = "AoE"', 'zone = "Mars/Olympus"'),
        "deadline.zone: 'Mars/Olympus' is not a time zone.",
    ),
    "a list of tasks holding a number": (
        lambda: replaced('tasks = ["Documentation"]', "tasks = [1]"),
        "milestones[2].features[0].tasks[0]: expected text, found the number 1.",
    ),
    "element key twice": (
        lambda: replaced('key = "agreement"', 'key = "team"'),
        "elements[1].key: 'team' is used already by elements[0].",
    ),
    "a weight of zero": (
        lambda: replaced('weight = 1\nname = "Cost"', 'weight = 0\nname = "Cost"'),
        "criteria[4].weight: 0 is not above zero.",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_says_where_and_what_and_creates_nothing(case):
    content, message = BAD_FILES[case]
    with pytest.raises(RFPFileError) as raised:
        rfp_files.import_rfp(content(), now=NOW)
    assert str(raised.value) == message
    assert not RFP.objects.exists() and not Feature.objects.exists()
    assert not Criterion.objects.exists() and not AuditEvent.objects.exists()


def test_a_problem_after_the_rfp_row_rolls_everything_back():
    """The last criterion is wrong: the RFP, milestones and elements before it are not kept."""
    content = q4_text() + '\n[[criteria]]\nkey = "late"\nkind = "gate"\nname = 7\n'
    with pytest.raises(RFPFileError, match=r"^criteria\[6\]\.name: expected text"):
        rfp_files.import_rfp(content.encode(), now=NOW)
    assert not RFP.objects.exists() and not AuditEvent.objects.exists()


def test_a_taken_slug_is_refused():
    services.load_rfp(tomllib.loads(q4_text()), now=NOW)
    with pytest.raises(RFPFileError, match="'pypi-2019-q4' exists already"):
        rfp_files.import_rfp(q4_text().encode(), now=NOW)
    assert RFP.objects.count() == 1


def test_a_file_over_the_size_limit_is_refused_unread():
    content = q4_text().encode() + b"#" * rfp_files.MAX_FILE_BYTES
    with pytest.raises(RFPFileError, match="at most 262,144 bytes"):
        rfp_files.import_rfp(content, now=NOW)
    assert not RFP.objects.exists()


def test_import_is_audited_and_makes_a_draft_that_mails_nobody():
    rfp = rfp_files.import_rfp(q4_text().encode(), now=NOW)
    assert rfp.status == RFP.Status.DRAFT
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "rfp.created",
        "rfp.imported",
    }


def test_the_commands_export_and_import_with_the_same_functions(tmp_path):
    rfp = services.load_rfp(tomllib.loads(q4_text()), now=NOW).rfp
    target = tmp_path / "q4.toml"
    call_command("export_rfp", rfp.slug, output=str(target))
    assert target.read_text() == rfp_files.export_rfp(rfp)
    out = StringIO()
    call_command("export_rfp", rfp.slug, stdout=out)
    assert out.getvalue() == rfp_files.export_rfp(rfp)

    rfp.delete()
    call_command("import_rfp", str(target), stdout=StringIO())
    assert RFP.objects.get(slug="pypi-2019-q4").status == RFP.Status.DRAFT
