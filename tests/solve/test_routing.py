"""Routing from the measured profile: the issue's cases, quantum opt-in, explicit backends, reasons.

The decisions on the shipped profile are what qopt measured (benchmarks/bench_routing.py); the
answers are checked against brute force (dimod.ExactSolver) or the value the issue measured by
brute force (ran_r(1, 22, seed=3): -69).
"""
import json

import dimod
import numpy as np
import pytest

import qopt
from qopt.errors import ParameterError
from qopt.solve.profile import FORMAT, load_profile
from qopt.solve.routing import QUANTUM_BACKENDS, choose_backend, route

QAOA = {"qaoa": True, "dwave": False}
BOTH = {"qaoa": True, "dwave": True}


def _brute_force_min(bqm: dimod.BinaryQuadraticModel, chunk_bits: int = 16) -> float:
    """Minimum energy over all 2^n spin states, in chunks (numpy; independent of qopt and dimod's solvers)."""
    h, (row, col, j), offset, order = bqm.spin.to_numpy_vectors(return_labels=True)
    n = len(order)
    low = min(n, chunk_bits)
    idx = np.arange(2 ** low, dtype=np.int64)
    lowbits = 1 - 2 * ((idx[:, None] >> np.arange(low)) & 1).astype(np.int8)
    best = np.inf
    for high in range(2 ** (n - low)):
        highbits = 1 - 2 * ((high >> np.arange(n - low)) & 1).astype(np.int8)
        s = np.hstack([lowbits, np.broadcast_to(highbits, (len(idx), n - low))]).astype(np.float64)
        e = s @ h + (s[:, row] * s[:, col]) @ j + offset
        best = min(best, float(e.min()))
    return best


# -- the cases ---------------------------------------------------------------------
def test_ran_r_22_no_longer_goes_to_qaoa_and_gets_the_optimum():
    bqm = dimod.generators.ran_r(1, 22, seed=3)
    decision = route(bqm, "auto")
    assert decision.backend not in QUANTUM_BACKENDS, decision.reason
    result = qopt.solve(bqm, seed=1)
    assert result.provenance["routing"]["backend"] not in QUANTUM_BACKENDS
    assert result.best.energy == -69.0  # the brute-force optimum (issue 11; test_brute_force_of_ran_r_22)


@pytest.mark.slow
def test_brute_force_of_ran_r_22():
    assert _brute_force_min(dimod.generators.ran_r(1, 22, seed=3)) == -69.0


def test_brute_force_helper_agrees_with_dimod():
    bqm = dimod.generators.ran_r(1, 10, seed=4)
    assert _brute_force_min(bqm, chunk_bits=6) == dimod.ExactSolver().sample(bqm).first.energy


@pytest.mark.parametrize("n,m,budget", [(800, 19176, 10.0), (5000, 12498, 10.0), (42, 100, 30.0),
                                        (800, 19176, 1.0), (250, 3000, 5.0)])
def test_a_bqm_with_a_deadline_goes_to_annealing(n, m, budget):
    """Issue 14: a BQM with a deadline and no quantum hardware goes to annealing, alone or racing an
    exact backend (main sent it to the hybrid with QAOA subproblems, with worse answers)."""
    decision = choose_backend(n, m, time_limit=budget, available=QAOA)
    assert decision.backend == "sa" or (decision.backend == "race" and decision.racers[0] == "sa"), decision.reason


def test_small_bqm_is_solved_to_proven_optimality():
    bqm = dimod.generators.ran_r(1, 16, seed=5)
    result = qopt.solve(bqm, seed=1)
    assert result.confidence["proven_optimal"] is True
    assert result.best.energy == _brute_force_min(bqm, chunk_bits=12)


# -- quantum opt-in, explicit backends -----------------------------------------------------
def test_quantum_prefer_routes_a_fitting_model_to_qaoa():
    decision = choose_backend(22, 231, quantum="prefer", available=QAOA)
    assert decision.backend == "qaoa" and "quantum='prefer'" in decision.reason
    assert choose_backend(500, 124750, time_limit=60.0, quantum="prefer", available=BOTH).backend == "hybrid"
    assert choose_backend(60, 300, quantum="prefer", available=BOTH).backend == "dwave"
    assert choose_backend(22, 231, quantum="auto", available=QAOA).backend not in QUANTUM_BACKENDS


def test_quantum_prefer_through_solve_runs_qaoa():
    bqm = dimod.generators.ran_r(1, 6, seed=2)
    result = qopt.solve(bqm, quantum="prefer", presolve=False, lower_bound=False, seed=3, reps=1, shots=64,
                        maxiter=5)
    assert result.provenance["routing"]["backend"] == "qaoa"
    assert result.best.energy >= dimod.ExactSolver().sample(bqm).first.energy


