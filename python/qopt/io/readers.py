"""Readers for public benchmark instance files.

Every reader returns a :class:`dimod.BinaryQuadraticModel` over integer labels
``0 .. n-1`` (file index ``k`` becomes label ``k - 1``) whose energy is to be *minimised*;
each docstring states how the file's own objective maps to that energy.

Formats (see the README of ``qopt/data/instances``):

* **Gset / Biq Mac MaxCut** (``G1.txt``, rudy ``pm1s_80.0``, Biq Mac ``ising*``): line 1
  ``n m``, then ``m`` lines ``i j w`` (1-based). Maximise the cut.
* **OR-Library bqp** (``bqp50.txt``, optionally ``.gz``): line 1 the number of problems;
  each problem ``n nnz`` then ``nnz`` lines ``i j q_ij``. Maximise
  ``sum_i q_ii x_i + 2 sum_{i<j} q_ij x_i x_j`` (Beasley 1998).
* **Biq Mac QUBO** ``.sparse`` (gka, be): line 1 ``n m``, then ``i j q_ij`` with ``i <= j``.
  Minimise ``sum_i q_ii x_i + 2 sum_{i<j} q_ij x_i x_j`` (Wiegele 2007).

All readers raise :class:`qopt.errors.InvalidInput` (a ValueError) whose ``field`` is the
argument (``path``, ``problem``, ``format``, ``bqm``) and whose message starts with it and,
for a malformed file, gives the line number. A file's format, when not given, is
:func:`qopt.model.formats.detect.detect_format`'s answer among the instance formats.
"""
from __future__ import annotations

import csv
import dataclasses
import gzip
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import dimod
import numpy as np

from qopt import data as shipped
from qopt.errors import InvalidInput
from qopt.model.formats.detect import INSTANCE_FORMATS, detect_format

__all__ = [
    "Instance",
    "read_gset",
    "read_bqp",
    "read_bqp_all",
    "read_sparse",
    "read_instance",
    "cut_value",
    "maxcut_value",
    "FORMATS",
]

#: The instance formats these readers take.
FORMATS = INSTANCE_FORMATS


def _invalid(field: str, message: str) -> InvalidInput:
    """An :class:`InvalidInput` for ``field`` whose message (which names it) is ``message``."""
    err = InvalidInput(field, message)
    err.args = (message,)
    return err


@dataclasses.dataclass(frozen=True)
class Instance:
    """A problem read from a file, with the map from energy to the file's own objective.

    Attributes:
        name: instance name, e.g. ``"G1"``, ``"bqp50-1"``, ``"gka1a"``.
        bqm: the model; its energy is minimised.
        format: ``"gset"``, ``"bqp"`` or ``"sparse"``.
        sense: ``"max"`` or ``"min"``: the sense of the file's objective.
        objective_name: ``"cut value"`` (gset) or ``"objective"``.
        objective_scale, objective_offset: ``objective = objective_scale * energy + objective_offset``.
        best_known: published best-known objective (file's sense and units), or None when unknown.
    """

    name: str
    bqm: dimod.BinaryQuadraticModel
    format: str
    sense: str
    objective_name: str
    objective_scale: float
    objective_offset: float
    best_known: float | None = None

    def to_objective(self, energy):
        """Objective value(s) in the file's terms for energy value(s) (float or array)."""
        out = self.objective_scale * np.asarray(energy, dtype=float) + self.objective_offset
        return float(out) if out.ndim == 0 else out

    def to_energy(self, objective):
        """Energy for an objective value in the file's terms (the inverse of :meth:`to_objective`)."""
        return (float(objective) - self.objective_offset) / self.objective_scale

    @property
    def best_known_energy(self) -> float | None:
        """``best_known`` as an energy of :attr:`bqm`, or None."""
        return None if self.best_known is None else self.to_energy(self.best_known)


# --------------------------------------------------------------------------- parsing helpers

def _open_text(path_or_file, arg: str = "path") -> tuple[str, str]:
    """Return (text, display name). Accepts a path (``.gz`` is decompressed) or a text/binary file."""
    if hasattr(path_or_file, "read"):
        data = path_or_file.read()
        if isinstance(data, bytes):
            data = data.decode("ascii", errors="replace")
        return data, getattr(path_or_file, "name", "<file>")
    if not isinstance(path_or_file, (str, os.PathLike)):
        raise _invalid(arg, f"{arg} must be a path or a file object, was {path_or_file!r}")
    p = pathlib.Path(path_or_file)
    if not p.is_file():
        raise _invalid(arg, f"{arg} must name an existing file, was {str(p)!r}")
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("ascii", errors="replace"), str(p)


