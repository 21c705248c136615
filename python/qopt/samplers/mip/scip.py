"""SCIP (Bolusani et al., "The SCIP Optimization Suite 9.0", 2024) through PySCIPOpt, as a
:class:`dimod.Sampler`.

Quadratic terms are given to SCIP as they are, no linearisation by qopt: a quadratic objective
becomes ``minimise t`` with the nonlinear constraint ``t >= q(x)`` (SCIP's objective is linear),
and quadratic constraints are SCIP nonlinear constraints; SCIP's own presolve linearises
products of binaries and handles the others by spatial branch and bound, with a proven dual
bound throughout. SCIP solves with one thread (``num_threads`` is accepted and recorded).

Deadline: the time limit counts from the call's start. SCIP's first presolve round (it linearises
every product at once) checks neither its time limit nor ``interruptSolve``, so a model whose
products would not be built and presolved in the time left is not started
(:data:`SCIP_SETUP_PRODUCTS_PER_SECOND`); the limit is checked again after the objective is built
and after the constraints, and SCIP gets the time left.
"""
from __future__ import annotations

import math

import numpy as np

from qopt.errors import UnsupportedProblem
from qopt.samplers.mip.base import MipSampler, Options, import_solver
from qopt.samplers.mip.model import BINARY, INTEGER, Expression, MipModel, Outcome, product_terms

__all__ = ["ScipSampler", "import_pyscipopt", "MAX_POOL", "SCIP_SETUP_PRODUCTS_PER_SECOND", "setup_seconds"]

#: Most solutions of SCIP's pool returned (best first).
MAX_POOL = 5
#: Products SCIP gets through per second before its search can be stopped: qopt's build of the
#: model in Python, then SCIP's first presolve round, which linearises every product at once and
#: checks neither its time limit nor ``interruptSolve``. Measured at a 1 s limit (2026-12-02, 2
#: cores at load 4-5): dantzig42's 65 600 products took 4.3 s (build 0.5 s, one presolve round
#: 3.3 s), bayg29's 20 412 1.5 s, Gset G1's 19 176 1.25 s, gr24's 11 132 were on time. A run whose
#: time limit is shorter than ``products / SCIP_SETUP_PRODUCTS_PER_SECOND`` does not start SCIP
#: (status ``"time_limit"``, no solution, ``info["not_started"]`` says why) rather than answer late.
SCIP_SETUP_PRODUCTS_PER_SECOND = 15000.0

_STATUS = {"optimal": "optimal", "infeasible": "infeasible", "timelimit": "time_limit",
           "userinterrupt": "interrupted"}


def setup_seconds(model: MipModel) -> float:
    """Seconds SCIP is expected to take on ``model`` before it can stop (the rule of
    :data:`SCIP_SETUP_PRODUCTS_PER_SECOND`)."""
    return product_terms(model)[0].size / SCIP_SETUP_PRODUCTS_PER_SECOND


def import_pyscipopt():
    """The ``pyscipopt`` module (ImportError with the install hint when it is absent)."""
    return import_solver("pyscipopt", "scip", "pyscipopt")


