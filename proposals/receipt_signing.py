"""Signed receipts: a statement the portal signs at submit, checkable without the portal.

At submit (proposals.submission._submit_locked, in the transaction that creates the version)
the portal writes a statement about the version, serializes it canonically and signs it with
Ed25519; the exact bytes, the signature and the key id are stored (ReceiptSignature). The team
downloads them as one `.json` file; anyone holding it and the portal's published public key can
check it with `openssl pkeyutl -verify` or `manage.py verify_receipt`, or on /verify/.

The statement, format "rfp-portal-receipt/2" (every key is always present)::

    format           "rfp-portal-receipt/2" ("rfp-portal-receipt/1" before the log existed)
    portal           the portal's SITE_URL (where its keys are published)
    rfp_slug         the RFP's slug, as in its address
    rfp_title        the RFP's title at the time of the submit
    deadline         the deadline instant, UTC, ISO-8601 ("2026-01-31T12:00:00Z")
    deadline_zone    the zone the RFP writes its deadline in ("AoE", "Europe/Berlin")
    proposal         a pseudonymous proposal id (see below)
    version          the version number (1 for the first submit, 2 for a revision, ...)
    received_at      the instant the submit reached the server, UTC, ISO-8601 with microseconds
    fields_sha256    SubmissionVersion.fields_sha256 (the canonical JSON of the answers)
    document_sha256  SHA-256 of the PDF exactly as received
    receipt_code     the receipt code
    key_id           the id of the key that signed (below)
    log_index        format 2 only: the receipt's index in its RFP's transparency log
                     (proposals.transparency), whose leaf is exactly these signed bytes

Format 1 (receipts signed before the log existed) has every key above but log_index; both
formats verify, and a verifier reads `format` first: a statement must have exactly its
format's keys. Canonical serialization: json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=True), so the bytes are ASCII and one statement has one
serialization; a verifier also refuses signed bytes that are not in that form.

The pseudonymous proposal id is a random 128-bit token made at the proposal's first signed
submit and reused for its later versions (kept on ReceiptSignature), so a bidder can show that
versions belong to one proposal while the id reveals neither its database key nor its team. A
random token was chosen over an HMAC of the primary key: proposal keys are small consecutive
numbers, so a leaked (or rotated) HMAC secret would let anyone recompute or break every id;
a random token reveals nothing without the database, and no secret must outlive rotation.

Keys: settings.RECEIPT_KEYS_DIR holds `<key_id>.key.pem` (private, PKCS#8, mode 0600),
`<key_id>.pub.pem` (public) and `current` (the id of the key that signs). The key id is the
first 16 hex digits of SHA-256 of the raw 32-byte public key. `manage.py receipt_key create`
makes a key and makes it current; older keys stay in the directory and stay published at
/.well-known/receipt-keys.json, so receipts signed before a rotation still verify. Outside
production a missing key is made on first use (the demo and the tests need no setup); in
production the settings refuse to start without a current key (rfp_portal/settings.py).

Why one module of over 400 lines: the statement's format, the keys, the signing and the
verification must agree byte for byte; kept together they are one thing to audit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.translation import gettext as _

from proposals.models import ReceiptSignature, SubmissionVersion

logger = logging.getLogger(__name__)

FORMAT = "rfp-portal-receipt/2"
FORMAT_1 = "rfp-portal-receipt/1"
FILE_FORMAT = "rfp-portal-signed-receipt/1"
KEYS_FORMAT = "rfp-portal-receipt-keys/1"
ALGORITHM = "Ed25519"
STATEMENT_FIELDS = (
    "format",
    "portal",
    "rfp_slug",
    "rfp_title",
    "deadline",
    "deadline_zone",
    "proposal",
    "version",
    "received_at",
    "fields_sha256",
    "document_sha256",
    "receipt_code",
    "key_id",
    "log_index",
)
STATEMENT_FIELDS_1 = STATEMENT_FIELDS[:-1]
FIELDS_OF_FORMAT = {FORMAT: set(STATEMENT_FIELDS), FORMAT_1: set(STATEMENT_FIELDS_1)}
# A receipt file is a few kilobytes; /verify/ and the command refuse anything much larger.
MAX_FILE_BYTES = 64 * 1024
CURRENT_FILE = "current"


# --- Serialization ---------------------------------------------------------------------------


def canonical(statement: dict[str, Any]) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    )


def utc_iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(value: Any) -> bytes:
    """Strict base64 of an ASCII string; ValueError otherwise."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (AttributeError, UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError("not base64") from exc


