"""Bounded work on a user's PDF: every parse runs in a child process that cannot run long,
grow large or flood the log.

Why a child process: pypdf is pure Python, so a hostile file (streams that inflate to
hundreds of MB, a cross-reference table of a million bogus entries, a graph of 100k objects
to copy) costs the process that parses it time and memory which no in-process check can take
back. The parent hands the bytes to ``python -m proposals.pdfguard`` on stdin and reads a short
JSON answer (and, for a merge, the merged file) on stdout:

- a fresh interpreter (subprocess, not fork): nothing is inherited from a threaded web server
  or a Celery worker (locks held by other threads, database connections, open files); it also
  works inside Celery's daemonic pool processes, which multiprocessing refuses to let have
  children. It costs about 0.1 s per PDF, once per upload and once per proposal in a bundle.
- the child limits itself before reading any input: address space (RLIMIT_AS), CPU seconds
  (RLIMIT_CPU), no core files; pypdf's per-stream decompression limits are set to the cap on
  decompressed bytes, and a counter refuses once all streams together exceed it.
- the parent waits at most the wall-clock limit, then kills the child.
- pypdf's warnings stay in the child, counted; the parent writes at most one log line per PDF
  (and at most LOG_LINES_PER_MINUTE of them).

This module imports nothing from Django at module level, so the child starts quickly.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("proposals.pdf")

# Defaults; each can be set in settings under the same name.
PDF_CHECK_SECONDS = 5  # wall-clock limit for checking one upload
PDF_MERGE_SECONDS = 5  # the same for merging one proposer's PDF into an export
PDF_CHECK_MEMORY_MB = 512  # address space of the child
PDF_CHECK_DECODED_MB = 64  # decompressed bytes, all streams together, per check or merge

LOG_LINES_PER_MINUTE = 60
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


def _run(op: str, parts: list[bytes], bounds: Limits, *, label: str) -> tuple[dict, bytes]:
    request = {
        "op": op,
        "seconds": bounds.seconds,
        "memory_mb": bounds.memory_mb,
        "decoded_mb": bounds.decoded_mb,
        "sizes": [len(p) for p in parts],
    }
    payload = json.dumps(request).encode() + b"\n" + b"".join(parts)
    started = time.monotonic()
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
        error = TooComplex(f"over {bounds.seconds:g} s", warnings=-1)  # count unknown
        _summarise(op, label, error, time.monotonic() - started)
        raise error from None
    elapsed = time.monotonic() - started
    header, blob = _parse_answer(done.stdout)
    if header is None:
        # No answer: killed by a signal (RLIMIT_CPU sends SIGXCPU; a C stack overflow SIGSEGV)
        # or out of memory before it could reply. Anything else is our fault, not the file's.
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        if done.returncode < 0 or "MemoryError" in tail[0]:
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


def child_main() -> int:
    stdin = sys.stdin.buffer
    request = json.loads(stdin.readline())
    _limit_self(request)
    started = time.monotonic()
    counter = _quiet_parser()
    found: set = set()
    blob = b""
    try:
        parts = [stdin.read(size) for size in request["sizes"]]
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
    header.update(warnings=counter[0], elapsed=round(time.monotonic() - started, 3), size=len(blob))
    out = sys.stdout.buffer
    out.write(json.dumps(header).encode() + b"\n")
    out.write(blob)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
