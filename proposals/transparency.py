"""The transparency log: one append-only Merkle tree per RFP, and its signed tree heads.

Why one log per RFP: the set of on-time submissions is per RFP, and the head published when
the RFP opens (the *final head*) fixes that set. Hashing, proofs and their verification are
RFC 9162's (proposals.merkle); this module keeps the log in the database, signs its heads
with the receipt keys (proposals.receipt_signing) and holds the checks an auditor runs
(`manage.py verify_log` and the tests share them).

Leaves (LogLeaf), each an ASCII canonical JSON entry (receipt_signing.canonical); the leaf
hash is SHA-256(0x00 || entry):

- a receipt: the entry is exactly the receipt's signed statement, format
  "rfp-portal-receipt/2", which carries its own `log_index`; so the receipt file a team holds
  is also its leaf, and the receipt's signature covers its place in the log.
- a withdrawal: a new leaf, never a deletion, format "rfp-portal-withdrawal/1"::

      format, portal, rfp_slug, deadline  as in a receipt
      proposal        the proposal's pseudonymous id (the one its receipts carry)
      withdrawn_at    the instant of the withdrawal, UTC, ISO-8601 with microseconds
      log_index       its index in the log

Appending (append_receipt, append_withdrawal) happens in the submit's (or withdrawal's)
transaction, as its last write: the RFP's TransparencyLog row is locked (select_for_update)
so indexes are dense and in commit order, and the row keeps the right-edge frontier of
subtree hashes, so an append is O(log n) hashes and one row update whatever the log's size.
The lock lasts from the append to the commit, which follows at once. The entry holds its
own index, so its hash can only be made under the lock; it is one SHA-256 of a few hundred
bytes (and the receipt's Ed25519 signature), microseconds. Submits already hold the RFP row
in share mode and opening locks it for update (proposals.submission._locked), so the final
head, made in open_rfp's transaction, sees every committed on-time submit and no later one.

Signed tree heads (TreeHead): the canonical JSON statement, format "rfp-portal-tree-head/1"::

    format, portal, rfp_slug
    tree_size       number of leaves
    root_hash       MTH of those leaves, hex
    timestamp       when the head was made, UTC, ISO-8601 with microseconds
    final           true for the head made when the RFP opened
    key_id          the receipt key that signed it

A head is made: when the RFP opens (final, and mailed to every bidder); when someone looks
at the log (the pages and JSON of /transparency/) and it grew since its last head, at most
one a minute per RFP; and by the beat task (proposals.tasks.publish_tree_heads).

Trusted time (rfp_portal.timestamping, when TSA_URL is set): each head, not each receipt, gets
an RFC 3161 token over its statement's exact bytes, verified before it is stored with the head
(TreeHead.tsa_*). The token is asked for after the head's transaction commits, by a Celery task
(proposals.tasks.stamp_tree_head, queued with enqueue_on_commit; `_sign_head` is the one place
that queues it): the final head is made in open_rfp's transaction, under the RFP's row lock, and
a TSA may take up to TSA_TIMEOUT to answer; asked inside, it would hold every submit and the
opening that long, and a failing TSA would roll the head back. So a head is published at once,
without its token; the token is added by one UPDATE of that row (only while it has none, so two
runs never overwrite each other: idempotent). A TSA that fails, or a broker that is down, only
delays it: the failure is logged and the beat task stamps the heads still without a token
(stamp_pending), a few per run, stopping at the first failure while the TSA is down. The task
does not use Celery's retries: without a broker tasks run eagerly, in the request, and the beat
task is the one retry that needs neither.

Sealing (PRODUCT.md rule 2): the log shows receipts' statements (RFP, deadline, a
pseudonymous proposal id, version number, times, SHA-256 of the answers and of the PDF,
receipt code) and withdrawals, never a proposal's content, title or team, before or after
opening. What it does reveal before opening is what any public receipt log must: how many
submits and withdrawals there were, when, and which versions belong to one (unnamed)
proposal. The hashes reveal nothing of the content that is not already known to whoever
holds it.

Why one module of over 400 lines: the entries' and heads' formats, the appends that write them
and the auditor's checks that read them (verify_head, check_consistency, check_inclusion,
leaves_since_final) must agree byte for byte; kept together they are one thing to audit, as
receipt_signing is for receipts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from proposals import merkle, receipt_signing
from proposals.models import (
    RFP,
    LogLeaf,
    Proposal,
    ReceiptSignature,
    SubmissionVersion,
    TransparencyLog,
    TreeHead,
)
from rfp_portal import timestamping
from rfp_portal.queueing import enqueue_on_commit

HEAD_FORMAT = "rfp-portal-tree-head/1"
HEAD_FILE_FORMAT = "rfp-portal-signed-tree-head/1"
WITHDRAWAL_FORMAT = "rfp-portal-withdrawal/1"
LEAVES_FORMAT = "rfp-portal-log-leaves/1"
HEAD_FIELDS = (
    "format",
    "portal",
    "rfp_slug",
    "tree_size",
    "root_hash",
    "timestamp",
    "final",
    "key_id",
)
# On-demand heads (a page or JSON request when the log grew): at most one per RFP this often.
HEAD_INTERVAL = timedelta(minutes=1)
# The /leaves/ endpoint returns at most this many entries per request.
MAX_LEAVES_PER_REQUEST = 1000
# The Celery task that stamps a head (proposals.tasks imports this module: named, not imported).
STAMP_TASK = "proposals.tasks.stamp_tree_head"
# The beat task stamps at most this many heads still without a token per run (final heads
# first, then the newest).
STAMP_BATCH = 20

logger = logging.getLogger(__name__)


# --- Appending -------------------------------------------------------------------------------


def _locked_log(rfp: RFP) -> TransparencyLog:
    log, _created = TransparencyLog.objects.select_for_update().get_or_create(rfp=rfp)
    return log


def _append_locked(
    log: TransparencyLog, *, kind: str, entry: bytes, claimed_at: datetime, now: datetime
) -> LogLeaf:
    hashed = merkle.leaf_hash(entry)
    frontier = merkle.Frontier.from_hex(log.size, log.frontier)
    frontier.append(hashed)
    leaf = LogLeaf.objects.create(
        log=log,
        index=log.size,
        kind=kind,
        entry=entry.decode("ascii"),
        leaf_hash=hashed.hex(),
        claimed_at=claimed_at,
        appended_at=now,
    )
    log.size = frontier.size
    log.frontier = frontier.to_hex()
    log.root_hash = frontier.root().hex()
    log.updated_at = now
    log.save(update_fields=["size", "frontier", "root_hash", "updated_at"])
    return leaf


def append_receipt(version: SubmissionVersion) -> ReceiptSignature:
    """Sign the new version's receipt (format 2, with its log index) and append it to its
    RFP's log; in the submit's transaction, as its last write (the log row stays locked until
    the commit)."""
    rfp = version.proposal.rfp
    log = _locked_log(rfp)
    signature = receipt_signing.sign_version(version, log_index=log.size)
    _append_locked(
        log,
        kind=LogLeaf.Kind.RECEIPT,
        entry=signature.statement.encode("ascii"),
        claimed_at=version.received_at,
        now=version.received_at,
    )
    return signature


def append_withdrawal(proposal: Proposal, *, now: datetime) -> LogLeaf:
    """Append a withdrawal leaf naming the proposal's pseudonymous id; in the withdrawal's
    transaction."""
    rfp = proposal.rfp
    token = (
        ReceiptSignature.objects.filter(version__proposal_id=proposal.pk)
        .values_list("proposal_token", flat=True)
        .first()
    ) or receipt_signing.new_proposal_token()
    log = _locked_log(rfp)
    entry = receipt_signing.canonical(
        {
            "format": WITHDRAWAL_FORMAT,
            "portal": settings.SITE_URL,
            "rfp_slug": rfp.slug,
            "deadline": receipt_signing.deadline_text(rfp),
            "proposal": token,
            "withdrawn_at": receipt_signing.utc_iso(now),
            "log_index": log.size,
        }
    )
    return _append_locked(log, kind=LogLeaf.Kind.WITHDRAWAL, entry=entry, claimed_at=now, now=now)


# --- Heads -----------------------------------------------------------------------------------


def head_statement(head: TreeHead) -> dict[str, Any]:
    return json.loads(head.statement)


def _sign_head(log: TransparencyLog, *, now: datetime, final: bool) -> TreeHead:
    key_id, private = receipt_signing.signing_key()
    data = receipt_signing.canonical(
        {
            "format": HEAD_FORMAT,
            "portal": settings.SITE_URL,
            "rfp_slug": log.rfp.slug,
            "tree_size": log.size,
            "root_hash": log.root_hash,
            "timestamp": receipt_signing.utc_iso(now),
            "final": final,
            "key_id": key_id,
        }
    )
    head = TreeHead.objects.create(
        log=log,
        tree_size=log.size,
        root_hash=log.root_hash,
        timestamp=now,
        final=final,
        statement=data.decode("ascii"),
        signature=receipt_signing.b64(private.sign(data)),
        key_id=key_id,
    )
    if timestamping.enabled():  # after the commit: never under the log's or the RFP's lock
        from celery import current_app

        enqueue_on_commit(current_app.tasks[STAMP_TASK], head.pk)
    return head


# --- Trusted time (RFC 3161) -----------------------------------------------------------------


def stamp_head(head_id: int) -> bool:
    """Ask the TSA for a token over the head's exact signed bytes and store it with the head;
    False when there is nothing to do (no TSA, no such head, or it has a token already).
    Raises timestamping.TimestampError when the TSA fails: the head stays as it is."""
    head = TreeHead.objects.filter(pk=head_id).only("pk", "statement", "tsa_gen_time").first()
    if head is None or head.tsa_gen_time is not None or not timestamping.enabled():
        return False
    data = head.statement.encode("ascii")
    stamp = timestamping.stamp(data)
    if stamp is None:
        return False
    info = timestamping.verify(stamp.token, data)  # the name of the TSA certificate that signed
    return bool(
        TreeHead.objects.filter(pk=head.pk, tsa_gen_time__isnull=True).update(
            tsa_token=stamp.token,
            tsa_gen_time=stamp.gen_time,
            tsa_serial=str(stamp.serial),
            tsa_name=info.tsa_name,
            tsa_url=stamp.tsa,
        )
    )


def stamp_head_logged(head_id: int) -> bool:
    """stamp_head, with a TSA failure logged instead of raised (the beat task retries)."""
    try:
        return stamp_head(head_id)
    except timestamping.TimestampError as exc:
        logger.warning("Tree head %s left without a timestamp for now: %s", head_id, exc)
        return False


def stamp_pending(*, limit: int = STAMP_BATCH) -> int:
    """Stamp heads still without a token (final heads first, then the newest), at most `limit`;
    stops at the first failure (the TSA is down: the next run tries again). The count stamped."""
    if not timestamping.enabled():
        return 0
    pending = TreeHead.objects.filter(tsa_gen_time__isnull=True).order_by(
        "-final", "-timestamp", "-pk"
    )
    stamped = 0
    for head_id in pending.values_list("pk", flat=True)[:limit]:
        try:
            stamped += stamp_head(head_id)
        except timestamping.TimestampError as exc:
            logger.warning("Tree heads left without a timestamp for now: %s", exc)
            break
    return stamped


def latest_head(log: TransparencyLog) -> TreeHead | None:
    return log.heads.order_by("-tree_size", "-timestamp", "-pk").first()


def final_head(log: TransparencyLog) -> TreeHead | None:
    return log.heads.filter(final=True).first()


def refresh_head(log: TransparencyLog, *, now: datetime, force: bool = False) -> TreeHead | None:
    """The latest head, after making a new one if the log grew since it, and (unless
    `force`) the last was made over HEAD_INTERVAL ago. Reads the state row without locking
    it (a submit holding it is never waited for); two viewers at once may both make a head
    of the same size, which is harmless."""
    head = latest_head(log)
    state = TransparencyLog.objects.filter(pk=log.pk).values("size", "root_hash").first()
    if state is None:
        return head
    log.size, log.root_hash = state["size"], state["root_hash"]
    grew = head is None or log.size > head.tree_size
    recent = head is not None and now - head.timestamp < HEAD_INTERVAL
    if grew and (force or not recent):
        head = _sign_head(log, now=now, final=False)
    return head


def publish_heads(*, now: datetime) -> int:
    """The beat task: a head for every log that grew since its last head; the count made."""
    made = 0
    for log in TransparencyLog.objects.select_related("rfp"):
        head = latest_head(log)
        if head is None or log.size > head.tree_size:
            _sign_head(log, now=now, final=False)
            made += 1
    return made


@transaction.atomic
def publish_final_head(rfp: RFP, *, now: datetime) -> TreeHead:
    """The final head, made in open_rfp's transaction (the RFP row is locked for update, so
    no submit is in flight); an RFP without submissions gets one of size 0. Mailed to every
    bidder: every member of every proposal with a submitted version."""
    log = _locked_log(rfp)
    existing = final_head(log)
    if existing is not None:
        return existing
    head = _sign_head(log, now=now, final=True)
    _mail_final_head(rfp, head)
    return head


def _mail_final_head(rfp: RFP, head: TreeHead) -> None:
    from proposals.models import ProposalMember
    from rfp_portal import outbox

    members = (
        ProposalMember.objects.filter(proposal__rfp=rfp, proposal__versions__isnull=False)
        .select_related("user")
        .order_by("user_id")
        .distinct()
    )
    sent = set()
    for member in members:
        if member.user_id in sent:
            continue
        sent.add(member.user_id)
        outbox.queue_templated_mail(
            to=member.user.email,
            template="proposals/email/final_head",
            context={
                "rfp": rfp,
                "user": member.user,
                "head": head,
                "head_url": settings.SITE_URL + head_url(head),
                "log_url": settings.SITE_URL + reverse("transparency_rfp", args=[rfp.slug]),
                "site_url": settings.SITE_URL,
            },
            idempotency_key=f"final-head:{head.pk}:{member.user_id}",
            rfp=rfp,
            about_bidder=True,
        )


def head_url(head: TreeHead) -> str:
    return reverse("transparency_head", args=[head.log.rfp.slug, head.pk])


def token_url(head: TreeHead) -> str:
    return reverse("transparency_head_token", args=[head.log.rfp.slug, head.pk])


def statement_url(head: TreeHead) -> str:
    return reverse("transparency_head_statement", args=[head.log.rfp.slug, head.pk])


def head_timestamp(head: TreeHead) -> dict[str, Any] | None:
    """The head's RFC 3161 token, as a head file carries it; None while it has none."""
    if head.tsa_gen_time is None or head.tsa_token is None:
        return None
    return {
        "tsa_name": head.tsa_name,
        "tsa_url": head.tsa_url,
        "gen_time": receipt_signing.utc_iso(head.tsa_gen_time),
        "serial": head.tsa_serial,
        "token_base64": receipt_signing.b64(bytes(head.tsa_token)),
        "token_url": settings.SITE_URL + token_url(head),
        "data_url": settings.SITE_URL + statement_url(head),
        "verify": " ".join(
            timestamping.openssl_verify_command("HEAD.json", "HEAD.tsr", "TSA_CA.pem")
        ),
    }


