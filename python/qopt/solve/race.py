"""The constrained path's exact backends and its race, at the level of the constrained model.

* An explicit exact backend (``highs``, ``cpsat``, ``scip``) solves the CQM itself
  (``sample_cqm``, with the model's declared ``structure``), never the penalised BQM.
* ``backend="race"``: the annealing path (penalty calibration and polish) and the exact racers
  run at once under the solve's one deadline (:class:`qopt.samplers.race.Race`): annealing's
  best feasible sample is the exact racers' warm start (``hint``), their improving solutions
  (``on_solution``) and final solutions join the candidates, and a proof of optimality stops
  annealing at once.
* The certified bound of a constrained result, in the model's own sense: an exact racer's dual
  bound, the enumeration of the feasible set for small binary models, or an LP-relaxation bound;
  never the penalised QUBO's.

Every candidate says which branch found it: ``info["backend"]`` (``"sa"``, ``"cpsat"``, ...)
and ``info["branch"]`` (``"anneal"`` or ``"exact"``); a sample both found names the other in
``info["also_found_by"]``.
"""
from __future__ import annotations

import itertools
import math
import threading

import dimod
import numpy as np

from qopt.model.problem import expression_arrays, variable_info
from qopt.results import Candidate
from qopt.samplers.limits import ENUMERATION_MAX_VARIABLES
from qopt.samplers.race import EXACT_RACERS, Race, exact_seed

__all__ = ["box_bound", "EXACT_BACKENDS", "RELAXATION_SHARE", "RELAXATION_MAX_SECONDS", "RELAXATION_PRODUCTS_PER_SECOND",
           "BUILD_PRODUCTS_PER_SECOND", "BUILD_SHARE", "racers_too_slow_to_build",
           "num_products", "start_exact", "exact_candidates",
           "merge_candidates", "enumerate_feasible", "constrained_bound", "evaluate", "constraint_violations"]

#: Backends that solve a constrained model directly (``sample_cqm``).
EXACT_BACKENDS = frozenset(EXACT_RACERS)
#: The LP-relaxation bound gets at most this share of the budget, and at most
#: ``RELAXATION_MAX_SECONDS``; it runs before sampling.
RELAXATION_SHARE = 0.1
RELAXATION_MAX_SECONDS = 2.0
#: Products of variables the relaxation's vectorised McCormick linearisation handles per second,
#: conservatively: dantzig42's 65 600 products were linearised and passed to HiGHS in 0.37 s
#: (about 180 000/s; 2026-12-02, 2 loaded cores). A model whose linearisation would not fit in
#: the relaxation's share of the budget gets no LP bound (with a note) rather than a late answer.
RELAXATION_PRODUCTS_PER_SECOND = 50000.0


#: Products CP-SAT's and SCIP's models are built at per second, in Python, holding the GIL (which
#: annealing's rounds, decoding and polish need too): CP-SAT built jeu_200_25_1's 5 142 products
#: in 0.85 s (2026-12-02, 2 cores at load 6), and the race on it at a 1 s deadline had no answer
#: in 1.2 s where annealing alone had one. HiGHS's linearisation is vectorised; CP-SAT's
#: circuit over a declared TSP structure builds no products.
BUILD_PRODUCTS_PER_SECOND = {"cpsat": 6000.0, "scip": 6000.0}
#: In a race, an exact racer whose model would take more than this share of the budget to build
#: is not started (annealing then has the cores and the interpreter to itself).
BUILD_SHARE = 0.2


def racers_too_slow_to_build(prob, racers, time_budget: float | None) -> dict[str, str]:
    """The exact racers of ``racers`` not worth starting in a race under ``time_budget``
    seconds (the rule of :data:`BUILD_SHARE`), each with the reason in words."""
    if time_budget is None:
        return {}
    products = num_products(prob.cqm)
    out = {}
    for name in racers:
        rate = BUILD_PRODUCTS_PER_SECOND.get(name)
        if rate is None or (name == "cpsat" and (prob.structure or {}).get("kind") == "tsp"):
            continue
        seconds = products / rate
        if seconds > BUILD_SHARE * time_budget:
            out[name] = (f"building its model of {products} products would take about {seconds:.2g} s, more than "
                         f"{BUILD_SHARE:.0%} of the {time_budget:g} s budget")
    return out


def evaluate(prob, sample: dict) -> tuple[float, bool, dict]:
    """``(objective in the model's sense, feasible, {label: violation > 0})`` of one sample."""
    cqm = prob.cqm
    violations = {str(k): float(v) for k, v in cqm.violations(sample, skip_satisfied=True, clip=True).items()
                  if v > 1e-9}
    return prob.objective(sample), not violations, violations


#: The keywords :func:`start_exact` sets itself; any other parameter of an exact backend is passed on.
_EXACT_CALL_KEYS = frozenset({"time_limit", "num_threads", "seed", "interrupt", "initial_state", "hint", "structure",
                              "on_solution"})


