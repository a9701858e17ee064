"""Trusted time from outside, optionally: RFC 3161 timestamp tokens from a timestamp authority.

With `TSA_URL` set, `stamp(data)` asks the timestamp authority (TSA) there to sign the time at
which it saw SHA-256(data): it sends a TimeStampReq with a fresh random nonce and certReq set,
and accepts the reply only once it is verified (`rfc3161-client`): status granted, the message
imprint is our digest, the nonce is ours, and the signature chains to a root in
`TSA_CERTIFICATES`. Anything else, including a slow or silent TSA (`TSA_TIMEOUT` bounds the
whole exchange) or a reply over `MAX_REPLY_BYTES`, is a `TimestampError`: an unverified token is
never returned. Without `TSA_URL` the feature is off, `stamp` returns None and
`status_sentence()` says so.

The token kept is the TSA's whole DER TimeStampResp (a `.tsr` file). `verify(token, data)`
checks it again later; an auditor needs neither the portal nor Python:

    openssl ts -verify -data DATA_FILE -in TOKEN.tsr -CAfile TSA_CA.pem

(`openssl_verify_command` spells it out). It prints "Verification: OK" when the token was made
by a TSA certified under TSA_CA.pem for exactly the bytes in DATA_FILE.

`TSA_CERTIFICATES` is a PEM bundle holding the TSA's root certificate (and any intermediate
certificates); a bundle with only the TSA's own certificate verifies nothing. The reply's
certificates must be DER-encoded as RFC 5652 requires (a strict parser: a TSA that sends its
chain in an unsorted SET is refused rather than read leniently).

This module only makes and checks tokens: what is stamped (the published tree heads) and where
the token is kept is decided by the transparency log.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cryptography import x509
from django.conf import settings
from django.utils.translation import gettext as _
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

# A reply is a signed structure with the TSA's certificate (a few KB): anything larger is refused.
MAX_REPLY_BYTES = 64 * 1024
QUERY_TYPE = "application/timestamp-query"
# RFC 3161 3.4 names application/timestamp-reply; some TSAs say timestamp-response.
REPLY_TYPES = {"application/timestamp-reply", "application/timestamp-response"}
HASHES = {"sha256": HashAlgorithm.SHA256, "sha512": HashAlgorithm.SHA512}
# The digests a stored token may use (its message imprint names one), by object identifier.
DIGEST_OIDS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
OPENSSL_VERIFY = "openssl ts -verify -data {data} -in {token} -CAfile {ca}"


class TimestampError(Exception):
    """The TSA could not be reached in time, refused, or sent a token that does not verify."""


@dataclass(frozen=True)
class Stamp:
    """A verified timestamp for some bytes: keep `token` (a DER TimeStampResp) with them."""

    token: bytes
    gen_time: datetime  # the TSA's time, aware, UTC
    serial: int  # the TSA's serial number of the token
    tsa: str  # the URL it came from (without credentials: it may be published)


@dataclass(frozen=True)
class StampInfo:
    """What a stored token, checked again, says."""

    gen_time: datetime  # aware, UTC
    serial: int
    tsa_name: str  # the subject of the TSA certificate that signed it, e.g. "CN=…,O=…"
    policy: str  # the TSA's policy object identifier
    hash_name: str  # "sha256", …
    digest: str  # hex digest of the data, as the token names it


def enabled() -> bool:
    return bool(settings.TSA_URL)


def status_sentence() -> str:
    """One sentence for pages: whether tree heads carry a TSA's time, and whose."""
    if not enabled():
        return _(
            "No timestamp authority is configured: tree heads carry the portal's own time and "
            "signature only."
        )
    return _("Tree heads are timestamped by %(tsa)s.") % {"tsa": public_url(settings.TSA_URL)}


def public_url(url: str) -> str:
    """The TSA's address without any user name, password or query (which may hold a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def openssl_verify_command(data: str | Path, token: str | Path, ca: str | Path) -> list[str]:
    """The offline check an auditor runs: `openssl ts -verify` on the stored token."""
    return ["openssl", "ts", "-verify", "-data", str(data), "-in", str(token), "-CAfile", str(ca)]


def stamp(data: bytes) -> Stamp | None:
    """A verified timestamp token for `data` from the configured TSA; None when there is none."""
    if not enabled():
        return None
    url = settings.TSA_URL
    hash_name = settings.TSA_HASH
    if hash_name not in HASHES:
        raise TimestampError(f"TSA_HASH must be one of {', '.join(HASHES)}; got {hash_name!r}.")
    roots, intermediates = trusted_certificates()
    digest = hashlib.new(hash_name, data).digest()
    request = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HASHES[hash_name])
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    if request.message_imprint.message != digest:  # the library hashed what we meant
        raise TimestampError("The timestamp request does not carry the data's digest.")
    raw = post_query(url, request.as_bytes(), float(settings.TSA_TIMEOUT))
    source = f"The reply of the TSA at {public_url(url)}"
    response = parse_reply(raw, source=source)
    if imprint_hash(response, source=source) != hash_name:
        raise TimestampError(f"{source} names another digest than the {hash_name} we asked for.")
    check(response, digest, VerifierBuilder.from_request(request), roots, intermediates, source)
    if response.tst_info.nonce != request.nonce:  # checked by the verifier too; never skipped
        raise TimestampError(f"{source} does not carry our nonce: it answers another request.")
    return Stamp(
        token=raw,
        gen_time=utc(response.tst_info.gen_time),
        serial=response.tst_info.serial_number,
        tsa=public_url(url),
    )


def verify(token: bytes, data: bytes, *, certificates: str | Path | None = None) -> StampInfo:
    """Check a stored token against `data` and the TSA's root (TSA_CERTIFICATES by default)."""
    roots, intermediates = trusted_certificates(certificates)
    response = parse_reply(token, source="The token")
    hash_name = imprint_hash(response, source="The token")
    digest = hashlib.new(hash_name, data).digest()
    check(response, digest, VerifierBuilder(), roots, intermediates, "The token")
    info = response.tst_info
    return StampInfo(
        gen_time=utc(info.gen_time),
        serial=info.serial_number,
        tsa_name=signer_name(response),
        policy=info.policy.dotted_string,
        hash_name=hash_name,
        digest=digest.hex(),
    )