def head_file(head: TreeHead) -> dict[str, Any]:
    """A head as served and as saved by an auditor: the readable statement, the exact signed
    bytes and the signature (base64), as a signed receipt file is laid out."""
    return {
        "format": HEAD_FILE_FORMAT,
        "head": head_statement(head),
        "signed_bytes_base64": receipt_signing.b64(head.statement.encode("ascii")),
        "signature_base64": head.signature,
        "algorithm": receipt_signing.ALGORITHM,
        "key_id": head.key_id,
        "keys_url": receipt_signing.keys_url(),
        "url": settings.SITE_URL + head_url(head),
        "timestamp_token": head_timestamp(head),
    }


# --- Proofs from the database ----------------------------------------------------------------


def leaf_hashes(log: TransparencyLog, size: int) -> list[bytes]:
    return [
        bytes.fromhex(h)
        for h in LogLeaf.objects.filter(log=log, index__lt=size)
        .order_by("index")
        .values_list("leaf_hash", flat=True)
    ]


def inclusion_for(log: TransparencyLog, index: int, size: int) -> list[str]:
    return [h.hex() for h in merkle.inclusion_proof(leaf_hashes(log, size), index, size)]


def consistency_for(log: TransparencyLog, first: int, second: int) -> list[str]:
    return [h.hex() for h in merkle.consistency_proof(leaf_hashes(log, second), first, second)]


