"""QAOA variants on the C++ statevector engine (ideal case).

* **CVaR** objective (Barkoutsos, Nannicini, Robert, Tavernelli, Woerner, "Improving
  Variational Quantum Optimization using CVaR", Quantum 4, 256, 2020): the mean energy of the
  lowest ``alpha`` fraction of the outcome distribution, computed exactly from the
  probabilities (:func:`cvar`); ``alpha = 1`` is the expectation.
* **Warm start** (Egger, Marecek, Woerner, "Warm-starting quantum optimization", Quantum 5,
  479, 2021): from an incumbent ``x*`` (a sample, e.g. the annealer's best), qubit ``i``
  starts in ``cos(theta_i/2)|0> + sin(theta_i/2)|1>`` with ``sin^2(theta_i/2) = c_i``, the
  regularised incumbent ``c_i = x*_i`` clipped to ``[epsilon, 1 - epsilon]`` (their
  regularisation ``epsilon``, 0.25 by default), and the mixer is the one whose ground
  state that is (:func:`warm_start_thetas`, ``QAOAEvaluator.warm_start``).
* **Recursive QAOA** (Bravyi, Kliesch, Koenig, Tang, "Obstacles to variational quantum
  optimization from symmetry protection", PRL 125, 260505, 2020): optimise QAOA on the
  current model, compute ``<Z_i Z_j>`` on its couplings and ``<Z_i>`` on its fields, impose
  the largest in magnitude (``s_j = sign(M_ij) s_i`` or ``s_i = sign(M_i)``), eliminate
  that variable, repeat until at most ``cutoff`` variables remain and solve those exactly
  (:func:`recursive_qaoa`).
"""
from __future__ import annotations

from collections.abc import Callable

import dimod
import numpy as np

from qopt.errors import Cancelled

__all__ = ["cvar", "cvar_objective", "warm_start_thetas", "correlations", "recursive_qaoa"]