def start_exact(race: Race, prob, name: str, sampler, *, time_limit, seed, num_threads=None, wait: float,
                found: list, lock: threading.Lock, extra: dict | None = None):
    """Start exact racer ``name`` on the CQM of ``prob`` in a worker thread.

    Its improving solutions are appended to ``found`` (under ``lock``) as ``(sample, backend)``
    and offered to the race (so annealing's and the solver's incumbents meet); ``time_limit`` is
    a callable returning the seconds left; ``extra`` holds the backend's own parameters.

    Returns:
        the :class:`qopt.samplers.race.ExactBranch`.
    """
    def on_solution(sample, objective) -> None:
        with lock:
            found.append((dict(sample), name))
        race.offer(sample, float(objective))

    own = {k: v for k, v in (extra or {}).items() if k not in _EXACT_CALL_KEYS}

    def call(hint):
        return sampler.sample_cqm(prob.cqm, time_limit=time_limit(), num_threads=num_threads, seed=exact_seed(seed),
                                  hint=hint, interrupt=race.stopping, structure=prob.structure,
                                  on_solution=on_solution, **own)
    return race.run_exact(name, call, wait=wait, thread_name="qopt-race-cqm")


def exact_candidates(prob, runners, found: list) -> list[Candidate]:
    """Candidates from the exact racers: their final solutions and the ones reported on the way.

    ``energy`` is the CQM's objective in minimisation form (no penalty: a solver's solution is
    judged on the model itself); ``num_occurrences`` is 0 (not a read).
    """
    rows: list[tuple[dict, str]] = list(found)  # solutions reported before the racers were joined
    for runner in runners:
        ss = runner.sampleset
        if ss is None or runner.abandoned:
            continue
        for datum in ss.data(["sample"]):
            rows.append((dict(datum.sample), runner.name))
    variables = list(prob.cqm.variables)
    distinct: dict[tuple, tuple[dict, str]] = {}
    for sample, backend in rows:
        distinct.setdefault(tuple(sample[v] for v in variables), (sample, backend))
    if not distinct:
        return []
    # every row at once (dantzig42's 65 600 products and 82 rows: one pass each, not one per row)
    states = np.array(list(distinct), dtype=float)
    energies = np.asarray(prob.cqm.objective.energies((states, variables)), dtype=float)
    labels, table = constraint_violations(prob.cqm, states)
    out = []
    for k, ((sample, backend), energy) in enumerate(zip(distinct.values(), energies.tolist(), strict=True)):
        violations = {str(labels[j]): float(table[k, j]) for j in np.flatnonzero(table[k] > 1e-9).tolist()}
        out.append(Candidate(sample={v: _plain(sample[v]) for v in variables}, energy=float(energy),
                             num_occurrences=0, objective=float(prob.sign * energy), feasible=not violations,
                             violations=violations, info={"backend": backend, "branch": "exact"}))
    return out


def constraint_violations(cqm: dimod.ConstrainedQuadraticModel, states: np.ndarray) -> tuple[list, np.ndarray]:
    """How much each of ``states`` violates each constraint of ``cqm``: dimod's
    ``violations(clip=True)`` of every state, computed from each constraint's arrays with numpy
    (dimod's ``energies`` relabels the samples at each call: 1.4 ms a row of dantzig42's 1 681
    variables, 0.12 s for its 82 rows).

    Args:
        states: float64 (k, n), one row per sample, columns in ``cqm.variables`` order.

    Returns:
        ``(constraint labels, float64 (k, m))``: ``lhs - rhs`` for ``<=``, ``rhs - lhs`` for
        ``>=``, ``|lhs - rhs|`` for ``==``, clipped at 0 (the constraint's units).
    """
    labels = list(cqm.constraints)
    states = np.asarray(states, dtype=float)
    table = np.zeros((len(states), len(labels)))
    for j, label in enumerate(labels):
        con = cqm.constraints[label]
        idx, lin, qu, qv, qb, offset = expression_arrays(con.lhs)
        lhs = states[:, idx] @ lin + offset
        if qb.size:
            lhs = lhs + (states[:, qu] * states[:, qv]) @ qb
        activity = lhs - float(con.rhs)
        sense = con.sense.value
        table[:, j] = np.abs(activity) if sense == "==" else (-activity if sense == ">=" else activity)
    return labels, np.maximum(table, 0.0)


def _plain(value):
    value = value.item() if hasattr(value, "item") else value
    return int(value) if float(value) == round(float(value)) else float(value)


def merge_candidates(first: list[Candidate], second: list[Candidate], variables, *, sense: str,
                     max_candidates: int) -> list[Candidate]:
    """Both lists' candidates, one per distinct sample, ranked feasible first (best objective in
    ``sense`` first), then least violating; a sample in both keeps ``first``'s entry, with the
    other's backend in ``info["also_found_by"]``."""
    sign = 1.0 if sense == "min" else -1.0
    merged: dict[tuple, Candidate] = {}
    for cand in itertools.chain(first, second):
        key = tuple(cand.sample[v] for v in variables)
        if key not in merged:
            merged[key] = cand
            continue
        kept = merged[key]
        other = (cand.info or {}).get("backend")
        if other and other != (kept.info or {}).get("backend"):
            info = dict(kept.info or {})
            info["also_found_by"] = ",".join(sorted(set(filter(None, [info.get("also_found_by"), other]))))
            merged[key] = Candidate(kept.sample, kept.energy, kept.num_occurrences, kept.objective, kept.feasible,
                                    kept.violations, info)

    def rank(c: Candidate):
        violation = sum((c.violations or {}).values())
        return (not c.feasible, 0.0 if c.feasible else violation, sign * float(c.objective or 0.0))
    return sorted(merged.values(), key=rank)[:max_candidates]


