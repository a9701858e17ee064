"""The architecture's import contracts (pyproject.toml, [tool.importlinter]; ARCHITECTURE.md
draws them): they hold, and each violation issue 14 found is caught again if it comes back,
also from an import inside a function, where a glance at the top of a file misses it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rfp_portal", "proposals", "evaluation")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd), "NO_COLOR": "1"},
    )


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


# (module file, an import it must never make): the violations issue 14 named.
REINTRODUCED = [
    ("proposals/submission.py", "import evaluation.models"),  # reviewers told at opening
    ("proposals/reminders.py", "from evaluation import services"),  # review reminders
    ("proposals/demo.py", "import evaluation.decisions"),  # evaluation demo data
    ("proposals/submission.py", "from proposals.forms import ProposalDraftForm"),  # domain → form
    ("proposals/selectors.py", "from rfp_portal.templatetags import portal"),  # domain → tags
    ("rfp_portal/permissions.py", "from proposals.models import Proposal"),  # core reaching up
    ("rfp_portal/permissions.py", "from evaluation.models import Assignment"),
    ("rfp_portal/urls.py", "from proposals.views import public"),  # root URLconf by name only
    ("rfp_portal/management/commands/createstaff.py", "from proposals import demo"),
    ("evaluation/models.py", "from evaluation import views"),  # domain → views
    # the three circles between a module and its tasks.py (the task imports the work)
    ("rfp_portal/delivery.py", "from rfp_portal import tasks"),
    ("proposals/receipts.py", "from proposals import tasks"),
    ("evaluation/exports.py", "from evaluation import tasks"),
]


@pytest.mark.parametrize(("module", "statement"), REINTRODUCED)
def test_a_reintroduced_violation_breaks_a_contract(tmp_path, module, statement):
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert lint_imports(tmp_path).returncode == 0  # the copy holds, as the tree does
    with open(tmp_path / module, "a") as source:
        source.write(f"\n\ndef _reintroduced():\n    {statement}\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout


# Framework glue: neither domain nor presentation (wired by Django or Celery by name).
GLUE = {
    "rfp_portal.settings", "rfp_portal.celery", "rfp_portal.wsgi", "rfp_portal.asgi",
    "rfp_portal.middleware", "rfp_portal.context_processors", "rfp_portal.adapters",
    "rfp_portal.admin_site", "rfp_portal.formats.en.formats",
}  # fmt: skip


def test_every_module_is_placed_in_the_contracts():
    """A new module must be named as domain or presentation in pyproject.toml (or be glue),
    or the domain contract would silently not look at it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["id"] == "domain-below-presentation")
    placed = set(contract["source_modules"]) | set(contract["forbidden_modules"]) | GLUE
    unplaced = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if {"migrations", "management"} & set(parts) or parts[-1] in ("__init__", "apps"):
                continue
            name = ".".join(parts)
            if not any(name == p or name.startswith(p + ".") for p in placed):
                unplaced.append(name)
    assert unplaced == []
