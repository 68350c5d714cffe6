"""Replay test options: `pytest tests/replay --update-golden` re-records tests/golden/."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="re-record tests/golden/*.jsonl from real runs and rewrite the expected files",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    # getoption with a default: when pytest runs from the repo root this
    # conftest is not an initial one and the option may not be registered.
    return bool(request.config.getoption("--update-golden", default=False))