def trusted_certificates(
    path: str | Path | None = None,
) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """The roots (self-issued) and intermediate certificates of the PEM bundle at `path`."""
    path = path or settings.TSA_CERTIFICATES
    if not path:
        raise TimestampError(
            "TSA_CERTIFICATES is not set: without the TSA's root certificate no token can be "
            "verified, so none is accepted."
        )
    try:
        certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except OSError as exc:
        raise TimestampError(f"TSA_CERTIFICATES ({path}) cannot be read: {exc}.") from exc
    except ValueError as exc:
        raise TimestampError(f"TSA_CERTIFICATES ({path}) is not a PEM bundle: {exc}.") from exc
    unique = list(dict.fromkeys(certificates))  # a certificate listed twice counts once
    roots = [cert for cert in unique if cert.issuer == cert.subject]
    if not roots:
        raise TimestampError(
            f"TSA_CERTIFICATES ({path}) holds no root certificate: add the TSA's root CA."
        )
    return roots, [cert for cert in unique if cert.issuer != cert.subject]


def post_query(url: str, query: bytes, timeout: float) -> bytes:
    """POST the query and read the reply, the whole exchange within `timeout` seconds."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TimestampError(f"TSA_URL must be an http:// or https:// address; got {url!r}.")
    where = public_url(url)
    deadline = time.monotonic() + timeout
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {
        "Content-Type": QUERY_TYPE,
        "Accept": ", ".join(sorted(REPLY_TYPES)),
        "User-Agent": "RFP Portal",
    }
    if parts.username:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.connect()
        sock = connection.sock
        sock.settimeout(remaining(deadline, where))
        connection.request("POST", path, body=query, headers=headers)
        sock.settimeout(remaining(deadline, where))
        response = connection.getresponse()
        if response.status != 200:
            raise TimestampError(f"The TSA at {where} answered HTTP {response.status}.")
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in REPLY_TYPES:
            raise TimestampError(
                f"The TSA at {where} answered {content_type or 'no content type'}, "
                "not a timestamp reply."
            )
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > MAX_REPLY_BYTES:
            raise TimestampError(f"The TSA at {where} sent a reply over {MAX_REPLY_BYTES} bytes.")
        body = bytearray()
        while not response.isclosed():  # it closes itself once the whole reply is read
            sock.settimeout(remaining(deadline, where))
            chunk = response.read1(16 * 1024)
            if not chunk:
                break
            body += chunk
            if len(body) > MAX_REPLY_BYTES:
                raise TimestampError(
                    f"The TSA at {where} sent a reply over {MAX_REPLY_BYTES} bytes."
                )
        return bytes(body)
    except TimeoutError as exc:
        raise TimestampError(f"The TSA at {where} did not answer within {timeout:g} s.") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise TimestampError(f"The TSA at {where} could not be reached: {exc}.") from exc
    finally:
        connection.close()


def remaining(deadline: float, where: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"no answer from {where} in time")
    return left


def parse_reply(raw: bytes, *, source: str) -> TimeStampResponse:
    if not raw:
        raise TimestampError(f"{source} is empty, not an RFC 3161 timestamp reply.")
    try:
        response = decode_timestamp_response(raw)
    except ValueError as exc:
        raise TimestampError(f"{source} is not an RFC 3161 timestamp reply ({exc}).") from exc
    if response.status != PKIStatus.GRANTED:
        detail = "; ".join(response.status_string) or "no reason given"
        raise TimestampError(
            f"{source} is not a granted timestamp (status {response.status}: {detail})."
        )
    return response


def imprint_hash(response: TimeStampResponse, *, source: str) -> str:
    """The name of the digest the token's message imprint uses, if it is one we accept."""
    algorithm = response.tst_info.message_imprint.hash_algorithm.dotted_string
    if algorithm not in DIGEST_OIDS:
        raise TimestampError(f"{source} uses a digest this portal does not accept ({algorithm}).")
    return DIGEST_OIDS[algorithm]


def check(
    response: TimeStampResponse,
    digest: bytes,
    verifier: VerifierBuilder,
    roots: list[x509.Certificate],
    intermediates: list[x509.Certificate],
    source: str,
) -> None:
    """The imprint is `digest`, and the signature chains to one of `roots`; else TimestampError."""
    if response.tst_info.message_imprint.message != digest:
        raise TimestampError(f"{source} timestamps other data than these bytes.")
    for root in roots:
        verifier = verifier.add_root_certificate(root)
    for certificate in intermediates:
        verifier = verifier.add_intermediate_certificate(certificate)
    try:
        verifier.build().verify(response, digest)
    except (VerificationError, ValueError) as exc:
        raise TimestampError(f"{source} does not verify: {exc}") from exc


def signer_name(response: TimeStampResponse) -> str:
    """The subject of the certificate that signed the token (the verifier matched it)."""
    signer = next(iter(response.signed_data.signer_infos))
    for der in response.signed_data.certificates:
        certificate = x509.load_der_x509_certificate(der)
        if (
            certificate.issuer == signer.issuer
            and certificate.serial_number == signer.serial_number
        ):
            return certificate.subject.rfc4514_string()
    return ""


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
