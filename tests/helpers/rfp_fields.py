"""An RFP with all its parts as plain values, for comparing two RFPs field by field (the editor's
result with an import of the same file): every field of the RFP, its timeline, milestones with
features, proposal elements and criteria, in their order, leaving out only what must differ
(ids, the slug if asked, creation and update times, the audit)."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from typing import Any

from django.forms.models import model_to_dict
from django.utils import timezone

from proposals import demo, services
from proposals.models import RFP

Q4_FILE = demo.DEMO_DATA_DIR / "pypi-2019-q4.toml"
_SKIP = {"id", "rfp", "milestone", "created_at", "updated_at"}


def _plain(obj, *, skip: set[str] = frozenset()) -> dict[str, Any]:
    names = [f.name for f in obj._meta.concrete_fields if f.name not in _SKIP | skip]
    values = model_to_dict(obj, fields=names)
    # model_to_dict leaves out fields that are not editable (the computed deadline instant).
    for name in names:
        values.setdefault(name, getattr(obj, name))
    return values


def rfp_fields(rfp: RFP, *, with_slug: bool = True) -> dict[str, Any]:
    skip = set() if with_slug else {"slug"}
    return {
        "rfp": _plain(rfp, skip=skip),
        "timeline": [_plain(e) for e in rfp.timeline.order_by("position", "date")],
        "milestones": [
            {**_plain(m), "features": [_plain(f) for f in m.features.order_by("position")]}
            for m in rfp.milestones.order_by("position")
        ],
        "elements": [_plain(e) for e in rfp.elements.order_by("position")],
        "criteria": [_plain(c) for c in rfp.criteria.order_by("position")],
    }


def q4_data() -> dict[str, Any]:
    return tomllib.loads(Q4_FILE.read_text())


def q4_shift(today=None) -> timedelta:
    """How far the demo moves the Q4 2019 dates (its deadline 14 days after today): a deadline
    in 2019 cannot be typed in the editor, which refuses a deadline that has passed."""
    return services.demo_shift(q4_data(), today=today or timezone.now().date())


def import_q4_as_draft(*, slug: str, shift: timedelta) -> RFP:
    """The Q4 2019 file as the importer reads it (a draft), its dates moved by ``shift``."""
    data = q4_data()
    data["slug"] = slug
    return services.load_rfp(data, shift=shift, now=timezone.now(), publish=False).rfp