def enumerate_feasible(prob) -> dict | None:
    """Exact optimum of a small binary model by enumerating every assignment.

    Vectorised over all ``2**n`` assignments with dimod's energies (dimod's ``ExactCQMSolver``
    took 2.7 s at n = 16 here; this takes well under 0.1 s).

    Returns:
        None when the model has a non-binary variable or more than ``ENUMERATION_MAX_VARIABLES``
        (16) variables; else ``{"sample": dict or None, "objective": model sense or None,
        "value": min-form optimum (inf when infeasible), "feasible": bool}``.
    """
    cqm = prob.cqm
    variables = list(cqm.variables)
    n = len(variables)
    if n == 0 or n > ENUMERATION_MAX_VARIABLES or any(cqm.vartype(v) is not dimod.BINARY for v in variables):
        return None
    states = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.int8)
    ok = np.ones(len(states), dtype=bool)
    for con in cqm.constraints.values():
        lhs = np.asarray(con.lhs.energies((states, variables)), dtype=float)
        rhs, sense = float(con.rhs), con.sense.value
        tol = 1e-9 * max(1.0, abs(rhs))
        if sense == "<=":
            ok &= lhs <= rhs + tol
        elif sense == ">=":
            ok &= lhs >= rhs - tol
        else:
            ok &= np.abs(lhs - rhs) <= tol
    if not ok.any():
        return {"sample": None, "objective": None, "value": math.inf, "feasible": False}
    energies = np.asarray(cqm.objective.energies((states[ok], variables)), dtype=float)
    best = int(np.argmin(energies))
    sample = dict(zip(variables, states[ok][best].tolist(), strict=True))
    return {"sample": sample, "objective": prob.objective(sample), "value": float(energies[best]), "feasible": True}


def num_products(cqm: dimod.ConstrainedQuadraticModel) -> int:
    """Quadratic terms of the objective and the constraints (what a linearisation replaces)."""
    return cqm.objective.num_interactions + sum(c.lhs.num_interactions for c in cqm.constraints.values())


def constrained_bound(prob, *, time_limit: float, interrupt=None) -> dict | None:
    """The LP-relaxation lower bound on the CQM's minimum objective, minimisation form
    (:func:`qopt.presolve.relaxation.relaxation_bound`: McCormick envelopes, HiGHS).

    Returns:
        ``{"value": min-form bound, "method": str}``, or None with no finite bound (no
        envelope for a product of unbounded factors, no time, or an infeasible relaxation,
        which the candidates then show).
    """
    from qopt.presolve.relaxation import relaxation_bound

    out = relaxation_bound(prob.cqm, time_limit=time_limit, interrupt=interrupt)
    value = out.get("value")
    if value is None or not math.isfinite(float(value)):
        return None
    return {"value": float(value), "method": str(out["method"])}


def box_bound(prob) -> dict | None:
    """The variables' box bound on the CQM's minimum objective, minimisation form: each term of the
    objective at its least over the variables' bounds, the constraints ignored (a linear term
    ``b x`` at ``b * lb`` or ``b * ub``, a product ``b x y`` at the least of its four corners, a
    square ``b x**2`` at ``b`` times the least or largest square over ``[lb, ub]``). Valid for any
    model whose variables are bounded; weak, but one vectorised pass over the objective's arrays
    (:func:`qopt.model.problem.expression_arrays`): the certified bound of last resort when
    neither an exact backend nor the LP relaxation gave one in time.

    Returns:
        ``{"value": min-form bound, "method": str}``, or None when a variable is unbounded.
    """
    _, lb, ub = variable_info(prob.cqm)
    if not (np.isfinite(lb).all() and np.isfinite(ub).all()):
        return None
    idx, lin, qu, qv, qb, offset = expression_arrays(prob.cqm.objective)
    value = float(offset) + float(np.minimum(lin * lb[idx], lin * ub[idx]).sum())
    pair = qu != qv
    u, v, b = qu[pair], qv[pair], qb[pair]
    corners = np.stack([b * lb[u] * lb[v], b * lb[u] * ub[v], b * ub[u] * lb[v], b * ub[u] * ub[v]])
    value += float(corners.min(axis=0).sum())
    w, bw = qu[~pair], qb[~pair]  # squares: least square 0 when the box holds 0
    low = np.where((lb[w] <= 0.0) & (ub[w] >= 0.0), 0.0, np.minimum(lb[w] ** 2, ub[w] ** 2))
    high = np.maximum(lb[w] ** 2, ub[w] ** 2)
    value += float(np.where(bw >= 0.0, bw * low, bw * high).sum())
    return {"value": value, "method": "box bound (each objective term at its least over the variables' bounds)"}
