"""Trusted time on the transparency log's heads (proposals.transparency, rfp_portal.timestamping):
with a local RFC 3161 TSA (tests/helpers/tsa.py) each head gets a verified token after its
transaction commits, over its exact signed bytes; the token verifies against that head and no
other (in Python, with `manage.py verify_log` and with the README's `openssl ts -verify` line);
a TSA that is down never loses or delays a head, and the beat task adds the token later;
without TSA_URL nothing is stamped and the pages say so."""

import base64
import json
import logging
import re
import shlex
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from proposals import receipt_signing, tasks, transparency
from proposals.models import TransparencyLog, TreeHead
from rfp_portal import timestamping
from rfp_portal.templatetags.portal import when
from rfp_portal.timestamping import TimestampError
from tests.factories import UserFactory
from tests.helpers.proposals import open_now, submitted_proposal
from tests.helpers.tsa import tsa_fixture  # noqa: F401 (the `tsa` fixture)

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def use(settings):
    """Point the portal at a TSA (use(tsa)), as tests/rfp_portal/test_timestamping.py does."""

    def configure(authority, *, timeout=10):
        settings.TSA_URL = authority.url
        settings.TSA_CERTIFICATES = str(authority.ca_file)
        settings.TSA_TIMEOUT = timeout
        settings.TSA_HASH = "sha256"

    return configure


def _new_head(rfp, capture, *, stamp=True) -> TreeHead:
    """A head of the RFP's log made in a transaction, its on-commit work run (when `stamp`)."""
    log = TransparencyLog.objects.get(rfp=rfp)
    with capture(execute=stamp):
        head = transparency.refresh_head(log, now=timezone.now(), force=True)
    head.refresh_from_db()
    return head


def test_a_head_gets_a_verified_token_after_its_commit(
    tsa, use, open_rfp, proposer, django_capture_on_commit_callbacks
):
    use(tsa)
    submitted_proposal(open_rfp, proposer, "Ours")
    log = TransparencyLog.objects.get(rfp=open_rfp)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        head = transparency.refresh_head(log, now=timezone.now(), force=True)
        # Made and stored without waiting for the TSA: it is asked only after the commit.
        assert tsa.requests == 0
        assert TreeHead.objects.get(pk=head.pk).tsa_token is None
    assert len(callbacks) == 1
    assert tsa.requests == 1
    head.refresh_from_db()

    signed = head.statement.encode("ascii")
    info = timestamping.verify(bytes(head.tsa_token), signed)
    assert info.gen_time == head.tsa_gen_time
    assert str(info.serial) == head.tsa_serial
    assert head.tsa_name == info.tsa_name == "CN=Local TSA,O=Tests"
    assert head.tsa_label == "Local TSA"
    assert head.tsa_url == tsa.url
    assert abs(head.tsa_gen_time - head.timestamp) < timedelta(seconds=30)
    # Stamping again changes nothing (idempotent): no second request, the same token.
    token = bytes(head.tsa_token)
    assert transparency.stamp_head(head.pk) is False
    assert tasks.stamp_tree_head(head.pk) is False
    head.refresh_from_db()
    assert bytes(head.tsa_token) == token
    assert tsa.requests == 1


def test_the_token_verifies_against_its_head_and_not_another(
    tsa, use, open_rfp, proposer, django_capture_on_commit_callbacks, tmp_path
):
    use(tsa)
    submitted_proposal(open_rfp, proposer, "Ours")
    first = _new_head(open_rfp, django_capture_on_commit_callbacks)
    submitted_proposal(open_rfp, UserFactory(), "Theirs")
    second = _new_head(open_rfp, django_capture_on_commit_callbacks)
    assert (first.tree_size, second.tree_size) == (1, 2)
    assert first.tsa_serial != second.tsa_serial

    timestamping.verify(bytes(first.tsa_token), first.statement.encode("ascii"))
    with pytest.raises(TimestampError, match="other data"):
        timestamping.verify(bytes(first.tsa_token), second.statement.encode("ascii"))
    with pytest.raises(TimestampError, match="other data"):
        timestamping.verify(bytes(second.tsa_token), first.statement.encode("ascii"))

    # manage.py verify_log, with the saved head file and token (and the TSA's root).
    head_file = tmp_path / "head.json"
    head_file.write_text(json.dumps(transparency.head_file(first)))
    token_file = tmp_path / "head.tsr"
    token_file.write_bytes(bytes(first.tsa_token))
    other_file = tmp_path / "other.json"
    other_file.write_text(json.dumps(transparency.head_file(second)))
    out = _call("--head", str(head_file), "--token", str(token_file), "--tsa-ca", str(tsa.ca_file))
    assert (
        f"valid: CN=Local TSA,O=Tests timestamped the head of 1 leaves (RFP {open_rfp.slug}) "
        f"at {first.tsa_gen_time.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC "
        f"(token serial {first.tsa_serial})."
    ) in out
    # The token the head file carries is used when no --token is given.
    assert "valid: CN=Local TSA,O=Tests" in _call(
        "--head", str(head_file), "--tsa-ca", str(tsa.ca_file)
    )
    with pytest.raises(CommandError, match="invalid timestamp: The token timestamps other data"):
        _call("--head", str(other_file), "--token", str(token_file), "--tsa-ca", str(tsa.ca_file))