def test_quantum_prefer_without_a_quantum_backend_routes_classically():
    decision = choose_backend(22, 231, quantum="prefer", available={"qaoa": False, "dwave": False})
    assert decision.backend not in QUANTUM_BACKENDS


def test_an_explicit_backend_is_always_honoured():
    bqm = dimod.generators.ran_r(1, 22, seed=3)
    assert route(bqm, "qaoa", quantum="avoid").backend == "qaoa"
    assert route(bqm, "hybrid").backend == "hybrid"
    result = qopt.solve(dimod.generators.ran_r(1, 10, seed=1), backend="sa", quantum="avoid", seed=1)
    assert result.provenance["routing"]["backend"] == "sa" == result.provenance["backend"]


def test_bad_quantum_value_is_named():
    with pytest.raises(ParameterError) as info:
        qopt.solve(dimod.generators.ran_r(1, 4, seed=1), quantum="maybe")
    assert info.value.field == "quantum" and "avoid, auto, prefer" in str(info.value)


# -- the reason names the measurement, and the profile ---------------------------------------
def test_reason_names_the_measurement_and_the_profile():
    profile = load_profile()
    decision = choose_backend(800, 19176, time_limit=1.0, available=QAOA)
    assert decision.profile == profile.name and decision.profile.startswith("shipped (")
    assert "BQM benchmark" in decision.reason and "class bqm/none/201-2000" in decision.reason
    assert "1 s deadline" in decision.reason and "median gap" in decision.reason and "%" in decision.reason
    result = qopt.solve(dimod.generators.ran_r(1, 40, seed=2), seed=1, time_budget=2.0)
    assert "benchmark" in result.provenance["routing"]["reason"]


def test_no_deadline_uses_the_column_of_the_default_budget():
    """Without a deadline the solve gets the default budget for its size (qopt.solve.stages), so
    routing reads the profile's column for that budget, not the longest one."""
    from qopt.solve.stages import default_time_budget

    budget = default_time_budget(800, 19176)["value"]
    column = load_profile().column(budget)
    decision = choose_backend(800, 19176, available=QAOA)
    assert f"{column:g} s deadline (no deadline was given: the column of the default budget" in decision.reason
    assert decision.backend == choose_backend(800, 19176, time_limit=budget, available=QAOA).backend


# -- choices on a profile where quantum wins, and a race ------------------------------------
def _profile(tmp_path, results, key="bqm/none/31-200", instances=("a", "b", "c")):
    kind, constraints, *terms, size = key.split("/")
    doc = {"format": FORMAT, "created": "2026-12-01T00:00:00+00:00", "machine": {"cpu_count": 2},
           "versions": {"qopt": "test"}, "command": "test", "duration_s": 1.0, "deadlines": [1.0],
           "classes": [{"key": key, "features": {"kind": kind, "constraints": constraints, "size": size,
                                                 "num_variables": 50, **({"terms": terms[0]} if terms else {})},
                        "instances": list(instances), "results": {"1": results}}]}
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(doc))
    return path


def _m(gap, success=1.0, proven=0.0, seconds=0.5, **extra):
    return {"runs": 3, "median_gap": gap, "success_rate": success, "proven_rate": proven,
            "median_seconds": seconds, **extra}


def test_a_class_measured_on_too_few_instances_does_not_decide(tmp_path):
    """HiGHS proved the one measured portfolio fastest; a class of fewer than MIN_CLASS_INSTANCES
    instances is not trusted: a constrained model gets the race of annealing and CP-SAT, a BQM
    annealing, and the reason says why."""
    from qopt.solve.routing import MIN_CLASS_INSTANCES

    assert MIN_CLASS_INSTANCES == 3
    few = ["portfolio-20-s13", "portfolio-24-s20"]
    features = {"kind": "cqm", "constraints": "equality", "terms": "quadratic", "size": "31-200",
                "num_variables": 50, "template": "portfolio"}
    one = _profile(tmp_path, {"sa": _m(0.0), "highs": _m(0.0, proven=1.0, seconds=0.04)},
                   key="cqm/equality/quadratic/31-200", instances=few)
    decision = choose_backend(50, 100, time_limit=1.0, features=features, profile=one,
                              available={"race": True, "cpsat": True, "sa": True, "highs": True})
    assert decision.backend == "race" and decision.racers == ("sa", "cpsat")
    assert "only 2 instances" in decision.reason and "portfolio-24-s20" in decision.reason
    bqm = _profile(tmp_path, {"sa": _m(0.01), "highs": _m(0.0, proven=1.0)}, instances=few)
    assert choose_backend(50, 100, time_limit=1.0, profile=bqm, available={"highs": True}).backend == "sa"
    trusted = _profile(tmp_path, {"sa": _m(0.01), "highs": _m(0.0, proven=1.0)}, key="cqm/equality/quadratic/31-200")
    assert choose_backend(50, 100, time_limit=1.0, features=features, profile=trusted,
                          available={"highs": True}).backend == "highs"


