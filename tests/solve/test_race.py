"""The racing portfolio: simulated annealing against the exact backends under one deadline.
Optima come from brute force (dimod.ExactSolver / enumeration of the feasible set)."""
import threading
import time

import dimod
import pytest

import qopt
from qopt.errors import ParameterError
from qopt.samplers.race import RaceSampler, check_racers, hint_wait

pytest.importorskip("highspy")


def _ising(n, seed):
    return dimod.generators.ran_r(1, n, seed=seed)


@pytest.mark.parametrize("seed", range(2))
def test_bqm_race_reaches_the_brute_force_optimum_proven(seed):
    bqm = _ising(12, seed)
    optimum = dimod.ExactSolver().sample(bqm).first.energy
    result = qopt.solve(bqm, backend="race", racers=["sa", "highs"], seed=seed, time_budget=60)
    assert result.best.energy == pytest.approx(optimum)
    conf = result.confidence
    assert conf["proven_optimal"] is True and conf["objective_bound"] <= optimum + 1e-9
    race = result.provenance["backend_info"]["race"]
    assert [b["backend"] for b in race["branches"]] == ["sa", "highs"]
    assert race["stopped_by"] == "highs proved optimality"
    assert result.best.info["backend"] in ("sa", "highs")
    assert {c.info["branch"] for c in result.candidates} <= {"anneal", "exact"}


def test_bqm_race_stops_when_the_exact_racer_proves():
    """Annealing asked for far more work than the budget; the proof stops it long before."""
    bqm = _ising(10, 3)
    t0 = time.perf_counter()
    ss = RaceSampler().sample(bqm, racers=["sa", "highs"], num_reads=64, num_sweeps=10**7, seed=1,
                              time_limit=120.0)
    assert time.perf_counter() - t0 < 60.0  # generous: the proof takes well under a second
    race = ss.info["race"]
    assert race["stopped_by"] == "highs proved optimality" and ss.info["status"] == "optimal"
    assert {b["backend"]: b["status"] for b in race["branches"]}["sa"] == "interrupted"
    assert ss.first.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)


def test_an_exact_racer_interrupted_before_any_solution_is_credited_nothing():
    bqm = _ising(12, 4)
    stop = threading.Event()
    stop.set()  # the caller interrupts before anything ran
    ss = RaceSampler().sample(bqm, racers=["sa", "highs"], num_reads=8, num_sweeps=100, seed=2,
                              time_limit=30.0, interrupt=stop)
    branches = {b["backend"]: b for b in ss.info["race"]["branches"]}
    assert branches["highs"]["status"] == "not started" and branches["highs"]["num_solutions"] == 0
    assert set(ss.record.backend) <= {"sa"}  # every row is annealing's


def test_racers_and_hint_rule():
    assert check_racers(["sa", "highs", "cpsat"]) == ("sa", "highs", "cpsat")
    for bad in (["highs"], ["highs", "sa"], ["sa", "sa"], ["sa", "qaoa"]):
        with pytest.raises(ParameterError, match="racers"):
            check_racers(bad)
    assert hint_wait(1.0) == pytest.approx(0.1) and hint_wait(None) == hint_wait(100.0)


# -- constrained models ----------------------------------------------------------------------

def _knapsack(n, seed, rows=1):
    """max v.x s.t. W x <= c (``rows`` constraints), and its brute-force optimum (numpy, all 2**n)."""
    import numpy as np

    from qopt.model import Problem

    rng = np.random.default_rng(seed)
    v = rng.integers(1, 60, n)
    W = rng.integers(1, 40, (rows, n))
    cap = W.sum(axis=1) // 2
    xs = list(dimod.Binaries([f"x{i}" for i in range(n)]))
    problem = Problem.build(sum(int(v[i]) * xs[i] for i in range(n)),
                            [(sum(int(W[r, i]) * xs[i] for i in range(n)) <= int(cap[r]), f"cap{r}")
                             for r in range(rows)], sense="max")
    states = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1)
    ok = np.all(states @ W.T <= cap, axis=1)
    return problem, float((states[ok] @ v).max())


@pytest.mark.parametrize("backend", ["race", "highs"])
def test_constrained_race_and_exact_reach_the_brute_force_optimum_proven(backend):
    problem, optimum = _knapsack(20, 5, rows=2)  # 20 variables: above enumeration, below brute force's reach
    result = qopt.solve(problem, backend, racers=["sa", "highs"], seed=3, time_budget=60) if backend == "race" \
        else qopt.solve(problem, backend, seed=3, time_budget=60)
    conf = result.confidence
    assert result.best.feasible and result.best.objective == pytest.approx(optimum)
    assert conf["proven_optimal"] is True and conf["objective_bound"] >= optimum - 1e-6
    assert conf["bound_method"].startswith("dual bound of HiGHS")
    race = result.provenance["race"]
    assert race["stopped_by"] == "highs proved optimality"
    credited = {c.info["backend"] for c in result.candidates}
    if backend == "highs":  # the CQM itself, not the penalised BQM: no calibration round, no annealing
        assert credited == {"highs"} and result.provenance["penalty_calibration"]["rounds"] == []
        assert [b["backend"] for b in race["branches"]] == ["highs"]
    else:
        assert [b["backend"] for b in race["branches"]] == ["sa", "highs"]
        assert credited <= {"sa", "polish", "highs"}
        assert all(c.info["branch"] == ("exact" if c.info["backend"] == "highs" else "anneal")
                   for c in result.candidates)


