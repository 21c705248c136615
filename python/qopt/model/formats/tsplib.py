"""TSPLIB95 instances (Reinelt 1991): TSP and ATSP files.

The ``tsplib95`` PyPI package pins ``networkx~=2.x`` (it would downgrade the networkx 3.x
that the Ocean SDK uses), so this small parser follows the TSPLIB95 document instead.
:func:`read_tsplib` builds the :func:`~qopt.model.tsp` template from a file.
"""
from __future__ import annotations

import pathlib
import re

import numpy as np

from qopt.errors import InvalidInput
from qopt.model.formats.source import read_source
from qopt.model.problem import Problem
from qopt.model.templates import tsp

__all__ = ["parse_tsplib", "read_tsplib", "write_tsplib", "tsplib_distances", "from_tsplib"]


def _nint(x):
    return np.floor(np.asarray(x, dtype=float) + 0.5)


def tsplib_distances(coords: np.ndarray, kind: str) -> np.ndarray:
    """Distance matrix (float64, integral values) for TSPLIB ``EDGE_WEIGHT_TYPE`` ``kind``
    (EUC_2D, CEIL_2D, GEO, ATT, MAN_2D, MAX_2D) following the TSPLIB95 document.

    Args:
        coords: (n, 2) node coordinates (GEO: DDD.MM latitude, longitude).
        kind: the ``EDGE_WEIGHT_TYPE``.

    Returns:
        float64 (n, n).

    Raises:
        InvalidInput: (``.field`` ``kind``) an unsupported type.
    """
    c = np.asarray(coords, dtype=float)
    kind = kind.upper()
    if kind in ("EUC_2D", "EUC_3D", "CEIL_2D", "MAN_2D", "MAX_2D", "MAN_3D", "MAX_3D"):
        d = c[:, None, :] - c[None, :, :]
        if kind.startswith("MAN"):
            return _nint(np.abs(d).sum(-1))
        if kind.startswith("MAX"):
            return _nint(np.abs(d).max(-1))
        e = np.sqrt((d ** 2).sum(-1))
        return np.ceil(e) if kind == "CEIL_2D" else _nint(e)
    if kind == "ATT":
        d = c[:, None, :] - c[None, :, :]
        r = np.sqrt((d ** 2).sum(-1) / 10.0)
        t = _nint(r)
        return np.where(t < r, t + 1, t)
    if kind == "GEO":
        pi = 3.141592
        deg = np.trunc(c)
        mins = c - deg
        rad = pi * (deg + 5.0 * mins / 3.0) / 180.0
        lat, lon = rad[:, 0], rad[:, 1]
        rrr = 6378.388
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        d = np.trunc(rrr * np.arccos(arg) + 1.0)
        np.fill_diagonal(d, 0.0)
        return d
    raise InvalidInput("kind", f"EDGE_WEIGHT_TYPE {kind!r} is not supported")


def _explicit(values: np.ndarray, n: int, fmt: str) -> np.ndarray:
    fmt = fmt.upper()
    D = np.zeros((n, n))
    if fmt == "FULL_MATRIX":
        return values[:n * n].reshape(n, n).copy()
    # row-wise triangle orders; *_COL of one triangle equals *_ROW of the other
    alias = {"UPPER_COL": "LOWER_ROW", "LOWER_COL": "UPPER_ROW",
             "UPPER_DIAG_COL": "LOWER_DIAG_ROW", "LOWER_DIAG_COL": "UPPER_DIAG_ROW"}
    fmt = alias.get(fmt, fmt)
    if fmt == "UPPER_ROW":
        i, j = np.triu_indices(n, 1)
    elif fmt == "LOWER_ROW":
        i, j = np.tril_indices(n, -1)
    elif fmt == "UPPER_DIAG_ROW":
        i, j = np.triu_indices(n, 0)
    elif fmt == "LOWER_DIAG_ROW":
        i, j = np.tril_indices(n, 0)
    else:
        raise InvalidInput("text", f"EDGE_WEIGHT_FORMAT {fmt!r} is not supported")
    if values.size < i.size:
        raise InvalidInput("text", f"EDGE_WEIGHT_SECTION has {values.size} numbers, {fmt} needs {i.size}")
    D[i, j] = values[:i.size]
    D[j, i] = values[:i.size]
    return D


