"""qopt as a qiskit-optimization ``OptimizationAlgorithm``.

:class:`QoptOptimizer` takes the place of ``MinimumEigenOptimizer(...)`` wherever
qiskit-optimization accepts an ``OptimizationAlgorithm`` (``RecursiveMinimumEigenOptimizer``,
``ADMMOptimizer(qubo_optimizer=...)``, ``WarmStartQAOAOptimizer(pre_solver=...)``):
``solve(QuadraticProgram)`` runs :func:`qopt.solve` on the program (read by
:mod:`qopt.model.formats.quadratic_program`: binary and bounded integer variables, linear and
quadratic constraints, min or max; compiled to a QUBO with tuned penalties and decoded back)
and returns an ``OptimizationResult`` in the program's own variables and objective.

qiskit-optimization is imported when this module is imported, never by ``import qopt``.

Example:
    >>> from qiskit_optimization.applications import Knapsack
    >>> from qopt.qiskit import QoptOptimizer
    >>> qp = Knapsack(values=[3, 4, 5, 6], weights=[2, 3, 4, 5], max_weight=5).to_quadratic_program()
    >>> result = QoptOptimizer(seed=1).solve(qp)
    >>> result.fval, result.status.name
    (7.0, 'SUCCESS')
"""
from __future__ import annotations

import numpy as np

try:
    from qiskit_optimization.algorithms import (
        OptimizationAlgorithm,
        OptimizationResult,
        OptimizationResultStatus,
        SolutionSample,
    )
    from qiskit_optimization.problems import QuadraticProgram, VarType
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("qopt.qiskit needs qiskit-optimization (pip install qiskit-optimization)") from exc

from qopt.errors import ModelError
from qopt.model.formats.quadratic_program import from_quadratic_program
from qopt.results import Result
from qopt.solve import DEFAULT_MAX_CANDIDATES, solve

__all__ = ["QoptOptimizer"]


class QoptOptimizer(OptimizationAlgorithm):
    """A qiskit-optimization ``OptimizationAlgorithm`` that solves with :func:`qopt.solve`.

    Args:
        backend: qopt backend name (``"auto"``, ``"sa"``, ``"exact"``, ``"qaoa"``, ``"dwave"``,
            ``"hybrid"``, ...), as for :func:`qopt.solve`.
        max_candidates: most distinct candidates kept as ``result.samples`` (default 100).
        time_budget: seconds of wall clock per ``solve`` (None: no deadline).
        **parameters: sampler and constrained-path parameters passed to :func:`qopt.solve`
            (``num_reads``, ``num_sweeps``, ``seed``, ``penalty``, ``max_rounds``, ...); checked
            when ``solve`` runs (:class:`qopt.errors.ParameterError` names a bad one).
    """

    def __init__(self, backend: str | None = "auto", *, max_candidates: int = DEFAULT_MAX_CANDIDATES,
                 time_budget: float | None = None, **parameters):
        self.backend = backend
        self.max_candidates = max_candidates
        self.time_budget = time_budget
        self.parameters = dict(parameters)
        #: the :class:`qopt.results.Result` of the last ``solve`` (provenance, confidence, timing)
        self.last_result: Result | None = None

    def get_compatibility_msg(self, problem: QuadraticProgram) -> str:
        """Why ``problem`` cannot be solved here ("" when it can): continuous variables,
        unbounded integer variables or a model qopt cannot read.

        Args:
            problem: the program to check.

        Returns:
            A message, empty when the problem is compatible.
        """
        msgs = [f"continuous variable {v.name!r} cannot be compiled to a QUBO"
                for v in problem.variables if v.vartype == VarType.CONTINUOUS]
        if not msgs:
            try:
                from_quadratic_program(problem)
            except ModelError as exc:
                msgs.append(str(exc))
        return "; ".join(msgs)

    def solve(self, problem: QuadraticProgram) -> OptimizationResult:
        """Solve ``problem`` with :func:`qopt.solve`.

        Args:
            problem: the program (minimize or maximize).

        Returns:
            ``OptimizationResult``: ``x`` and ``fval`` of the best candidate (feasible ones rank
            first) in the program's variables and sense; ``status`` SUCCESS when it is feasible,
            INFEASIBLE when no candidate is; ``samples``: one ``SolutionSample`` per distinct
            candidate, best first, with ``probability`` = its occurrences over all the
            candidates' occurrences (uniform when the backend reports none);
            ``raw_results``: the :class:`qopt.results.Result`.

        Raises:
            QiskitOptimizationError: the problem is incompatible (see
                :meth:`get_compatibility_msg`).
            qopt.errors.ParameterError: a parameter is unknown or out of range (names it).
            qopt.errors.QoptError: any other failure of :func:`qopt.solve`.
        """
        self._verify_compatibility(problem)
        result = solve(problem, self.backend, max_candidates=self.max_candidates, time_budget=self.time_budget,
                       **self.parameters)
        self.last_result = result
        names = [v.name for v in problem.variables]
        counts = np.array([max(0, int(c.num_occurrences)) for c in result.candidates], dtype=float)
        total = float(counts.sum())
        probs = counts / total if total > 0 else np.full(len(counts), 1.0 / max(1, len(counts)))
        samples = []
        for cand, prob in zip(result.candidates, probs, strict=True):
            x = np.array([float(cand.sample[n]) for n in names])
            samples.append(SolutionSample(x=x, fval=float(problem.objective.evaluate(x)), probability=float(prob),
                                          status=self._get_feasibility_status(problem, x)))
        if not samples:
            return OptimizationResult(x=None, fval=None, variables=problem.variables,
                                      status=OptimizationResultStatus.FAILURE, raw_results=result, samples=[])
        best = samples[0]
        return OptimizationResult(x=best.x, fval=best.fval, variables=problem.variables, status=best.status,
                                  raw_results=result, samples=samples)
