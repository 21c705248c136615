"""Building constrained problems: :class:`Problem` over dimod CQMs, importers, templates.

Public API:
    * :class:`Problem` (``cqm`` in minimisation form + ``sense``), :func:`as_problem`,
      :func:`validate`, :class:`ModelError`, :func:`from_spec` / :func:`to_spec` (JSON dicts).
    * importers: :func:`load_model`, :func:`from_lp`, :func:`to_lp`, :func:`from_mps`, :func:`to_mps`,
      :func:`from_quadratic_program`, :func:`to_quadratic_program`, :func:`read_qkp`,
      :func:`write_qkp`, :func:`read_tsplib`, :func:`write_tsplib`.
    * templates: :func:`maxcut`, :func:`knapsack`, :func:`quadratic_knapsack`, :func:`portfolio`,
      :func:`assignment`, :func:`tsp`; each returns ``(problem, interpret)``.
"""
from qopt.model.problem import ModelError, Problem, as_problem, from_spec, to_spec, validate
from qopt.model.templates import assignment, knapsack, maxcut, portfolio, quadratic_knapsack, tsp
from qopt.model.importers import (from_lp, from_mps, from_quadratic_program, load_model, read_qkp, read_tsplib,
                                  to_lp, to_mps, to_quadratic_program, write_qkp, write_tsplib)

__all__ = ["Problem", "ModelError", "as_problem", "validate", "from_spec", "to_spec",
           "maxcut", "knapsack", "quadratic_knapsack", "portfolio", "assignment", "tsp",
           "load_model", "from_lp", "to_lp", "from_mps", "to_mps", "from_quadratic_program",
           "to_quadratic_program", "read_qkp", "write_qkp", "read_tsplib", "write_tsplib"]
