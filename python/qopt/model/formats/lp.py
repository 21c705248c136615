"""CPLEX LP models: read with :func:`dimod.lp.loads`, written with :func:`dimod.lp.dumps`.

dimod reads a ``Maximize`` objective into minimisation form (it negates it);
:func:`objective_sense` finds the keyword so that the problem keeps ``sense="max"``.
"""
from __future__ import annotations

import pathlib
import re

import dimod

from qopt.model.formats.source import read_source
from qopt.model.problem import Problem, validate

__all__ = ["from_lp", "to_lp", "objective_sense"]

_MAX_RE = re.compile(r"(?i)^\s*(maximi[sz]e|maximum|max)\b")


def objective_sense(text: str) -> str:
    """The sense of an LP text's objective: ``"max"`` when its first word (after ``\\``
    comment lines) is ``Maximize``, ``Maximise``, ``Maximum`` or ``max`` (any case), else ``"min"``."""
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("\\"):
            continue
        return "max" if _MAX_RE.match(s) else "min"
    return "min"


def from_lp(path_or_text, *, name: str = "") -> Problem:
    """Read a CPLEX LP model with :func:`dimod.lp.loads`, keeping its objective sense.

    Args:
        path_or_text: a path or the LP text (:func:`~qopt.model.formats.source.read_source`).
        name: the problem's name; default the file's stem (``""`` for text).

    Returns:
        A validated :class:`~qopt.model.Problem`, ``metadata={"source": "lp"}``.

    Raises:
        FileNotFoundError: a path that names no file.
        ValueError: unreadable LP (dimod's message); ModelError: invalid model.
    """
    text, path = read_source(path_or_text)
    cqm = dimod.lp.loads(text)  # minimisation form (dimod negates a Maximize objective)
    sense = objective_sense(text)
    problem = Problem(cqm, sense, name or (pathlib.Path(path).stem if path else ""), {"source": "lp"})
    validate(problem)
    return problem


def to_lp(problem: Problem) -> str:
    """LP text of ``problem`` (objective in its own sense; spin variables become binary).

    Raises:
        ValueError: labels that the LP format cannot hold (dimod's message).
    """
    cqm = problem.user_cqm()
    if any(cqm.vartype(v) is dimod.SPIN for v in cqm.variables):
        cqm = cqm.spin_to_binary()
    text = dimod.lp.dumps(cqm)
    if problem.sense == "max":
        text = re.sub(r"^Minimize", "Maximize", text, count=1)
    return text

