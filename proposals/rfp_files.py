"""An RFP as a file and back: export_rfp writes the TOML format of the demo's data files
(proposals/demo_data/rfps/*.toml, described in their README), import_rfp reads one through the
loader the demo uses (proposals.services.load_rfp) and creates a draft. Exported, imported and
exported again, a file comes back byte for byte; a bad file is answered with its line and
column (TOML syntax) or its key path (a missing or wrong value), and nothing is created.

The writer is small and ours (no TOML-writing dependency): the format has few kinds of value
(text, whole or decimal numbers, true/false, lists of text, dates as text), and writing it
ourselves keeps the demo files' layout: an inline deadline table, multi-line summary and body.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from proposals import services
from proposals.models import RFP, Criterion, TimelineEntry
from proposals.services import RFPFileError
from rfp_portal import audit, deadlines
from rfp_portal.audit import AuditAction

MAX_FILE_BYTES = 256 * 1024

_DECODE_POSITION = re.compile(r"^(?P<what>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- Writing -------------------------------------------------------------------------------


def _text(value: str) -> str:
    """A one-line TOML basic string (JSON's escapes are TOML's; DEL is escaped too)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _long_text(value: str) -> str:
    """A multi-line TOML basic string, as the demo files write summary and body."""
    escaped = value.replace("\\", "\\\\").replace('"""', '""\\"')
    escaped = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped)
    if escaped.endswith('"'):
        escaped = escaped[:-1] + '\\"'
    return f'"""\n{escaped}\n"""'


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _text(key)


def _number(value: Decimal | int) -> str:
    value = Decimal(value)
    return str(int(value)) if value == value.to_integral_value() else f"{value:.2f}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return _number(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items())
        return "{ " + pairs + " }" if pairs else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _pairs(pairs: list[tuple[str, Any]]) -> list[str]:
    return [f"{key} = {_value(value)}" for key, value in pairs]


def export_rfp(rfp: RFP) -> str:
    """The RFP as TOML in the demo files' format (keys with their default value left out)."""
    head: list[tuple[str, Any]] = [("slug", rfp.slug), ("title", rfp.title)]
    head += [(key, getattr(rfp, key)) for key in ("funder", "issuer") if getattr(rfp, key)]
    head += [("currency", rfp.currency), ("sealed", rfp.sealed)]
    head += [("max_revisions", rfp.max_revisions)]
    if rfp.grace_seconds:
        head.append(("grace_seconds", rfp.grace_seconds))
    if rfp.review_due:
        head.append(("review_due", rfp.review_due.isoformat()))
    if rfp.total_cap is not None:
        head.append(("total_cap", rfp.total_cap))
    lines = _pairs(head)
    lines.append(f"summary = {_long_text(rfp.summary)}")
    if rfp.body_markdown:
        lines.append(f"body_markdown = {_long_text(rfp.body_markdown)}")

    deadline: dict[str, Any] = {"date": rfp.deadline_date.isoformat(), "zone": rfp.deadline_zone}
    deadline["end_of_day"] = rfp.deadline_end_of_day
    if not rfp.deadline_end_of_day and rfp.deadline_time is not None:
        deadline["time"] = rfp.deadline_time.strftime("%H:%M")
    lines += ["", f"deadline = {_value(deadline)}"]
    lines.append(f"expected_deadline_utc = {_text(deadlines.to_utc_iso(rfp.deadline_instant))}")

    if rfp.timeline.exists():
        lines.append("")
    for entry in rfp.timeline.order_by("position", "date", "id"):
        lines.append("[[timeline]]")
        if entry.precision == TimelineEntry.Precision.MONTH:
            lines += _pairs([("month", entry.date.strftime("%Y-%m"))])
        else:
            lines += _pairs([("date", entry.date.isoformat())])
        lines += _pairs([("label", entry.label)])

    for milestone in rfp.milestones.order_by("position", "id"):
        lines += ["", "[[milestones]]", *_pairs([("name", milestone.name)])]
        for feature in milestone.features.order_by("position", "id"):
            lines += ["", "[[milestones.features]]"]
            lines += _pairs(
                [
                    ("name", feature.name),
                    ("budget", feature.budget),
                    ("cap", feature.cap),
                    ("tasks", [str(task) for task in feature.tasks]),
                ]
            )

    for element in rfp.elements.order_by("position", "id"):
        pairs = [("key", element.key), ("kind", element.kind), ("label", element.label)]
        if element.help:
            pairs.append(("help", element.help))
        if not element.required:
            pairs.append(("required", False))
        lines += ["", "[[elements]]", *_pairs(pairs)]

    default_anchors = services.default_anchors()
    for criterion in rfp.criteria.order_by("position", "id"):
        pairs = [("key", criterion.key), ("kind", criterion.kind)]
        scored = criterion.kind == Criterion.Kind.SCORED
        if scored:
            pairs.append(("weight", criterion.weight))
        pairs += [("name", criterion.name), ("questions", list(criterion.questions))]
        if (criterion.scale_min, criterion.scale_max) != (0, 5):
            pairs += [("scale_min", criterion.scale_min), ("scale_max", criterion.scale_max)]
        anchors = {str(k): str(v) for k, v in criterion.anchors.items()}
        if anchors != (default_anchors if scored else {}):
            pairs.append(("anchors", anchors))
        lines += ["", "[[criteria]]", *_pairs(pairs)]
    return "\n".join(lines) + "\n"


def export_filename(rfp: RFP) -> str:
    return f"{rfp.slug}.toml"


# --- Reading -------------------------------------------------------------------------------


def parse(content: bytes) -> dict[str, Any]:
    """The parsed TOML of an uploaded file, or RFPFileError saying where and what is wrong."""
    if len(content) > MAX_FILE_BYTES:
        raise RFPFileError(
            f"The file is {len(content):,} bytes; at most {MAX_FILE_BYTES:,} bytes are accepted."
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise RFPFileError(f"line {line}: the file is not UTF-8 text.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _DECODE_POSITION.match(str(exc))
        if found is None:
            raise RFPFileError(str(exc)) from None
        raise RFPFileError(
            f"line {found['line']}, column {found['col']}: {found['what']}."
        ) from None


@transaction.atomic
def import_rfp(content: bytes, *, now: datetime, actor: Any = None, request: Any = None) -> RFP:
    """Create a draft RFP from a TOML file's bytes; RFPFileError (and nothing created) if the
    file is too large, not TOML, describes an RFP wrongly, or its slug is taken."""
    data = parse(content)
    slug = data.get("slug")
    if isinstance(slug, str) and RFP.objects.filter(slug=slug).exists():
        raise RFPFileError(
            f"slug: an RFP with the slug {slug!r} exists already; change the slug in the file."
        )
    result = services.load_rfp(data, now=now, publish=False, actor=actor, request=request)
    audit.record(
        action=AuditAction.RFP_IMPORTED,
        actor=actor,
        obj=result.rfp,
        request=request,
        details={"bytes": len(content)},
    )
    return result.rfp