def leaf_json(leaf: LogLeaf) -> dict[str, Any]:
    return {
        "index": leaf.index,
        "kind": leaf.kind,
        "entry": leaf.entry,
        "leaf_hash": leaf.leaf_hash,
    }


def receipt_inclusion(signature: ReceiptSignature, *, now: datetime) -> dict[str, Any] | None:
    """The `inclusion` object of a format-2 receipt file: its leaf, the latest signed head
    that contains it (one is made if none does yet) and the proof against that head."""
    index = json.loads(signature.statement).get("log_index")
    if not isinstance(index, int):  # a format-1 receipt, signed before the log existed
        return None
    leaf = (
        LogLeaf.objects.filter(
            log__rfp_id=signature.version.proposal.rfp_id, index=index, kind=LogLeaf.Kind.RECEIPT
        )
        .select_related("log__rfp")
        .first()
    )
    if leaf is None or leaf.entry != signature.statement:
        return None
    head = latest_head(leaf.log)
    if head is None or head.tree_size <= leaf.index:
        head = refresh_head(leaf.log, now=now, force=True)
    return {
        "leaf_index": leaf.index,
        "leaf_hash": leaf.leaf_hash,
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "proof": inclusion_for(leaf.log, leaf.index, head.tree_size),
        "head": head_file(head),
    }