def test_quantum_is_chosen_only_where_measured_competitive(tmp_path):
    wins = _profile(tmp_path, {"sa": _m(0.01), "hybrid": _m(0.0)})
    assert choose_backend(50, 100, time_limit=1.0, available=QAOA, profile=wins).backend == "hybrid"
    assert choose_backend(50, 100, time_limit=1.0, available=QAOA, profile=wins, quantum="avoid").backend == "sa"
    loses = _profile(tmp_path, {"sa": _m(0.0), "hybrid": _m(0.02)})
    decision = choose_backend(50, 100, time_limit=1.0, available=QAOA, profile=loses)
    assert decision.backend == "sa" and "hybrid was 2.00% off" in decision.reason


def test_late_answers_lose_and_ties_go_to_the_prover(tmp_path):
    late = _profile(tmp_path, {"sa": _m(0.001), "exact": _m(0.0, success=0.0, seconds=9.0)})
    assert choose_backend(50, 100, time_limit=1.0, profile=late, available={"exact": True}).backend == "sa"
    tie = _profile(tmp_path, {"sa": _m(0.0, seconds=0.1), "cpsat": _m(0.0, proven=1.0, seconds=0.4)})
    assert choose_backend(50, 100, time_limit=1.0, profile=tie, available={"cpsat": True}).backend == "cpsat"


def test_a_tie_at_the_median_needs_the_worst_instance_too(tmp_path):
    """A prover that matches annealing at the median but is 2% off on one instance does not
    displace annealing, which never was; with both worst gaps within the tie it does. A profile
    without worst gaps (older format) decides by the median alone."""
    off_once = _profile(tmp_path, {"sa": _m(0.0, worst_gap=0.0), "scip": _m(0.0, proven=0.75, worst_gap=0.02)})
    assert choose_backend(50, 100, time_limit=1.0, profile=off_once, available={"scip": True}).backend == "sa"
    never_off = _profile(tmp_path, {"sa": _m(0.0, worst_gap=0.0), "scip": _m(0.0, proven=0.75, worst_gap=0.0005)})
    assert choose_backend(50, 100, time_limit=1.0, profile=never_off, available={"scip": True}).backend == "scip"
    no_answer_once = _profile(tmp_path, {"sa": _m(0.0, worst_gap=0.0), "scip": _m(0.0, proven=1.0, worst_gap=None)})
    assert choose_backend(50, 100, time_limit=1.0, profile=no_answer_once, available={"scip": True}).backend == "sa"
    older = _profile(tmp_path, {"sa": _m(0.0), "scip": _m(0.0, proven=0.75)})
    assert choose_backend(50, 100, time_limit=1.0, profile=older, available={"scip": True}).backend == "scip"


def test_a_backend_measured_on_part_of_a_class_does_not_win_it(tmp_path):
    """QAOA measured only on the smallest instances of a class looks perfect there; it is not
    compared with backends measured on all of them."""
    part = _profile(tmp_path, {"sa": _m(0.0, proven=0.5), "qaoa": {**_m(0.0, proven=1.0), "runs": 1}},
                    key="bqm/none/1-20")
    # 40 variables (above the exact backend's proof rule), within a 40-qubit budget
    decision = choose_backend(40, 100, time_limit=1.0, profile=part, available=QAOA, max_qubits=40)
    assert decision.backend == "sa" and "qaoa was 0.00% off on only 1 of 3 runs" in decision.reason


def test_a_measured_race_routes_to_a_race_with_its_racers(tmp_path):
    path = _profile(tmp_path, {"sa": _m(0.01), "race": _m(0.0, proven=1.0, racers=["sa", "cpsat"])})
    decision = choose_backend(50, 100, time_limit=1.0, profile=path,
                              available={"race": True, "sa": True, "cpsat": True})
    assert decision.backend == "race" and decision.racers == ("sa", "cpsat")
    assert decision.parameters["racers"] == ["sa", "cpsat"]
    gone = choose_backend(50, 100, time_limit=1.0, profile=path, available={"race": False})
    assert gone.backend == "sa" and "race (not available here)" in gone.reason


