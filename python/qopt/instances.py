"""Benchmark instances as problems with their own objective.

:func:`load_instance` reads a file with :mod:`qopt.io` and wraps the BQM with what a person
needs to read the answer in the instance's own terms: the cut of a MaxCut graph, or
x^T Q x of a QUBO, and the published best-known value when the instance is one qopt ships.
"""
from __future__ import annotations

import csv
import dataclasses
import pathlib
from collections.abc import Callable

import dimod

__all__ = ["Instance", "load_instance", "guess_format"]

_FORMATS = ("gset", "bqp", "sparse")


@dataclasses.dataclass(frozen=True)
class Instance:
    """A problem read from an instance file.

    Attributes:
        name: instance name (``G1``, ``bqp50-3``, ``gka1a``).
        bqm: the model whose energy qopt minimises.
        sense: ``"max"`` or ``"min"``: the sense of the instance's own objective.
        objective_name: what the objective is called (``"cut"``, ``"objective"``).
        objective: maps an energy (BQM units) to the instance's objective value.
        best_known: published best-known objective value, or None.
    """

    name: str
    bqm: dimod.BinaryQuadraticModel
    sense: str
    objective_name: str
    objective: Callable[[float], float]
    best_known: float | None = None


def guess_format(path: pathlib.Path) -> str:
    """``sparse`` for ``*.sparse``, ``bqp`` for ``bqp*`` files, ``gset`` otherwise."""
    name = path.name.lower()
    if name.endswith(".sparse"):
        return "sparse"
    if name.startswith("bqp"):
        return "bqp"
    return "gset"


def _best_known(name: str) -> float | None:
    """Best-known value from the CSV shipped with qopt.data, if the instance is listed."""
    try:
        from qopt.data import best_known
    except ImportError:
        return None
    try:
        return best_known(name)
    except (KeyError, LookupError, OSError, ValueError):
        return None


def load_instance(path, format: str | None = None, problem: int | None = None) -> Instance:
    """Read an instance file.

    Args:
        path: file path (``.gz`` accepted for bqp files).
        format: ``"gset"`` (Gset / Biq Mac MaxCut graph), ``"bqp"`` (OR-Library, several
            problems per file) or ``"sparse"`` (Biq Mac QUBO); guessed from the name when None.
        problem: 1-based problem number in a bqp file (default 1).

    Returns:
        :class:`Instance`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: unknown ``format``, ``problem`` given for a single-problem format, or a
            malformed file (the reader names the line).
    """
    from qopt import io

    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"path: no such file: {path}")
    fmt = format or guess_format(path)
    if fmt not in _FORMATS:
        raise ValueError(f"format must be one of {list(_FORMATS)}, was {fmt!r}")
    if problem is not None and fmt != "bqp":
        raise ValueError(f"problem is only meaningful for bqp files, was {problem!r} for format {fmt!r}")
    stem = path.name.split(".")[0] if fmt != "sparse" else path.name[: -len(".sparse")]
    if fmt == "gset":
        bqm = io.read_gset(path)
        total = float(sum(bqm.quadratic.values()))
        return Instance(stem, bqm, "max", "cut", lambda e, W=total: (W - e) / 2.0, _best_known(stem))
    if fmt == "bqp":
        k = 1 if problem is None else problem
        bqm = io.read_bqp(path, problem=k)
        name = f"{stem}-{k}"
        return Instance(name, bqm, "max", "objective", lambda e: -e, _best_known(name))
    bqm = io.read_sparse(path)
    return Instance(stem, bqm, "min", "objective", lambda e: e, _best_known(stem))


def read_best_known_csv(path) -> dict[str, float]:
    """``instance -> best_known`` from a best_known.csv file (rows without a value skipped)."""
    out = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("best_known"):
                out[row["instance"]] = float(row["best_known"])
    return out