# --- Verification (the auditor's checks; manage.py verify_log and the tests) ----------------


class LogCheckFailed(Exception):
    """A head, proof or leaf list does not check out; the message is for people."""


@dataclass(frozen=True)
class VerifiedHead:
    statement: dict[str, Any]

    @property
    def tree_size(self) -> int:
        return self.statement["tree_size"]

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.statement["root_hash"])

    @property
    def rfp_slug(self) -> str:
        return self.statement["rfp_slug"]

    @property
    def timestamp(self) -> datetime:
        return datetime.fromisoformat(self.statement["timestamp"])

    @property
    def final(self) -> bool:
        return bool(self.statement["final"])


def verify_head(document: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> VerifiedHead:
    """Check a head file's form and signature; raises LogCheckFailed."""
    if not isinstance(document, dict) or document.get("format") != HEAD_FILE_FORMAT:
        raise LogCheckFailed(_("The file is not a signed tree head of this portal."))
    try:
        signed = receipt_signing.b64decode(document.get("signed_bytes_base64"))
        signature = receipt_signing.b64decode(document.get("signature_base64"))
        statement = json.loads(signed.decode("ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LogCheckFailed(_("The tree head's signed bytes are not readable.")) from exc
    if (
        not isinstance(statement, dict)
        or receipt_signing.canonical(statement) != signed
        or set(statement) != set(HEAD_FIELDS)
        or statement.get("format") != HEAD_FORMAT
        or not isinstance(statement.get("tree_size"), int)
        or statement["tree_size"] < 0
        or not _is_hex_hash(statement.get("root_hash"))
    ):
        raise LogCheckFailed(_("The tree head's signed statement is not in the expected form."))
    if document.get("head") != statement:
        raise LogCheckFailed(
            _("The readable tree head does not match the signed bytes: the file was changed.")
        )
    key = keys.get(statement["key_id"])
    if key is None:
        raise LogCheckFailed(
            _("Unknown key %(key)s: it is not among the portal's published keys.")
            % {"key": statement["key_id"]}
        )
    try:
        key.verify(signature, signed)
    except InvalidSignature as exc:
        raise LogCheckFailed(_("The tree head's signature is not valid.")) from exc
    return VerifiedHead(statement)


def _is_hex_hash(value: Any) -> bool:
    try:
        return isinstance(value, str) and len(bytes.fromhex(value)) == merkle.HASH_SIZE
    except ValueError:
        return False


def hashes_from_hex(values: Any) -> list[bytes]:
    if not isinstance(values, list) or not all(_is_hex_hash(v) for v in values):
        raise LogCheckFailed(_("The proof is not a list of SHA-256 hashes in hex."))
    return [bytes.fromhex(v) for v in values]


def check_consistency(old: VerifiedHead, new: VerifiedHead, proof: Sequence[bytes]) -> None:
    """The later head extends the earlier one (same log, append-only); raises LogCheckFailed."""
    if old.rfp_slug != new.rfp_slug:
        raise LogCheckFailed(_("The two heads are of different RFPs' logs."))
    if old.tree_size > new.tree_size:
        raise LogCheckFailed(
            _("The later head has fewer leaves (%(new)s) than the earlier one (%(old)s).")
            % {"new": new.tree_size, "old": old.tree_size}
        )
    if old.tree_size == 0:  # the empty tree is a prefix of every tree; nothing to prove
        if old.root != merkle.EMPTY_ROOT or proof:
            raise LogCheckFailed(_("The earlier head is of an empty log but not in its form."))
        return
    if not merkle.verify_consistency(old.tree_size, new.tree_size, old.root, new.root, proof):
        raise LogCheckFailed(
            _(
                "The consistency proof from %(old)s to %(new)s leaves does not verify: the log "
                "was changed after the earlier head, not only appended to."
            )
            % {"old": old.tree_size, "new": new.tree_size}
        )


def check_inclusion(
    statement_bytes: bytes, index: int, head: VerifiedHead, proof: Sequence[bytes]
) -> None:
    """The receipt's signed statement is leaf `index` of the tree the head signs."""
    if not merkle.verify_inclusion(
        index, head.tree_size, merkle.leaf_hash(statement_bytes), proof, head.root
    ):
        raise LogCheckFailed(
            _(
                "The inclusion proof does not verify: this receipt is not leaf %(index)s of "
                "the log of %(size)s leaves that the head signs."
            )
            % {"index": index, "size": head.tree_size}
        )


@dataclass(frozen=True)
class LateLeaf:
    index: int
    kind: str
    claimed_at: datetime | None
    backdated: bool


def claimed_time(entry: dict[str, Any]) -> datetime | None:
    value = entry.get("received_at") or entry.get("withdrawn_at")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def leaves_since_final(final: VerifiedHead, leaves: Iterable[tuple[int, bytes]]) -> list[LateLeaf]:
    """Check the leaves (index, exact entry bytes) against the final head: the first
    tree_size of them must hash to its root (raises LogCheckFailed otherwise: history was
    rewritten), and every leaf after them is listed; one whose time (received or withdrawn)
    is before the final head's time — the opening, at or after the deadline — is backdated.
    After the final head no leaf is legitimate: the RFP is closed."""
    ordered = sorted(leaves)
    if [i for i, _entry in ordered] != list(range(len(ordered))):
        raise LogCheckFailed(_("The leaves are not the whole log from index 0, without gaps."))
    if len(ordered) < final.tree_size:
        raise LogCheckFailed(
            _("The log has %(n)s leaves, fewer than the %(size)s the final head signs.")
            % {"n": len(ordered), "size": final.tree_size}
        )
    hashes = [merkle.leaf_hash(entry) for _i, entry in ordered]
    if merkle.root(hashes[: final.tree_size]) != final.root:
        raise LogCheckFailed(
            _(
                "The first %(size)s leaves do not hash to the final head's root: a leaf the "
                "final head fixed was changed, removed or inserted."
            )
            % {"size": final.tree_size}
        )
    late = []
    for index, entry in ordered[final.tree_size :]:
        try:
            parsed = json.loads(entry.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            parsed = {}
        when = claimed_time(parsed) if isinstance(parsed, dict) else None
        kind = "withdrawal" if parsed.get("format") == WITHDRAWAL_FORMAT else "receipt"
        late.append(LateLeaf(index, kind, when, backdated=when is None or when < final.timestamp))
    return late
