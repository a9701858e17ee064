"""The supply chain: every install comes from a lock file whose every package carries hashes.

`make install` (so `make run`, `make test` and CI), the Dockerfile and the lock files agree: pip
runs in hash-checking mode, so a package whose file differs from the one locked is refused.
"""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-dev.lock")


def locked(name):
    """{package: (version, [hashes])} of one lock file, read the way pip reads it."""
    text = (ROOT / name).read_text().replace("\\\n", " ")
    packages = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)\s*(.*)$", line)
        assert match, f"{name}: not pinned with ==: {line!r}"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", match[3])
        packages[match[1].lower().replace("_", "-")] = (match[2], hashes)
    return packages


def requirement_names(requirements):
    return {
        re.split(r"[\[<>=!~; ]", item, maxsplit=1)[0].lower().replace("_", "-")
        for item in requirements
    }


@pytest.mark.parametrize("name", LOCKS)
def test_every_locked_package_is_pinned_and_carries_a_hash(name):
    packages = locked(name)
    assert len(packages) > 40
    unhashed = sorted(package for package, (_, hashes) in packages.items() if not hashes)
    assert unhashed == []


def test_the_lock_files_hold_every_dependency_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = requirement_names(project["dependencies"])
    dev = requirement_names(project["optional-dependencies"]["dev"])
    assert runtime - set(locked("requirements.lock")) == set()
    assert (runtime | dev) - set(locked("requirements-dev.lock")) == set()


def test_both_lock_files_pin_the_same_versions_of_what_they_share():
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    differ = {
        package: (runtime[package][0], dev[package][0])
        for package in set(runtime) & set(dev)
        if runtime[package][0] != dev[package][0]
    }
    assert differ == {}


def test_every_install_checks_the_hashes():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line]
    assert installs, "the Makefile installs nothing"
    assert all("--require-hashes -r requirements-dev.lock" in line for line in installs)
    dockerfile = (ROOT / "Dockerfile").read_text()
    docker_installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert docker_installs
    assert all("--require-hashes" in line for line in docker_installs)
    # CI installs through the Makefile, never with a pip of its own.
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make install" in ci
    assert "pip install" not in ci
