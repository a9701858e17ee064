"""Bounded work on a user's PDF: every parse runs in a child process that cannot run long,
grow large or flood the log, and costs a few ms more than the parse itself.

Why a child process: pypdf is pure Python, so a hostile file (streams that inflate to
hundreds of MB, a cross-reference table of a million bogus entries, a graph of 100k objects
to copy) costs the process that parses it time and memory which no in-process check can take
back. Each PDF (the upload check, the export merge) is parsed in a child of its own, which
writes a short JSON answer (and, for a merge, the merged file) on its stdout.

Where the child comes from: a warm "zygote". Importing pypdf takes some 0.1 s of CPU, far more
than checking an ordinary PDF, so each process that checks PDFs (a gunicorn worker, a Celery
pool process, a test run) starts, when it first needs one, ``python -m proposals.pdfguard
--serve``: a fresh interpreter (subprocess, not fork of the caller: nothing is inherited from a
threaded web server or a Celery worker, no locks held by other threads, no database
connections, no open files, only the few environment variables in CHILD_ENVIRONMENT; it also
works inside Celery's daemonic pool processes, which multiprocessing refuses to let have
children). The zygote imports pypdf and warms it up on a PDF of its own, once, then serves
requests one at a time on its stdin/stdout: a length-prefixed JSON request (the operation, the
limits, the sizes) followed by the PDFs, which it reads whole, then ``os.fork()``. The zygote is
single-threaded and holds nothing but the current request, so forking it is safe and the child
starts parsing at once (a check of a small PDF costs about 5 ms in all, instead of 0.1 s):

- the forked child limits itself before it parses: address space (RLIMIT_AS), CPU seconds
  (RLIMIT_CPU), no core files, and dies with the zygote (PR_SET_PDEATHSIG); pypdf's per-stream
  decompression limits are set to the cap on decompressed bytes, and a counter refuses once all
  streams together exceed it. It writes its answer to a pipe and ``_exit``s.
- the zygote kills the child (only the child) once it overruns the wall-clock limit, reaps it,
  and replies with its answer, the end of its stderr, how it ended and how many requests it has
  served. It exits at end-of-file on its stdin, that is when its parent has gone.
- the parent gives each zygote to one thread at a time: a thread takes an idle zygote or starts
  one, so threads that check at once (gthread workers, tests) never queue behind a hostile file
  that takes another thread's full limit; at most ZYGOTES_KEPT idle ones are kept. The whole
  exchange has a deadline (the limit plus ZYGOTE_MARGIN_SECONDS); past it the parent kills the
  zygote's process group and the file is too complex, as before. A zygote found dead (killed
  from outside) is replaced once, for the same request; a zygote that cannot start means a
  fresh ``python -m proposals.pdfguard`` per PDF (the one-shot child, about 0.1 s each, with the
  same limits and the parent's own wall-clock timeout) for ZYGOTE_RETRY_SECONDS, and one error
  line. After a fork (a Celery prefork child, a gunicorn worker) the child lets go of its
  parent's zygotes without touching them and starts its own when it needs one.
- pypdf's warnings stay in the child, counted; the parent writes at most one log line per PDF
  (and at most LOG_LINES_PER_MINUTE of them).

This module imports nothing from Django at module level, so the zygote starts quickly. It is
one file of about 1,000 lines on purpose: the zygote, the forked child and the parent speak one
private protocol and share its limits, so the whole of what bounds a hostile PDF is audited in
one place (and the zygote runs it as ``python -m proposals.pdfguard``).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("proposals.pdf_check")

# Defaults; each can be set in settings under the same name.
PDF_CHECK_SECONDS = 5  # wall-clock limit for checking one upload
PDF_MERGE_SECONDS = 5  # the same for merging one proposer's PDF into an export
PDF_CHECK_MEMORY_MB = 512  # address space of the child
PDF_CHECK_DECODED_MB = 64  # decompressed bytes, all streams together, per check or merge

LOG_LINES_PER_MINUTE = 60
CHILD_NICENESS = 10
ROOT = Path(__file__).resolve().parent.parent
# Active content a viewer might act on (recorded, not refused here).
ACTIVE_KINDS = (
    "javascript",
    "launch",
    "submit_form",
    "open_action",
    "additional_actions",
    "embedded_files",
    "acroform",
    "xfa",
    "rich_media",
    "polyglot",
)


class PDFGuardError(Exception):
    """The PDF could not be handled; ``reason`` is one of the class names below."""

    reason = "error"

    def __init__(self, detail: str = "", *, warnings: int = 0):
        super().__init__(detail)
        self.detail = detail
        self.warnings = warnings


class TooComplex(PDFGuardError):
    """Over the time, memory or decompression limit, or pypdf's own structural limits."""

    reason = "too_complex"