def test_routing_profile_option_and_environment(tmp_path, monkeypatch):
    path = _profile(tmp_path, {"steepest": _m(0.0)})
    bqm = dimod.generators.ran_r(1, 40, seed=2)
    result = qopt.solve(bqm, routing_profile=str(path), seed=1, time_budget=1.0)
    assert result.provenance["routing"]["backend"] == "steepest"
    monkeypatch.setenv("QOPT_ROUTING_PROFILE", str(path))
    decision = route(bqm, "auto", time_budget=1.0)
    assert decision.backend == "steepest" and decision.profile == f"{path} (2026-12-01T00:00:00+00:00)"


def test_when_no_backend_answered_in_time_the_next_deadline_decides(tmp_path):
    path = _profile(tmp_path, {"sa": _m(0.0), "scip": _m(0.02)})
    doc = json.loads(path.read_text())
    doc["deadlines"] = [0.1, 1.0]
    doc["classes"][0]["results"]["0.1"] = {"sa": _m(None, success=0.0, seconds=0.2),
                                           "scip": _m(None, success=0.0, seconds=0.1)}
    path.write_text(json.dumps(doc))
    decision = choose_backend(50, 100, time_limit=0.1, profile=path, available={"scip": True})
    assert decision.backend == "sa"
    assert decision.reason.startswith("no backend answered in most runs at a 0.1 s deadline; ")


def test_a_small_constrained_model_is_not_sent_to_branch_and_bound_on_its_penalised_bqm():
    """A BQM of 25 variables goes to the exact branch and bound (its proof is the BQM's); a
    25-item knapsack's compiled BQM does not: the optimum of penalised QUBO proves nothing about
    the constrained model, so the profile (race / CP-SAT) decides."""
    from qopt.model import Problem

    rng = np.random.default_rng(5)
    x = [dimod.Binary(f"x{i}") for i in range(25)]
    w, v = rng.integers(1, 20, 25), rng.integers(1, 30, 25)
    knapsack = Problem.build(sum(int(a) * b for a, b in zip(v, x, strict=True)),
                             [(sum(int(a) * b for a, b in zip(w, x, strict=True)) <= int(w.sum() // 2), "capacity")], sense="max")
    bqm = dimod.generators.ran_r(1, 25, seed=2)
    assert route(bqm, "auto").backend == "exact"
    compiled = dimod.BinaryQuadraticModel({f"x{i}": 1.0 for i in range(25)}, {}, 0.0, "BINARY")
    assert route(compiled, "auto", problem=knapsack).backend != "exact"


def test_a_deadline_beyond_the_measurements_races_annealing_with_the_exact_backend_that_proved(tmp_path):
    """jeu_100_25_1 at 30 s: the profile's longest column (here 1 s) picked annealing, which proved
    nothing, where SCIP proved some instances; at BEYOND_FACTOR times that column or more,
    annealing races SCIP (the one that proved most), and the reason says why; below it, or where
    the pick proved or no exact backend did, the pick stands."""
    from qopt.solve.routing import BEYOND_FACTOR

    features = {"kind": "cqm", "constraints": "inequality", "terms": "quadratic", "size": "31-200",
                "num_variables": 100, "template": None}
    avail = {"race": True, "sa": True, "scip": True, "highs": True, "cpsat": True}
    key = "cqm/inequality/quadratic/31-200"
    path = _profile(tmp_path, {"sa": _m(0.0), "scip": _m(0.002, proven=0.25), "highs": _m(0.016, proven=0.1),
                               "cpsat": _m(0.07)}, key=key)
    near = choose_backend(100, 500, time_limit=BEYOND_FACTOR * 0.99, features=features, profile=path, available=avail)
    assert near.backend == "sa"
    far = choose_backend(100, 500, time_limit=BEYOND_FACTOR * 15, features=features, profile=path, available=avail)
    assert far.backend == "race" and far.racers == ("sa", "scip") and far.parameters["racers"] == ["sa", "scip"]
    assert "longest measured (1 s)" in far.reason and "scip proved 25%" in far.reason
    no_scip = dict(avail, scip=False)
    assert choose_backend(100, 500, time_limit=30.0, features=features, profile=path,
                          available=no_scip).racers == ("sa", "highs")
    proved = _profile(tmp_path, {"sa": _m(0.0, proven=0.5), "scip": _m(0.002, proven=0.25)}, key=key)
    assert choose_backend(100, 500, time_limit=30.0, features=features, profile=proved, available=avail).backend == "sa"
    nobody = _profile(tmp_path, {"sa": _m(0.0), "scip": _m(0.002)}, key=key)
    assert choose_backend(100, 500, time_limit=30.0, features=features, profile=nobody, available=avail).backend == "sa"
    exact_pick = _profile(tmp_path, {"sa": _m(0.01), "scip": _m(0.0, proven=0.25)}, key=key)
    assert choose_backend(100, 500, time_limit=30.0, features=features, profile=exact_pick,
                          available=avail).backend == "scip"
