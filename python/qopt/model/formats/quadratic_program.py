"""``qiskit_optimization.QuadraticProgram`` to and from :class:`~qopt.model.Problem`.

qiskit-optimization is imported only when one of these functions runs.
"""
from __future__ import annotations

import math

import dimod

from qopt.model.problem import ModelError, Problem, validate

__all__ = ["from_quadratic_program", "to_quadratic_program"]


def from_quadratic_program(qp) -> Problem:
    """Translate a ``qiskit_optimization.QuadraticProgram`` (binary, integer, continuous
    variables; linear and quadratic constraints; min or max) into a Problem.

    Raises:
        ModelError: invalid model (e.g. an integer variable without a finite upper bound).
    """
    from qiskit_optimization.problems import Constraint, QuadraticObjective, VarType

    cqm = dimod.ConstrainedQuadraticModel()
    obj = dimod.QuadraticModel()
    for var in qp.variables:
        if var.vartype == VarType.BINARY:
            obj.add_variable("BINARY", var.name)
        elif var.vartype == VarType.INTEGER:
            if not math.isfinite(var.upperbound) or var.upperbound >= 1e20:
                raise ModelError(f"variables[{var.name!r}]", "integer variable is unbounded (no finite upper bound)")
            obj.add_variable("INTEGER", var.name, lower_bound=var.lowerbound, upper_bound=var.upperbound)
        else:
            obj.add_variable("REAL", var.name, lower_bound=var.lowerbound, upper_bound=min(var.upperbound, 1e30))
    o = qp.objective
    obj.add_linear_from(o.linear.to_dict(use_name=True).items())
    for (u, v), b in o.quadratic.to_dict(use_name=True).items():
        _add_quadratic(obj, u, v, b)
    obj.offset = float(o.constant)
    maximize = o.sense == QuadraticObjective.Sense.MAXIMIZE
    if maximize:
        obj.scale(-1.0)
    cqm.set_objective(obj)
    senses = {Constraint.Sense.LE: "<=", Constraint.Sense.GE: ">=", Constraint.Sense.EQ: "=="}
    for c in qp.linear_constraints:
        terms = list(c.linear.to_dict(use_name=True).items())
        if not terms:
            raise ModelError(f"constraints[{c.name!r}]", "constraint has no variables (empty constraint)")
        cqm.add_constraint_from_iterable(terms, senses[c.sense], rhs=float(c.rhs), label=c.name)
    for c in qp.quadratic_constraints:
        lhs = dimod.QuadraticModel()
        lin = c.linear.to_dict(use_name=True)
        quad = c.quadratic.to_dict(use_name=True)
        used = set(lin) | {u for u, _ in quad} | {v for _, v in quad}
        if not used:
            raise ModelError(f"constraints[{c.name!r}]", "constraint has no variables (empty constraint)")
        for v in used:
            lhs.add_variable(cqm.vartype(v), v, lower_bound=cqm.lower_bound(v), upper_bound=cqm.upper_bound(v))
        lhs.add_linear_from(lin.items())
        for (u, v), b in quad.items():
            _add_quadratic(lhs, u, v, b)
        cqm.add_constraint_from_model(lhs, senses[c.sense], float(c.rhs), label=c.name)
    problem = Problem(cqm, "max" if maximize else "min", qp.name or "", {"source": "quadratic_program"})
    validate(problem)
    return problem


def _add_quadratic(qm: dimod.QuadraticModel, u, v, bias: float) -> None:
    """Add ``bias * u * v``; a binary square (``x*x``, e.g. after qiskit's
    ``substitute_variables``) is ``x``."""
    if u == v and qm.vartype(u) is dimod.BINARY:
        qm.add_linear(u, bias)
    else:
        qm.add_quadratic(u, v, bias)


def to_quadratic_program(problem: Problem):
    """Translate a Problem into a ``qiskit_optimization.QuadraticProgram`` (spin variables
    become binary through s = 2b - 1). Variable and constraint labels become ``str``."""
    from qiskit_optimization import QuadraticProgram

    cqm = problem.user_cqm()
    if any(cqm.vartype(v) is dimod.SPIN for v in cqm.variables):
        cqm = cqm.spin_to_binary()
    qp = QuadraticProgram(problem.name or "qopt")
    for v in cqm.variables:
        vt = cqm.vartype(v)
        if vt is dimod.BINARY:
            qp.binary_var(str(v))
        elif vt is dimod.INTEGER:
            qp.integer_var(int(cqm.lower_bound(v)), int(cqm.upper_bound(v)), str(v))
        else:
            qp.continuous_var(float(cqm.lower_bound(v)), float(cqm.upper_bound(v)), str(v))
    o = cqm.objective
    lin = {str(v): float(b) for v, b in o.iter_linear() if b}
    quad = {(str(u), str(v)): float(b) for u, v, b in o.iter_quadratic()}
    if problem.sense == "max":
        qp.maximize(constant=float(o.offset), linear=lin, quadratic=quad)
    else:
        qp.minimize(constant=float(o.offset), linear=lin, quadratic=quad)
    for label, comp in cqm.constraints.items():
        lhs = comp.lhs
        lin = {str(v): float(b) for v, b in lhs.iter_linear() if b}
        quad = {(str(u), str(v)): float(b) for u, v, b in lhs.iter_quadratic()}
        rhs = float(comp.rhs) - float(lhs.offset)
        if quad:
            qp.quadratic_constraint(lin, quad, comp.sense.value, rhs, str(label))
        else:
            qp.linear_constraint(lin, comp.sense.value, rhs, str(label))
    return qp

