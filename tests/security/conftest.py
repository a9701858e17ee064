"""The security scenario (tests/security/scenario.py), built afresh for each test that asks."""

import pytest

from tests.security.scenario import Scenario, build_scenario


@pytest.fixture
def scenario(db) -> Scenario:
    return build_scenario()