@pytest.mark.parametrize("seed", range(3))
def test_lp_relaxation_bound_is_never_below_the_maximum(seed):
    """Annealing alone: the bound comes from the LP relaxation, on the right side of the brute-force optimum."""
    problem, optimum = _knapsack(18, seed, rows=2)
    result = qopt.solve(problem, "sa", seed=seed, time_budget=3)  # the anytime run fills it; the bound is the point
    conf = result.confidence
    assert conf["bound_method"].startswith("LP relaxation")
    assert conf["objective_bound"] >= optimum - 1e-6
    best = conf["best_objective"]
    assert conf["gap"] == pytest.approx(abs(best - conf["objective_bound"]) / max(1.0, abs(best)))
    assert conf["second_best_gap"] == conf["objective_gap"]


def test_small_models_are_proven_by_enumerating_the_feasible_set():
    problem, optimum = _knapsack(12, 7)
    result = qopt.solve(problem, "sa", seed=1, num_reads=4, num_sweeps=10)  # a weak anneal
    conf = result.confidence
    assert conf["bound_method"] == "exact enumeration of the feasible set"
    assert conf["objective_bound"] == pytest.approx(optimum)
    assert conf["proven_optimal"] is (result.best.objective == pytest.approx(optimum))


def test_qkp_bound_is_above_the_published_best(shared_data, best_known_values):
    from qopt.model import read_qkp

    problem, _ = read_qkp(shared_data / "qkp" / "jeu_100_25_1.txt")
    result = qopt.solve(problem, "sa", seed=1, time_budget=10)
    conf = result.confidence
    assert conf["objective_bound"] >= best_known_values["jeu_100_25_1"] - 1e-6
    assert conf["best_objective"] <= conf["objective_bound"]


def test_no_lp_bound_when_its_linearisation_would_not_fit_the_budget():
    """A dense quadratic knapsack at 1 s with more products than the relaxation's 10% of the
    budget covers at the measured linearisation rate: the answer comes without an LP bound,
    saying why, with the box bound (every product at its least) instead, above the best answer."""
    import math

    import numpy as np

    from qopt.model import templates
    from qopt.solve.race import RELAXATION_PRODUCTS_PER_SECOND, RELAXATION_SHARE

    covered = RELAXATION_SHARE * 1.0 * RELAXATION_PRODUCTS_PER_SECOND
    n = math.ceil((1 + math.sqrt(1 + 8 * 1.5 * covered)) / 2)  # n (n - 1) / 2 >= 1.5 x covered
    rng = np.random.default_rng(1)
    Q = np.triu(rng.integers(1, 20, (n, n)), 1)
    problem = templates.quadratic_knapsack(rng.integers(1, 50, n), Q, rng.integers(1, 30, n), 200)[0]
    result = qopt.solve(problem, "sa", seed=1, time_budget=1.0)
    conf = result.confidence
    assert conf["bound_method"].startswith("box bound")
    # profits and pair profits all positive: the box's maximum, constraints ignored, is every item taken
    everything = problem.objective({v: 1 for v in problem.cqm.variables})
    assert conf["objective_bound"] == pytest.approx(everything)
    assert conf["objective_bound"] >= result.candidates[0].objective
    assert f"linearising {n * (n - 1) // 2} products" in conf["bound_note"]


def test_a_racer_that_overruns_the_deadline_is_stopped_and_credited_nothing(monkeypatch):
    """A fake exact racer that ignores its time limit (sleeps far past the deadline, then claims a
    solution): the answer comes at the deadline from annealing alone."""
    import importlib

    constrained = importlib.import_module("qopt.solve.constrained")

    class Overrunning(dimod.Sampler):
        parameters = {"time_limit": [], "interrupt": []}
        properties = {}
        started = threading.Event()

        def sample(self, bqm, **kwargs):  # pragma: no cover - never used here
            raise AssertionError

        def sample_cqm(self, cqm, **kwargs):
            Overrunning.started.set()
            time.sleep(4.0)
            return dimod.SampleSet.from_samples_cqm([{v: 0 for v in cqm.variables}], cqm)

    real = constrained.get_sampler
    monkeypatch.setattr(constrained, "get_sampler", lambda name: Overrunning() if name == "highs" else real(name))
    problem, optimum = _knapsack(20, 2)
    t0 = time.perf_counter()
    result = qopt.solve(problem, "race", racers=["sa", "highs"], seed=1, time_budget=2.0)
    assert time.perf_counter() - t0 < 3.5  # the deadline, with a generous margin; not the racer's 4 s
    assert Overrunning.started.is_set()
    branches = {b["backend"]: b for b in result.provenance["race"]["branches"]}
    assert branches["highs"]["status"].startswith("overran the deadline")
    assert all(c.info["backend"] != "highs" for c in result.candidates)
    assert result.best.feasible and result.best.objective <= optimum
