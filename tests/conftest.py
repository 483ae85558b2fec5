from __future__ import annotations

import pytest

from game.combat import Ruleset
from game.content import load_content


@pytest.fixture(scope="session")
def rules() -> Ruleset:
    return load_content().rules
