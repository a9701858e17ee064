"""The Spanish catalogue: complete, in step with the code, compiled, and used by the pages.

These tests need GNU gettext (msgfmt, xgettext, msgmerge). Without it they skip, except with
REQUIRE_SERVICES=1 (CI), where a missing tool is an error.
"""

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from rfp_portal import deadlines
from tests.factories import RFPFactory

ROOT = Path(__file__).resolve().parent.parent
LC_MESSAGES = ROOT / "locale" / "es" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"

# The ignores the catalogue is made with: the virtualenv, collected static files, runtime data,
# tests and benchmarks hold no strings a user of the portal reads.
MAKEMESSAGES_IGNORES = [".venv", "staticfiles", "var", "tests", "bench"]
# Left out of the throwaway copy of the repository: large, generated or irrelevant trees.
COPY_IGNORES = shutil.ignore_patterns(
    ".venv",
    "var",
    "staticfiles",
    ".git",
    "__pycache__",
    "node_modules",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
)


def _gettext_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"GNU gettext's {name} is not installed (apt-get install gettext)"
        if os.environ.get("REQUIRE_SERVICES", "") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    return path


# --------------------------------------------------------------------------------------------
# A small PO reader: enough for the files makemessages writes.
# --------------------------------------------------------------------------------------------

_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$')


def parse_po(text: str) -> list[dict]:
    """Entries as dicts: flags (set), msgctxt, msgid, msgid_plural, msgstr (list of str)."""
    entries: list[dict] = []

    def fresh() -> dict:
        return {"flags": set(), "msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": []}

    entry, field = fresh(), None
    for number, line in enumerate([*text.splitlines(), ""], start=1):
        line = line.strip()
        if not line:
            if entry["msgid"] is not None:
                entries.append(entry)
            entry, field = fresh(), None
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(",") if flag.strip())
        elif line.startswith("#"):
            continue  # references, translator and extracted comments, obsolete entries
        elif match := _KEYWORD.match(line):
            keyword, value = match.group(1), ast.literal_eval(match.group(2))
            if keyword.startswith("msgstr"):
                entry["msgstr"].append(value)
                field = ("msgstr", len(entry["msgstr"]) - 1)
            else:
                entry[keyword] = value
                field = (keyword, None)
        elif line.startswith('"') and field is not None:
            value = ast.literal_eval(line)
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] += value
            else:
                entry[field[0]] += value
        else:
            raise AssertionError(f"{number}: cannot read this PO line: {line!r}")
    return entries


def message_keys(entries: list[dict]) -> set[tuple[str | None, str]]:
    """(context, msgid) of every real message, the header left out."""
    return {(e["msgctxt"], e["msgid"]) for e in entries if e["msgid"]}


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_spanish_catalogue_has_no_untranslated_or_fuzzy_entries():
    msgfmt = _gettext_tool("msgfmt")
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", os.devnull, str(PO_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LC_ALL": "C"},  # English statistics, whatever the machine's locale
    )
    report = result.stderr + result.stdout
    assert result.returncode == 0, f"msgfmt --check failed:\n{report}"
    assert re.search(r"\d+ translated message", report), report
    assert "fuzzy" not in report, f"fuzzy entries in {PO_FILE.name}: {report}"
    assert "untranslated" not in report, f"untranslated entries in {PO_FILE.name}: {report}"

    entries = parse_po(PO_FILE.read_text(encoding="utf-8"))
    header = entries[0]
    assert header["msgid"] == "", "the catalogue must start with its header entry"
    assert "fuzzy" not in header["flags"], "the header is still marked fuzzy"
    assert "Language: es\n" in header["msgstr"][0]
    assert "charset=UTF-8" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header["msgstr"][0]

    messages = entries[1:]
    assert len(messages) > 100, "the Spanish catalogue looks nearly empty"
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    empty = [e["msgid"] for e in messages if not e["msgstr"] or not all(e["msgstr"])]
    assert not empty, f"untranslated entries: {empty}"
    wrong_plurals = [e["msgid"] for e in messages if e["msgid_plural"] and len(e["msgstr"]) != 2]
    assert not wrong_plurals, f"plural entries without exactly two forms: {wrong_plurals}"


