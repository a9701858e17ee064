"""Running manage.py in a process of its own, on the production settings module, with only the
environment a test gives it (none of the suite's DJANGO_* and DATABASE_* variables)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage_py(args, extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.pop("SECRET_KEY", None)
    env.update({"DJANGO_SETTINGS_MODULE": "rfp_portal.settings", **extra_env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