def _call(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_log", *args, stdout=out)
    return out.getvalue()


def test_the_readme_openssl_line_checks_a_stored_head(
    client, tsa, use, open_rfp, proposer, django_capture_on_commit_callbacks, tmp_path
):
    """The auditor's line in README.md, run as written on files downloaded from the portal."""
    use(tsa)
    submitted_proposal(open_rfp, proposer, "Ours")
    head = _new_head(open_rfp, django_capture_on_commit_callbacks)
    readme = README.read_text().split("### Checking the transparency log", 1)[1]
    readme = readme.split("\n### ", 1)[0]  # the auditor's section only
    lines = re.findall(r"^openssl ts -verify .*$", readme, flags=re.MULTILINE)
    assert lines == ["openssl ts -verify -data HEAD.json -in HEAD.tsr -CAfile TSA_CA.pem"]
    for pattern in ("heads/<id>/statement.json", "heads/<id>/token.tsr"):
        assert pattern in readme

    statement = client.get(reverse("transparency_head_statement", args=[open_rfp.slug, head.pk]))
    token = client.get(reverse("transparency_head_token", args=[open_rfp.slug, head.pk]))
    assert statement.status_code == token.status_code == 200
    assert token["Content-Type"] == "application/timestamp-reply"
    assert f'filename="{open_rfp.slug}-head-{head.pk}.tsr"' in token["Content-Disposition"]
    assert statement.content == head.statement.encode("ascii")
    assert token.content == bytes(head.tsa_token)
    (tmp_path / "HEAD.json").write_bytes(statement.content)
    (tmp_path / "HEAD.tsr").write_bytes(token.content)
    (tmp_path / "TSA_CA.pem").write_bytes(tsa.ca_file.read_bytes())

    good = subprocess.run(
        shlex.split(lines[0]), cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert good.returncode == 0, good.stderr
    assert "Verification: OK" in good.stdout
    # Another head's bytes: refused.
    submitted_proposal(open_rfp, UserFactory(), "Theirs")
    later = _new_head(open_rfp, django_capture_on_commit_callbacks)
    (tmp_path / "HEAD.json").write_bytes(later.statement.encode("ascii"))
    bad = subprocess.run(
        shlex.split(lines[0]), cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert bad.returncode != 0
    assert "Verification: FAILED" in bad.stdout


def test_the_final_head_is_stamped_after_the_opening_commits(
    tsa, use, open_rfp, proposer, django_capture_on_commit_callbacks
):
    use(tsa)
    submitted_proposal(open_rfp, proposer, "Ours")
    before = tsa.requests
    with django_capture_on_commit_callbacks(execute=True):
        open_now(open_rfp)
        assert tsa.requests == before  # not while open_rfp holds the RFP's lock
    final = TreeHead.objects.get(log__rfp=open_rfp, final=True)
    assert final.tree_size == 1
    timestamping.verify(bytes(final.tsa_token), final.statement.encode("ascii"))


def test_with_the_tsa_down_the_head_is_made_and_stamped_on_retry(
    client, tsa, use, open_rfp, proposer, django_capture_on_commit_callbacks, caplog
):
    use(tsa)
    tsa.mode = "error"
    submitted_proposal(open_rfp, proposer, "Ours")
    with caplog.at_level(logging.WARNING, logger="proposals.transparency"):
        head = _new_head(open_rfp, django_capture_on_commit_callbacks)
    assert tsa.requests == 1
    assert head.tree_size == 1 and head.tsa_token is None and head.tsa_gen_time is None
    assert f"Tree head {head.pk} left without a timestamp for now" in caplog.text
    assert "answered HTTP 500" in caplog.text
    # Published at once, without a token; its JSON says so and is not cached for long.
    data = client.get(reverse("transparency_head", args=[open_rfp.slug, head.pk]))
    assert data.json()["timestamp_token"] is None
    assert "max-age" not in data["Cache-Control"]
    assert (
        client.get(reverse("transparency_head_token", args=[open_rfp.slug, head.pk])).status_code
        == 404
    )
    # A second head while the TSA is still down: the beat task tries once, and stops.
    submitted_proposal(open_rfp, UserFactory(), "Theirs")
    second = _new_head(open_rfp, django_capture_on_commit_callbacks, stamp=False)
    requests = tsa.requests
    assert transparency.stamp_pending() == 0
    assert tsa.requests == requests + 1
    # The TSA is back: the beat task stamps both.
    tsa.mode = "ok"
    assert tasks.publish_tree_heads() == 0  # no head to make: the log did not grow
    for row in (head, second):
        row.refresh_from_db()
        timestamping.verify(bytes(row.tsa_token), row.statement.encode("ascii"))
    assert transparency.stamp_pending() == 0  # nothing left


def test_a_slow_tsa_never_holds_the_head(
    tsa, use, open_rfp, proposer, django_capture_on_commit_callbacks
):
    use(tsa, timeout=1)
    tsa.mode, tsa.delay = "slow", 3
    submitted_proposal(open_rfp, proposer, "Ours")
    started = datetime.now(UTC)
    head = _new_head(open_rfp, django_capture_on_commit_callbacks)
    assert datetime.now(UTC) - started < timedelta(seconds=3)
    assert head.pk and head.tsa_token is None


def test_pages_and_json_show_the_timestamp_for_people_and_machines(
    client, tsa, use, open_rfp, proposer, django_capture_on_commit_callbacks
):
    use(tsa)
    submitted_proposal(open_rfp, proposer, "Ours")
    head = _new_head(open_rfp, django_capture_on_commit_callbacks)

    page = client.get(reverse("transparency_rfp", args=[open_rfp.slug])).content.decode()
    assert f"Tree heads are timestamped by {tsa.url}." in page
    assert "By Local TSA:" in page
    assert when(head.tsa_gen_time) in page
    assert reverse("transparency_head_token", args=[open_rfp.slug, head.pk]) in page
    assert reverse("transparency_head_statement", args=[open_rfp.slug, head.pk]) in page
    assert receipt_signing.utc_iso(head.tsa_gen_time) not in page  # no raw ISO for people
    index = client.get(reverse("transparency")).content.decode()
    assert f"Tree heads are timestamped by {tsa.url}." in index

    data = client.get(reverse("transparency_head", args=[open_rfp.slug, head.pk]))
    assert data["Cache-Control"] == "public, max-age=86400"
    stamp = data.json()["timestamp_token"]
    assert stamp["tsa_name"] == "CN=Local TSA,O=Tests"
    assert stamp["tsa_url"] == tsa.url
    assert stamp["gen_time"] == receipt_signing.utc_iso(head.tsa_gen_time)
    assert stamp["serial"] == head.tsa_serial
    assert base64.b64decode(stamp["token_base64"]) == bytes(head.tsa_token)
    assert stamp["token_url"].endswith(
        reverse("transparency_head_token", args=[open_rfp.slug, head.pk])
    )
    assert stamp["verify"] == "openssl ts -verify -data HEAD.json -in HEAD.tsr -CAfile TSA_CA.pem"
    listed = client.get(reverse("transparency_heads", args=[open_rfp.slug])).json()["heads"]
    assert listed[0]["timestamp_token"]["serial"] == head.tsa_serial
    # The head file still verifies as a head (the token sits beside the signed statement).
    transparency.verify_head(data.json(), receipt_signing.public_keys())


def test_without_a_tsa_nothing_is_stamped_and_the_page_says_so(
    client, settings, tsa, open_rfp, proposer, django_capture_on_commit_callbacks
):
    settings.TSA_URL = ""
    settings.TSA_CERTIFICATES = str(tsa.ca_file)
    submitted_proposal(open_rfp, proposer, "Ours")
    log = TransparencyLog.objects.get(rfp=open_rfp)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        head = transparency.refresh_head(log, now=timezone.now(), force=True)
    assert callbacks == []
    assert tasks.publish_tree_heads() == 0
    assert transparency.stamp_pending() == 0
    assert tsa.requests == 0
    head.refresh_from_db()
    assert head.tsa_token is None

    sentence = (
        "No timestamp authority is configured: tree heads carry the portal&#x27;s own time and "
        "signature only."
    )
    assert sentence in client.get(reverse("transparency")).content.decode()
    page = client.get(reverse("transparency_rfp", args=[open_rfp.slug])).content.decode()
    assert sentence in page
    assert reverse("transparency_head_token", args=[open_rfp.slug, head.pk]) not in page
    data = client.get(reverse("transparency_head", args=[open_rfp.slug, head.pk])).json()
    assert data["timestamp_token"] is None
    token = client.get(reverse("transparency_head_token", args=[open_rfp.slug, head.pk]))
    assert token.status_code == 404
