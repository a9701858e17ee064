"""Check the transparency log as an auditor (proposals.transparency), three ways:

    manage.py verify_log --head OLD.json --head NEW.json [--proof CONSISTENCY.json]
        the later head extends the earlier one (nothing changed or removed, only appended);
        the proof is a saved /transparency/<slug>/consistency/?first=&second= answer, or
        without --proof it is computed from this portal's log.
    manage.py verify_log --receipt RECEIPT.json --head HEAD.json [--proof INCLUSION.json]
        the signed receipt is a leaf of the tree the head signs; the proof is a saved
        /transparency/<slug>/proof/?index=&size= answer, else the receipt file's own
        `inclusion` object when it is for the head's size, else computed from this portal.
    manage.py verify_log --since-final SLUG
    manage.py verify_log --since-final --head FINAL.json --leaves LEAVES.json [...]
        the leaves the final head fixed still hash to its root, and no leaf was appended after
        it; a later leaf whose time is before the final head's (the opening, at or after the
        deadline) is reported as backdated. From this portal's database, or from saved
        /transparency/<slug>/leaves/ answers covering the whole log.

    manage.py verify_log --head HEAD.json [--token HEAD.tsr] [--tsa-ca TSA_CA.pem]
        the head's RFC 3161 timestamp token (the saved .tsr, else the one the head file
        carries) is a TSA's signature over the head's exact signed bytes, chaining to the root
        in TSA_CA.pem (default: this portal's TSA_CERTIFICATES); prints the TSA's time. Without
        the portal: `openssl ts -verify -data HEAD-BYTES.json -in HEAD.tsr -CAfile TSA_CA.pem`.

Heads and receipts are checked with this portal's public keys, or with --keys (a saved
/.well-known/receipt-keys.json). Exit status 0 and "valid" lines when every check passes;
otherwise non-zero with what failed.
"""

import base64
import binascii
import json
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from proposals import receipt_signing, transparency
from proposals.models import LogLeaf, TransparencyLog
from rfp_portal import timestamping

