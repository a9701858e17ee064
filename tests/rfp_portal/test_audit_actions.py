"""Every audit action is a member of rfp_portal.audit.AuditAction: no call site spells one."""

from __future__ import annotations

import ast
from pathlib import Path

from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
APPS = ("rfp_portal", "proposals", "evaluation")


def _action_arguments(call: ast.Call) -> list[ast.expr]:
    """The action given to record(action=...) or refuse(request, action, ...)."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("record", "refuse"):
        return []
    found = [keyword.value for keyword in call.keywords if keyword.arg == "action"]
    if name == "refuse" and len(call.args) >= 2:
        found.append(call.args[1])
    return found


def _string_literal_actions() -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                for argument in _action_arguments(node):
                    for part in ast.walk(argument):
                        if isinstance(part, ast.Constant) and isinstance(part.value, str):
                            where = path.relative_to(ROOT)
                            found.append(f"{where}:{node.lineno}: {part.value!r}")
    return found


def test_the_scan_sees_the_call_sites():
    # The scan is only worth something if it finds the calls it checks.
    calls = 0
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            calls += sum(
                1 for n in ast.walk(tree) if isinstance(n, ast.Call) and _action_arguments(n)
            )
    assert calls > 40


def test_no_call_site_spells_an_action():
    assert _string_literal_actions() == []


def test_every_action_has_its_own_value():
    values = [member.value for member in AuditAction]
    assert len(values) == len(set(values))


def test_every_action_fits_the_column():
    width = AuditEvent._meta.get_field("action").max_length
    assert all(len(member.value) <= width for member in AuditAction)


def test_an_action_is_stored_as_its_string():
    assert AuditAction.ADDENDUM_ACKNOWLEDGED == "addendum.acknowledged"
    assert str(AuditAction.PROPOSAL_ACCESS_REFUSED) == "proposal.access_refused"