def _lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (1-based line number, tokens) for every non-blank line (comments '#' / '%' skipped)."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens or tokens[0][0] in "#%":
            continue
        yield lineno, tokens


def _fail(src: str, lineno: int | None, msg: str, arg: str = "path") -> InvalidInput:
    where = f" (line {lineno})" if lineno is not None else ""
    return _invalid(arg, f"{arg} {src!r} is malformed{where}: {msg}")


def _ints(tokens, count, src, lineno, what):
    if len(tokens) < count:
        raise _fail(src, lineno, f"expected {what}, got {' '.join(tokens)!r}")
    try:
        return [int(t) for t in tokens[:count]]
    except ValueError:
        raise _fail(src, lineno, f"expected integers for {what}, got {' '.join(tokens)!r}") from None


def _triples(it, m, n, src, header_line):
    """Read m lines ``i j w`` (1-based, 1 <= i, j <= n). Returns int64 i, j (0-based) and float64 w."""
    rows = np.empty(m, dtype=np.int64)
    cols = np.empty(m, dtype=np.int64)
    vals = np.empty(m, dtype=np.float64)
    for k in range(m):
        try:
            lineno, tokens = next(it)
        except StopIteration:
            raise _fail(src, None, f"expected {m} entries after line {header_line}, found {k}") from None
        if len(tokens) != 3:
            raise _fail(src, lineno, f"expected 'i j value', got {' '.join(tokens)!r}")
        try:
            i, j, w = int(tokens[0]), int(tokens[1]), float(tokens[2])
        except ValueError:
            raise _fail(src, lineno, f"expected 'i j value', got {' '.join(tokens)!r}") from None
        if not (1 <= i <= n and 1 <= j <= n):
            raise _fail(src, lineno, f"index out of range 1..{n}: {i} {j}")
        if not np.isfinite(w):
            raise _fail(src, lineno, f"value must be finite, was {tokens[2]!r}")
        rows[k], cols[k], vals[k] = i - 1, j - 1, w
    return rows, cols, vals


def _header(it, src, what="'n m'"):
    try:
        lineno, tokens = next(it)
    except StopIteration:
        raise _fail(src, None, "file is empty") from None
    n, m = _ints(tokens, 2, src, lineno, what)
    if len(tokens) > 2:
        raise _fail(src, lineno, f"expected {what}, got {' '.join(tokens)!r}")
    if n < 1 or m < 0:
        raise _fail(src, lineno, f"expected n >= 1 and m >= 0, got n={n} m={m}")
    return lineno, n, m


def _expect_end(it, src):
    for lineno, tokens in it:
        raise _fail(src, lineno, f"unexpected extra line {' '.join(tokens)!r}")


def _qubo_bqm(n, rows, cols, vals, sign) -> dimod.BinaryQuadraticModel:
    """BINARY bqm of sign * (sum_i q_ii x_i + 2 sum_{i<j} q_ij x_i x_j); duplicates add up."""
    diag = rows == cols
    linear = np.zeros(n)
    np.add.at(linear, rows[diag], sign * vals[diag])
    off = ~diag
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
        linear, (rows[off], cols[off], 2.0 * sign * vals[off]), 0.0, dimod.BINARY)
    return bqm


# --------------------------------------------------------------------------- readers

def _read_gset(path_or_file) -> tuple[dimod.BinaryQuadraticModel, float, str]:
    text, src = _open_text(path_or_file)
    it = _lines(text)
    header_line, n, m = _header(it, src)
    rows, cols, vals = _triples(it, m, n, src, header_line)
    _expect_end(it, src)
    loops = rows == cols
    total = float(vals.sum())
    off = ~loops
    # Self-loops are never cut: s_i s_i = 1, so they only shift the energy.
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
        np.zeros(n), (rows[off], cols[off], vals[off]), float(vals[loops].sum()), dimod.SPIN)
    return bqm, total, src


def read_gset(path_or_file) -> dimod.BinaryQuadraticModel:
    """Read a Gset / Biq Mac MaxCut graph (rudy format) as an Ising model.

    The energy is ``E(s) = sum_{edges} w_ij s_i s_j`` (SPIN, no linear biases; duplicate
    edges add up; a self-loop adds its weight to the offset), so with ``W`` the total edge
    weight the cut of the partition ``s`` is ``cut = (W - E(s)) / 2``: minimising the energy
    maximises the cut. ``W`` equals the energy of the all ``+1`` sample; :func:`cut_value`
    does the conversion.

    Args:
        path_or_file: path (str or os.PathLike; gzip detected) or open file.

    Returns:
        dimod.BinaryQuadraticModel: SPIN, labels ``0..n-1``.

    Raises:
        InvalidInput: file missing, malformed line (with its line number), index out of range,
            fewer or more edges than the header says.
    """
    return _read_gset(path_or_file)[0]