MAX_JSON_BYTES = 8 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Check transparency-log heads (consistency), a receipt's inclusion, or the log since "
        "its final head."
    )

    def add_arguments(self, parser):
        parser.add_argument("--head", action="append", default=[], help="a saved signed head")
        parser.add_argument("--receipt", help="a signed receipt file (receipt-<code>.json)")
        parser.add_argument("--proof", help="a saved proof answer of the portal")
        parser.add_argument(
            "--since-final",
            nargs="?",
            const="",
            default=None,
            metavar="SLUG",
            help="list leaves appended after the final head (from this portal, or with --leaves)",
        )
        parser.add_argument("--leaves", nargs="*", default=[], help="saved leaves answers")
        parser.add_argument("--keys", help="a saved copy of /.well-known/receipt-keys.json")
        parser.add_argument("--token", help="a head's saved RFC 3161 timestamp token (.tsr)")
        parser.add_argument(
            "--tsa-ca", help="the TSA's root certificate(s), PEM (default: TSA_CERTIFICATES)"
        )

    def handle(
        self, *args, head, receipt, proof, since_final, leaves, keys, token, tsa_ca, **options
    ):
        self.keys = (
            receipt_signing.keys_from_document(_load(keys))
            if keys
            else receipt_signing.public_keys()
        )
        try:
            if since_final is not None:
                self._since_final(since_final, head, leaves)
            elif receipt:
                if len(head) != 1:
                    raise CommandError("give exactly one --head with --receipt.")
                self._inclusion(receipt, head[0], proof)
            elif token or tsa_ca:
                if len(head) != 1:
                    raise CommandError("give exactly one --head with --token or --tsa-ca.")
                self._timestamp(head[0], token, tsa_ca)
            elif len(head) == 2:
                self._consistency(head[0], head[1], proof)
            else:
                raise CommandError(
                    "give two --head files, or --receipt and --head, or --since-final."
                )
        except transparency.LogCheckFailed as exc:
            raise CommandError(f"invalid: {exc}") from exc

    def _head(self, name: str) -> transparency.VerifiedHead:
        try:
            return transparency.verify_head(_load(name), self.keys)
        except transparency.LogCheckFailed as exc:
            raise CommandError(f"invalid head {name}: {exc}") from exc

    def _log(self, slug: str) -> TransparencyLog:
        log = TransparencyLog.objects.filter(rfp__slug=slug).first()
        if log is None:
            raise CommandError(f"this portal has no log for the RFP {slug}.")
        return log

    def _consistency(self, old_name: str, new_name: str, proof_name: str | None) -> None:
        old, new = self._head(old_name), self._head(new_name)
        if proof_name:
            answer = _load(proof_name)
            if (answer.get("first"), answer.get("second")) != (old.tree_size, new.tree_size):
                raise CommandError(
                    f"the proof is for sizes {answer.get('first')} and {answer.get('second')}, "
                    f"not {old.tree_size} and {new.tree_size}."
                )
            hashes = transparency.hashes_from_hex(answer.get("proof"))
        else:
            hashes = [
                bytes.fromhex(h)
                for h in transparency.consistency_for(
                    self._log(new.rfp_slug), old.tree_size, new.tree_size
                )
            ]
        transparency.check_consistency(old, new, hashes)
        self.stdout.write(
            f"valid: the head of {new.tree_size} leaves extends the head of {old.tree_size} "
            f"leaves (RFP {new.rfp_slug}): nothing was changed or removed."
        )

    def _inclusion(self, receipt_name: str, head_name: str, proof_name: str | None) -> None:
        head = self._head(head_name)
        document = _load(receipt_name)
        try:
            verified = receipt_signing.verify_file(document, self.keys)
        except receipt_signing.ReceiptInvalid as exc:
            raise CommandError(f"invalid ({exc.reason}): {exc}") from exc
        index = verified.statement.get("log_index")
        if not isinstance(index, int):
            raise CommandError(
                "invalid: this receipt (format 1) was signed before the log existed and has no "
                "log index."
            )
        if verified.statement["rfp_slug"] != head.rfp_slug:
            raise CommandError("invalid: the receipt and the head are of different RFPs.")
        inclusion = document.get("inclusion") or {}
        if proof_name:
            answer = _load(proof_name)
            if (answer.get("leaf_index"), answer.get("tree_size")) != (index, head.tree_size):
                raise CommandError("the proof is not for this receipt's index and head's size.")
            hashes = transparency.hashes_from_hex(answer.get("proof"))
        elif inclusion.get("tree_size") == head.tree_size and inclusion.get("leaf_index") == index:
            hashes = transparency.hashes_from_hex(inclusion.get("proof"))
        else:
            if index >= head.tree_size:
                raise CommandError(
                    f"invalid: leaf {index} is not in a tree of {head.tree_size} leaves."
                )
            hashes = [
                bytes.fromhex(h)
                for h in transparency.inclusion_for(self._log(head.rfp_slug), index, head.tree_size)
            ]
        signed = receipt_signing.canonical(verified.statement)
        transparency.check_inclusion(signed, index, head, hashes)
        self.stdout.write(
            f"valid: receipt {verified.statement['receipt_code']} is leaf {index} of the log of "
            f"{head.tree_size} leaves the head signs (RFP {head.rfp_slug})."
        )

    def _timestamp(self, head_name: str, token_name: str | None, ca: str | None) -> None:
        head = self._head(head_name)
        signed = receipt_signing.canonical(head.statement)
        if token_name:
            try:
                token = Path(token_name).read_bytes()
            except OSError as exc:
                raise CommandError(f"cannot read {token_name}: {exc.strerror}") from exc
        else:
            carried = _load(head_name).get("timestamp_token") or {}
            try:
                token = base64.b64decode(carried.get("token_base64") or "", validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CommandError(f"the timestamp token in {head_name} is not base64.") from exc
            if not token:
                raise CommandError(f"{head_name} carries no timestamp token: give --token.")
        try:
            info = timestamping.verify(token, signed, certificates=ca)
        except timestamping.TimestampError as exc:
            raise CommandError(f"invalid timestamp: {exc}") from exc
        when = _when(info.gen_time)
        self.stdout.write(
            f"valid: {info.tsa_name} timestamped the head of {head.tree_size} leaves "
            f"(RFP {head.rfp_slug}) at {when} (token serial {info.serial})."
        )

    def _since_final(self, slug: str, head_names: list[str], leaves_names: list[str]) -> None:
        if slug:
            log = self._log(slug)
            final_row = transparency.final_head(log)
            if final_row is None:
                raise CommandError(f"the RFP {slug} has no final head yet (it is not opened).")
            final = transparency.verify_head(transparency.head_file(final_row), self.keys)
            entries = [
                (index, entry.encode("ascii"))
                for index, entry in LogLeaf.objects.filter(log=log)
                .order_by("index")
                .values_list("index", "entry")
            ]
        else:
            if len(head_names) != 1 or not leaves_names:
                raise CommandError("give the RFP's slug, or one --head and the --leaves files.")
            final = self._head(head_names[0])
            if not final.final:
                raise CommandError(f"invalid: {head_names[0]} is not a final head.")
            entries = []
            for name in leaves_names:
                answer = _load(name)
                if answer.get("format") != transparency.LEAVES_FORMAT:
                    raise CommandError(f"{name} is not a leaves answer of the portal.")
                for leaf in answer.get("leaves", []):
                    entries.append((int(leaf["index"]), str(leaf["entry"]).encode("ascii")))
        late = transparency.leaves_since_final(final, entries)
        self.stdout.write(
            f"valid: the first {final.tree_size} leaves hash to the final head's root "
            f"(RFP {final.rfp_slug}, final head made {_when(final.statement['timestamp'])})."
        )
        if not late:
            self.stdout.write("valid: no leaf was appended after the final head.")
            return
        for leaf in late:
            label = "BACKDATED" if leaf.backdated else "late"
            when = _when(leaf.claimed_at) if leaf.claimed_at else "no time"
            self.stdout.write(
                f"{label}: leaf {leaf.index} ({leaf.kind}, time {when}) was appended after "
                "the final head."
            )
        backdated = sum(leaf.backdated for leaf in late)
        raise CommandError(
            f"invalid: {len(late)} leaves appended after the final head, {backdated} of them "
            "backdated to before it."
        )


def _when(instant: datetime | str) -> str:
    """An instant for the auditor reading the output: "2019-02-01 12:00:00 UTC"."""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _load(name: str) -> dict:
    try:
        with Path(name).open("rb") as source:
            data = source.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror}") from exc
    if len(data) > MAX_JSON_BYTES:
        raise CommandError(f"{name} is larger than {MAX_JSON_BYTES // (1024 * 1024)} MB.")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CommandError(f"{name} is not readable JSON ({exc}).") from exc
    if not isinstance(parsed, dict):
        raise CommandError(f"{name} is not a JSON object.")
    return parsed
