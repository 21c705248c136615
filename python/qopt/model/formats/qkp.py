"""QKP instances (Billionnet & Soutif, EJOR 157(3), 2004 format): quadratic knapsack.

:func:`read_qkp` builds the :func:`~qopt.model.quadratic_knapsack` template from a file;
:func:`parse_qkp` / :func:`write_qkp` convert between the text and a plain dict.
"""
from __future__ import annotations

import io
import pathlib
import re

import numpy as np

from qopt.errors import InvalidInput
from qopt.model.formats.source import read_source
from qopt.model.problem import Problem
from qopt.model.templates import quadratic_knapsack

__all__ = ["parse_qkp", "read_qkp", "write_qkp", "from_qkp"]


def parse_qkp(text: str) -> dict:
    """Parse a QKP instance (Billionnet & Soutif, EJOR 157(3), 2004 format).

    Layout: name line, n, n linear profits, n-1 rows of upper-triangular pair profits
    p_ij (i < j), a blank line, the constraint type (0 means <=), the capacity, n weights,
    then free comments.

    Returns:
        ``{"name", "profits" float (n,), "quadratic" float (n, n) upper triangle,
        "weights" float (n,), "capacity" float}``.

    Raises:
        InvalidInput: (``.field`` ``text``) truncated or malformed file, or a constraint type other than 0.
    """
    lines = text.splitlines()
    name = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:])
    cut = re.search(r"(?im)^\s*comment", body)
    if cut:
        body = body[:cut.start()]
    try:
        tok = np.array(body.split(), dtype=float)
    except ValueError as exc:
        raise InvalidInput("text", f"QKP file has a non-numeric token: {exc}") from None
    if tok.size < 1:
        raise InvalidInput("text", "QKP file is empty")
    n = int(tok[0])
    need = 1 + n + n * (n - 1) // 2 + 2 + n
    if tok.size < need:
        raise InvalidInput("text", f"QKP file truncated: expected {need} numbers for n={n}, found {tok.size}")
    pos = 1
    profits = tok[pos:pos + n]
    pos += n
    P = np.zeros((n, n))
    iu, ju = np.triu_indices(n, 1)
    P[iu, ju] = tok[pos:pos + n * (n - 1) // 2]
    pos += n * (n - 1) // 2
    ctype = int(tok[pos])
    if ctype != 0:
        raise InvalidInput("text", f"QKP constraint type must be 0 (<=), was {ctype}")
    capacity = float(tok[pos + 1])
    weights = tok[pos + 2:pos + 2 + n]
    return {"name": name, "profits": profits, "quadratic": P, "weights": weights, "capacity": capacity}


def _template(text: str, name: str = "") -> tuple[Problem, object]:
    inst = parse_qkp(text)
    problem, interpret = quadratic_knapsack(inst["profits"], inst["quadratic"], inst["weights"], inst["capacity"])
    return Problem(problem.cqm, problem.sense, inst["name"] or name, problem.metadata), interpret


def read_qkp(path) -> tuple[Problem, object]:
    """Read a QKP file into the :func:`~qopt.model.quadratic_knapsack` template.

    Args:
        path: a path or the QKP text (:func:`~qopt.model.formats.source.read_source`).

    Returns:
        ``(problem, interpret)``: the problem named by the file's first line (``sense="max"``)
        and the template's ``interpret(sample)``.

    Raises:
        FileNotFoundError: a path that names no file; InvalidInput: see :func:`parse_qkp`.
    """
    text, _ = read_source(path)
    return _template(text)


def from_qkp(path_or_text, *, name: str = "") -> Problem:
    """The problem of a QKP file (:func:`read_qkp` without ``interpret``).

    Args:
        path_or_text: a path or the QKP text.
        name: the name when the file's first line is blank; default the file's stem.

    Returns:
        A validated :class:`~qopt.model.Problem` (``sense="max"``).

    Raises:
        FileNotFoundError: a path that names no file; InvalidInput: see :func:`parse_qkp`.
    """
    text, path = read_source(path_or_text)
    return _template(text, name or (pathlib.Path(path).stem if path else ""))[0]


def write_qkp(instance: dict) -> str:
    """QKP text (Billionnet & Soutif format) of a :func:`parse_qkp`-style dict.

    Args:
        instance: ``{"name" (optional), "profits" (n,), "quadratic" (n, n) upper triangle,
            "weights" (n,), "capacity"}``; values are written as integers.

    Returns:
        The file's text.
    """
    p = np.asarray(instance["profits"])
    P = np.asarray(instance["quadratic"])
    n = p.size
    out = io.StringIO()
    out.write(f"{instance.get('name', 'qkp')}\n{n}\n")
    out.write(" ".join(f"{int(v)}" for v in p) + "\n")
    for i in range(n - 1):
        out.write(" ".join(f"{int(v)}" for v in P[i, i + 1:]) + "\n")
    out.write("\n0\n")
    out.write(f"{int(instance['capacity'])}\n")
    out.write(" ".join(f"{int(v)}" for v in instance["weights"]) + "\n")
    return out.getvalue()

