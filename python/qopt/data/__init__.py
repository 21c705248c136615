"""Benchmark instances shipped with qopt, and their published best-known values.

The files live in ``qopt/data/instances/`` (sources, citations and licences in its
README.md): Gset ``G1`` (the demo instance), OR-Library ``bqp50`` (10 problems), Biq Mac
``gka1a``, ``gka1b`` (QUBO) and rudy ``pm1s_80.0``, ``pw01_100.0`` (MaxCut, proven optima).
"""
from __future__ import annotations

import csv
import functools
import importlib.resources
import pathlib

from qopt.errors import ParameterError

__all__ = ["instance_path", "instance_names", "best_known", "best_known_table"]

# name -> file name inside qopt/data/instances
_FILES = {
    "G1": "G1.txt",
    "bqp50": "bqp50.txt",
    "gka1a": "gka1a.sparse",
    "gka1b": "gka1b.sparse",
    "pm1s_80.0": "pm1s_80.0",
    "pw01_100.0": "pw01_100.0",
}


def _root():
    return importlib.resources.files("qopt.data") / "instances"


def instance_names() -> list[str]:
    """Names accepted by :func:`instance_path`."""
    return sorted(_FILES)


def instance_path(name: str) -> pathlib.Path:
    """Path of a shipped instance file.

    Args:
        name: ``"G1"``, ``"bqp50"``, ``"gka1a"``, ``"gka1b"``, ``"pm1s_80.0"``, ``"pw01_100.0"``;
            the file name itself (``"G1.txt"``) and an OR-Library instance name with its problem
            number (``"bqp50-3"``: the file holding it) are accepted too.

    Returns:
        pathlib.Path to the file (the package is installed as plain files, not zipped).

    Raises:
        ValueError: ``name`` is not a shipped instance.
    """
    key = name
    if key not in _FILES:
        by_file = {v: k for k, v in _FILES.items()}
        if key in by_file:
            key = by_file[key]
        elif "-" in key and key.rsplit("-", 1)[0] in _FILES:
            key = key.rsplit("-", 1)[0]
        else:
            raise ParameterError("name", f"must be one of {instance_names()}, was {name!r}")
    return pathlib.Path(str(_root() / _FILES[key]))


@functools.lru_cache(maxsize=1)
def best_known_table() -> dict[str, dict[str, str]]:
    """Rows of ``best_known.csv`` (copied from the public data set) keyed by instance name.

    Each row has the columns ``set, instance, file, problem, sense, n, m_or_nnz, best_known,
    status, ...`` as strings.
    """
    with (_root() / "best_known.csv").open(newline="") as fh:
        return {row["instance"]: row for row in csv.DictReader(fh)}


def best_known(name: str) -> float | None:
    """Published best-known objective of a shipped instance in the file's own terms
    (cut value for MaxCut, ``x^T Q x`` to maximise for bqp, objective to minimise for
    ``.sparse``); None if the instance is not in the table.
    """
    row = best_known_table().get(name)
    if row is None or not row.get("best_known"):
        return None
    return float(row["best_known"])
