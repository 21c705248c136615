"""solve_constrained(): calibration raises only violated constraints; results are plain data."""
from __future__ import annotations

import csv
import itertools
import json

import dimod
import numpy as np
import pytest

import qopt
from qopt.checks import ParameterError
from qopt.compile import solve_constrained
from qopt.compile.polish import feasible_descent
from qopt.model import Problem, knapsack, read_qkp, read_tsplib


def _two_constraint_problem():
    """max 5a + 4b + 3c + d  s.t. a + b <= 1 ('ab'), c + d <= 2 ('cd', never binding)."""
    a, b, c, d = dimod.Binaries("abcd")
    return Problem.build(5 * a + 4 * b + 3 * c + d, [(a + b <= 1, "ab"), (c + d <= 2, "cd")], sense="max")


class GroundStateSampler(dimod.Sampler):
    """Exhaustive search that returns only the lowest-energy states (a perfect sampler)."""
    parameters = {}
    properties = {}

    def sample(self, bqm, **kwargs):
        return dimod.ExactSolver().sample(bqm).lowest()


class FixedSampler(dimod.Sampler):
    """Returns the given BQM's variables set from fixed original samples (for 'nothing feasible')."""
    parameters = {}
    properties = {}

    def __init__(self, rows):
        self.rows = rows

    def sample(self, bqm, **kwargs):
        samples = [{v: r.get(v, 0) for v in bqm.variables} for r in self.rows]
        return dimod.SampleSet.from_samples_bqm(samples, bqm)


def test_raises_only_violated_weight_and_reaches_brute_force_optimum():
    p = _two_constraint_problem()
    res = solve_constrained(p, GroundStateSampler(), initial_scale=0.01, max_rounds=10, top_k=1)
    # round 0: weights too small, the ground state violates 'ab' only
    first, last = res.rounds[0], res.rounds[-1]
    assert len(res.rounds) >= 2
    assert first.raised == ["ab"]
    assert last.weights["cd"] == first.weights["cd"]       # never raised (never binding: weight 0)
    assert last.weights["ab"] > first.weights["ab"]
    best = res.best
    brute = max(5 * a + 4 * b + 3 * c + d for a, b, c, d in itertools.product([0, 1], repeat=4) if a + b <= 1)
    assert best.feasible and best.objective == brute == 9
    assert best.sample == {"a": 1, "b": 0, "c": 1, "d": 1}
    assert res.feasible_found and "feasible" in res.message
    json.dumps(res.to_dict())


def test_fixed_penalty_is_one_round():
    p = _two_constraint_problem()
    res = solve_constrained(p, dimod.ExactSolver(), penalty=0.01)
    # "cd" can never be violated within the bounds: no penalty is applied to it
    assert len(res.rounds) == 1 and res.rounds[0].weights == {"ab": 0.01, "cd": 0.0}
    res = solve_constrained(p, dimod.ExactSolver(), penalty={"ab": 100.0})
    assert res.rounds[0].weights["ab"] == 100.0 and res.best.feasible


def test_nothing_feasible_is_stated_plainly():
    p = _two_constraint_problem()
    rows = [{"a": 1, "b": 1, "c": 0, "d": 0}, {"a": 1, "b": 1, "c": 1, "d": 1}]
    res = solve_constrained(p, FixedSampler(rows), max_rounds=2)
    assert not res.feasible_found
    assert res.message.startswith("no feasible solution found")
    assert all(not c.feasible for c in res.candidates)
    assert res.candidates[0].violations == {"ab": 1.0}
    # equal violation: better objective (max) first
    assert res.candidates[0].objective == 5 + 4 + 3 + 1


def test_parameter_errors():
    p = _two_constraint_problem()
    with pytest.raises(ParameterError, match="max_rounds"):
        solve_constrained(p, dimod.ExactSolver(), max_rounds=0)
    with pytest.raises(ParameterError, match="penalty"):
        solve_constrained(p, dimod.ExactSolver(), penalty="big")
    with pytest.raises(ParameterError, match="target_feasible_fraction"):
        solve_constrained(p, dimod.ExactSolver(), target_feasible_fraction=2)


def test_polish_repairs_and_improves_knapsack():
    values, weights, cap = [10, 13, 7, 8, 4, 9], [5, 6, 4, 3, 2, 5], 12
    problem, _ = knapsack(values, weights, cap)
    brute = max(np.dot(b, values) for b in itertools.product([0, 1], repeat=6) if np.dot(b, weights) <= cap)
    x = feasible_descent(problem, np.ones((1, 6)))[0]  # start: everything packed (infeasible)
    assert np.dot(x, weights) <= cap
    assert problem.objective(dict(zip(problem.cqm.variables, x, strict=True))) >= 0.8 * brute
    x0 = feasible_descent(problem, np.zeros((1, 6)))[0]
    assert np.dot(x0, weights) <= cap and np.dot(x0, values) > 0


