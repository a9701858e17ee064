"""The ZIP of all proposals (issue 19, point 4): written member by member into a temporary file
and handed to the storage as a file, never built in memory; a proposer's file as received is
copied in chunks. The figures at 300 x 20 MB are in bench/README.md (bench/zip_export.py)."""

import io
import os
import zipfile

import pytest
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, default_storage
from pypdf import PdfReader

from evaluation import exports
from evaluation.models import Export
from proposals import pdfguard
from tests.factories import UserFactory
from tests.helpers.proposals import open_now, submitted_proposal
from tests.proposals.test_s3_storage import BUCKET, s3_endpoint, s3_storage  # noqa: F401

pytestmark = pytest.mark.django_db

READ_LIMIT = 1024 * 1024  # no read of a stored file may ask for more than this at once


class WholeRead(AssertionError):
    pass


class _Guarded(io.RawIOBase):
    """A stored file that refuses to be read whole: read() with no size, or over READ_LIMIT."""

    def __init__(self, handle, log):
        self.handle, self.log = handle, log

    def readable(self):
        return True

    def read(self, size=-1):
        if size is None or size < 0 or size > READ_LIMIT:
            raise WholeRead(f"read({size}) of {self.handle.name}")
        self.log.append(size)
        return self.handle.read(size)

    def readinto(self, buffer):
        raise WholeRead("readinto of a stored file")

    def close(self):
        self.handle.close()
        super().close()


class GuardedStorage(FileSystemStorage):
    """Local storage whose files can only be read in chunks, and which keeps what it was given
    to save (to check that the ZIP came as a file spooled to disk, not as bytes)."""

    reads: list = []  # what the bundle read, reset by the fixture
    saved: list = []

    def _open(self, name, mode="rb"):
        return File(_Guarded(open(self.path(name), mode), self.reads), name=name)

    def _save(self, name, content):
        self.saved.append(content)
        return super()._save(name, content)


@pytest.fixture
def guarded(settings):
    GuardedStorage.reads, GuardedStorage.saved = [], []
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "tests.evaluation.test_zip_streaming.GuardedStorage"},
    }
    return GuardedStorage


@pytest.fixture
def three(evaluation_setup):
    s = evaluation_setup
    gamma_owner = UserFactory(email="gamma@gamma-team.example.io", organisation="Gamma")
    s["gamma"] = submitted_proposal(s["rfp"], gamma_owner, "Gamma proposal")
    open_now(s["rfp"])
    return s


def bundle(s, staff):
    export = Export.objects.create(rfp=s["rfp"], kind="bundle", requested_by=staff)
    return exports.run(export.pk)


def stored_bytes(proposal):
    with default_storage.open(proposal.versions.get().document.name, "rb") as handle:
        return b"".join(iter(lambda: handle.read(64 * 1024), b""))