def cvar(probabilities: np.ndarray, sorted_costs: np.ndarray, order: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of the distribution ``probabilities`` over basis states with costs
    ``sorted_costs = cost[order]`` (ascending): the mean cost of its lowest ``alpha`` mass."""
    p = probabilities[order]
    cum = np.cumsum(p)
    k = int(np.searchsorted(cum, alpha, side="left"))
    k = min(k, len(p) - 1)
    below = cum[k - 1] if k > 0 else 0.0
    total = float(np.dot(p[:k], sorted_costs[:k])) + (alpha - below) * float(sorted_costs[k])
    return total / alpha


def cvar_objective(evaluator, alpha: float) -> Callable[[np.ndarray], float]:
    """angles ``[gammas, betas]`` -> CVaR_alpha of the QAOA state's outcomes on ``evaluator``
    (a :class:`qopt.statevector.QAOAEvaluator`)."""
    cost = evaluator.cost_vector()
    order = np.argsort(cost, kind="stable")
    sorted_costs = cost[order]

    def objective(x):
        p = len(x) // 2
        return cvar(evaluator.probabilities(x[:p], x[p:]), sorted_costs, order, alpha)

    return objective


def warm_start_thetas(sample, vartype, epsilon: float) -> np.ndarray:
    """float64 (n,): ``theta_i = 2 arcsin(sqrt(c_i))`` for an incumbent ``sample`` (values in
    ``vartype``, variables in model order); ``c_i`` is the probability of qubit bit 1
    (``x_i = 1`` for BINARY, ``s_i = -1`` for SPIN) clipped to ``[epsilon, 1 - epsilon]``."""
    values = np.asarray(sample, dtype=np.float64)
    bits = (1.0 - values) / 2.0 if dimod.as_vartype(vartype) is dimod.SPIN else values
    c = np.clip(bits, epsilon, 1.0 - epsilon)
    return 2.0 * np.arcsin(np.sqrt(c))


def correlations(probabilities: np.ndarray, num_qubits: int, pairs) -> tuple[np.ndarray, np.ndarray]:
    """(``<Z_i>`` float64 (n,), ``<Z_i Z_j>`` float64 (len(pairs),)) from basis-state
    probabilities (module bit order: bit i of the index is qubit i, Z = +1 on bit 0)."""
    n = num_qubits
    p = np.asarray(probabilities, dtype=np.float64)
    z = np.empty(n)
    for i in range(n):
        m = p.reshape(-1, 2, 1 << i).sum(axis=(0, 2))
        z[i] = m[0] - m[1]
    zz = np.empty(len(pairs))
    for e, (i, j) in enumerate(pairs):
        lo, hi = (i, j) if i < j else (j, i)
        m = p.reshape(-1, 2, 1 << (hi - lo - 1), 2, 1 << lo).sum(axis=(0, 2, 4))
        zz[e] = m[0, 0] + m[1, 1] - m[0, 1] - m[1, 0]
    return z, zz


def recursive_qaoa(bqm: dimod.BinaryQuadraticModel, probabilities_of: Callable[[dimod.BinaryQuadraticModel], tuple],
                   *, cutoff: int, interrupt=None) -> dict:
    """Recursive QAOA (Bravyi et al. 2020) on ``bqm``.

    Args:
        bqm: the model (any vartype; worked on in its SPIN form).
        probabilities_of: reduced SPIN model -> (probabilities float64 (2**n,) of its optimised
            QAOA state in the model's variable order, number of circuit evaluations spent).
        cutoff: solve exactly (dimod.ExactSolver) once at most this many variables remain.
        interrupt: None or an object with ``is_set()``, checked before each elimination.

    Returns:
        dict: ``sample`` (variable -> value in ``bqm``'s vartype), ``eliminations`` (one dict
        per step: ``kind`` "zz" or "z", ``variables``, ``sign``, ``correlation``),
        ``num_qaoa_runs``, ``evaluations``.

    Raises:
        qopt.errors.Cancelled: ``interrupt`` was set.
    """
    spin = bqm.spin.copy() if bqm.vartype is dimod.BINARY else bqm.copy()
    rules: list[tuple] = []  # ("fix", v, value) | ("tie", v, u, sign): s_v = sign * s_u
    steps: list[dict] = []
    runs = evals = 0
    while spin.num_variables > cutoff:
        if interrupt is not None and interrupt.is_set():
            raise Cancelled("recursive QAOA interrupted between eliminations")
        isolated = [v for v in spin.variables if spin.degree(v) == 0]
        if isolated:  # exact: an isolated spin takes the sign that lowers h s
            for v in isolated:
                value = -1 if spin.linear[v] > 0 else 1
                spin.fix_variable(v, value)
                rules.append(("fix", v, value))
            continue
        variables = list(spin.variables)
        index = {v: i for i, v in enumerate(variables)}
        pairs = [(index[u], index[v]) for u, v in spin.quadratic]
        probs, spent = probabilities_of(spin)
        runs += 1
        evals += int(spent)
        z, zz = correlations(probs, len(variables), pairs)
        fields = [i for i, v in enumerate(variables) if spin.linear[v] != 0]
        best_zz = int(np.argmax(np.abs(zz)))
        best_z = max(fields, key=lambda i: abs(z[i]), default=None)
        if best_z is not None and abs(z[best_z]) > abs(zz[best_zz]):
            v = variables[best_z]
            value = 1 if z[best_z] >= 0 else -1
            spin.fix_variable(v, value)
            rules.append(("fix", v, value))
            steps.append({"kind": "z", "variables": [v], "sign": value, "correlation": float(z[best_z])})
        else:
            i, j = pairs[best_zz]
            u, v = variables[i], variables[j]
            sign = 1 if zz[best_zz] >= 0 else -1
            if sign < 0:
                spin.flip_variable(v)
            spin.contract_variables(u, v)  # s_v = sign * s_u: v leaves the model
            rules.append(("tie", v, u, sign))
            steps.append({"kind": "zz", "variables": [u, v], "sign": sign, "correlation": float(zz[best_zz])})
    values: dict = {}
    if spin.num_variables:
        values.update(dimod.ExactSolver().sample(spin).first.sample)
    for rule in reversed(rules):
        if rule[0] == "fix":
            values[rule[1]] = rule[2]
        else:
            _, v, u, sign = rule
            values[v] = sign * values[u]
    if bqm.vartype is dimod.BINARY:
        values = {v: (s + 1) // 2 for v, s in values.items()}
    return {"sample": {v: int(values[v]) for v in bqm.variables}, "eliminations": steps, "num_qaoa_runs": runs,
            "evaluations": evals}
