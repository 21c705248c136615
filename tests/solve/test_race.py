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