def test_a_bundle_of_several_proposals_has_every_member_in_order_with_the_files_as_received(
    three, staff
):
    damaged = three["beta"].versions.get().document.name
    with default_storage.open(damaged, "wb") as handle:
        handle.write(b"%PDF-1.4 damaged after it was received " + os.urandom(200_000))
    export = bundle(three, staff)
    assert export.state == "done", export.message
    alpha, beta, gamma = (three[k].pk for k in ("alpha", "beta", "gamma"))
    with default_storage.open(export.file.name, "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    assert archive.testzip() is None
    # The members and their order are those of the bundle built in memory before issue 19.
    assert archive.namelist() == [
        f"{alpha:04d}-summary-and-proposal.pdf",
        f"{beta:04d}-summary.pdf",
        f"{beta:04d}-as-received.pdf",
        f"{gamma:04d}-summary-and-proposal.pdf",
        "PROBLEMS.txt",
    ]
    assert archive.read(f"{beta:04d}-as-received.pdf") == stored_bytes(three["beta"])
    for key, pk in (("alpha", alpha), ("gamma", gamma)):
        reader = PdfReader(io.BytesIO(archive.read(f"{pk:04d}-summary-and-proposal.pdf")))
        assert len(reader.pages) > three[key].versions.get().document_pages
        assert three[key].title in reader.pages[0].extract_text()
    summary = PdfReader(io.BytesIO(archive.read(f"{beta:04d}-summary.pdf")))
    assert "Beta proposal" in summary.pages[0].extract_text()
    problems = archive.read("PROBLEMS.txt").decode()
    assert problems.startswith(f"{beta} Beta proposal: ") and problems.endswith("\n")
    # PDFs are stored as they are (already compressed); the text is deflated.
    kinds = {info.filename: info.compress_type for info in archive.infolist()}
    assert kinds.pop("PROBLEMS.txt") == zipfile.ZIP_DEFLATED
    assert set(kinds.values()) == {zipfile.ZIP_STORED}


def test_the_bundle_reads_stored_files_in_chunks_and_stores_the_zip_from_a_file_on_disk(
    three, staff, guarded, monkeypatch
):
    # Files of 3 MB that cannot be merged (as a proposer's PDF too complex to merge within the
    # limits: tests/proposals/test_hostile_pdfs.py makes one for real); the merge itself takes
    # and gives bytes (proposals/pdfguard.py), one proposal at a time.
    def too_complex(proposal, *, summary=None):
        raise pdfguard.TooComplex("over 5 s")

    monkeypatch.setattr(exports, "proposal_summary_pdf", too_complex)
    monkeypatch.setattr(exports, "BUNDLE_SPOOL_BYTES", 1024 * 1024)
    contents = {}
    for key in ("alpha", "beta", "gamma"):
        name = three[key].versions.get().document.name
        contents[three[key].pk] = b"%PDF-1.7\n" + os.urandom(3 * 1024 * 1024)
        with open(default_storage.path(name), "wb") as handle:
            handle.write(contents[three[key].pk])
    with pytest.raises(WholeRead):  # the guard works: a whole read is refused
        default_storage.open(name, "rb").read()
    guarded.reads.clear()

    export = bundle(three, staff)

    assert export.state == "done", export.message
    assert guarded.reads and max(guarded.reads) <= exports.BUNDLE_CHUNK_BYTES
    [saved] = guarded.saved
    # The ZIP came as a file, spooled to disk past BUNDLE_SPOOL_BYTES, closed once stored.
    assert saved.file._rolled and saved.closed
    path = default_storage.path(export.file.name)
    assert os.path.getsize(path) > 9 * 1024 * 1024
    with zipfile.ZipFile(path) as archive:
        for pk, data in contents.items():
            assert archive.read(f"{pk:04d}-as-received.pdf") == data
        assert archive.read("PROBLEMS.txt").decode().count("too complex") == 3


def test_on_s3_the_bundle_is_uploaded_from_its_temporary_file_and_reads_back(
    s3_storage,  # noqa: F811 (first: the proposals are uploaded to S3)
    three,
    staff,
    monkeypatch,
):
    monkeypatch.setattr(exports, "BUNDLE_SPOOL_BYTES", 1024 * 1024)
    damaged = b"%PDF-1.4 damaged " + os.urandom(3 * 1024 * 1024)
    key = three["beta"].versions.get().document.name
    s3_storage.put_object(Bucket=BUCKET, Key=key, Body=damaged)
    export = bundle(three, staff)
    assert export.state == "done", export.message
    body = s3_storage.get_object(Bucket=BUCKET, Key=export.file.name)["Body"].read()
    archive = zipfile.ZipFile(io.BytesIO(body))
    beta = three["beta"].pk
    assert archive.read(f"{beta:04d}-as-received.pdf") == damaged
    assert [n for n in archive.namelist() if n.endswith("-summary-and-proposal.pdf")] == [
        f"{three[k].pk:04d}-summary-and-proposal.pdf" for k in ("alpha", "gamma")
    ]
