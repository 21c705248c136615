"""Shared fixtures. Tests import the installed qopt (``make test``) or, in the developer
loop, the source tree with ``PYTHONPATH=python`` after ``make dev``."""
from __future__ import annotations

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
# the model helpers (tests/samplers/_models.py: random and sparse BQMs, OR-Library readers) are
# imported by tests in several directories
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "samplers"))
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """``$QOPT_SHARED_DATA``, or ``../shared/data`` beside the repository; skips the test
    when neither exists (a user's clone has no shared data)."""
    for candidate in (os.environ.get("QOPT_SHARED_DATA"), SHARED_DATA):
        if candidate and pathlib.Path(candidate).is_dir():
            return pathlib.Path(candidate)
    pytest.skip("../shared/data is not present (set QOPT_SHARED_DATA to use another folder)")


@pytest.fixture(scope="session")
def best_known_values(shared_data) -> dict[str, float]:
    """instance name -> published best-known value, from ``best_known.csv`` of the shared data."""
    import csv
    with open(shared_data / "best_known.csv", newline="") as fh:
        return {row["instance"]: float(row["best_known"]) for row in csv.DictReader(fh) if row["best_known"]}
