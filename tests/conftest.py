"""Shared fixtures. Tests import the installed qopt (``make test``) or, in the developer
loop, the source tree with ``PYTHONPATH=python`` after ``make dev``."""
from __future__ import annotations

import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """``../shared/data`` beside the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (a user's clone has no shared data)")
    return SHARED_DATA
