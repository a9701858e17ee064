"""A local RFC 3161 timestamp authority for tests: Debian's `openssl ts` behind a tiny HTTP server
on 127.0.0.1, with its own root CA made in a temporary directory.

`local_tsa(directory)` makes the CA, the TSA's certificate (extendedKeyUsage critical
timeStamping, as RFC 3161 2.3 requires), an openssl.cnf with a [tsa] section, and serves
POSTs in a thread: the body (a TimeStampReq) is handed to `openssl ts -reply` and its DER
TimeStampResp comes back as application/timestamp-reply. `tsa.mode` makes it misbehave on
purpose: "garbage" (200 with bytes that are no reply), "error" (a 500), "huge" (100 KB),
"slow" (answers only after `tsa.delay` seconds), "replay" (sends `tsa.replay` again, a reply
made for another request).

The `tsa` fixture (import `tsa_fixture`, as tests/rfp_portal/test_timestamping.py does) skips
without `openssl`, or fails with REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers.required_services import require_or_skip

OPENSSL = shutil.which("openssl")
MAX_QUERY_BYTES = 16 * 1024
OPENSSL_SECONDS = 10

CNF = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused

[ root_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ tsa_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer

[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.4146.2.3
other_policies = 1.3.6.1.4.1.4146.2.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(
        [OPENSSL, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=OPENSSL_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace")
        raise RuntimeError(f"openssl {' '.join(args)} failed: {stderr}")
    return result.stdout


def make_authority(directory: Path, name: str) -> None:
    """A root CA and a TSA certificate it issued, and the openssl.cnf to answer with them."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "openssl.cnf").write_text(CNF.format(dir=directory))
    (directory / "serial").write_text("01\n")
    cnf = str(directory / "openssl.cnf")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl(
        "req", "-config", cnf, "-x509", *ec, "-keyout", "root.key", "-out", "root.crt",
        "-days", "2", "-subj", f"/O=Tests/CN={name} root CA", "-extensions", "root_ext",
        cwd=directory,
    )  # fmt: skip
    openssl(
        "req", "-config", cnf, "-new", *ec, "-keyout", "tsa.key", "-out", "tsa.csr",
        "-subj", f"/O=Tests/CN={name} TSA",
        cwd=directory,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "root.crt", "-CAkey", "root.key",
        "-set_serial", "2", "-days", "1", "-extfile", cnf, "-extensions", "tsa_ext",
        "-out", "tsa.crt",
        cwd=directory,
    )  # fmt: skip


@dataclass
class LocalTSA:
    directory: Path
    url: str = ""
    mode: str = "ok"
    delay: float = 3.0
    replay: bytes = b""
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def ca_file(self) -> Path:
        """The root certificate a verifier trusts (TSA_CERTIFICATES)."""
        return self.directory / "root.crt"

    def reply(self, query: bytes) -> bytes:
        """openssl's DER TimeStampResp for a DER TimeStampReq (one at a time: the serial file)."""
        with self.lock, tempfile.TemporaryDirectory(dir=self.directory) as work:
            query_file = Path(work) / "query.tsq"
            query_file.write_bytes(query)
            return openssl(
                "ts", "-reply", "-config", str(self.directory / "openssl.cnf"),
                "-queryfile", str(query_file),
                cwd=self.directory,
            )  # fmt: skip


def handler_for(tsa: LocalTSA) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 5  # seconds per socket operation: a stalled client does not hold a thread

        def do_POST(self):
            tsa.requests += 1
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_QUERY_BYTES:
                self.answer(400, "text/plain", b"bad length")
                return
            query = self.rfile.read(length)
            if tsa.mode == "slow":
                tsa.stop.wait(tsa.delay)
            if tsa.mode == "error":
                self.answer(500, "text/plain", b"the TSA is broken")
            elif tsa.mode == "garbage":
                self.answer(200, "application/timestamp-reply", b"\x30\x03not a reply at all")
            elif tsa.mode == "huge":
                self.answer(200, "application/timestamp-reply", b"\x30" * (100 * 1024))
            elif tsa.mode == "replay":
                self.answer(200, "application/timestamp-reply", tsa.replay)
            else:
                try:
                    body = tsa.reply(query)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    self.answer(500, "text/plain", str(exc).encode())
                    return
                self.answer(200, "application/timestamp-reply", body)

        def answer(self, status: int, content_type: str, body: bytes):
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up waiting (the timeout tests do)

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def local_tsa(directory: Path, name: str = "Local") -> Iterator[LocalTSA]:
    """A TSA with its own root CA, answering at tsa.url until the block ends."""
    if OPENSSL is None:
        require_or_skip("openssl is not installed (apt-get install openssl): no local TSA")
    make_authority(directory, name)
    tsa = LocalTSA(directory=directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(tsa))
    server.daemon_threads = True
    server.block_on_close = False
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="local-tsa", daemon=True
    )
    thread.start()
    try:
        yield tsa
    finally:
        tsa.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(name="tsa")
def tsa_fixture(tmp_path) -> Iterator[LocalTSA]:
    """A local TSA for one test; import `tsa_fixture` into a test module to use `tsa`."""
    with local_tsa(tmp_path / "tsa") as authority:
        yield authority
