"""HiGHS MIP (Huangfu & Hall, "Parallelizing the dual revised simplex method", Math. Prog.
Comp. 10, 2018; the MIP solver of HiGHS 1.x) through ``highspy``, as a :class:`dimod.Sampler`.

The model is linearised (:func:`qopt.samplers.mip.model.linearise`): each product of a
binary with a bounded variable becomes a continuous column with its McCormick rows, which is
exact; squares of binaries are the variable. Products of two non-binary variables are
refused (:class:`~qopt.errors.UnsupportedProblem`; CP-SAT and SCIP take them).

Threads: HiGHS fixes its thread pool once per process (a later run asking for another count
fails), and its branch and bound is serial, so ``num_threads`` is accepted (for the shared
interface) but not applied; the run uses HiGHS's default pool.

Deadline: the time limit counts from the call's start; it is checked after the linearisation and
again after the model is passed to HiGHS (dantzig42: 0.1-0.5 s), and its interrupt callbacks stop
HiGHS at the limit. HiGHS's presolve, its MIP set-up and its feasibility-jump heuristic fire none of
them and check its own limit coarsely, so on big McCormick linearisations HiGHS overruns by
seconds (:data:`HIGHS_STOP_NONZEROS_PER_SECOND`); HiGHS is given the time left less that expected
overrun (:func:`stop_latency_seconds`), and is not started where the overrun would take more than
:data:`HIGHS_NOT_STARTED_SHARE` of the time left (status ``"time_limit"``, no solution,
``info["not_started"]`` says why), as SCIP is (:data:`qopt.samplers.mip.scip.SCIP_SETUP_PRODUCTS_PER_SECOND`).
"""
from __future__ import annotations

import math

import numpy as np

from qopt.errors import UnsupportedProblem
from qopt.model.formats.mps import quiet_first_highs
from qopt.samplers.mip.base import MipSampler, Options, import_solver
from qopt.samplers.mip.model import LinearModel, MipModel, Outcome, linearise

__all__ = ["HighsSampler", "import_highspy", "build_highs", "highs_status", "HIGHS_STOP_NONZEROS_PER_SECOND",
           "HIGHS_NOT_STARTED_SHARE", "stop_latency_seconds"]

#: Constraint-matrix nonzeros of the linearised model per second of HiGHS's worst overrun of its
#: time limit (the phases above that check neither its limit nor its callbacks). Measured with
#: HiGHS 1.16 alone at limits of 0.35-5 s (2026-12-02 09:20 UTC, 2 cores at load 0.5-1): dantzig42
#: (462 562 nonzeros) overran by 0.17-0.68 s, and by 1.56 s at 5 s (feasibility jump); att48
#: (700 582) by 0.08-0.89 s; Gset G1 (134 232) by 0.02-0.45 s; gr24 (78 982) by at most 0.04 s,
#: models under 22 000 nonzeros by at most 0.09 s. The worst, 3.4 us per nonzero, sets the rate.
HIGHS_STOP_NONZEROS_PER_SECOND = 290_000.0
#: HiGHS is not started when its expected overrun exceeds this share of the time left: it would
#: spend most of its limit where it cannot be stopped (dantzig42 and att48 at 1 s: no answer
#: either way, 0.3-0.9 s late).
HIGHS_NOT_STARTED_SHARE = 0.5


def stop_latency_seconds(nonzeros: int) -> float:
    """Seconds HiGHS is expected to overrun its time limit on a model of ``nonzeros`` constraint
    coefficients (the rule of :data:`HIGHS_STOP_NONZEROS_PER_SECOND`)."""
    return float(nonzeros) / HIGHS_STOP_NONZEROS_PER_SECOND


def import_highspy():
    """The ``highspy`` module (ImportError with the install hint when it is absent)."""
    return import_solver("highspy", "highs", "highspy")


def build_highs(lm: LinearModel, *, integral: bool = True):
    """A quiet ``highspy.Highs`` holding ``lm`` (as an LP when ``integral`` is False)."""
    highspy = import_highspy()
    h = quiet_first_highs(highspy)
    h.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_ = lm.num_columns
    lp.num_row_ = lm.rows.shape[0]
    lp.col_cost_ = lm.cost
    lp.col_lower_ = np.where(np.isfinite(lm.col_lower), lm.col_lower, -highspy.kHighsInf)
    lp.col_upper_ = np.where(np.isfinite(lm.col_upper), lm.col_upper, highspy.kHighsInf)
    lp.row_lower_ = np.where(np.isfinite(lm.row_lower), lm.row_lower, -highspy.kHighsInf)
    lp.row_upper_ = np.where(np.isfinite(lm.row_upper), lm.row_upper, highspy.kHighsInf)
    lp.offset_ = lm.offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = lm.num_columns
    lp.a_matrix_.num_row_ = lm.rows.shape[0]
    lp.a_matrix_.start_ = lm.rows.indptr.astype(np.int32)
    lp.a_matrix_.index_ = lm.rows.indices.astype(np.int32)
    lp.a_matrix_.value_ = lm.rows.data.astype(float)
    if integral and lm.integrality.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in lm.integrality]
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:  # pragma: no cover - a model we built wrongly
        raise UnsupportedProblem("HiGHS refused the linearised model")
    return h


