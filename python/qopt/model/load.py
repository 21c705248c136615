"""Loading a model from wherever it comes from: :func:`load_model` and :func:`as_problem`.

This module sits above :mod:`qopt.model.problem` and the formats
(:mod:`qopt.model.formats`): it picks the reader (asking
:func:`~qopt.model.formats.detect.detect_format` when the format is not given) and
coerces in-memory models through :func:`qopt.model.problem.coerce`.
"""
from __future__ import annotations

import json
from typing import cast

import dimod

from qopt.errors import InvalidInput
from qopt.model.formats.detect import MODEL_FORMATS, detect_format
from qopt.model.formats.lp import from_lp
from qopt.model.formats.mps import from_mps
from qopt.model.formats.qkp import from_qkp
from qopt.model.formats.quadratic_program import from_quadratic_program
from qopt.model.formats.source import source_path
from qopt.model.formats.tsplib import from_tsplib
from qopt.model.problem import Problem, coerce, from_spec, validate

__all__ = ["load_model", "as_problem"]


def load_model(path_or_text, format: str | None = None) -> Problem:
    """Load a model from a path or text, detecting the format when ``format`` is None.

    Args:
        path_or_text: a file path (str or PathLike) or the file's text
            (:func:`~qopt.model.formats.source.source_path` tells which).
        format: ``"lp"``, ``"mps"``, ``"qkp"``, ``"tsplib"`` (builds the TSP template),
            ``"json"`` (a :func:`qopt.model.from_spec` dict) or ``"cqm"`` (dimod's binary
            file, path only). None: :func:`~qopt.model.formats.detect.detect_format` among
            these, from the name, then the content.

    Returns:
        A validated :class:`~qopt.model.Problem`; its name is the file's own (QKP, TSPLIB)
        or the file's stem.

    Raises:
        FileNotFoundError: a path-like string that names no file.
        InvalidInput: unknown format (``.field`` ``format``) or one that cannot be told
            (``.field`` ``path_or_text``); the format's reader's errors for a malformed file;
            ModelError for an invalid model.
    """
    if format is not None and format not in MODEL_FORMATS:
        raise InvalidInput("format", f"must be one of {', '.join(repr(f) for f in MODEL_FORMATS)}, was {format!r}")
    path = source_path(path_or_text)
    given = None if path is not None else (path_or_text.decode() if isinstance(path_or_text, bytes) else path_or_text)
    fmt = format or detect_format(path, given, among=MODEL_FORMATS, argument="path_or_text")
    if fmt == "cqm":
        if path is None:
            raise InvalidInput("path_or_text", "a dimod CQM file is read from its path, not from text")
        with open(path, "rb") as f:
            return Problem.from_cqm(dimod.ConstrainedQuadraticModel.from_file(f))
    text = path.read_text() if path is not None else cast(str, given)
    name = path.stem if path is not None else ""
    if fmt == "lp":
        return from_lp(text, name=name)
    if fmt == "mps":
        return from_mps(text, name=name)
    if fmt == "qkp":
        return from_qkp(text, name=name)
    if fmt == "tsplib":
        return from_tsplib(text, name=name)
    return from_spec(json.loads(text))


def as_problem(model, *, sense: str | None = None) -> Problem:
    """Coerce ``model`` into a validated :class:`~qopt.model.Problem`.

    Args:
        model: a :class:`~qopt.model.Problem`, a :class:`dimod.ConstrainedQuadraticModel`
            (minimised unless ``sense="max"``), a :class:`dimod.BinaryQuadraticModel` or
            :class:`dimod.QuadraticModel` (unconstrained), a
            ``qiskit_optimization.QuadraticProgram``, a spec dict (:func:`~qopt.model.from_spec`),
            or a path / LP / MPS text (:func:`load_model`).
        sense: objective sense for a bare CQM/BQM (default ``"min"``); ignored otherwise.

    Returns:
        The validated problem.

    Raises:
        ModelError: invalid model; UnsupportedProblem (a TypeError): unsupported type;
        FileNotFoundError and :func:`load_model`'s errors for a path or text.
    """
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        problem = load_model(model)
    elif type(model).__name__ == "QuadraticProgram":
        problem = from_quadratic_program(model)
    else:
        problem = coerce(model, sense=sense)
    validate(problem)
    return problem