class Damaged(PDFGuardError):
    reason = "damaged"


class Encrypted(PDFGuardError):
    reason = "encrypted"


@dataclass(frozen=True)
class Limits:
    seconds: float
    memory_mb: int
    decoded_mb: int


@dataclass(frozen=True)
class Checked:
    pages: int
    active_content: tuple[str, ...] = ()
    warnings: int = 0
    seconds: float = 0.0


def limits(kind: str = "check") -> Limits:
    """The limits from settings, falling back to the defaults above."""
    from django.conf import settings

    seconds_name = "PDF_MERGE_SECONDS" if kind == "merge" else "PDF_CHECK_SECONDS"
    return Limits(
        seconds=float(getattr(settings, seconds_name, globals()[seconds_name])),
        memory_mb=int(getattr(settings, "PDF_CHECK_MEMORY_MB", PDF_CHECK_MEMORY_MB)),
        decoded_mb=int(getattr(settings, "PDF_CHECK_DECODED_MB", PDF_CHECK_DECODED_MB)),
    )


# --- The parent side ---------------------------------------------------------------------------


def check(data: bytes, *, bounds: Limits | None = None, label: str = "upload") -> Checked:
    """Parse one PDF in a bounded child: its page count and active content.
    Raises TooComplex, Damaged or Encrypted."""
    header, _ = _run("check", [data], bounds or limits("check"), label=label)
    return Checked(
        pages=int(header["pages"]),
        active_content=tuple(header.get("active", ())),
        warnings=int(header.get("warnings", 0)),
        seconds=float(header.get("elapsed", 0.0)),
    )


def merge(parts: list[bytes], *, bounds: Limits | None = None, label: str = "merge") -> bytes:
    """The PDFs in `parts` appended one after another, merged in a bounded child.
    Raises TooComplex, Damaged or Encrypted (for any part)."""
    _, blob = _run("merge", parts, bounds or limits("merge"), label=label)
    return blob


@dataclass(frozen=True)
class _Ended:
    """How a child ended, whichever way it was started: what it wrote on stdout, the end of
    its stderr, its exit status (negative: the signal that ended it), or over the time limit."""

    returncode: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    timed_out: bool = False


def _run(op: str, parts: list[bytes], bounds: Limits, *, label: str) -> tuple[dict, bytes]:
    request = {
        "op": op,
        "seconds": bounds.seconds,
        "memory_mb": bounds.memory_mb,
        "decoded_mb": bounds.decoded_mb,
        "sizes": [len(p) for p in parts],
    }
    started = time.monotonic()
    done = _in_zygote(request, parts, bounds)
    if done is None:  # no zygote to be had: a fresh interpreter for this one, as it always was
        done = _once(request, parts, bounds)
    elapsed = time.monotonic() - started
    if done.timed_out:
        error = TooComplex(f"over {bounds.seconds:g} s", warnings=-1)  # count unknown
        _summarise(op, label, error, elapsed)
        raise error
    header, blob = _parse_answer(done.stdout)
    if header is None:
        # No answer: killed by a signal (RLIMIT_CPU sends SIGXCPU; a C stack overflow SIGSEGV)
        # or out of memory before it could reply. Anything else is our fault, not the file's.
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        if done.returncode is None or done.returncode < 0 or "MemoryError" in tail[0]:
            error = TooComplex(f"child ended ({done.returncode}): {tail[0]}"[:200], warnings=-1)
            _summarise(op, label, error, elapsed)
            raise error
        log.error("PDF %s of %s: the checker failed (%s): %s", op, label, done.returncode, tail[0])
        raise RuntimeError(f"PDF checker failed ({done.returncode}): {tail[0]}"[:300])
    status = header.get("status")
    warnings = int(header.get("warnings", 0))
    if status != "ok":
        cls = {"too_complex": TooComplex, "encrypted": Encrypted}.get(status, Damaged)
        # The detail may quote the file: one line, printable, short.
        detail = "".join(c if c.isprintable() else " " for c in str(header.get("detail", "")))
        error = cls(" ".join(detail.split())[:200], warnings=warnings)
        _summarise(op, label, error, elapsed)
        raise error
    _summarise(op, label, None, elapsed, warnings=warnings)
    return header, blob