def highs_status(h, *, interrupted: bool) -> tuple[str, bool]:
    """(status name, whether a solution exists) of a finished run."""
    highspy = import_highspy()
    ms = h.getModelStatus()
    S = highspy.HighsModelStatus
    has = bool(h.getInfo().primal_solution_status == 2)  # kSolutionStatusFeasible
    if ms == S.kOptimal:
        return "optimal", has
    if ms in (S.kInfeasible,):
        return "infeasible", False
    if ms == S.kTimeLimit:
        return "time_limit", has
    if interrupted or ms in (S.kInterrupt, S.kHighsInterrupt):
        return "interrupted", has
    if ms in (S.kUnbounded, S.kUnboundedOrInfeasible):  # pragma: no cover - bounded models only
        raise UnsupportedProblem("HiGHS reports the linearised model unbounded (a variable lacks finite bounds)")
    return "feasible", has


class HighsSampler(MipSampler):
    """HiGHS MIP over the McCormick-linearised model (exact for products with a binary factor).

    Examples:
        >>> import dimod
        >>> from qopt.samplers.mip.highs import HighsSampler
        >>> bqm = dimod.BQM.from_ising({"a": 1}, {("a", "b"): -1})
        >>> ss = HighsSampler().sample(bqm)
        >>> float(ss.first.energy), ss.info["status"], ss.info["dual_bound"]
        (-2.0, 'optimal', -2.0)
    """

    properties = {
        "description": "HiGHS MIP (highspy) over a McCormick linearisation of products with a binary factor",
        "num_threads_default": "HiGHS's process-wide scheduler (half the cores); num_threads is not applied",
        "variable_kinds": ("BINARY", "SPIN", "INTEGER", "REAL"),
        "quadratic_constraints": "products with a binary factor (linearised exactly)",
    }

    def solve_model(self, model: MipModel, options: Options) -> Outcome:
        """Run HiGHS on ``model``'s linearisation (see :class:`MipSampler` for the contract)."""
        highspy = import_highspy()
        lm = linearise(model, exact=True, what="backend 'highs'")
        solver = f"HiGHS {highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"
        if options.interrupted():
            return Outcome("interrupted", [], -math.inf, solver)
        if options.expired():  # building spent the time limit: do not start the solver
            return Outcome("time_limit", [], -math.inf, solver)
        latency = stop_latency_seconds(lm.rows.nnz)
        remaining = options.remaining()
        if remaining is not None and latency > HIGHS_NOT_STARTED_SHARE * remaining:
            return Outcome("time_limit", [], -math.inf, solver,
                           {"not_started": f"its {lm.rows.nnz} constraint nonzeros would make it overrun its limit "
                                           f"by about {latency:.2g} s, more than half of the {remaining:.2g} s left"})
        h = build_highs(lm)
        if options.expired():  # passing the model spent the time limit (dantzig42: 0.1-0.5 s)
            h.clear()
            return Outcome("time_limit", [], -math.inf, solver)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 1e-9)
        remaining = options.remaining()
        if remaining is not None:  # less the overrun expected where HiGHS checks neither limit nor callbacks
            h.setOptionValue("time_limit", max(1e-3, remaining - latency))
        if options.seed is not None:
            h.setOptionValue("random_seed", int(options.seed))
        if options.hint is not None:
            sol = highspy.HighsSolution()
            sol.col_value = lm.complete(options.hint).tolist()
            sol.value_valid = True
            h.setSolution(sol)
        stop = _Stop(options)
        h.cbMipInterrupt.subscribe(stop.check)
        h.cbSimplexInterrupt.subscribe(stop.check)
        h.cbIpmInterrupt.subscribe(stop.check)
        if options.on_solution is not None:
            on_solution = options.on_solution

            def improving(e) -> None:
                on_solution(np.asarray(e.data_out.mip_solution, dtype=float)[:model.num_variables],
                            float(e.data_out.objective_function_value))
            h.cbMipImprovingSolution.subscribe(improving)
        try:
            h.run()
            status, has = highs_status(h, interrupted=stop.fired)
            if stop.timed_out and status == "interrupted":
                status = "time_limit"  # stopped by the time limit, through the callback
            info = h.getInfo()
            solutions = [np.asarray(h.getSolution().col_value, dtype=float)] if has else []
            bound = float(info.mip_dual_bound) if lm.integrality.any() else _lp_bound(info, status)
            if not math.isfinite(bound) or (status == "infeasible"):
                bound = math.inf if status == "infeasible" else -math.inf
            return Outcome(status, solutions, bound, solver,
                           {"mip_node_count": int(max(info.mip_node_count, 0))})
        finally:
            h.clear()


def _lp_bound(info, status: str) -> float:
    return float(info.objective_function_value) if status == "optimal" else -math.inf


class _Stop:
    """HiGHS interrupt callback: stop once the caller's event is set, or once the time limit
    (counted from the call's start) is spent: HiGHS's own ``time_limit`` was overrun by 6 s on
    Gset G1 linearised (a 5 s limit, 11.3 s; 2026-12-02, 2 loaded cores); its callbacks fire
    during the simplex, the IPM and the branch and bound, so the limit is also checked there."""

    def __init__(self, options: Options):
        self.options = options
        self.fired = False
        self.timed_out = False

    def check(self, e) -> None:
        if self.options.interrupted():
            self.fired = True
            e.interrupt()
        elif self.options.expired():
            self.timed_out = True
            e.interrupt()
