"""``shared_data`` that also honours ``QOPT_SHARED_DATA`` (git worktrees have no ``../shared``)."""
from __future__ import annotations

import os
import pathlib

import pytest

_REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """``$QOPT_SHARED_DATA`` or ``../shared/data`` beside the repository; skips when absent."""
    for cand in (os.environ.get("QOPT_SHARED_DATA"), _REPO.parent / "shared" / "data"):
        if cand and pathlib.Path(cand).is_dir():
            return pathlib.Path(cand)
    pytest.skip("../shared/data is not present (set QOPT_SHARED_DATA to use another folder)")