def cut_value(bqm: dimod.BinaryQuadraticModel, samples) -> np.ndarray:
    """Cut value(s) of ``samples`` for a model returned by :func:`read_gset`.

    ``cut = (W - E(s)) / 2`` with ``W = E(all +1)``, the total edge weight.

    Args:
        bqm: SPIN model from :func:`read_gset` (no linear biases).
        samples: anything ``dimod.as_samples`` accepts (values in {-1, +1}).

    Returns:
        float64 array, shape (num_samples,).

    Raises:
        InvalidInput: the model has linear biases or is not SPIN (not a MaxCut model).
    """
    if bqm.vartype is not dimod.SPIN or any(bqm.linear.values()):
        raise _invalid("bqm", "bqm must be a SPIN MaxCut model without linear biases (from read_gset)")
    total = bqm.offset + sum(bqm.quadratic.values())
    return (total - bqm.energies(samples)) / 2.0


maxcut_value = cut_value  # the name the design notes use


def _bqp_problems(text, src) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
    it = _lines(text)
    try:
        lineno, tokens = next(it)
    except StopIteration:
        raise _fail(src, None, "file is empty") from None
    (count,) = _ints(tokens, 1, src, lineno, "the number of problems")
    if len(tokens) != 1 or count < 1:
        raise _fail(src, lineno, f"expected the number of problems (>= 1), got {' '.join(tokens)!r}")
    for k in range(count):
        try:
            header_line, n, nnz = _header(it, src, "'n nnz'")
        except ValueError as exc:
            if "file is empty" in str(exc):
                raise _fail(src, None, f"header says {count} problems, found {k}") from None
            raise
        rows, cols, vals = _triples(it, nnz, n, src, header_line)
        yield k + 1, n, rows, cols, vals
    _expect_end(it, src)


def read_bqp(path_or_file, problem: int = 1) -> dimod.BinaryQuadraticModel:
    """Read problem ``problem`` (1-based) of an OR-Library bqp file.

    The file's objective is to *maximise* ``f(x) = x^T Q x = sum_i q_ii x_i +
    2 sum_{i<j} q_ij x_i x_j`` (a listed off-diagonal entry counts twice; Beasley 1998).
    The returned model is its minimisation form ``E(x) = -f(x)``: BINARY, linear bias
    ``-q_ii``, quadratic bias ``-2 q_ij``; hence ``objective = -energy``.

    Args:
        path_or_file: path (``.gz`` is decompressed) or open file.
        problem: 1-based problem number within the file (instance ``bqpN-k`` is problem k).

    Returns:
        dimod.BinaryQuadraticModel: BINARY, labels ``0..n-1``.

    Raises:
        InvalidInput: ``problem`` not an integer in ``1..count``; file missing or malformed
            (message gives the line number).
    """
    if isinstance(problem, bool) or not isinstance(problem, (int, np.integer)) or problem < 1:
        raise _invalid("problem", f"problem must be an integer >= 1, was {problem!r}")
    text, src = _open_text(path_or_file)
    found = 0
    for k, n, rows, cols, vals in _bqp_problems(text, src):
        found = k
        if k == problem:
            return _qubo_bqm(n, rows, cols, vals, -1.0)
    raise _invalid("problem", f"problem must be in 1..{found} for {src!r}, was {problem}")


def read_bqp_all(path_or_file) -> list[dimod.BinaryQuadraticModel]:
    """Read every problem of an OR-Library bqp file (see :func:`read_bqp` for the convention).

    Returns:
        list of BINARY models; element ``k - 1`` is problem ``k``.

    Raises:
        InvalidInput: file missing or malformed.
    """
    text, src = _open_text(path_or_file)
    return [_qubo_bqm(n, rows, cols, vals, -1.0) for _, n, rows, cols, vals in _bqp_problems(text, src)]