# --- Keys ------------------------------------------------------------------------------------


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def keys_dir() -> Path:
    return Path(settings.RECEIPT_KEYS_DIR)


def create_key(directory: Path | None = None, *, make_current: bool = True) -> str:
    """A new key pair in `directory` (made current unless told otherwise); returns its id."""
    directory = directory or keys_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    key_id = key_id_of(private.public_key())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(directory / f"{key_id}.key.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    (directory / f"{key_id}.pub.pem").write_text(public_pem(private.public_key()))
    if make_current:
        set_current(key_id, directory)
    return key_id


def set_current(key_id: str, directory: Path | None = None) -> None:
    directory = directory or keys_dir()
    if not (directory / f"{key_id}.key.pem").is_file():
        raise ValueError(f"no private key {key_id} in {directory}")
    temporary = directory / f".{CURRENT_FILE}.{secrets.token_hex(4)}"
    temporary.write_text(key_id + "\n")
    os.replace(temporary, directory / CURRENT_FILE)  # atomic: a reader sees old or new


def current_key_id(directory: Path | None = None) -> str | None:
    try:
        return (directory or keys_dir()).joinpath(CURRENT_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def public_keys(directory: Path | None = None) -> dict[str, Ed25519PublicKey]:
    """Every public key of the directory (current and retired), by key id."""
    found = {}
    for path in sorted((directory or keys_dir()).glob("*.pub.pem")):
        key = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(key, Ed25519PublicKey):
            found[key_id_of(key)] = key
    return found


_private_cache: dict[tuple[str, str], Ed25519PrivateKey] = {}


def signing_key() -> tuple[str, Ed25519PrivateKey]:
    """The current key; `current` is read on every call, so a rotation made by the command
    reaches running processes at once (the loaded key is cached by directory and id)."""
    directory = keys_dir()
    key_id = current_key_id(directory)
    if key_id is None:
        if getattr(settings, "PRODUCTION", False):
            raise ImproperlyConfigured(
                f"No current receipt signing key in {directory}: run manage.py receipt_key create."
            )
        key_id = create_key(directory)
        logger.warning("Made a receipt signing key %s in %s (not production).", key_id, directory)
    cache_key = (str(directory), key_id)
    if cache_key not in _private_cache:
        pem = (directory / f"{key_id}.key.pem").read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey) or key_id_of(key.public_key()) != key_id:
            raise ImproperlyConfigured(f"{directory}/{key_id}.key.pem is not that Ed25519 key.")
        _private_cache[cache_key] = key
    return key_id, _private_cache[cache_key]


_signing_key = signing_key  # the earlier name (bench/deadline_rush.py uses it)


def published_keys(directory: Path | None = None) -> dict[str, Any]:
    """What /.well-known/receipt-keys.json serves: public keys only, and which one is current."""
    directory = directory or keys_dir()
    current = current_key_id(directory)
    keys = public_keys(directory)
    return {
        "format": KEYS_FORMAT,
        "portal": settings.SITE_URL,
        "algorithm": ALGORITHM,
        "current": current,
        "keys": [
            {
                "key_id": key_id,
                "algorithm": ALGORITHM,
                "current": key_id == current,
                "public_key_pem": public_pem(key),
                "public_key_raw_base64": b64(
                    key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                ),
            }
            for key_id, key in keys.items()
        ],
    }


def keys_from_document(document: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The keys of a published keys document; an entry whose id is not its key's is ignored."""
    found = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        try:
            key = serialization.load_pem_public_key(entry["public_key_pem"].encode("ascii"))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if isinstance(key, Ed25519PublicKey) and key_id_of(key) == entry.get("key_id"):
            found[entry["key_id"]] = key
    return found


def keys_url() -> str:
    return settings.SITE_URL + reverse("receipt_keys")


# --- Signing at submit -----------------------------------------------------------------------


def new_proposal_token() -> str:
    return secrets.token_hex(16)


def deadline_text(rfp) -> str:
    return utc_iso(rfp.deadline_instant).replace(".000000Z", "Z")


def _proposal_token(version: SubmissionVersion) -> str:
    if version.number == 1:  # the first version: no earlier signature to look up
        return new_proposal_token()
    earlier = (
        ReceiptSignature.objects.filter(version__proposal_id=version.proposal_id)
        .values_list("proposal_token", flat=True)
        .first()
    )
    return earlier or new_proposal_token()


def statement_for(
    version: SubmissionVersion, *, proposal_token: str, key_id: str, log_index: int | None = None
) -> dict:
    """The statement; format 2 with `log_index`, format 1 (as before the log) without."""
    rfp = version.proposal.rfp
    statement = {
        "format": FORMAT if log_index is not None else FORMAT_1,
        "portal": settings.SITE_URL,
        "rfp_slug": rfp.slug,
        "rfp_title": rfp.title,
        "deadline": deadline_text(rfp),
        "deadline_zone": rfp.deadline_zone,
        "proposal": proposal_token,
        "version": version.number,
        "received_at": utc_iso(version.received_at),
        "fields_sha256": version.fields_sha256,
        "document_sha256": version.document_sha256,
        "receipt_code": version.receipt_code,
        "key_id": key_id,
    }
    if log_index is not None:
        statement["log_index"] = log_index
    return statement


def sign_version(version: SubmissionVersion, *, log_index: int | None = None) -> ReceiptSignature:
    """Sign the new version's statement and store it; called inside the submit's transaction
    (the proposal row is locked, so the proposal's token is read and written by one submit).
    Submits go through proposals.transparency.append_receipt, which passes the log index
    (format 2); without one the statement is format 1, as receipts were before the log."""
    key_id, private = signing_key()
    token = _proposal_token(version)
    data = canonical(
        statement_for(version, proposal_token=token, key_id=key_id, log_index=log_index)
    )
    return ReceiptSignature.objects.create(
        version=version,
        proposal_token=token,
        statement=data.decode("ascii"),
        signature=b64(private.sign(data)),
        key_id=key_id,
    )


def receipt_file(
    signature: ReceiptSignature, inclusion: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The downloadable `.json`: the statement to read, the exact signed bytes and the
    signature (both base64), the key id, and where the public keys are published; with
    `inclusion` (proposals.transparency.receipt_inclusion), its place in the log and the proof
    against a signed head, made when downloaded (not signed: it is checked against the head)."""
    document = {
        "format": FILE_FORMAT,
        "statement": json.loads(signature.statement),
        "signed_bytes_base64": b64(signature.statement.encode("ascii")),
        "signature_base64": signature.signature,
        "algorithm": ALGORITHM,
        "key_id": signature.key_id,
        "keys_url": keys_url(),
    }
    if inclusion is not None:
        document["inclusion"] = inclusion
    return document


def receipt_file_bytes(
    signature: ReceiptSignature, inclusion: dict[str, Any] | None = None
) -> bytes:
    text = json.dumps(receipt_file(signature, inclusion), indent=2, sort_keys=True) + "\n"
    return text.encode("ascii")


# --- Verification ----------------------------------------------------------------------------


class ReceiptInvalid(Exception):
    """The file is not a valid signed receipt; `reason` is a short code, the message is for
    people; `detail`, when there is one, is the technical cause (for `manage.py verify_receipt`,
    never shown on a page)."""

    def __init__(self, reason: str, message: str, detail: str = ""):
        super().__init__(message)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class VerifiedReceipt:
    statement: dict[str, Any]
    key_id: str
    document_checked: bool = False
    document_matches: bool = False

    @property
    def rfp_title(self) -> str:
        return self.statement["rfp_title"]

    @property
    def received_at(self) -> datetime:
        return datetime.fromisoformat(self.statement["received_at"])

    @property
    def deadline(self) -> datetime:
        return datetime.fromisoformat(self.statement["deadline"])


def parse_file(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_FILE_BYTES:
        raise ReceiptInvalid(
            "too_large",
            _("The file is larger than %(size)s KB: it is not a signed receipt.")
            % {"size": MAX_FILE_BYTES // 1024},
        )
    if data.lstrip()[:5] == b"%PDF-":
        # The proposal's PDF put in the receipt's place: the usual mistake, said as such.
        raise ReceiptInvalid(
            "pdf",
            _(
                "This file is a PDF, not the signed receipt. The signed receipt is the .json "
                "file downloaded from the receipt page."
            ),
        )
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        # Python's own error text ("Expecting value: line 1 column 1…") means nothing to
        # people: it is kept as the detail, for the command line only.
        raise ReceiptInvalid(
            "not_json",
            _(
                "This file cannot be read as a signed receipt: it is not the .json file "
                "downloaded from the receipt page, or it was changed after the download. "
                "Download it again from the receipt page and check that one."
            ),
            detail=str(exc),
        ) from exc
    if not isinstance(parsed, dict) or parsed.get("format") != FILE_FORMAT:
        raise ReceiptInvalid(
            "not_a_receipt", _("The file is JSON, but not a signed receipt of this portal.")
        )
    return parsed


def _decoded(value: Any, message: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (AttributeError, UnicodeEncodeError, binascii.Error) as exc:
        raise ReceiptInvalid("not_a_receipt", message) from exc


def verify_file(
    receipt: bytes | dict[str, Any],
    keys: dict[str, Ed25519PublicKey],
    *,
    document_sha256: str | None = None,
) -> VerifiedReceipt:
    """Check a receipt file against `keys` (key id → public key); raises ReceiptInvalid.

    Checked in order: the file's form, that the readable statement is exactly the signed one,
    the key, the signature. With `document_sha256` (of a PDF), the result also says whether
    the PDF is the one the receipt names (a mismatch is reported, not raised: the receipt
    itself is still genuine)."""
    parsed = parse_file(receipt) if isinstance(receipt, bytes) else receipt
    signed = _decoded(
        parsed.get("signed_bytes_base64"), _("The receipt's signed statement is not valid base64.")
    )
    signature = _decoded(
        parsed.get("signature_base64"), _("The receipt's signature is not valid base64.")
    )
    try:
        signed_statement = json.loads(signed.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReceiptInvalid(
            "statement_mismatch", _("The signed statement is not canonical JSON.")
        ) from exc
    if (
        not isinstance(signed_statement, dict)
        or canonical(signed_statement) != signed
        or set(signed_statement) != FIELDS_OF_FORMAT.get(signed_statement.get("format"))
        or ("log_index" in signed_statement and type(signed_statement["log_index"]) is not int)
    ):
        raise ReceiptInvalid(
            "statement_mismatch",
            _("The signed statement is not a receipt statement in the expected form."),
        )
    if parsed.get("statement") != signed_statement:
        raise ReceiptInvalid(
            "statement_mismatch",
            _("The readable statement does not match the signed bytes: the file was changed."),
        )
    key_id = signed_statement["key_id"]
    if parsed.get("key_id") != key_id:
        raise ReceiptInvalid(
            "statement_mismatch",
            _("The file's key id does not match the signed statement's: the file was changed."),
        )
    key = keys.get(key_id)
    if key is None:
        raise ReceiptInvalid(
            "unknown_key",
            _("Unknown key %(key)s: it is not among the portal's published keys.")
            % {"key": key_id},
        )
    try:
        key.verify(signature, signed)
    except InvalidSignature as exc:
        raise ReceiptInvalid(
            "bad_signature",
            _("The signature is not valid for this statement: the receipt was changed or forged."),
        ) from exc
    result = {"statement": signed_statement, "key_id": key_id}
    if document_sha256 is not None:
        result["document_checked"] = True
        result["document_matches"] = document_sha256 == signed_statement["document_sha256"]
    return VerifiedReceipt(**result)
