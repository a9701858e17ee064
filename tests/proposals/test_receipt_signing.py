"""Signed receipts (proposals.receipt_signing): the statement signed at submit, the `.json` the
team downloads, the published keys, and every way of checking it (Python, the verify_receipt
command, the documented openssl command line, /verify/)."""

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from proposals import receipt_signing, submission
from proposals.models import ReceiptSignature
from tests.factories import UserFactory
from tests.helpers.commands import manage_py
from tests.helpers.proposals import pdf_upload, ready_draft, submitted_proposal
from tests.helpers.required_services import require_or_skip
from tests.pdfs import make_pdf

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
# The README's steps, run here as a bidder would run them (in a directory holding the files).
EXTRACT_SIGNED = (
    "python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"signed_bytes_base64\"])' "
    "receipt.json | base64 -d > signed.bin"
)
EXTRACT_SIGNATURE = (
    "python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"signature_base64\"])' "
    "receipt.json | base64 -d > sig.bin"
)
OPENSSL_VERIFY = (
    "openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in signed.bin -sigfile sig.bin"
)


KEY_ID_OF_PEM = "openssl pkey -pubin -in key.pem -outform DER | tail -c 32 | sha256sum | cut -c1-16"


def _submit(proposal, user):
    return submission.submit_proposal(
        proposal=proposal, user=user, expected_edit=proposal.edit_count, now=timezone.now()
    ).version


@pytest.fixture
def version(open_rfp, proposer):
    return _submit(ready_draft(open_rfp, proposer), proposer)