def read_sparse(path_or_file) -> dimod.BinaryQuadraticModel:
    """Read a Biq Mac QUBO ``.sparse`` file (gka, be instances).

    The file's objective is to *minimise* ``f(x) = sum_i q_ii x_i + 2 sum_{i<j} q_ij x_i x_j``
    (entries ``i j q_ij`` with ``i <= j``; duplicates add up). The model's energy equals
    ``f``: BINARY, linear bias ``q_ii``, quadratic bias ``2 q_ij``; ``objective = energy``.

    Returns:
        dimod.BinaryQuadraticModel: BINARY, labels ``0..n-1``.

    Raises:
        InvalidInput: file missing or malformed (message gives the line number).
    """
    text, src = _open_text(path_or_file)
    it = _lines(text)
    header_line, n, m = _header(it, src)
    rows, cols, vals = _triples(it, m, n, src, header_line)
    _expect_end(it, src)
    return _qubo_bqm(n, rows, cols, vals, 1.0)


# --------------------------------------------------------------------------- dispatch

_SUFFIXES = (".gz", ".txt", ".sparse")


def _instance_stem(path) -> str:
    name = pathlib.Path(path).name
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                changed = True
    return name


def _best_known_beside(path: pathlib.Path, name: str) -> float | None:
    """Look ``name`` up in a ``best_known.csv`` in one of the file's parent folders (the
    layout of the public data set: ``data/best_known.csv`` beside ``data/gset/G1.txt``)."""
    for parent in list(path.resolve().parents)[:3]:
        table = parent / "best_known.csv"
        if table.is_file():
            try:
                with table.open(newline="") as fh:
                    for row in csv.DictReader(fh):
                        if row.get("instance") == name and row.get("best_known"):
                            return float(row["best_known"])
            except (OSError, ValueError, csv.Error):
                return None
            return None
    return None


def read_instance(path, format: str | None = None, problem: int | None = None,
                  *, best_known: float | None = None) -> Instance:
    """Read an instance file into an :class:`Instance` (model plus objective conversion).

    Args:
        path: file path, or a name shipped with qopt (``"G1"``, ``"bqp50"``, ``"gka1a"``;
            see :func:`qopt.data.instance_path`) when no such file exists.
        format: ``"gset"``, ``"bqp"`` or ``"sparse"``; None:
            :func:`~qopt.model.formats.detect.detect_format` among these (``*.sparse`` is
            Biq Mac QUBO, a name starting with ``bqp`` or a count line then ``n nnz`` is
            OR-Library, anything else a MaxCut graph).
        problem: 1-based problem number, bqp only (default 1).
        best_known: published objective to attach; None looks the instance up in the table
            shipped with qopt (:func:`qopt.data.best_known`), then in a ``best_known.csv``
            in one of the file's three nearest parent folders (the public data set's layout);
            None if absent.

    Returns:
        Instance: ``objective = objective_scale * energy + objective_offset``; MaxCut:
        ``cut = (W - E)/2``; bqp: ``objective = -E`` (maximise); sparse: ``objective = E``.

    Raises:
        InvalidInput: ``format`` unknown; ``problem`` given for a non-bqp format or out of range;
            file missing or malformed.
    """
    p = pathlib.Path(path) if isinstance(path, (str, os.PathLike)) else None
    if p is None:
        raise _invalid("path", f"path must be a path, was {path!r}")
    if not p.is_file():
        try:
            p = shipped.instance_path(str(path))
        except (KeyError, ValueError):
            raise _invalid("path", f"path must name an existing file or a shipped instance, was {str(path)!r}") from None
    if format is None:
        format = detect_format(p, among=FORMATS)
    if format not in FORMATS:
        raise _invalid("format", f"format must be one of {list(FORMATS)}, was {format!r}")
    if problem is not None and format != "bqp":
        raise _invalid("problem", f"problem applies to the bqp format only, was {problem!r} with format {format!r}")
    stem = _instance_stem(p)
    inst: dict[str, Any]
    if format == "gset":
        bqm, total, _ = _read_gset(p)
        name = stem
        inst = dict(sense="max", objective_name="cut value", objective_scale=-0.5, objective_offset=total / 2.0)
    elif format == "bqp":
        k = 1 if problem is None else problem
        bqm = read_bqp(p, k)
        name = f"{stem}-{k}"
        inst = dict(sense="max", objective_name="objective", objective_scale=-1.0, objective_offset=0.0)
    else:
        bqm = read_sparse(p)
        name = stem
        inst = dict(sense="min", objective_name="objective", objective_scale=1.0, objective_offset=0.0)
    if best_known is None:
        best_known = shipped.best_known(name)
    if best_known is None:
        best_known = _best_known_beside(p, name)
    return Instance(name=name, bqm=bqm, format=format, best_known=best_known, **inst)
