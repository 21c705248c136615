"""Building constrained problems: :class:`Problem` over dimod CQMs, file formats, templates.

Public API:
    * :class:`Problem` (``cqm`` in minimisation form + ``sense``), :func:`as_problem`,
      :func:`validate`, :class:`ModelError`, :func:`from_spec` / :func:`to_spec` (JSON dicts).
    * formats (:mod:`qopt.model.formats`, one module each): :func:`load_model`, :func:`from_lp`,
      :func:`to_lp`, :func:`from_mps`, :func:`to_mps`, :func:`from_quadratic_program`,
      :func:`to_quadratic_program`, :func:`read_qkp`, :func:`write_qkp`, :func:`read_tsplib`,
      :func:`write_tsplib`; :func:`detect_format` tells a file's format.
    * templates: :func:`maxcut`, :func:`knapsack`, :func:`quadratic_knapsack`, :func:`portfolio`,
      :func:`assignment`, :func:`tsp`; each returns ``(problem, interpret)``.

Layering (imports go downwards only): :mod:`~qopt.model.load` (``load_model``,
``as_problem``) -> :mod:`~qopt.model.formats` -> :mod:`~qopt.model.templates` ->
:mod:`~qopt.model.problem`.
"""
from qopt.model.formats.detect import detect_format
from qopt.model.formats.lp import from_lp, to_lp
from qopt.model.formats.mps import from_mps, to_mps
from qopt.model.formats.qkp import read_qkp, write_qkp
from qopt.model.formats.quadratic_program import from_quadratic_program, to_quadratic_program
from qopt.model.formats.tsplib import read_tsplib, write_tsplib
from qopt.model.load import as_problem, load_model
from qopt.model.problem import ModelError, Problem, from_spec, to_spec, validate
from qopt.model.templates import assignment, knapsack, maxcut, portfolio, quadratic_knapsack, tsp

__all__ = ["Problem", "ModelError", "as_problem", "validate", "from_spec", "to_spec",
           "maxcut", "knapsack", "quadratic_knapsack", "portfolio", "assignment", "tsp",
           "load_model", "detect_format", "from_lp", "to_lp", "from_mps", "to_mps", "from_quadratic_program",
           "to_quadratic_program", "read_qkp", "write_qkp", "read_tsplib", "write_tsplib"]