class ScipSampler(MipSampler):
    """SCIP with quadratic objectives and constraints native (spatial branch and bound).

    Examples:
        >>> import dimod
        >>> from qopt.samplers.mip.scip import ScipSampler
        >>> bqm = dimod.BQM.from_ising({"a": 1}, {("a", "b"): -1})
        >>> ss = ScipSampler().sample(bqm)
        >>> float(ss.first.energy), ss.info["status"], ss.info["dual_bound"]
        (-2.0, 'optimal', -2.0)
    """

    properties = {
        "description": "SCIP (PySCIPOpt) with quadratic terms native; one thread",
        "num_threads_default": 1,
        "variable_kinds": ("BINARY", "SPIN", "INTEGER", "REAL"),
        "quadratic_constraints": "any (nonlinear constraints, spatial branching)",
    }

    def solve_model(self, model: MipModel, options: Options) -> Outcome:
        """Run SCIP on ``model`` (see :class:`MipSampler` for the contract)."""
        scip = import_pyscipopt()
        m = scip.Model()
        m.hideOutput()
        solver = f"SCIP {m.version()} (PySCIPOpt {scip.__version__})"
        if options.interrupted():
            return Outcome("interrupted", [], -math.inf, solver)
        setup = setup_seconds(model)
        remaining = options.remaining()
        if remaining is not None and setup > remaining:
            return Outcome("time_limit", [], -math.inf, solver,
                           {"not_started": f"its {product_terms(model)[0].size} products would take about {setup:.2g} s "
                                           f"to build and presolve, more than the {remaining:.2g} s left"})
        xs = []
        for i in range(model.num_variables):
            lo, hi = model.lower[i], model.upper[i]
            vtype = "B" if model.kind[i] == BINARY else ("I" if model.kind[i] == INTEGER else "C")
            xs.append(m.addVar(name=f"v{i}", vtype=vtype, lb=lo if math.isfinite(lo) else None,
                               ub=hi if math.isfinite(hi) else None))
        objective = _expr(model.objective, xs, with_offset=False)
        if options.expired():  # building spent the time limit: do not go on
            return Outcome("time_limit", [], -math.inf, solver)
        if model.objective.is_linear:
            m.setObjective(objective, "minimize")
        else:
            t = m.addVar(name="objective", vtype="C", lb=None, ub=None)
            m.addCons(t >= objective, name="objective")
            m.setObjective(t, "minimize")
        if model.objective.offset:
            m.addObjoffset(model.objective.offset)
        for k, row in enumerate(model.constraints):
            lhs = _expr(row.expr, xs, with_offset=True)
            if row.sense == "<=":
                m.addCons(lhs <= row.rhs, name=f"c{k}")
            elif row.sense == ">=":
                m.addCons(lhs >= row.rhs, name=f"c{k}")
            else:
                m.addCons(lhs == row.rhs, name=f"c{k}")
        m.setParam("limits/gap", 0.0)
        m.setParam("limits/absgap", 0.0)
        if options.expired():  # building spent the time limit: do not start the solver
            return Outcome("time_limit", [], -math.inf, solver)
        remaining = options.remaining()
        if remaining is not None:
            m.setParam("limits/time", remaining)
        if options.seed is not None:
            m.setParam("randomization/randomseedshift", int(options.seed))
        if options.hint is not None:
            sol = m.createPartialSol()
            for x, value in zip(xs, options.hint.tolist(), strict=True):
                m.setSolVal(sol, x, value)
            m.addSol(sol)
        handler = _handler(scip, xs, options)
        m.includeEventhdlr(handler, "qopt", "interrupt and improving solutions")
        with options.watching(m.interruptSolve):
            m.optimizeNogil()
        status_name = m.getStatus()
        status = _STATUS.get(status_name)
        if status is None:
            if status_name in ("unbounded", "inforunbd"):
                raise UnsupportedProblem("SCIP reports the model unbounded (a variable lacks finite bounds)")
            status = "interrupted" if handler.stopped or options.stopped else "feasible"
        solutions = [np.array([m.getSolVal(s, x) for x in xs]) for s in m.getSols()[:MAX_POOL]]
        if status == "infeasible":
            bound = math.inf
        else:
            bound = float(m.getDualbound())
            bound = bound if math.isfinite(bound) and abs(bound) < 1e19 else -math.inf
        return Outcome(status, solutions, bound, solver, {"num_nodes": int(m.getNNodes())})


def _expr(expr: Expression, xs, *, with_offset: bool):
    """A PySCIPOpt expression of ``expr`` (quadratic terms kept), summed in place with
    ``quicksum`` (``sum`` copies the expression at each term: quadratic time, 16 s on
    dantzig42's 65 600 products)."""
    scip = import_pyscipopt()
    terms = [a * xs[i] for i, a in zip(expr.idx.tolist(), expr.lin.tolist(), strict=True) if a]
    terms += [b * xs[u] * xs[v] for u, v, b in zip(expr.qu.tolist(), expr.qv.tolist(), expr.qb.tolist(),
                                                   strict=True) if b]
    total = scip.quicksum(terms) if terms else 0.0 * xs[0]
    return total + expr.offset if with_offset else total


def _handler(scip, xs, options: Options):
    """An event handler that stops SCIP once the interrupt is set and reports improving solutions."""
    events = scip.SCIP_EVENTTYPE

    class Handler(scip.Eventhdlr):
        stopped = False
        mask = events.BESTSOLFOUND | events.NODESOLVED | events.LPSOLVED

        def eventinit(self):
            self.model.catchEvent(self.mask, self)

        def eventexit(self):
            self.model.dropEvent(self.mask, self)

        def eventexec(self, event):
            if options.on_solution is not None and event.getType() == events.BESTSOLFOUND:
                sol = self.model.getBestSol()
                values = np.array([self.model.getSolVal(sol, x) for x in xs])
                options.on_solution(values, float(self.model.getSolObjVal(sol)))
            if options.interrupted() and not self.stopped:
                self.stopped = True
                self.model.interruptSolve()

    return Handler()
