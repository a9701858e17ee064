"""The warm zygote behind proposals/pdfguard.py: one per process, reused from check to check,
replaced when it dies, never blamed for a file, never outliving its parent."""

import os
import signal
import subprocess
import sys
import threading
import time
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from proposals import pdfguard
from tests.pdfs import make_pdf
from tests.proposals import hostile_pdfs

BOUNDS = pdfguard.Limits(seconds=5, memory_mb=512, decoded_mb=64)


@pytest.fixture
def fresh():
    """No zygote to start with, none left behind."""
    pdfguard._close_all()
    assert pdfguard.zygotes() == []
    yield
    pdfguard._close_all()


def _only_zygote() -> dict:
    (zygote,) = pdfguard.zygotes()
    return zygote


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # ended, not yet reaped by whoever adopted it


def _group(pgid: int) -> list[int]:
    """The processes in a process group (the zygote starts its own)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_checks_in_a_row_reuse_one_warm_zygote(fresh):
    small = make_pdf(5)
    assert pdfguard.check(small, bounds=BOUNDS).pages == 5
    first = _only_zygote()
    started = time.monotonic()
    for _ in range(20):
        assert pdfguard.check(small, bounds=BOUNDS).pages == 5
    per_check = (time.monotonic() - started) / 20
    print(f"\nper check, small PDF: {per_check * 1000:.1f} ms")  # shown with -s; not asserted
    zygote = _only_zygote()
    assert zygote["pid"] == first["pid"]
    assert zygote["served"] == 21
    # Every child was forked with pypdf already imported: the import happened once, in the
    # zygote, and not in any of the 21 children.
    assert zygote["cold"] == 0
    children = {zygote["last_child"], first["last_child"]}
    assert len(children) == 2 and zygote["pid"] not in children  # a child per check


def test_a_merge_goes_through_the_same_zygote(fresh):
    pdfguard.check(make_pdf(1), bounds=BOUNDS)
    pid = _only_zygote()["pid"]
    big = hostile_pdfs.classic(  # a page whose content is 3 MB: the merged file is larger
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"),
            (4, hostile_pdfs._stream(b"<< >>", b"0 0 m\n" * 500_000)),
        ]
    )
    merged = pdfguard.merge([make_pdf(1), big], bounds=BOUNDS)
    assert len(PdfReader(BytesIO(merged)).pages) == 2 and len(merged) > 3_000_000
    assert _only_zygote()["pid"] == pid and _only_zygote()["served"] == 2


def test_a_zygote_killed_from_outside_is_replaced_on_the_next_check(fresh):
    pdfguard.check(make_pdf(1), bounds=BOUNDS)
    old = _only_zygote()["pid"]
    os.kill(old, signal.SIGKILL)  # the next check may find it dying, or dead: either way
    assert pdfguard.check(make_pdf(2), bounds=BOUNDS).pages == 2
    new = _only_zygote()
    assert new["pid"] != old and new["served"] == 1
    assert _gone(old)


def test_a_check_over_time_kills_only_its_child_and_the_next_check_works(fresh):
    pdfguard.check(make_pdf(1), bounds=BOUNDS)
    pid = _only_zygote()["pid"]
    quick = pdfguard.Limits(seconds=0.3, memory_mb=512, decoded_mb=64)
    started = time.monotonic()
    with pytest.raises(pdfguard.TooComplex, match=r"over 0\.3 s"):
        pdfguard.check(hostile_pdfs.million_pages(), bounds=quick)
    assert time.monotonic() - started < 3
    zygote = _only_zygote()
    assert zygote["pid"] == pid and zygote["served"] == 2
    assert _gone(zygote["last_child"])
    assert _group(pid) == [pid]  # the zygote alone in its process group: nothing left running
    assert pdfguard.check(make_pdf(3), bounds=BOUNDS).pages == 3
    assert _only_zygote()["pid"] == pid


def test_a_hostile_file_is_too_complex_in_the_zygote_and_the_zygote_stays_small(fresh):
    pdfguard.check(make_pdf(1), bounds=BOUNDS)
    pid = _only_zygote()["pid"]
    with pytest.raises(pdfguard.TooComplex, match="LimitReached"):
        pdfguard.check(hostile_pdfs.objstm_bomb(), bounds=BOUNDS)
    small = pdfguard.Limits(seconds=5, memory_mb=100, decoded_mb=64)
    with pytest.raises(pdfguard.TooComplex, match="MemoryError"):
        pdfguard.check(hostile_pdfs.bogus_xref(), bounds=small)
    assert _only_zygote()["pid"] == pid
    # The files were parsed (and grew) in the children, not in the zygote.
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(status.split("VmRSS:")[1].split()[0])
    assert rss < 100 * 1024, status


def test_no_zygote_means_a_fresh_interpreter_per_check(fresh, monkeypatch, caplog):
    monkeypatch.setattr(pdfguard, "_no_zygote_until", [0.0])
    monkeypatch.setattr(
        pdfguard, "_zygote_command", lambda: [sys.executable, "-c", "raise SystemExit(3)"]
    )
    assert pdfguard.check(make_pdf(2), bounds=BOUNDS).pages == 2
    with pytest.raises(pdfguard.TooComplex, match="LimitReached"):
        pdfguard.check(hostile_pdfs.objstm_bomb(), bounds=BOUNDS)
    assert pdfguard.zygotes() == []
    # One error line for the failed start, then no further attempt for a while.
    assert len([r for r in caplog.records if "no zygote" in r.getMessage()]) == 1


def test_threads_checking_at_once_each_get_a_zygote(fresh):
    results, errors = [], []

    def work(pages):
        try:
            for _ in range(5):
                results.append(pdfguard.check(make_pdf(pages), bounds=BOUNDS).pages == pages)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [True] * 15
    every = pdfguard.zygotes()
    assert 1 <= len(every) <= 3 and sum(z["served"] for z in every) == 15


def _pipe_inodes(pid: int | str) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("pipe:"):
            inodes.add(target)
    return inodes


def test_a_forked_process_starts_its_own_zygote_and_lets_go_of_the_parents(fresh):
    pdfguard.check(make_pdf(1), bounds=BOUNDS)
    parent = _only_zygote()
    zygote = pdfguard._every.copy().pop()
    theirs = {os.readlink(f"/proc/self/fd/{fd}") for fd in (zygote.to_fd, zygote.from_fd)}
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked child, reported through the pipe
        code = 1
        try:
            kept = bool(theirs & _pipe_inodes("self"))
            pdfguard.check(make_pdf(2), bounds=BOUNDS)
            (own,) = pdfguard.zygotes()
            os.write(write, f"{int(kept)} {own['pid']}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    answer = os.read(read, 100).decode()
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    kept, own = answer.split()
    assert kept == "0"  # the parent's zygote still sees end-of-file when the parent exits
    assert int(own) != parent["pid"]
    deadline = time.monotonic() + 5
    while not _gone(int(own)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(int(own))  # the child exited, so did its zygote
    assert pdfguard.check(make_pdf(3), bounds=BOUNDS).pages == 3
    assert _only_zygote()["pid"] == parent["pid"]


def test_the_zygote_exits_when_its_parent_dies():
    program = (
        "from proposals import pdfguard\n"
        "from tests.pdfs import make_pdf\n"
        "bounds = pdfguard.Limits(seconds=5, memory_mb=512, decoded_mb=64)\n"
        "pdfguard.check(make_pdf(1), bounds=bounds)\n"
        "print(pdfguard.zygotes()[0]['pid'], flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        cwd=pdfguard.ROOT,
        env={**os.environ, "PYTHONPATH": str(pdfguard.ROOT)},
    )
    try:
        zygote = int(parent.stdout.readline())
        assert not _gone(zygote)
        parent.kill()  # no atexit, no cleanup: only end-of-file on the zygote's stdin
        parent.wait()
        deadline = time.monotonic() + 5
        while not _gone(zygote) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(zygote)
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
