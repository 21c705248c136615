"""qopt.solve on constrained models, against HiGHS and brute force."""
import itertools

import dimod
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

import qopt
from qopt.checks import ParameterError
from qopt.model import ModelError, templates

VALUES = [10, 13, 7, 8, 9, 4, 11, 6]
WEIGHTS = [5, 6, 4, 5, 5, 2, 6, 3]
CAPACITY = 17


def _highs_knapsack():
    res = milp(-np.array(VALUES, float), constraints=LinearConstraint(np.array([WEIGHTS], float), -np.inf, CAPACITY),
               integrality=np.ones(len(VALUES)), bounds=Bounds(0, 1))
    assert res.success
    return -res.fun


def test_knapsack_reaches_highs_optimum():
    problem, interpret = templates.knapsack(VALUES, WEIGHTS, CAPACITY)
    result = qopt.solve(problem, backend="sa", num_reads=100, num_sweeps=1000, seed=3)
    best = result.best
    assert best.feasible and best.violations == {}
    assert best.objective == pytest.approx(_highs_knapsack())
    answer = interpret(best.sample)
    assert answer["within_capacity"]
    # ranked feasible first, then by objective in the model's sense (maximise)
    feas = [c.feasible for c in result.candidates]
    assert feas == sorted(feas, reverse=True)
    objs = [c.objective for c in result.candidates if c.feasible]
    assert objs == sorted(objs, reverse=True)
    cal = result.provenance["penalty_calibration"]
    assert cal["rounds"] and "capacity" in cal["rounds"][0]["weights"]
    assert result.provenance["model"]["sense"] == "max"


def _brute_force(cqm):
    best = None
    labels = list(cqm.variables)
    for bits in itertools.product([0, 1], repeat=len(labels)):
        s = dict(zip(labels, bits, strict=True))
        if cqm.check_feasible(s):
            e = cqm.objective.energy(s)
            best = e if best is None else min(best, e)
    return best


def _assignment_cqm():
    x = {(t, m): dimod.Binary(f"x_{t}_{m}") for t in range(3) for m in range(2)}
    cost = {(0, 0): 3, (0, 1): 1, (1, 0): 2, (1, 1): 4, (2, 0): 5, (2, 1): 2}
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(sum(cost[k] * x[k] for k in x) + 2 * x[0, 1] * x[2, 1])
    for t in range(3):
        cqm.add_discrete([f"x_{t}_{m}" for m in range(2)], label=f"task{t}")
    cqm.add_constraint(x[0, 0] + x[1, 0] + x[2, 0] <= 2, label="cap0")
    return cqm


def test_cqm_with_one_hot_and_capacity_equals_brute_force():
    cqm = _assignment_cqm()
    result = qopt.solve(cqm, num_reads=50, seed=1)  # auto routing
    assert result.best.feasible
    assert result.best.objective == pytest.approx(_brute_force(cqm))
    assert set(result.best.sample) == set(cqm.variables)
    assert cqm.check_feasible(result.best.sample)


def test_lp_text_and_quadratic_program_inputs():
    lp = """Maximize
 obj: 3 x + 2 y + 4 z
Subject To
 cap: x + y + z <= 2
Binary
 x y z
End
"""
    result = qopt.solve(lp, backend="sa", num_reads=30, seed=2)
    assert result.best.feasible and result.best.objective == pytest.approx(7.0)
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram()
    for v in "xyz":
        qp.binary_var(v)
    qp.maximize(linear={"x": 3, "y": 2, "z": 4})
    qp.linear_constraint({"x": 1, "y": 1, "z": 1}, "<=", 2, name="cap")
    result = qopt.solve(qp, backend="sa", num_reads=30, seed=2)
    assert result.best.objective == pytest.approx(7.0) and result.best.feasible


def test_no_feasible_candidate_is_said_plainly():
    x = list(dimod.Binaries(["a", "b"]))
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-5 * x[0] - 5 * x[1])
    cqm.add_constraint(x[0] + x[1] == 1, label="exactly_one")
    # a penalty far too small to matter, and no calibration rounds
    result = qopt.solve(cqm, backend="sa", num_reads=10, seed=1, penalty=0.01, polish=False)
    assert result.confidence["feasible_found"] is False
    assert "no feasible" in result.confidence["message"]
    assert result.best.violations["exactly_one"] == pytest.approx(1.0)


def test_bad_models_and_options_name_the_culprit():
    x = dimod.Binary("x")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(x)
    cqm.add_constraint(x * 1.0 <= float("nan"), label="broken")
    with pytest.raises(ModelError) as info:
        qopt.solve(cqm)
    assert "broken" in info.value.field
    with pytest.raises(ParameterError) as info:
        qopt.solve(_assignment_cqm(), inequality="sideways")
    assert info.value.field == "inequality"


def test_empty_and_malformed_specs():
    with pytest.raises(ModelError) as info:
        qopt.solve({"not": "a model"})
    assert info.value.field == "not"
    with pytest.raises(ModelError) as info:
        qopt.solve({"variables": []})
    assert info.value.field == "variables"


def test_problem_through_the_service_keeps_its_sense():
    from qopt.client import Client
    from qopt.service.server import Server

    problem, _ = templates.knapsack(VALUES, WEIGHTS, CAPACITY)
    with Server("127.0.0.1:0") as server, Client(server.address) as client:
        result = client.solve(problem, backend="sa", num_reads=100, num_sweeps=1000, seed=3, timeout=60)
    assert result.best.feasible
    assert result.best.objective == pytest.approx(_highs_knapsack())  # maximised, reported as such
