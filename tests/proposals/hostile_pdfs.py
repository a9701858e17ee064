"""Hostile PDFs, built byte by byte (no files checked in), for tests/proposals/test_hostile_pdfs.py.

Each builder returns the bytes of one kind of file from issue 13: small on disk, expensive to
parse or to merge, or carrying content a reviewer's viewer might act on. Every file starts with
%PDF- and ends with %%EOF, so it reaches the parser rather than the cheap checks before it.
"""

from __future__ import annotations

import random
import zlib

Obj = tuple[int, bytes]  # (object number, the object's body without "n 0 obj" / "endobj")


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return dictionary.rstrip(b">") + b" /Length %d>>\nstream\n" % len(data) + data + b"\nendstream"


def classic(objects: list[Obj], *, root: int = 1, head: bytes = b"", tail: bytes = b"") -> bytes:
    """A PDF with a classic cross-reference table whose offsets are right."""
    out = bytearray(head + b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in objects:
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    size = max(offsets) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        if number in offsets:
            out += b"%010d 00000 n \n" % offsets[number]
        else:
            out += b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, xref)
    return bytes(out + tail)


def with_object_streams(plain: list[Obj], streams: list[tuple[int, list[Obj], bytes]]) -> bytes:
    """A PDF 1.5 file: `plain` objects at top level, each (number, objects, padding) of
    `streams` an object stream holding `objects`, each preceded by `padding` inside the stream
    (whitespace the parser walks over), compressed twice; a cross-reference stream ties it up."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    entries: dict[int, tuple[int, int, int]] = {0: (0, 0, 0xFFFF)}
    for number, body in plain:
        entries[number] = (1, len(out), 0)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    for number, members, padding in streams:
        content = bytearray(padding)
        index = [members[0][0], 0]
        content += members[0][1]
        for n, body in members[1:]:
            index += [n, len(content) + 1]
            content += b" " + body
        header = b" ".join(b"%d" % value for value in index) + b" "
        raw = zlib.compress(zlib.compress(header + bytes(content), 9), 9)
        entries[number] = (1, len(out), 0)
        dictionary = b"<< /Type /ObjStm /N %d /First %d /Filter [/FlateDecode /FlateDecode]>>" % (
            len(members),
            len(header),
        )
        out += b"%d 0 obj\n" % number + _stream(dictionary, raw) + b"\nendobj\n"
        for position, (n, _) in enumerate(members):
            entries[n] = (2, number, position)
    xref_number = max(entries) + 1
    entries[xref_number] = (1, len(out), 0)
    size = xref_number + 1
    rows = b"".join(
        bytes([kind]) + field.to_bytes(4, "big") + gen.to_bytes(2, "big")
        for kind, field, gen in (entries.get(n, (0, 0, 0)) for n in range(size))
    )
    dictionary = b"<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode>>" % size
    xref_at = len(out)
    out += b"%d 0 obj\n" % xref_number + _stream(dictionary, zlib.compress(rows)) + b"\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"


def objstm_bomb(streams: int = 8, inflate: int = 70_000_000) -> bytes:
    """Issue 13's 4 KB file: each of `streams` pages sits in its own object stream behind
    `inflate` bytes of whitespace (70 MB each), so counting the pages inflates and walks them."""
    kids = b" ".join(b"%d 0 R" % (10 + i) for i in range(streams))
    plain = [
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, streams)),
    ]
    padding = b" " * inflate
    return with_object_streams(
        plain, [(100 + i, [(10 + i, PAGE)], padding) for i in range(streams)]
    )


def bogus_xref(entries: int = 900_000) -> bytes:
    """A one-page PDF whose cross-reference table lists `entries` objects at offsets where
    there is none (18 MB at 900k): a lenient parser warns about each and rebuilds."""
    good = classic(
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (3, PAGE),
        ]
    )
    body = good[: good.index(b"xref\n")]
    rng = random.Random(13)
    rows = bytearray(b"xref\n0 %d\n0000000000 65535 f \n" % entries)
    for _ in range(1, entries):
        rows += b"%010d 00000 n \n" % rng.randrange(0, len(body))
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        entries,
        len(body),
    )
    return bytes(body + rows + trailer)


def million_pages(fanout: int = 1000) -> bytes:
    """A page tree of fanout x fanout pages (a million by default) in a few KB: every leaf is
    the same page object, every branch the same Pages node."""
    kids = b" ".join([b"4 0 R"] * fanout)
    leaves = b" ".join([b"5 0 R"] * fanout)
    return classic(
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, fanout * fanout)),
            (4, b"<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>" % (leaves, fanout)),
            (5, b"<< /Type /Page /Parent 4 0 R /MediaBox [0 0 612 792] >>"),
        ]
    )


def deep_nesting(depth: int = 100_000) -> bytes:
    """A page whose dictionary holds an array nested `depth` levels deep."""
    nested = b"[" * depth + b"]" * depth
    return classic(
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Deep %s >>" % nested),
        ]
    )


def deep_page_tree(depth: int = 5_000) -> bytes:
    """Pages nodes nested `depth` deep above a single page."""
    objects = [(1, b"<< /Type /Catalog /Pages 2 0 R >>")]
    for level in range(depth):
        number = 2 + level
        parent = b" /Parent %d 0 R" % (number - 1) if level else b""
        objects.append(
            (number, b"<< /Type /Pages%s /Kids [%d 0 R] /Count 1 >>" % (parent, number + 1))
        )
    leaf = 2 + depth
    objects.append((leaf, b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] >>" % (leaf - 1)))
    return classic(objects)


def indirect_arrays(count: int = 99_000, links: int = 15, layers: int = 4) -> bytes:
    """Issue 13's accepted-but-expensive file (about 18 MB at the defaults): a plain one-page
    PDF whose page points at `count` indirect arrays in `layers` layers, each array linking
    `links` arrays of the next layer. Checking it touches one page; merging it copies the
    whole graph (seconds and hundreds of MB with pypdf)."""
    rng = random.Random(99)
    first = 10
    per = count // layers
    objects = [
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /PieceInfo 4 0 R >>"),
        (4, b"[%s]" % b" ".join(b"%d 0 R" % (first + i) for i in range(per))),
    ]
    for i in range(count):
        layer = i // per
        if layer >= layers - 1:
            items = [b"%d" % rng.randrange(10**6) for _ in range(links)]
        else:
            items = [
                b"%d 0 R" % (first + (layer + 1) * per + rng.randrange(per)) for _ in range(links)
            ]
        objects.append((first + i, b"[%s]" % b" ".join(items)))
    return classic(objects)


def _active_objects() -> list[Obj]:
    return [
        (
            1,
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R /AA << /WC 7 0 R >>"
            b" /Names << /JavaScript 8 0 R /EmbeddedFiles 9 0 R >> /AcroForm 12 0 R >>",
        ),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (
            3,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [5 0 R]"
            b" /AA << /O 7 0 R >> >>",
        ),
        (5, b"<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A 13 0 R >>"),
        (6, b"<< /S /JavaScript /JS (app.alert\\('hello'\\);) >>"),
        (7, b"<< /S /JavaScript /JS (this.submitForm\\('https://example.invalid/'\\);) >>"),
        (8, b"<< /Names [(x) 6 0 R] >>"),
        (9, b"<< /Names [(a.exe) 10 0 R] >>"),
        (10, b"<< /Type /Filespec /F (a.exe) /EF << /F 11 0 R >> >>"),
        (11, _stream(b"<< /Type /EmbeddedFile >>", b"MZ not really a program")),
        (12, b"<< /Fields [] /XFA 14 0 R >>"),
        (13, b"<< /S /Launch /F (cmd.exe) >>"),
        (14, _stream(b"<< >>", b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'></xdp:xdp>")),
    ]


def active_content() -> bytes:
    """A valid one-page PDF with JavaScript on opening and on close, a Launch action, an
    embedded file and an XFA form."""
    return classic(_active_objects())


def html_polyglot() -> bytes:
    """An HTML page with a script, then a valid PDF (allowed: the header may follow junk)."""
    head = b"<html><script>alert(document.cookie)</script><!--\n"
    return classic(
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (3, PAGE),
        ],
        head=head,
    )


def zip_polyglot() -> bytes:
    """A valid PDF that carries a ZIP archive (with a script in it) in a stream object."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.js", "WScript.Echo('hi')")
    return classic(
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (3, PAGE),
            (4, _stream(b"<< >>", buffer.getvalue())),
        ]
    )


# name -> (builder, what the upload check must answer: "too complex", "damaged" or "accepted")
CORPUS = {
    "objstm-bomb": (objstm_bomb, "too complex"),
    "objstm-bomb-under-the-stream-cap": (lambda: objstm_bomb(8, 30_000_000), "too complex"),
    "bogus-xref": (bogus_xref, "too complex"),
    "million-pages": (million_pages, "too complex"),
    "deep-nesting": (deep_nesting, "damaged"),
    "deep-page-tree": (deep_page_tree, "too complex"),
    "indirect-arrays": (indirect_arrays, "accepted"),
    "active-content": (active_content, "accepted"),
    "html-polyglot": (html_polyglot, "accepted"),
    "zip-polyglot": (zip_polyglot, "accepted"),
}
