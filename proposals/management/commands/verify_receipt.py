"""Check a signed receipt file offline: `manage.py verify_receipt FILE [--pdf P] [--keys K]`.

Without --keys the portal's own public keys (settings.RECEIPT_KEYS_DIR) are used; with it, a
copy of /.well-known/receipt-keys.json, so a bidder or an auditor needs no portal at all. Exit
status 0 and "valid" when the receipt is genuine (and, with --pdf, names exactly that PDF);
otherwise non-zero with the reason.
"""

import hashlib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from proposals import receipt_signing
from rfp_portal import deadlines


class Command(BaseCommand):
    help = "Verify a signed receipt (.json) with the portal's public keys, and optionally a PDF."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the signed receipt, receipt-<code>.json")
        parser.add_argument("--pdf", help="the proposal PDF: check it is the one the receipt names")
        parser.add_argument("--keys", help="a saved copy of /.well-known/receipt-keys.json")

    def handle(self, *args, file, pdf=None, keys=None, **options):
        data = _read(file, limit=receipt_signing.MAX_FILE_BYTES + 1)
        if keys:
            try:
                document = json.loads(_read(keys, limit=1024 * 1024))
            except ValueError as exc:
                raise CommandError(f"invalid: {keys} is not readable JSON ({exc}).") from exc
            public_keys = receipt_signing.keys_from_document(document)
        else:
            public_keys = receipt_signing.public_keys()
        digest = None
        if pdf:
            digest = hashlib.sha256()
            with Path(pdf).open("rb") as source:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    digest.update(chunk)
            digest = digest.hexdigest()
        try:
            verified = receipt_signing.verify_file(data, public_keys, document_sha256=digest)
        except receipt_signing.ReceiptInvalid as exc:
            detail = f" (Detail: {exc.detail})" if exc.detail else ""
            raise CommandError(f"invalid ({exc.reason}): {exc}{detail}") from exc
        statement = verified.statement
        if verified.document_checked and not verified.document_matches:
            raise CommandError(
                f"invalid (pdf_mismatch): the receipt is genuine, but {pdf} is not the PDF it "
                f"names (SHA-256 {digest}, receipt {statement['document_sha256']})."
            )
        received = deadlines.format_in_zone(verified.received_at, deadlines.UTC_ZONE_NAME).text
        self.stdout.write(
            f"valid: receipt {statement['receipt_code']} (version {statement['version']}) for "
            f'"{statement["rfp_title"]}", received {received}, signed by key '
            f"{verified.key_id}."
        )
        if verified.document_checked:
            self.stdout.write(f"valid: {pdf} is exactly the PDF the receipt names.")


def _read(name: str, *, limit: int) -> bytes:
    try:
        with Path(name).open("rb") as source:
            return source.read(limit)
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror}") from exc