def test_sa_on_small_knapsack_with_polish_matches_brute_force():
    rng = np.random.default_rng(4)
    values, weights = rng.integers(5, 40, 12), rng.integers(3, 20, 12)
    cap = int(weights.sum() // 3)
    problem, _ = knapsack(values, weights, cap)
    brute = max(np.dot(b, values) for b in itertools.product([0, 1], repeat=12) if np.dot(b, weights) <= cap)
    res = solve_constrained(problem, qopt.SimulatedAnnealingSampler(), num_reads=20, num_sweeps=500, seed=3,
                            polish=True, compile_options={"inequality": "unbalanced"}, initial_scale=0.25)
    assert res.best.feasible and res.best.objective == brute


def _best_known(shared_data, instance):
    with open(shared_data / "best_known.csv") as f:
        return {r["instance"]: float(r["best_known"]) for r in csv.DictReader(f) if r["set"] == "qkp"}[instance]


def test_qkp_within_one_percent_of_published(shared_data):
    """SA + calibration + polish on r_100_25_1 (Billionnet & Soutif): within 1% of best known."""
    problem, interpret = read_qkp(shared_data / "qkp" / "jeu_100_25_1.txt")
    bk = _best_known(shared_data, "jeu_100_25_1")
    res = solve_constrained(problem, qopt.SimulatedAnnealingSampler(), num_reads=30, num_sweeps=2000, seed=1,
                            initial_scale=0.25, max_rounds=8, target_feasible_fraction=0.9, polish=True,
                            compile_options={"inequality": "unbalanced"})
    assert res.best.feasible
    assert res.best.objective >= 0.99 * bk
    assert res.best.objective <= bk  # never above the published best
    ans = interpret(res.best.sample)
    assert ans["within_capacity"] and ans["total_value"] == res.best.objective


@pytest.mark.slow
def test_qkp_within_one_percent_sa_only(shared_data):
    """Raw SA reads (no polish) reach 1% of the published value on r_100_25_1."""
    problem, _ = read_qkp(shared_data / "qkp" / "jeu_100_25_1.txt")
    bk = _best_known(shared_data, "jeu_100_25_1")
    res = solve_constrained(problem, qopt.SimulatedAnnealingSampler(), num_reads=100, num_sweeps=5000, seed=1,
                            initial_scale=0.25, max_rounds=10, growth=1.5, target_feasible_fraction=0.9,
                            compile_options={"inequality": "unbalanced"})
    assert res.best.feasible and 0.99 * bk <= res.best.objective <= bk


def test_burma14_feasible_tour_within_five_percent(shared_data):
    problem, interpret = read_tsplib(shared_data / "tsplib" / "tsp" / "burma14.tsp")
    res = solve_constrained(problem, qopt.SimulatedAnnealingSampler(), num_reads=200, num_sweeps=5000, seed=3,
                            initial_scale=0.25, max_rounds=6, target_feasible_fraction=0.5)
    assert res.best.feasible
    ans = interpret(res.best.sample)
    assert ans["valid"] and sorted(ans["tour"]) == list(range(14))
    assert ans["length"] == res.best.objective
    assert 3323 <= ans["length"] <= 1.05 * 3323


# -- deadline and cancel -------------------------------------------------------------------

def test_a_passed_deadline_runs_one_round_and_no_polish_move():
    """No clock race: the deadline is already over, so exactly the first round runs and the
    polish makes no move (its rows come back as read)."""
    import time

    problem = _two_constraint_problem()
    res = solve_constrained(problem, FixedSampler([{"a": 1, "b": 1}]), max_rounds=5, polish=True,
                            deadline=time.monotonic() - 1.0)
    assert len(res.rounds) == 1 and res.stopped_by == "deadline"
    assert "deadline" in res.message
    assert res.found_in == [(0, "read")]  # nothing came from the polish
    x = np.array([[1.0, 1.0, 0.0, 0.0]])
    assert np.array_equal(feasible_descent(problem, x, deadline=time.monotonic() - 1.0), x)
    assert not np.array_equal(feasible_descent(problem, x), x)  # without a deadline it repairs


def test_cancel_stops_the_calibration():
    import threading

    from qopt.errors import Cancelled

    cancel = threading.Event()

    class Cancelling(GroundStateSampler):
        calls = 0

        def sample(self, bqm, **kwargs):
            Cancelling.calls += 1
            cancel.set()  # the caller cancels while this round samples
            return super().sample(bqm, **kwargs)

    with pytest.raises(Cancelled):
        solve_constrained(_two_constraint_problem(), Cancelling(), max_rounds=5, polish=True, cancel=cancel)
    assert Cancelling.calls == 1