def _download(client, version) -> bytes:
    client.force_login(version.submitted_by)
    response = client.get(reverse("signed_receipt", args=[version.proposal_id, version.number]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="receipt-{version.receipt_code}.json"'
    )
    return response.content


def _resign(receipt: dict, statement: dict) -> dict:
    """The file with `statement` as both the readable and the signed statement (the old
    signature kept): what a forger who cannot sign can make."""
    forged = dict(receipt, statement=statement)
    forged["signed_bytes_base64"] = base64.b64encode(receipt_signing.canonical(statement)).decode()
    return forged


def _tampered(value):
    if isinstance(value, int):
        return value + 1
    return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"


# --- The statement ---------------------------------------------------------------------------


def test_statement_names_the_version_and_not_the_team(version, proposer):
    signature = ReceiptSignature.objects.get(version=version)
    statement = json.loads(signature.statement)
    rfp = version.proposal.rfp
    assert set(statement) == set(receipt_signing.STATEMENT_FIELDS)
    assert statement["format"] == "rfp-portal-receipt/2"  # with its transparency-log index
    assert statement["log_index"] == 0  # the RFP's first leaf (proposals.transparency)
    assert statement["rfp_slug"] == rfp.slug and statement["rfp_title"] == rfp.title
    assert statement["version"] == 1
    assert statement["receipt_code"] == version.receipt_code
    assert statement["fields_sha256"] == version.fields_sha256
    assert statement["document_sha256"] == version.document_sha256
    assert statement["received_at"] == receipt_signing.utc_iso(version.received_at)
    assert statement["received_at"].endswith("Z")
    assert receipt_signing.VerifiedReceipt(statement, "k").deadline == rfp.deadline_instant
    assert statement["key_id"] == signature.key_id == receipt_signing.current_key_id()
    # Canonical bytes: exactly what json.dumps(sort_keys, compact, ASCII) makes of it.
    assert signature.statement.encode() == receipt_signing.canonical(statement)
    text = signature.statement
    for secret in (proposer.email, proposer.organisation, version.proposal.title):
        assert not secret or secret not in text
    assert re.fullmatch(r"[0-9a-f]{32}", statement["proposal"])


def test_pseudonym_is_one_per_proposal(open_rfp, proposer, version):
    proposal = version.proposal
    proposal.refresh_from_db()
    proposal = submission.save_draft(
        proposal=proposal,
        user=proposer,
        title="Revised",
        fields=proposal.fields,
        document=pdf_upload(3),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
    second = _submit(proposal, proposer)
    other = submitted_proposal(open_rfp, UserFactory(), "Another team").versions.get()
    tokens = {v.number: json.loads(v.signature.statement)["proposal"] for v in (version, second)}
    assert tokens[1] == tokens[2]
    assert json.loads(other.signature.statement)["proposal"] != tokens[1]
    assert json.loads(second.signature.statement)["version"] == 2


# --- Verification in Python: every field, the signature ---------------------------------------


def test_genuine_receipt_verifies(client, version):
    verified = receipt_signing.verify_file(
        _download(client, version), receipt_signing.public_keys()
    )
    assert verified.statement["receipt_code"] == version.receipt_code
    assert verified.received_at == version.received_at


@pytest.mark.parametrize("field", receipt_signing.STATEMENT_FIELDS)
def test_every_field_tampered_with_fails(client, version, field):
    receipt = json.loads(_download(client, version))
    keys = receipt_signing.public_keys()
    statement = dict(receipt["statement"], **{field: _tampered(receipt["statement"][field])})
    # Only the readable copy changed: it no longer matches the signed bytes.
    with pytest.raises(receipt_signing.ReceiptInvalid) as readable:
        receipt_signing.verify_file(dict(receipt, statement=statement), keys)
    assert readable.value.reason == "statement_mismatch"
    # Both changed: the signature (or, for key_id, the key) no longer fits.
    forged = _resign(receipt, statement)
    if field == "key_id":
        forged["key_id"] = statement["key_id"]
    with pytest.raises(receipt_signing.ReceiptInvalid) as signed:
        receipt_signing.verify_file(forged, keys)
    expected = {"key_id": "unknown_key", "format": "statement_mismatch"}.get(field, "bad_signature")
    assert signed.value.reason == expected


def test_tampered_signature_and_unknown_key_fail(client, version, tmp_path):
    receipt = json.loads(_download(client, version))
    signature = bytearray(base64.b64decode(receipt["signature_base64"]))
    signature[0] ^= 1
    bad = dict(receipt, signature_base64=base64.b64encode(bytes(signature)).decode())
    with pytest.raises(receipt_signing.ReceiptInvalid, match="signature is not valid") as exc:
        receipt_signing.verify_file(bad, receipt_signing.public_keys())
    assert exc.value.reason == "bad_signature"
    receipt_signing.create_key(tmp_path)  # another portal's key
    with pytest.raises(receipt_signing.ReceiptInvalid) as unknown:
        receipt_signing.verify_file(receipt, receipt_signing.public_keys(tmp_path))
    assert unknown.value.reason == "unknown_key"


def test_non_canonical_signed_bytes_are_refused(client, version):
    receipt = json.loads(_download(client, version))
    spaced = json.dumps(receipt["statement"], sort_keys=True).encode()  # ", " and ": "
    forged = dict(receipt, signed_bytes_base64=base64.b64encode(spaced).decode())
    with pytest.raises(receipt_signing.ReceiptInvalid) as exc:
        receipt_signing.verify_file(forged, receipt_signing.public_keys())
    assert exc.value.reason == "statement_mismatch"


# --- Keys: rotation, publication -------------------------------------------------------------


def test_rotation_keeps_old_receipts_valid(client, settings, tmp_path, open_rfp, proposer):
    settings.RECEIPT_KEYS_DIR = tmp_path / "keys"
    call_command("receipt_key", "create")
    first_key = receipt_signing.current_key_id()
    old = _submit(ready_draft(open_rfp, proposer), proposer)
    old_file = _download(client, old)
    call_command("receipt_key", "create")  # rotation
    new_key = receipt_signing.current_key_id()
    assert new_key != first_key
    new = submitted_proposal(open_rfp, UserFactory(), "After rotation").versions.get()
    assert new.signature.key_id == new_key and old.signature.key_id == first_key

    client.logout()
    published = client.get(reverse("receipt_keys")).json()
    assert published["current"] == new_key
    assert {k["key_id"]: k["current"] for k in published["keys"]} == {
        first_key: False,
        new_key: True,
    }
    keys = receipt_signing.keys_from_document(published)
    assert receipt_signing.verify_file(old_file, keys).key_id == first_key
    assert receipt_signing.verify_file(_download(client, new), keys).key_id == new_key


def test_keys_url_is_public_cacheable_and_only_public(client, version):
    response = client.get(reverse("receipt_keys"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "public" in response["Cache-Control"] and "max-age=3600" in response["Cache-Control"]
    body = response.content.decode()
    assert "PRIVATE" not in body
    directory = receipt_signing.keys_dir()
    for private in directory.glob("*.key.pem"):
        der_base64 = "".join(private.read_text().splitlines()[1:-1])
        assert der_base64 not in body
    published = response.json()
    key_id = version.signature.key_id
    (entry,) = [k for k in published["keys"] if k["key_id"] == key_id]
    assert entry["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    pem = client.get(reverse("receipt_key_pem", args=[key_id]))
    assert pem.status_code == 200 and "public" in pem["Cache-Control"]
    assert pem.content.decode() == entry["public_key_pem"]
    assert client.get(reverse("receipt_key_pem", args=["0123456789abcdef"])).status_code == 404


def test_signed_receipt_download_is_the_teams_only(client, version):
    url = reverse("signed_receipt", args=[version.proposal_id, version.number])
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(version.submitted_by)
    page = client.get(reverse("proposal_version", args=[version.proposal_id, version.number]))
    assert url in page.content.decode()


def test_receipt_mail_and_pdf_offer_the_signed_receipt(
    open_rfp, proposer, django_capture_on_commit_callbacks
):
    from django.core import mail

    from proposals import receipts

    draft = ready_draft(open_rfp, proposer)
    with django_capture_on_commit_callbacks(execute=True):
        version = _submit(draft, proposer)
    url = reverse("signed_receipt", args=[version.proposal_id, version.number])
    assert any(url in message.body for message in mail.outbox)
    data = receipts.render_receipt_pdf(version)
    text = _pdf_text(data)
    assert version.signature.key_id in text
    assert "Keeping and checking a receipt without the portal" in text
    # The PDF carries the signed receipt itself, and it checks out on its own.
    import io

    from pypdf import PdfReader

    name = f"receipt-{version.receipt_code}.json"
    assert name in text
    attached = PdfReader(io.BytesIO(data)).attachments
    assert list(attached) == [name]
    (embedded,) = attached[name]
    checked = receipt_signing.verify_file(embedded, receipt_signing.public_keys())
    assert checked.statement["receipt_code"] == version.receipt_code


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace(
        "\n", " "
    )


# --- The documented openssl command line -----------------------------------------------------


def _run_documented_steps(directory: Path) -> subprocess.CompletedProcess:
    for step in (EXTRACT_SIGNED, EXTRACT_SIGNATURE):
        subprocess.run(["bash", "-c", "set -o pipefail; " + step], cwd=directory, check=True)
    return subprocess.run(
        OPENSSL_VERIFY.split(), cwd=directory, capture_output=True, text=True, timeout=30
    )


def test_openssl_verifies_a_real_receipt_and_refuses_a_tampered_one(client, version, tmp_path):
    if shutil.which("openssl") is None:
        require_or_skip("the openssl command is missing (.ci/run installs it)")
    readme = README.read_text()
    for line in (EXTRACT_SIGNED, EXTRACT_SIGNATURE, OPENSSL_VERIFY):
        assert line in readme, f"the README documents: {line}"
    assert KEY_ID_OF_PEM in readme
    receipt = json.loads(_download(client, version))
    key = client.get(reverse("receipt_key_pem", args=[receipt["key_id"]])).content
    genuine, tampered = tmp_path / "genuine", tmp_path / "tampered"
    for directory in (genuine, tampered):
        directory.mkdir()
        (directory / "key.pem").write_bytes(key)
    (genuine / "receipt.json").write_text(json.dumps(receipt))
    statement = dict(receipt["statement"], received_at="2000-01-01T00:00:00.000000Z")
    (tampered / "receipt.json").write_text(json.dumps(_resign(receipt, statement)))

    ok = _run_documented_steps(genuine)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Signature Verified Successfully" in ok.stdout
    assert json.loads((genuine / "signed.bin").read_bytes()) == receipt["statement"]
    key_id = subprocess.run(
        ["bash", "-c", "set -o pipefail; " + KEY_ID_OF_PEM],
        cwd=genuine,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert key_id == receipt["key_id"] == receipt["statement"]["key_id"]
    refused = _run_documented_steps(tampered)
    assert refused.returncode != 0
    assert "Signature Verification Failure" in refused.stdout + refused.stderr


# --- manage.py verify_receipt ----------------------------------------------------------------


def test_verify_receipt_command(client, version, tmp_path):
    receipt_path = tmp_path / "receipt.json"
    receipt_path.write_bytes(_download(client, version))
    pdf = tmp_path / "proposal.pdf"
    with default_storage.open(version.document.name, "rb") as stored:
        pdf.write_bytes(stored.read())
    keys = tmp_path / "keys.json"
    keys.write_text(client.get(reverse("receipt_keys")).content.decode())

    out = _call("verify_receipt", str(receipt_path), "--pdf", str(pdf), "--keys", str(keys))
    assert out.startswith("valid: receipt " + version.receipt_code)
    assert "is exactly the PDF the receipt names" in out
    assert "valid" in _call("verify_receipt", str(receipt_path))  # the portal's own keys

    other = tmp_path / "other.pdf"
    other.write_bytes(make_pdf(1))
    with pytest.raises(CommandError, match=r"invalid \(pdf_mismatch\)"):
        _call("verify_receipt", str(receipt_path), "--pdf", str(other))

    forged = json.loads(receipt_path.read_text())
    forged["statement"]["rfp_title"] = "Another RFP"
    receipt_path.write_text(json.dumps(forged))
    with pytest.raises(CommandError, match=r"invalid \(statement_mismatch\)"):
        _call("verify_receipt", str(receipt_path), "--keys", str(keys))
    receipt_path.write_text(json.dumps(_resign(forged, forged["statement"])))
    with pytest.raises(CommandError, match=r"invalid \(bad_signature\)"):
        _call("verify_receipt", str(receipt_path), "--keys", str(keys))
    # Not JSON: the plain sentence, then Python's detail (the command line only).
    garbled = _write(tmp_path, b"{not json")
    with pytest.raises(CommandError) as not_json:
        _call("verify_receipt", str(garbled), "--keys", str(keys))
    assert str(not_json.value).startswith(
        "invalid (not_json): This file cannot be read as a signed receipt"
    )
    assert str(not_json.value).endswith(
        "(Detail: Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
    )
    with pytest.raises(CommandError, match=r"invalid \(pdf\): This file is a PDF"):
        _call("verify_receipt", str(pdf), "--keys", str(keys))
    keys.write_text(json.dumps({"keys": []}))
    with pytest.raises(CommandError, match=r"invalid \(unknown_key\)"):
        _call(
            "verify_receipt", str(_write(tmp_path, _download(client, version))), "--keys", str(keys)
        )


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "again.json"
    path.write_bytes(data)
    return path


def _call(*args) -> str:
    import io

    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_production_refuses_to_start_without_a_receipt_key(tmp_path):
    env = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": "s3cret-" + "Zq8wX2vB7nM4kL1pR6tY9uE3aS5dF0gH" * 2,
        "ALLOWED_HOSTS": "rfp.example.org",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/rfp_portal_unused",
        "EMAIL_URL": "smtp://mail.example.org:25",
        "REDIS_URL": "redis://127.0.0.1:6379/13",
        "VAR_DIR": str(tmp_path),
    }
    unnamed = manage_py(["check"], env)
    assert unnamed.returncode != 0 and "RECEIPT_KEYS_DIR" in unnamed.stderr
    env["RECEIPT_KEYS_DIR"] = str(tmp_path / "keys")
    empty = manage_py(["check"], env)
    assert empty.returncode != 0 and "receipt_key create" in empty.stderr
    made = manage_py(["receipt_key", "create"], env)
    assert made.returncode == 0, made.stderr
    assert manage_py(["check"], env).returncode == 0


# --- /verify/ with the file ------------------------------------------------------------------


def _verify_post(client, data: bytes, **extra):
    return client.post(
        reverse("verify_receipt"),
        {"signed_receipt": SimpleUploadedFile("receipt.json", data, "application/json"), **extra},
    )


def test_verify_page_accepts_the_signed_file(client, version, proposer):
    data = _download(client, version)
    client.logout()
    response = _verify_post(client, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Valid: the portal signed this receipt" in body
    assert version.proposal.rfp.title in body
    for hidden in (proposer.email, version.proposal.title):
        assert hidden not in body
    statement = json.loads(data)["statement"]
    assert statement["received_at"] not in body
    shown = body.split('id="signed-result-heading"', 1)[1].split("</section>", 1)[0]
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d", shown.split("datetime=", 1)[0])
    from rfp_portal import deadlines

    assert deadlines.format_in_zone(version.received_at, "UTC").text in body

    with default_storage.open(version.document.name, "rb") as stored:
        pdf = stored.read()
    with_pdf = _verify_post(
        client, data, document=SimpleUploadedFile("p.pdf", pdf, "application/pdf")
    ).content.decode()
    assert "The file matches the PDF named in the receipt exactly." in with_pdf


def test_verify_page_explains_a_bad_file(client, version):
    receipt = json.loads(_download(client, version))
    client.logout()
    statement = dict(receipt["statement"], rfp_title="Not this one")
    forged = _verify_post(client, json.dumps(_resign(receipt, statement)).encode())
    body = forged.content.decode()
    assert "Not valid" in body and "The signature is not valid" in body
    assert "Not this one" not in body

    garbled = _verify_post(client, b"{not json").content.decode()
    assert "This file cannot be read as a signed receipt" in garbled
    assert "Expecting property name" not in garbled and "char 1" not in garbled
    binary = _verify_post(client, b"\xff\xfe\x00 binary").content.decode()
    assert "This file cannot be read as a signed receipt" in binary
    assert "codec" not in binary and "0xff" not in binary
    other = _verify_post(client, b'{"hello": 1}').content.decode()
    assert "not a signed receipt of this portal" in other

    # The proposal's PDF in the receipt's field: said so, and where it belongs on this page.
    pdf_body = _verify_post(client, make_pdf(1)).content.decode()
    assert "This file is a PDF, not the signed receipt." in pdf_body
    assert (
        "To check your PDF, add it in the field &ldquo;The PDF you submitted (optional)&rdquo;"
        in pdf_body.replace("“", "&ldquo;").replace("”", "&rdquo;")
    )
    assert "cannot be read" not in pdf_body and "codec" not in pdf_body

    # Too large: only that error, and the code typed stays in its field.
    too_big = _verify_post(
        client, b" " * (receipt_signing.MAX_FILE_BYTES + 1), code="R-ABCD-EFGH-JKMN"
    )
    assert too_big.status_code == 400
    big_body = too_big.content.decode()
    assert "The file is larger than 64 KB: it is not a signed receipt." in big_body
    assert big_body.count("The file is larger than 64 KB") == 2  # the summary and the field
    assert "Enter the receipt code, or add the signed receipt file." not in big_body
    assert too_big.context["form"].errors == {
        "signed_receipt": ["The file is larger than 64 KB: it is not a signed receipt."]
    }
    assert 'value="R-ABCD-EFGH-JKMN"' in big_body
    # The same without a code: still only the size error (the file was given, it was too big).
    alone = _verify_post(client, b" " * (receipt_signing.MAX_FILE_BYTES + 1))
    assert list(alone.context["form"].errors) == ["signed_receipt"]

    empty = client.post(reverse("verify_receipt"), {})
    assert empty.status_code == 400
    assert "Enter the receipt code, or add the signed receipt file." in empty.content.decode()


@pytest.mark.parametrize(
    ("data", "reason", "sentence", "detail"),
    [
        (b"{not json", "not_json", "cannot be read as a signed receipt", "Expecting property"),
        (b"", "not_json", "cannot be read as a signed receipt", "Expecting value"),
        (b"\xff\xd8\xff\xe0 a photo", "not_json", "cannot be read as a signed receipt", "codec"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "pdf", "This file is a PDF, not the signed receipt", ""),
        (b"\n %PDF-1.4 ...", "pdf", "This file is a PDF", ""),
    ],
)
def test_unreadable_files_are_refused_in_words_for_people(data, reason, sentence, detail):
    with pytest.raises(receipt_signing.ReceiptInvalid) as refused:
        receipt_signing.parse_file(data)
    assert refused.value.reason == reason
    message = str(refused.value)
    assert sentence in message
    # Python's own error text is never in the message; it is kept as the detail.
    for technical in ("Expecting", "line 1 column", "char ", "codec", "byte 0x", "utf-8"):
        assert technical not in message
    if detail:
        assert detail in refused.value.detail
    else:
        assert refused.value.detail == ""