def test_catalogue_covers_every_string_in_the_code(tmp_path):
    _gettext_tool("xgettext")
    _gettext_tool("msgmerge")
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORES)
    command = [sys.executable, "manage.py", "makemessages", "-l", "es", "--no-obsolete"]
    command += [f"--ignore={pattern}" for pattern in MAKEMESSAGES_IGNORES]
    result = subprocess.run(
        command,
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "rfp_portal.settings"},
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"

    regenerated = parse_po((copy / PO_FILE.relative_to(ROOT)).read_text(encoding="utf-8"))
    committed = parse_po(PO_FILE.read_text(encoding="utf-8"))
    missing = sorted(message_keys(regenerated) - message_keys(committed), key=str)
    assert not missing, (
        f"{len(missing)} string(s) in the code are not in {PO_FILE.relative_to(ROOT)}; run "
        "makemessages and translate them:\n"
        + "\n".join(
            f"  {msgid!r}" + (f" (context {ctx!r})" if ctx else "") for ctx, msgid in missing
        )
    )


def test_mo_file_is_compiled_from_the_current_po(tmp_path):
    msgfmt = _gettext_tool("msgfmt")
    assert MO_FILE.exists(), f"{MO_FILE.relative_to(ROOT)} is missing: run compilemessages"
    fresh = tmp_path / "django.mo"
    result = subprocess.run(
        [msgfmt, "--check-format", "-o", str(fresh), str(PO_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"msgfmt failed:\n{result.stderr}"

    def catalog(path: Path) -> dict:
        with path.open("rb") as handle:
            return gettext.GNUTranslations(handle)._catalog

    expected, committed = catalog(fresh), catalog(MO_FILE)
    stale = sorted(
        (
            key
            for key in expected.keys() | committed.keys()
            if expected.get(key) != committed.get(key)
        ),
        key=str,
    )
    assert not stale, (
        f"{MO_FILE.relative_to(ROOT)} is not compiled from the current .po ({len(stale)} "
        f"message(s) differ, e.g. {stale[:5]!r}); run "
        "`manage.py compilemessages -l es --ignore=.venv`"
    )


@pytest.mark.django_db
def test_pages_render_in_spanish(client):
    rfp = RFPFactory(title="Mejorar el índice de paquetes")
    # Restore the previous language afterwards: LocaleMiddleware activates the request's
    # language for the whole thread, and other tests expect English outside a request.
    with translation.override(settings.LANGUAGE_CODE):
        response = client.post(reverse("set_language"), {"language": "es", "next": "/"})
        assert response.status_code == 302
        body = client.get("/").content.decode()
        detail = client.get(rfp.get_absolute_url()).content.decode()
        client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)
        english = client.get("/").content.decode()
    with translation.override("es"):
        aoe = deadlines.format_deadline(rfp.deadline_instant, "AoE")

    assert '<html lang="es">' in body
    assert "Solicitudes de propuestas" in body  # "Requests for Proposals"
    assert "Abiertas a propuestas" in body  # "Open for proposals"
    assert "Fecha límite" in body
    assert "Iniciar sesión" in body
    assert rfp.title in body
    assert "al final del día (24:00) AoE" in aoe
    assert aoe in body
    assert "Acerca de esta convocatoria" in detail
    assert "Qué debe contener una propuesta" in detail
    assert "Requests for Proposals" not in body
    assert '<html lang="en">' in english and "Requests for Proposals" in english


def test_numbers_and_amounts_follow_the_locale():
    from decimal import Decimal
    from fractions import Fraction

    from evaluation import charts
    from rfp_portal.templatetags.portal import file_size, fraction, money

    with translation.override("en"):
        assert money("31350.5", "USD") == "USD 31,350.50"
        assert fraction(Fraction(10, 3)) == "3.33" and file_size(20 * 1024 * 1024) == "20.0 MB"
        assert ">3.33<" in charts.heat_map([("A", [Decimal("3.333")])], ["Cost"])
    with translation.override("es"):
        assert money("31350.5", "USD").replace("\xa0", " ") == "USD 31 350,50"
        assert fraction(Fraction(10, 3)) == "3,33" and file_size(20 * 1024 * 1024) == "20,0 MB"
        assert ">3,33<" in charts.heat_map([("A", [Decimal("3.333")])], ["Cost"])