def parse_tsplib(text: str) -> dict:
    """Parse a TSPLIB95 TSP/ATSP file.

    Supports EDGE_WEIGHT_TYPE EUC_2D, CEIL_2D, GEO, ATT, MAN_2D, MAX_2D and EXPLICIT with
    EDGE_WEIGHT_FORMAT FULL_MATRIX, UPPER_ROW, LOWER_ROW, UPPER_DIAG_ROW, LOWER_DIAG_ROW
    and their *_COL counterparts.

    Returns:
        ``{"name", "type", "dimension", "edge_weight_type", "distances" float64 (n, n),
        "coords" float64 (n, 2) or None}``.

    Raises:
        InvalidInput: (``.field`` ``text``) missing DIMENSION, unsupported type/format, truncated sections.
    """
    spec: dict = {}
    sections: dict = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "EOF":
            break
        m = re.match(r"^([A-Z_]+)\s*:\s*(.*)$", line)
        if m and not line.endswith("SECTION"):
            spec[m.group(1)] = m.group(2).strip()
            current = None
            continue
        if re.match(r"^[A-Z_]+_SECTION\s*:?$", line):
            current = line.rstrip(":").strip()
            sections[current] = []
            continue
        if current is not None:
            sections[current].extend(line.split())
    if "DIMENSION" not in spec:
        raise InvalidInput("text", "TSPLIB file lacks DIMENSION")
    n = int(spec["DIMENSION"])
    kind = spec.get("EDGE_WEIGHT_TYPE", "EXPLICIT").upper()
    coords = None
    if "NODE_COORD_SECTION" in sections:
        vals = np.array(sections["NODE_COORD_SECTION"], dtype=float)
        width = vals.size // n
        if width < 3:
            raise InvalidInput("text", "NODE_COORD_SECTION is truncated")
        coords = vals[:n * width].reshape(n, width)[:, 1:]
    if kind == "EXPLICIT":
        if "EDGE_WEIGHT_SECTION" not in sections:
            raise InvalidInput("text", "EXPLICIT instance lacks EDGE_WEIGHT_SECTION")
        D = _explicit(np.array(sections["EDGE_WEIGHT_SECTION"], dtype=float), n,
                      spec.get("EDGE_WEIGHT_FORMAT", "FULL_MATRIX"))
    else:
        if coords is None:
            raise InvalidInput("text", f"{kind} instance lacks NODE_COORD_SECTION")
        D = tsplib_distances(coords, kind)
    return {"name": spec.get("NAME", ""), "type": spec.get("TYPE", "TSP"), "dimension": n,
            "edge_weight_type": kind, "distances": D, "coords": coords}


def read_tsplib(path) -> tuple[Problem, object]:
    """Read a TSPLIB file into the :func:`~qopt.model.tsp` template.

    Args:
        path: a path or the TSPLIB text (:func:`~qopt.model.formats.source.read_source`).

    Returns:
        ``(problem, interpret)``: the problem named by the file's ``NAME``
        (``metadata["source"] == "tsplib"``) and the template's ``interpret(sample)``.

    Raises:
        FileNotFoundError: a path that names no file; InvalidInput: see :func:`parse_tsplib`.
    """
    text, _ = read_source(path)
    inst = parse_tsplib(text)
    problem, interpret = tsp(inst["distances"])
    return (Problem(problem.cqm, problem.sense, inst["name"], {**problem.metadata, "source": "tsplib"},
                    problem.structure), interpret)


def from_tsplib(path_or_text, *, name: str = "") -> Problem:
    """The :func:`~qopt.model.tsp` problem of a TSPLIB file, named by its ``NAME``.

    Args:
        path_or_text: a path or the TSPLIB text.
        name: the name when the file has no ``NAME``; default the file's stem.

    Returns:
        A validated :class:`~qopt.model.Problem` (the template's metadata).

    Raises:
        FileNotFoundError: a path that names no file; InvalidInput: see :func:`parse_tsplib`.
    """
    text, path = read_source(path_or_text)
    inst = parse_tsplib(text)
    problem, _ = tsp(inst["distances"])
    name = inst["name"] or name or (pathlib.Path(path).stem if path else "")
    return Problem(problem.cqm, problem.sense, name, problem.metadata, problem.structure)


def write_tsplib(distances, name: str = "qopt") -> str:
    """TSPLIB text (EXPLICIT, FULL_MATRIX) of a distance matrix.

    Args:
        distances: (n, n) array; ``TYPE`` is ``TSP`` when it is symmetric, else ``ATSP``.
        name: the ``NAME`` field.

    Returns:
        The file's text.
    """
    D = np.asarray(distances, dtype=float)
    n = D.shape[0]
    typ = "TSP" if np.allclose(D, D.T) else "ATSP"
    rows = "\n".join(" ".join(f"{int(v)}" if float(v).is_integer() else repr(float(v)) for v in r) for r in D)
    return (f"NAME: {name}\nTYPE: {typ}\nDIMENSION: {n}\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
            f"EDGE_WEIGHT_FORMAT: FULL_MATRIX\nEDGE_WEIGHT_SECTION\n{rows}\nEOF\n")
