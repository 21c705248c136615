"""Templates: optimum of the compiled BQM (exhaustive) equals an independent answer
(HiGHS via scipy.optimize.milp, or brute force over the business decision)."""
from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from qopt.compile import compile
from qopt.model import assignment, knapsack, maxcut, portfolio, quadratic_knapsack, tsp
from qopt.model.templates import tour_length


def _best(problem, **kw):
    bqm, decoder = compile(problem, **kw)
    assert bqm.num_variables <= 20, "keep exhaustive checks small"
    return decoder.decode(dimod.ExactSolver().sample(bqm))[0]


def test_knapsack_matches_highs():
    rng = np.random.default_rng(7)
    values = rng.integers(5, 40, size=9)
    weights = rng.integers(3, 20, size=9)
    capacity = int(weights.sum() // 3)
    problem, interpret = knapsack(values, weights, capacity)
    res = milp(-values.astype(float), constraints=LinearConstraint(weights[None, :], -np.inf, capacity),
               integrality=np.ones(9), bounds=Bounds(0, 1))
    assert res.success
    best = _best(problem)
    assert best.feasible
    assert best.objective == pytest.approx(-res.fun)
    answer = interpret(best.sample)
    assert answer["total_value"] == pytest.approx(-res.fun)
    assert answer["total_weight"] <= capacity and answer["within_capacity"]


def test_knapsack_unbalanced_feasible_optimum_by_brute_force():
    values, weights, capacity = [10, 13, 7, 8, 4], [5, 6, 4, 3, 2], 10
    problem, interpret = knapsack(values, weights, capacity)
    brute = max(np.dot(b, values) for b in itertools.product([0, 1], repeat=5) if np.dot(b, weights) <= capacity)
    bqm, decoder = compile(problem, inequality="unbalanced")
    assert bqm.num_variables == 5  # no slack bits
    cands = decoder.decode(dimod.ExactSolver().sample(bqm))
    best_feasible = max(c.objective for c in cands if c.feasible)
    assert best_feasible == brute


def test_quadratic_knapsack_brute_force():
    rng = np.random.default_rng(3)
    n = 7
    p = rng.integers(0, 10, n)
    P = np.triu(rng.integers(0, 10, (n, n)), 1)
    w = rng.integers(1, 10, n)
    C = int(w.sum() // 2)
    problem, interpret = quadratic_knapsack(p, P, w, C)
    brute = max(p @ b + b @ P @ b for b in map(np.array, itertools.product([0, 1], repeat=n)) if w @ b <= C)
    best = _best(problem)
    assert best.feasible and best.objective == brute
    assert interpret(best.sample)["total_value"] == brute


def test_assignment_matches_highs():
    rng = np.random.default_rng(11)
    T, M = 4, 3
    costs = rng.integers(1, 20, size=(T, M)).astype(float)
    loads = np.array([2, 1, 2, 1], dtype=float)
    caps = np.array([3, 2, 2], dtype=float)
    problem, interpret = assignment(costs, caps, loads)
    # HiGHS: one-hot rows, capacity columns
    A_eq = np.kron(np.eye(T), np.ones(M))
    A_cap = np.kron(loads[None, :], np.eye(M))
    res = milp(costs.ravel(), constraints=[LinearConstraint(A_eq, 1, 1), LinearConstraint(A_cap, -np.inf, caps)],
               integrality=np.ones(T * M), bounds=Bounds(0, 1))
    assert res.success
    bqm, decoder = compile(problem)
    # 12 assignment bits + capacity slack bits: too many for ExactSolver; enumerate
    # feasible assignments instead and check the compiled BQM gives each its cost exactly.
    best = None
    for choice in itertools.product(range(M), repeat=T):
        x = np.zeros((T, M))
        x[np.arange(T), choice] = 1
        feasible = np.all(loads @ x <= caps)
        bits = decoder.encode(x.ravel())
        energy = bqm.energy(dict(zip(decoder.bqm_labels, bits[0], strict=True)))
        cost = float((costs * x).sum())
        if feasible:
            assert energy == pytest.approx(cost)
            best = cost if best is None else min(best, cost)
        else:
            assert energy > cost  # some capacity is exceeded: penalised
    assert best == pytest.approx(res.fun)
    ans = interpret({f"x_{t}_{m}": int(m == np.argmin(costs[t])) for t in range(T) for m in range(M)})
    assert set(ans["assignment"]) == set(range(T))


def test_maxcut_brute_force():
    edges = [(0, 1, 1.0), (1, 2, 2.0), (2, 3, 1.0), (3, 0, 3.0), (0, 2, 1.5), (1, 4, 2.0)]
    problem, interpret = maxcut(edges)
    brute = max(sum(w for u, v, w in edges if b[u] != b[v]) for b in itertools.product([0, 1], repeat=5))
    best = _best(problem)
    assert best.objective == brute
    assert interpret(best.sample)["cut_value"] == brute


@pytest.mark.parametrize("units, budget, cardinality", [(1, 2, None), (2, 3, 2)])
def test_portfolio_brute_force(units, budget, cardinality):
    mu = np.array([0.10, 0.07, 0.12])
    sigma = np.array([[0.05, 0.01, 0.02], [0.01, 0.03, 0.00], [0.02, 0.00, 0.08]])
    q = 0.5
    problem, interpret = portfolio(mu, sigma, risk_aversion=q, budget=budget, units=units, cardinality=cardinality)
    best_val = -np.inf
    for y in itertools.product(range(units + 1), repeat=3):
        y = np.array(y)
        if y.sum() != budget or (cardinality is not None and np.count_nonzero(y) > cardinality):
            continue
        w = y / budget
        best_val = max(best_val, mu @ w - q * w @ sigma @ w)
    bqm, decoder = compile(problem)
    if bqm.num_variables <= 20:
        best = decoder.decode(dimod.ExactSolver().sample(bqm))[0]
    else:
        pytest.fail(f"model too large for exhaustive check: {bqm.num_variables}")
    assert best.feasible
    assert best.objective == pytest.approx(best_val)
    assert interpret(best.sample)["objective"] == pytest.approx(best_val)


def test_tsp_brute_force_five_cities():
    rng = np.random.default_rng(5)
    pts = rng.uniform(0, 100, size=(5, 2))
    D = np.rint(np.linalg.norm(pts[:, None] - pts[None], axis=-1))
    problem, interpret = tsp(D)
    brute = min(tour_length(D, (0,) + perm) for perm in itertools.permutations(range(1, 5)))
    best = _best(problem)
    assert best.feasible
    assert best.objective == pytest.approx(brute)
    ans = interpret(best.sample)
    assert ans["valid"] and ans["length"] == pytest.approx(brute) and sorted(ans["tour"]) == list(range(5))


def test_tsp_asymmetric_without_fixed_start():
    D = np.array([[0, 1, 9, 9], [9, 0, 1, 9], [9, 9, 0, 1], [1, 9, 9, 0]], dtype=float)
    problem, interpret = tsp(D, fix_start=False)
    assert len(problem.cqm.variables) == 16
    bqm, decoder = compile(problem)
    # the tour 0-1-2-3 (and its rotations) has length 4; check by energy of the encoded sample
    x = np.zeros((4, 4))
    x[[0, 1, 2, 3], [0, 1, 2, 3]] = 1
    bits = decoder.encode(x.ravel())
    assert bqm.energy(dict(zip(decoder.bqm_labels, bits[0], strict=True))) == pytest.approx(4.0)


def test_template_input_errors():
    from qopt.model import ModelError
    with pytest.raises(ModelError, match="weights"):
        knapsack([1, 2], [1, -1], 3)
    with pytest.raises(ModelError, match="sigma"):
        portfolio([0.1, 0.2], [[1, 0.5], [0.4, 1]], budget=1)
    with pytest.raises(ModelError, match="distances"):
        tsp([[0, 1], [1, 0]])
    with pytest.raises(ModelError, match="capacity"):
        knapsack([1], [1], float("nan"))