def _once(request: dict, parts: list[bytes], bounds: Limits) -> _Ended:
    """The fallback: a fresh interpreter for this one PDF (about 0.1 s, nearly all of it
    importing pypdf)."""
    payload = json.dumps(request).encode() + b"\n" + b"".join(parts)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "proposals.pdfguard"],
            input=payload,
            capture_output=True,
            timeout=bounds.seconds,
            cwd=ROOT,
            env=_child_environment(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _Ended(None, timed_out=True)
    return _Ended(done.returncode, done.stdout, done.stderr[-STDERR_KEPT:])


# The child needs to find Python and pypdf, nothing else (no secrets, no settings module).
CHILD_ENVIRONMENT = ("PATH", "PYTHONHOME", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "TMPDIR")


def _child_environment() -> dict:
    env = {name: os.environ[name] for name in CHILD_ENVIRONMENT if name in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _parse_answer(stdout: bytes) -> tuple[dict | None, bytes]:
    line, _, blob = stdout.partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        return None, b""
    if not isinstance(header, dict) or len(blob) != int(header.get("size", 0)):
        return None, b""
    return header, blob


# --- The zygote, seen from the parent ----------------------------------------------------------

ZYGOTE_START_SECONDS = 10  # to start and import pypdf, however loaded the machine is
ZYGOTE_MARGIN_SECONDS = 2  # on top of the limit, for the whole exchange with the zygote
ZYGOTE_RETRY_SECONDS = 60  # after a zygote failed to start, one-shot children for this long
ZYGOTES_KEPT = 4  # idle zygotes kept per process (more only while more threads check at once)
STDERR_KEPT = 4096  # the end of a child's stderr, for the log when it dies without answering
_FRAME = struct.Struct(">I")  # every frame: its length, then JSON


class _Gone(Exception):
    """The zygote died or answered nonsense: not the file's doing (the file is only ever
    parsed in the zygote's children), so a fresh zygote may try it."""


class _Late(Exception):
    """The zygote did not answer within the limit and the margin."""


def _zygote_command() -> list[str]:
    return [sys.executable, "-m", "proposals.pdfguard", "--serve"]


class _Zygote:
    """One `python -m proposals.pdfguard --serve`, used by one thread at a time."""

    def __init__(self):
        self.owner = os.getpid()
        self.served = 0  # requests this zygote has answered, as it counts them
        self.cold = 0  # answers from children that had to import pypdf themselves (should be 0)
        self.last_child = None  # the pid of the child that took the last request
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            _zygote_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=_child_environment(),
            bufsize=0,
            # Its own process group (killpg ends it and its children), but the worker's session:
            # with the kernel's per-session scheduling (autogroup) a session of its own would
            # give the checker as much CPU as the whole web server (bench/README.md).
            process_group=0,
        )
        self.pid = self.proc.pid
        self.to_fd, self.from_fd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        for fd in (self.to_fd, self.from_fd):
            os.set_blocking(fd, False)
            with contextlib.suppress(OSError, AttributeError):  # fewer wake-ups for big files
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        try:
            ready = self._frame(time.monotonic() + ZYGOTE_START_SECONDS)
            if ready.get("ready") is not True:
                raise _Gone(f"not ready: {ready}"[:300])
        except BaseException:
            self.kill()
            raise

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exchange(self, request: dict, parts: list[bytes], deadline: float) -> _Ended:
        head = json.dumps(request).encode()
        self._send([_FRAME.pack(len(head)), head, *parts], deadline)
        meta = self._frame(deadline)
        if "error" in meta:  # it could not fork: a fresh interpreter might
            raise _Gone(str(meta["error"])[:300])
        stdout = self._read(int(meta["stdout"]), deadline)
        self.served = int(meta.get("served", self.served + 1))
        self.last_child = meta.get("child")
        self.cold += meta.get("preloaded") is False
        return _Ended(
            meta.get("returncode"),
            stdout,
            meta.get("stderr", "").encode(),
            timed_out=bool(meta.get("timed_out")),
        )

    def _send(self, pieces: list[bytes], deadline: float) -> None:
        for piece in pieces:
            view = memoryview(piece)
            while view:
                try:
                    view = view[os.write(self.to_fd, view[:PIPE_BYTES]) :]
                except BlockingIOError:
                    self._wait(select.POLLOUT, self.to_fd, deadline)
                except (BrokenPipeError, ConnectionResetError) as exc:
                    raise _Gone("it stopped reading") from exc

    def _read(self, size: int, deadline: float) -> bytes:
        chunks, left = [], size
        while left:
            try:
                chunk = os.read(self.from_fd, min(left, PIPE_BYTES))
            except BlockingIOError:
                self._wait(select.POLLIN, self.from_fd, deadline)
                continue
            if not chunk:
                raise _Gone("it ended")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _frame(self, deadline: float) -> dict:
        (size,) = _FRAME.unpack(self._read(_FRAME.size, deadline))
        try:
            meta = json.loads(self._read(size, deadline))
        except ValueError as exc:
            raise _Gone("it answered nonsense") from exc
        if not isinstance(meta, dict):
            raise _Gone("it answered nonsense")
        return meta

    @staticmethod
    def _wait(event: int, fd: int, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Late
        poller = select.poll()
        poller.register(fd, event)
        poller.poll(left * 1000)  # readiness, an error or a hang-up: the next call tells which

    def close(self) -> None:
        """Stdin closed: an idle zygote exits at once."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc.stdout.close()

    def kill(self) -> None:
        """The zygote and any child of it, at once."""
        if os.getpid() == self.owner and self.proc.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()

    def forget(self) -> None:
        """In a forked child of the owner: let go of the owner's zygote without touching it,
        so that it still sees end-of-file when the owner exits."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        self.proc.returncode = 0  # not ours to wait for or kill


PIPE_BYTES = 1024 * 1024  # the largest pipe an unprivileged process may ask for on Linux

_pool_lock = threading.Lock()
_pool_pid = os.getpid()
_idle: list[_Zygote] = []  # ready for the next thread
_every: set[_Zygote] = set()  # idle or in use, to let go of after a fork
_no_zygote_until = [0.0]  # after a failed start, when to try again


def _in_zygote(request: dict, parts: list[bytes], bounds: Limits) -> _Ended | None:
    """The request answered by a forked child of a warm zygote, or None if no zygote could
    take it (then the caller starts a fresh interpreter)."""
    for _attempt in range(2):  # a zygote found dead is replaced once
        zygote = _take()
        if zygote is None:
            return None
        try:
            done = zygote.exchange(
                request, parts, time.monotonic() + bounds.seconds + ZYGOTE_MARGIN_SECONDS
            )
        except _Gone:
            _discard(zygote)
            continue
        except _Late:  # a zygote that lets its child overrun is not used again
            _discard(zygote)
            return _Ended(None, timed_out=True)
        except BaseException:  # interrupted mid-exchange: its state is unknown
            _discard(zygote)
            raise
        _give_back(zygote)
        return done
    return None


def _take() -> _Zygote | None:
    with _pool_lock:
        if _pool_pid != os.getpid():  # forked without the at-fork hook (it is registered below)
            _after_fork_in_child(locked=True)
        while _idle:
            zygote = _idle.pop()
            if zygote.alive():
                return zygote
            _every.discard(zygote)
            zygote.kill()
        if time.monotonic() < _no_zygote_until[0]:
            return None
    try:  # outside the lock: starting takes some 0.1 s, other threads need not wait for it
        zygote = _Zygote()
    except Exception as exc:
        with _pool_lock:
            _no_zygote_until[0] = time.monotonic() + ZYGOTE_RETRY_SECONDS
        log.error("PDF checker: no zygote (%s); fresh interpreters for a while", exc)
        return None
    with _pool_lock:
        _every.add(zygote)
    return zygote


def _give_back(zygote: _Zygote) -> None:
    with _pool_lock:
        if zygote.owner == os.getpid() and len(_idle) < ZYGOTES_KEPT:
            _idle.append(zygote)
            return
        _every.discard(zygote)
    zygote.close()


def _discard(zygote: _Zygote) -> None:
    with _pool_lock:
        _every.discard(zygote)
    zygote.kill()


def zygotes() -> list[dict]:
    """This process's zygotes (idle or in use): pid, requests served, children that had to
    import pypdf themselves, the pid of the last child."""
    with _pool_lock:
        every = [z for z in _every if z.owner == os.getpid()]
    return [
        {"pid": z.pid, "served": z.served, "cold": z.cold, "last_child": z.last_child}
        for z in every
    ]


def _after_fork_in_child(*, locked: bool = False) -> None:
    """A forked child (a Celery prefork child, a gunicorn worker) starts its own zygote when it
    first needs one; the parent's stay the parent's."""
    global _pool_lock, _pool_pid
    if not locked:
        _pool_lock = threading.Lock()  # it may have been held by a thread that is not here
    for zygote in list(_every):
        if zygote.owner != os.getpid():
            zygote.forget()
    _every.clear()
    _idle.clear()
    _pool_pid = os.getpid()


def _close_all() -> None:
    with _pool_lock:
        idle = [z for z in _idle if z.owner == os.getpid()]
        _idle.clear()
        _every.difference_update(idle)
    for zygote in idle:
        zygote.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all)


_log_lock = threading.Lock()
_log_window = [0.0, 0, 0]  # window start, lines written in it, lines suppressed


def _summarise(op, label, error, elapsed, *, warnings=None) -> None:
    """One line per PDF, and only when there is something to say; rate-limited per process."""
    warnings = error.warnings if error is not None and warnings is None else (warnings or 0)
    if error is None and not warnings:
        return
    with _log_lock:
        now = time.monotonic()
        if now - _log_window[0] >= 60:
            suppressed = _log_window[2]
            _log_window[:] = [now, 0, 0]
        else:
            suppressed = 0
        if _log_window[1] >= LOG_LINES_PER_MINUTE:
            _log_window[2] += 1
            return
        _log_window[1] += 1
    outcome = "ok" if error is None else f"{error.reason} ({error.detail})"
    more = f"; {suppressed} similar lines suppressed in the last minute" if suppressed else ""
    counted = "an unknown number of" if warnings < 0 else str(warnings)
    log.warning(
        "PDF %s of %s: %s in %.1f s, %s parser warnings%s",
        op,
        label,
        outcome,
        elapsed,
        counted,
        more,
    )


# --- The child side ----------------------------------------------------------------------------


def _limit_self(request: dict) -> None:
    import resource

    memory = int(request["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(float(request["seconds"])) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Below the web and Celery workers: a hostile file's seconds of parsing yield the CPU to
    # honest requests (an honest check needs a few milliseconds).
    os.nice(CHILD_NICENESS)


def _quiet_parser() -> list[int]:
    """pypdf's warnings are counted, never printed."""
    import warnings

    counter = [0]

    class Count(logging.Handler):
        def emit(self, record):
            counter[0] += 1

    logger = logging.getLogger("pypdf")
    logger.handlers[:] = [Count()]
    logger.propagate = False
    logger.setLevel(logging.WARNING)

    def count_warning(*args, **kwargs):
        counter[0] += 1

    warnings.showwarning = count_warning
    warnings.simplefilter("always")
    return counter


def _bound_decoding(cap: int, found: set) -> None:
    """pypdf's per-stream limits set to the cap, and a counter over all streams together.
    Decoded object streams are also searched for active content."""
    from pypdf import filters, overwrite_configuration
    from pypdf.errors import LimitReachedError

    overwrite_configuration(
        zlib_maximum_output_length=cap,
        lzw_maximum_output_length=cap,
        run_length_maximum_output_length=cap,
        brotli_maximum_output_length=cap,
        jbig2_maximum_output_length=cap,
        array_based_stream_maximum_output_length=cap,
        image_maximum_buffer_size=cap,
        stream_decoding_work_maximum_length=cap * 2,
        xfa_decoding_work_maximum_length=cap * 2,
        disable_legacy_handling=True,
    )
    decode = filters.decode_stream_data
    total = [0]

    def counted(stream):
        data = decode(stream)
        total[0] += len(data)
        if total[0] > cap:
            raise LimitReachedError(f"over {cap} decompressed bytes in all")
        if stream.get("/Type") == "/ObjStm":
            _scan_raw(data, found)
        return data

    filters.decode_stream_data = counted


_NAMES = {
    b"JavaScript": "javascript",
    b"JS": "javascript",
    b"Launch": "launch",
    b"SubmitForm": "submit_form",
    b"ImportData": "submit_form",
    b"EmbeddedFile": "embedded_files",
    b"EmbeddedFiles": "embedded_files",
    b"XFA": "xfa",
    b"RichMedia": "rich_media",
}


def _scan_raw(data: bytes, found: set) -> None:
    import re

    for match in re.finditer(rb"/(%s)(?![A-Za-z0-9#])" % b"|".join(_NAMES), data):
        found.add(_NAMES[match.group(1)])


def _actions(action, found: set, *, depth: int = 0) -> None:
    from pypdf.generic import ArrayObject, DictionaryObject

    action = action.get_object() if hasattr(action, "get_object") else action
    if depth > 20 or not isinstance(action, DictionaryObject):
        return
    kind = action.get("/S")
    if kind == "/JavaScript":
        found.add("javascript")
    elif kind == "/Launch":
        found.add("launch")
    elif kind in ("/SubmitForm", "/ImportData"):
        found.add("submit_form")
    elif kind == "/RichMediaExecute":
        found.add("rich_media")
    following = action.get("/Next")
    following = following.get_object() if following is not None else None
    for item in following if isinstance(following, ArrayObject) else [following]:
        if item is not None:
            _actions(item, found, depth=depth + 1)


def _active_content(reader, data: bytes) -> list[str]:
    from pypdf.generic import DictionaryObject

    found: set = set()
    _scan_raw(data, found)
    start = data.find(b"%PDF-")
    zip_parts = (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06")  # entry, directory, its end
    if data[:start].strip() or all(part in data for part in zip_parts):
        found.add("polyglot")
    root = reader.trailer["/Root"].get_object()
    names = root.get("/Names")
    names = names.get_object() if names is not None else {}
    if "/JavaScript" in names:
        found.add("javascript")
    if "/EmbeddedFiles" in names:
        found.add("embedded_files")
    opening = root.get("/OpenAction")
    opening = opening.get_object() if opening is not None else None
    if isinstance(opening, DictionaryObject) and opening.get("/S") not in (None, "/GoTo"):
        found.add("open_action")
        _actions(opening, found)
    form = root.get("/AcroForm")
    form = form.get_object() if form is not None else None
    if isinstance(form, DictionaryObject):
        found.add("acroform")
        if "/XFA" in form:
            found.add("xfa")
    holders = [root]
    annotations = 0
    for page in reader.pages:
        holders.append(page)
        for annot in page.get("/Annots") or ():
            annotations += 1
            if annotations > 10_000:
                break
            annot = annot.get_object()
            if not isinstance(annot, DictionaryObject):
                continue
            holders.append(annot)
            if "/A" in annot:
                _actions(annot["/A"], found)
            if annot.get("/Subtype") == "/FileAttachment":
                found.add("embedded_files")
            if annot.get("/Subtype") == "/RichMedia":
                found.add("rich_media")
    for holder in holders:
        extra = holder.get("/AA")
        extra = extra.get_object() if extra is not None else None
        if isinstance(extra, DictionaryObject):
            found.add("additional_actions")
            for action in extra.values():
                _actions(action, found)
    return [kind for kind in ACTIVE_KINDS if kind in found]


def _child_check(data: bytes, found: set) -> dict:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        return {"status": "encrypted"}
    pages = len(reader.pages)
    # Touch every page object so a broken page tree is found now, not by a reviewer.
    for page in reader.pages:
        page.mediabox  # noqa: B018
    active = _active_content(reader, data)
    return {
        "status": "ok",
        "pages": pages,
        "active": sorted(set(active) | found, key=ACTIVE_KINDS.index),
    }


def _child_merge(parts: list[bytes], cap: int) -> tuple[dict, bytes]:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in parts:
        reader = PdfReader(io.BytesIO(part), strict=False)
        if reader.is_encrypted:
            return {"status": "encrypted"}, b""
        writer.append(reader)
    out = io.BytesIO()
    writer.write(out)
    blob = out.getvalue()
    if len(blob) > 2 * sum(len(p) for p in parts) + cap:
        return {"status": "too_complex", "detail": f"merged file of {len(blob)} bytes"}, b""
    return {"status": "ok", "pages": len(writer.pages)}, blob


def _answer(request: dict, read_parts) -> bytes:
    """Everything a child writes on stdout: one JSON line, then the merged file if any.
    Runs under the limits already set; `read_parts` gives the PDFs."""
    preloaded = "pypdf" in sys.modules  # forked from a zygote: nothing left to import
    started = time.monotonic()
    counter = _quiet_parser()
    found: set = set()
    blob = b""
    try:
        parts = read_parts()
        cap = int(request["decoded_mb"]) * 1024 * 1024
        _bound_decoding(cap, found)
        if request["op"] == "check":
            header = _child_check(parts[0], found)
        else:
            header, blob = _child_merge(parts, cap)
    except (MemoryError, RecursionError) as exc:
        header, blob = {"status": "too_complex", "detail": type(exc).__name__}, b""
    except Exception as exc:
        from pypdf.errors import LimitReachedError

        status = "too_complex" if isinstance(exc, LimitReachedError) else "damaged"
        header, blob = {"status": status, "detail": f"{type(exc).__name__}: {exc}"[:200]}, b""
    header.update(
        warnings=counter[0],
        elapsed=round(time.monotonic() - started, 3),
        size=len(blob),
        preloaded=preloaded,
    )
    return json.dumps(header).encode() + b"\n" + blob


def child_main() -> int:
    """The one-shot child: the request line and the PDFs on stdin, the answer on stdout."""
    stdin = sys.stdin.buffer
    request = json.loads(stdin.readline())
    _limit_self(request)
    answer = _answer(request, lambda: [stdin.read(size) for size in request["sizes"]])
    out = sys.stdout.buffer
    out.write(answer)
    out.flush()
    return 0


# --- The zygote --------------------------------------------------------------------------------


def _read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from a blocking fd, or None at end-of-file."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, PIPE_BYTES))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _preload() -> None:
    """Everything a child uses, imported and run once on a PDF of our own, so that a forked
    child starts parsing at once."""
    import ctypes  # noqa: F401 - for PR_SET_PDEATHSIG in the children
    import io
    import re  # noqa: F401
    import resource  # noqa: F401
    import traceback  # noqa: F401
    import warnings  # noqa: F401

    import pypdf.errors
    import pypdf.filters
    import pypdf.generic  # noqa: F401
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    own = io.BytesIO()
    writer.write(own)
    reader = PdfReader(io.BytesIO(own.getvalue()), strict=False)
    reader.pages[0].mediabox  # noqa: B018
    merged = PdfWriter()
    merged.append(reader)
    merged.write(io.BytesIO())


def _die_with(zygote: int) -> None:
    """Linux: the kernel kills this child if the zygote dies (the zygote is single-threaded)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != zygote:
        os._exit(70)


def _forked(request: dict, parts: list[bytes], fds: tuple[int, ...], out: int, err: int) -> None:
    """In the forked child: never returns."""
    code = 70
    try:
        zygote = os.getppid()
        for fd in fds:
            os.close(fd)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)
        _die_with(zygote)
        _limit_self(request)
        _write_all(1, _answer(request, lambda: parts))
        code = 0
    except BaseException:
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
    finally:
        os._exit(code)


def _supervise(request: dict, parts: list[bytes], request_fd: int) -> dict:
    """Fork a child for one request, collect its stdout and the end of its stderr, kill it
    when it overruns the wall-clock limit, reap it. The reply's metadata; its stdout in
    "answer"."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    for fd in (out_r, out_w):
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        return {"error": f"fork: {exc}"}
    if pid == 0:
        _forked(request, parts, (request_fd, _REPLY_FD[0], out_r, err_r), out_w, err_w)
    os.close(out_w)
    os.close(err_w)
    deadline = time.monotonic() + float(request["seconds"])
    most = (int(request["memory_mb"]) + 64) * 1024 * 1024  # more than a child can hold
    stdout: list[bytes] = []
    got = 0
    stderr = b""
    open_fds = {out_r, err_r}
    poller = select.poll()
    for fd in open_fds:
        poller.register(fd, select.POLLIN)
    poller.register(request_fd, select.POLLIN)  # the parent gone: end-of-file here
    try:  # readable once the child has exited (Linux 5.3 and later)
        exited = os.pidfd_open(pid)
        poller.register(exited, select.POLLIN)
    except (OSError, AttributeError):
        exited = None
    status = None
    parent_gone = timed_out = False
    while status is None:
        left = deadline - time.monotonic()
        if left <= 0 or got > most:
            timed_out = left <= 0
            break
        if not open_fds:  # both pipes closed: it has exited or is about to
            reaped, status_ = os.waitpid(pid, os.WNOHANG)
            if reaped:
                status = status_
                break
            if exited is None:
                time.sleep(0.001)
                continue
        for fd, _event in poller.poll(left * 1000):
            if fd == request_fd:
                parent_gone = True
                break
            if fd == exited:
                poller.unregister(fd)  # reaped once its pipes are drained
                continue
            chunk = os.read(fd, PIPE_BYTES)
            if not chunk:
                poller.unregister(fd)
                open_fds.discard(fd)
            elif fd == out_r:
                stdout.append(chunk)
                got += len(chunk)
            else:
                stderr = (stderr + chunk)[-STDERR_KEPT:]
        if parent_gone:
            break
    if status is None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    for fd in (out_r, err_r, exited):
        if fd is not None:
            os.close(fd)
    if parent_gone:
        raise SystemExit(0)
    answer = b"".join(stdout)
    reply = {
        "child": pid,
        "returncode": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "stderr": stderr.decode("utf-8", "replace"),
        "stdout": len(answer),
        "answer": answer,
    }
    if got > most:  # a child that writes without end is treated like one that was killed
        reply.update(returncode=-signal.SIGKILL, stdout=0, answer=b"")
    return reply


_REPLY_FD = [1]


def serve_main() -> int:
    """The zygote: import pypdf once, then for each request on stdin fork a child, supervise
    it and reply on stdout. Exits at end-of-file on stdin (the parent has gone)."""
    import gc

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # waitpid must see its children's ends
    request_fd, reply_fd = os.dup(0), os.dup(1)
    _REPLY_FD[0] = reply_fd
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # a stray print() cannot corrupt the replies
    os.close(null)
    try:
        _preload()
        ready = {"ready": True, "pid": os.getpid()}
    except Exception as exc:
        ready = {"ready": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    head = json.dumps(ready).encode()
    _write_all(reply_fd, _FRAME.pack(len(head)) + head)
    if not ready["ready"]:
        return 1
    gc.collect()
    gc.freeze()  # the children leave these objects alone, so their pages stay shared
    served = 0
    while True:
        size = _read_exactly(request_fd, _FRAME.size)
        head = size and _read_exactly(request_fd, _FRAME.unpack(size)[0])
        if not head:
            return 0
        request = json.loads(head)
        parts = [_read_exactly(request_fd, n) for n in request["sizes"]]
        if any(part is None for part in parts):
            return 0
        reply = _supervise(request, parts, request_fd)
        del parts
        served += 1
        answer = reply.pop("answer", b"")
        head = json.dumps({**reply, "served": served, "preloaded": _preloaded(answer)}).encode()
        _write_all(reply_fd, _FRAME.pack(len(head)) + head)
        _write_all(reply_fd, answer)
        del answer, reply


def _preloaded(answer: bytes) -> bool | None:
    """Whether the child found pypdf imported (None: it did not answer)."""
    header, _ = _parse_answer(answer)
    return None if header is None else bool(header.get("preloaded"))


if __name__ == "__main__":
    sys.exit(serve_main() if sys.argv[1:] == ["--serve"] else child_main())
