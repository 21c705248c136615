"""A proven lower bound on a constrained model's minimum objective: its LP relaxation.

Binary and integer variables are relaxed to their bounds, every product ``x_u x_v`` is
replaced by a column ``z`` with the McCormick inequalities (McCormick, Math. Programming 10,
1976: the convex and concave envelopes of a bilinear term over a box; for a square, two
tangents and the secant), which every feasible point satisfies with ``z = x_u x_v``. So each
feasible assignment of the CQM is feasible for the LP with the same objective, and the LP's
minimum, solved by HiGHS, is a lower bound on the CQM's minimum objective. The value is
lowered by a small safety margin for the LP solver's tolerances (:data:`SAFETY`).

A product whose factors lack finite bounds has no McCormick envelope: the function then
returns no value, with the reason.
"""
from __future__ import annotations

import math
import time

import dimod

from qopt.checks import check_float
from qopt.errors import ParameterError, UnsupportedProblem
from qopt.samplers.mip.highs import build_highs, highs_status
from qopt.samplers.mip.model import MipModel, linearise

__all__ = ["relaxation_bound", "SAFETY", "METHOD"]

#: Relative margin taken off the LP optimum (HiGHS's primal/dual feasibility tolerances are 1e-7).
SAFETY = 1e-6

#: The ``method`` string of a bound from this module.
METHOD = "LP relaxation (McCormick envelopes, HiGHS)"


def relaxation_bound(cqm: dimod.ConstrainedQuadraticModel, *, time_limit: float | None = None,
                     interrupt=None) -> dict:
    """The LP-relaxation lower bound on ``cqm``'s minimum objective (minimisation, dimod's sense).

    Args:
        cqm: the model: binary, spin, integer and real variables; linear and quadratic
            objective and constraints (products need finitely bounded factors).
        time_limit: seconds, wall clock, for the whole call (building the LP included; HiGHS
            gets what is left). None: no limit.
        interrupt: an object with ``is_set()`` (a :class:`threading.Event`) that stops the solve.

    Returns:
        ``{"value": float | None, "method": str, "reason": str | None, "seconds": float}``:
        ``value`` a proven lower bound on the minimum objective in the CQM's units (its offset
        included; ``inf`` when the relaxation, hence the CQM, is infeasible), or None with
        ``reason`` when there is none (a product of unbounded factors, the time limit or the
        interrupt before the LP was solved, the time limit spent building it). For a
        maximisation :class:`qopt.model.Problem` (stored negated) the user's upper bound is
        ``-value``.

    Raises:
        ParameterError: ``time_limit`` is not a positive number, or ``interrupt`` has no
            ``is_set()``.
    """
    t0 = time.perf_counter()
    if time_limit is not None:
        time_limit = check_float("time_limit", time_limit, minimum=0.0, strict_minimum=True)
    if interrupt is not None and not callable(getattr(interrupt, "is_set", None)):
        raise ParameterError("interrupt", f"must be None or have an is_set() method, was {interrupt!r}")

    def answer(value, reason=None) -> dict:
        return {"value": value, "method": METHOD, "reason": reason, "seconds": time.perf_counter() - t0}

    model = MipModel.from_cqm(cqm)
    try:
        lm = linearise(model, exact=False, what="the LP relaxation")
    except UnsupportedProblem as exc:
        return answer(None, str(exc))
    if interrupt is not None and interrupt.is_set():
        return answer(None, "interrupted before the LP was solved")
    if time_limit is not None and time.perf_counter() - t0 >= time_limit:
        return answer(None, "the time limit was spent building the LP")
    h = build_highs(lm, integral=False)
    try:
        if time_limit is not None:
            h.setOptionValue("time_limit", max(1e-3, float(time_limit) - (time.perf_counter() - t0)))
        fired = []

        def stop(e) -> None:
            if interrupt is not None and interrupt.is_set():
                fired.append(True)
                e.interrupt()

        if interrupt is not None:
            h.cbSimplexInterrupt.subscribe(stop)
            h.cbIpmInterrupt.subscribe(stop)
        h.run()
        try:
            status, _ = highs_status(h, interrupted=bool(fired))
        except UnsupportedProblem:
            return answer(None, "the LP relaxation is unbounded (a variable lacks finite bounds)")
        if status == "infeasible":
            return answer(math.inf)
        if status != "optimal":
            return answer(None, f"the LP was not solved ({status.replace('_', ' ')})")
        value = float(h.getInfo().objective_function_value)
        return answer(value - SAFETY * max(1.0, abs(value)))
    finally:
        h.clear()
