"""Trusted time from outside (rfp_portal.timestamping): a local RFC 3161 TSA (`openssl ts` on
127.0.0.1, tests/helpers/tsa.py) stamps bytes; the token verifies in Python and with the
documented `openssl ts -verify` line; a wrong CA, other data, a replayed or broken reply and a
slow TSA are refused with a TimestampError, quickly; without TSA_URL the feature is off."""

import hashlib
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from rfp_portal import timestamping
from rfp_portal.timestamping import TimestampError
from tests.helpers.commands import manage_py
from tests.helpers.tsa import local_tsa, tsa_fixture  # noqa: F401 (the `tsa` fixture)

HEAD = b'{"tree_size":3,"root_hash":"5f1b...","timestamp":"2026-12-01T12:00:00Z"}'


@pytest.fixture
def use(settings):
    """Point the portal at a TSA: use(tsa) or use(tsa, certificates=..., timeout=...)."""

    def configure(authority, *, certificates=None, timeout=10, hash_name="sha256"):
        settings.TSA_URL = authority.url
        settings.TSA_CERTIFICATES = str(certificates or authority.ca_file)
        settings.TSA_TIMEOUT = timeout
        settings.TSA_HASH = hash_name

    return configure


@pytest.mark.parametrize("hash_name", ["sha256", "sha512"])
def test_a_stamp_round_trip_verifies_and_carries_the_tsas_time(tsa, use, hash_name):
    use(tsa, hash_name=hash_name)
    assert timestamping.enabled()

    stamp = timestamping.stamp(HEAD)

    assert stamp is not None
    assert stamp.tsa == tsa.url
    assert stamp.serial > 0
    assert stamp.gen_time.tzinfo is not None
    assert stamp.gen_time.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp.gen_time) < timedelta(seconds=30)
    info = timestamping.verify(stamp.token, HEAD)
    assert info.gen_time == stamp.gen_time
    assert info.serial == stamp.serial
    assert info.hash_name == hash_name
    assert info.digest == hashlib.new(hash_name, HEAD).hexdigest()
    assert info.tsa_name == "CN=Local TSA,O=Tests"
    assert info.policy == "1.3.6.1.4.1.4146.2.3"
    # Each head gets a token of its own: a new serial number.
    assert timestamping.stamp(HEAD + b"\n").serial != stamp.serial
    assert tsa.requests == 2


def test_without_a_tsa_the_feature_is_off_and_says_so(settings, tsa):
    settings.TSA_URL = ""
    settings.TSA_CERTIFICATES = str(tsa.ca_file)

    assert not timestamping.enabled()
    assert timestamping.stamp(HEAD) is None
    assert tsa.requests == 0
    assert timestamping.status_sentence() == (
        "No timestamp authority is configured: tree heads carry the portal's own time and "
        "signature only."
    )


def test_with_a_tsa_the_sentence_names_it_without_its_credentials(settings):
    settings.TSA_URL = "https://portal:s3cret@tsa.example.org:8443/rfc3161?key=abc"

    assert timestamping.status_sentence() == (
        "Tree heads are timestamped by https://tsa.example.org:8443/rfc3161."
    )


def test_a_token_for_other_data_does_not_verify(tsa, use):
    use(tsa)
    stamp = timestamping.stamp(HEAD)

    with pytest.raises(TimestampError, match="other data"):
        timestamping.verify(stamp.token, HEAD.replace(b"3", b"4"))


def test_a_tampered_token_does_not_verify(tsa, use):
    use(tsa)
    token = bytearray(timestamping.stamp(HEAD).token)
    token[-5] ^= 0x01  # inside the signature, at the end of the DER structure

    with pytest.raises(TimestampError, match="does not verify"):
        timestamping.verify(bytes(token), HEAD)


def test_a_tsa_certified_by_another_ca_is_refused(tsa, use, tmp_path):
    with local_tsa(tmp_path / "other", name="Other") as other:
        use(other, certificates=tsa.ca_file)
        with pytest.raises(TimestampError, match="does not verify"):
            timestamping.stamp(HEAD)

        use(other)
        token = timestamping.stamp(HEAD).token

    assert timestamping.verify(token, HEAD).tsa_name == "CN=Other TSA,O=Tests"
    with pytest.raises(TimestampError, match="does not verify"):
        timestamping.verify(token, HEAD, certificates=tsa.ca_file)


def test_without_the_tsa_certificates_no_token_is_accepted(tsa, use, settings):
    use(tsa)
    settings.TSA_CERTIFICATES = ""

    with pytest.raises(TimestampError, match="TSA_CERTIFICATES is not set"):
        timestamping.stamp(HEAD)
    assert tsa.requests == 0


def test_a_replayed_reply_for_the_same_data_is_refused_by_its_nonce(tsa, use):
    use(tsa)
    tsa.replay = timestamping.stamp(HEAD).token
    tsa.mode = "replay"

    with pytest.raises(TimestampError, match="does not verify: Nonce mismatch"):
        timestamping.stamp(HEAD)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("garbage", "is not an RFC 3161 timestamp reply"),
        ("error", "answered HTTP 500"),
        ("huge", "sent a reply over 65536 bytes"),
    ],
)
def test_a_broken_tsa_gives_a_clear_error(tsa, use, mode, message):
    use(tsa)
    tsa.mode = mode

    with pytest.raises(TimestampError, match=message):
        timestamping.stamp(HEAD)


def test_a_slow_tsa_is_given_up_on_within_the_timeout(tsa, use):
    use(tsa, timeout=0.5)
    tsa.mode = "slow"
    tsa.delay = 10

    started = time.monotonic()
    with pytest.raises(TimestampError, match=r"did not answer within 0\.5 s"):
        timestamping.stamp(HEAD)
    assert time.monotonic() - started < 2


def test_a_tsa_that_does_not_listen_gives_a_clear_error_at_once(tsa, use, settings):
    use(tsa)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TSA_URL = f"http://127.0.0.1:{port}/tsa"

    started = time.monotonic()
    with pytest.raises(TimestampError, match="could not be reached"):
        timestamping.stamp(HEAD)
    assert time.monotonic() - started < 2


def test_the_documented_openssl_command_checks_the_stored_token(tsa, use, tmp_path):
    use(tsa)
    token = tmp_path / "head.tsr"
    token.write_bytes(timestamping.stamp(HEAD).token)
    data = tmp_path / "head.json"
    data.write_bytes(HEAD)
    other = tmp_path / "other.json"
    other.write_bytes(HEAD + b" ")

    command = timestamping.openssl_verify_command(data, token, tsa.ca_file)
    assert " ".join(command) == timestamping.OPENSSL_VERIFY.format(
        data=data, token=token, ca=tsa.ca_file
    )
    good = subprocess.run(command, capture_output=True, text=True, timeout=30)
    bad = subprocess.run(
        timestamping.openssl_verify_command(other, token, tsa.ca_file),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert good.returncode == 0, good.stderr
    assert "Verification: OK" in good.stdout
    assert bad.returncode != 0
    assert "Verification: FAILED" in bad.stdout
    assert "message imprint mismatch" in bad.stderr


def test_a_tsa_without_its_certificates_is_refused_at_start(tmp_path):
    result = manage_py(["check"], {"VAR_DIR": str(tmp_path), "TSA_URL": "http://tsa.invalid/"})

    assert result.returncode != 0
    assert "TSA_CERTIFICATES" in result.stderr
