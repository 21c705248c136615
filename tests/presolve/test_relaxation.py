"""The LP-relaxation bound is never above the true minimum: brute force on small random CQMs,
dynamic programming on knapsacks, published optima (QKP, TSPLIB)."""
from __future__ import annotations

import itertools
import math
import threading

import dimod
import numpy as np
import pytest

from qopt.errors import ParameterError
from qopt.model import templates
from qopt.presolve.relaxation import relaxation_bound


def _random_cqm(seed: int) -> dimod.ConstrainedQuadraticModel:
    """Binary, spin and integer variables; products of every kind; a quadratic constraint."""
    rng = np.random.default_rng(seed)
    xs = [dimod.Binary(f"x{i}") for i in range(4)]
    s = dimod.Spin("s")
    y = dimod.Integer("y", lower_bound=-2, upper_bound=3)
    w = dimod.Integer("w", lower_bound=0, upper_bound=2)
    terms = [*xs, s, y, w]
    obj = sum(float(rng.normal()) * v for v in terms) + 1.5
    for a, b in itertools.combinations(range(len(terms)), 2):
        if rng.random() < 0.5:
            obj += float(rng.normal()) * terms[a] * terms[b]
    obj += float(rng.normal()) * y * y
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(obj)
    cqm.add_constraint(sum(float(rng.integers(1, 5)) * x for x in xs) + w <= 5.0, label="cap")
    cqm.add_constraint(xs[0] * y + w >= -1.0, label="quad")
    cqm.add_constraint(xs[1] + xs[2] + s == 1.0, label="eq")
    return cqm


def _brute_force(cqm):
    """The minimum objective over feasible assignments, by dimod's enumeration (inf: none)."""
    ss = dimod.ExactCQMSolver().sample_cqm(cqm)
    feasible = ss.record.energy[ss.record.is_feasible]
    return float(feasible.min()) if feasible.size else math.inf


@pytest.mark.parametrize("seed", range(40))
def test_never_above_the_brute_force_optimum(seed):
    cqm = _random_cqm(seed)
    optimum = _brute_force(cqm)
    bound = relaxation_bound(cqm, time_limit=30)
    assert bound["value"] is not None, bound["reason"]
    assert bound["value"] <= optimum + 1e-9
    assert bound["method"].startswith("LP relaxation")


def test_an_unconstrained_bqm_bound_is_below_the_ground_state():
    bqm = dimod.generators.ran_r(1, 12, seed=2)
    ground = float(dimod.ExactSolver().sample(bqm).first.energy)
    value = relaxation_bound(dimod.CQM.from_bqm(bqm))["value"]
    assert value <= ground + 1e-9


def test_infeasible_relaxation_gives_infinity():
    x, y = dimod.Binaries(["x", "y"])
    cqm = dimod.CQM()
    cqm.set_objective(x + y)
    cqm.add_constraint(x + y >= 3, label="too_much")
    assert relaxation_bound(cqm)["value"] == math.inf


def test_unbounded_relaxation_gives_none_with_a_reason():
    cqm = dimod.CQM()
    r = dimod.Real("r", lower_bound=-1e30, upper_bound=1e30)  # dimod's unbounded
    x = dimod.Binary("x")
    cqm.set_objective(r + x)
    cqm.add_constraint(r - x <= 4, label="c")
    out = relaxation_bound(cqm)
    assert out["value"] is None
    assert "unbounded" in out["reason"]


def test_knapsack_bound_above_the_dp_optimum():
    rng = np.random.default_rng(8)
    values = rng.integers(1, 50, size=60)
    weights = rng.integers(1, 25, size=60)
    capacity = int(weights.sum() // 3)
    best = np.zeros(capacity + 1)
    for v, w in zip(values, weights, strict=True):
        best[w:] = np.maximum(best[w:], best[:capacity + 1 - w] + v)
    problem, _ = templates.knapsack(values, weights, capacity)
    value = relaxation_bound(problem.cqm)["value"]
    assert -value >= best[capacity] - 1e-6  # a maximisation: the user's upper bound is -value
    assert -value <= best[capacity] + values.max()  # the Dantzig bound is within one item


def test_parameters_checked():
    cqm = _random_cqm(0)
    with pytest.raises(ParameterError) as err:
        relaxation_bound(cqm, time_limit=0)
    assert err.value.field == "time_limit"
    with pytest.raises(ParameterError) as err:
        relaxation_bound(cqm, interrupt=3)
    assert err.value.field == "interrupt"


def test_interrupt_set_gives_none():
    event = threading.Event()
    event.set()
    out = relaxation_bound(_random_cqm(1), interrupt=event)
    assert out["value"] is None and "interrupt" in out["reason"]


@pytest.mark.shared_data
def test_qkp_bound_above_the_published_value(shared_data, best_known_values):
    from qopt.model.formats.qkp import read_qkp
    problem, _ = read_qkp(shared_data / "qkp" / "jeu_100_25_1.txt")
    value = relaxation_bound(problem.cqm, time_limit=60)["value"]
    assert -value >= best_known_values["jeu_100_25_1"] - 1e-6


@pytest.mark.shared_data
def test_tsp_bound_below_the_published_optimum(shared_data, best_known_values):
    from qopt.model.formats.tsplib import read_tsplib
    problem, _ = read_tsplib(shared_data / "tsplib" / "tsp" / "burma14.tsp")
    value = relaxation_bound(problem.cqm, time_limit=60)["value"]
    assert value <= best_known_values["burma14"] + 1e-6
    assert value > 0  # the relaxation says something: every tour has positive length


@pytest.mark.slow
@pytest.mark.shared_data
def test_dantzig42_bound_within_its_time_limit(shared_data, best_known_values):
    # 65 600 products: the vectorised linearisation builds the LP well inside the limit
    from qopt.model.formats.tsplib import read_tsplib
    problem, _ = read_tsplib(shared_data / "tsplib" / "tsp" / "dantzig42.tsp")
    out = relaxation_bound(problem.cqm, time_limit=60)
    assert out["value"] is not None, out["reason"]
    assert 0 < out["value"] <= best_known_values["dantzig42"] + 1e-6


def test_time_limit_counts_the_building(monkeypatch):
    # a fake clock: each reading is 10 s after the last, so the limit is spent before HiGHS runs
    import qopt.presolve.relaxation as relaxation

    class Clock:
        now = 0.0

        @classmethod
        def perf_counter(cls):
            cls.now += 10.0
            return cls.now

    monkeypatch.setattr(relaxation, "time", Clock)
    out = relaxation_bound(_random_cqm(2), time_limit=5.0)
    assert out["value"] is None and "time limit" in out["reason"]
