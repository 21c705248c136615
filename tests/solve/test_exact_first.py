"""An exact-only plan starts its solver before the QUBO is compiled, with the same cache key
(``problem_sha256``) whatever the backend; the faster canonicalisation, variable table and
violations give what dimod gives."""
from __future__ import annotations

import importlib
import itertools
import threading

import dimod
import numpy as np
import pytest

import qopt
from qopt.compile import num_encoded_variables
from qopt.model import as_problem, templates
from qopt.model.problem import Problem, variable_info
from qopt.problem_hash import bqm_sha256
from qopt.solve.race import EXACT_BACKENDS, constraint_violations
from qopt.solve.routing import route

constrained = importlib.import_module("qopt.solve.constrained")


def tsp_problem(n: int = 7, seed: int = 3):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, size=(n, 2))
    distances = np.rint(np.linalg.norm(pts[:, None] - pts[None], axis=-1))
    problem, _ = templates.tsp(distances)
    return problem, distances


def brute_force_tour(distances) -> float:
    n = len(distances)
    return min(sum(distances[t[k], t[(k + 1) % n]] for k in range(n))
               for t in ((0, *p) for p in itertools.permutations(range(1, n))))


def knapsack_problem(n: int = 30, seed: int = 5):
    rng = np.random.default_rng(seed)
    values, weights = rng.integers(10, 60, size=n), rng.integers(5, 40, size=n)
    problem, _ = templates.knapsack(values, weights, int(weights.sum() // 2))
    return problem


def mixed_cqm():
    """Binary, spin, integer and real variables, labels of several types, a quadratic and a
    one-hot constraint, given in no particular order."""
    s, x, y = dimod.Spin("s"), dimod.Binary(3), dimod.Binary("y")
    i = dimod.Integer("i", lower_bound=-2, upper_bound=5)
    r = dimod.Real(("t", 1), lower_bound=-1, upper_bound=2.5)
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(2 * s * x - i * i + 3 * r + 0.5 * i * y + 7 + x)
    cqm.add_constraint(i + r + 2 * x * y + i * x <= 4, label="q")
    cqm.add_constraint(s + x - y >= -1, label=2)
    cqm.add_discrete([("d", k) for k in range(3)], label="one-hot")
    return cqm


def reference_hash(problem) -> str:
    """The cache key computed apart from the solve path: the canonical model compiled as the
    constrained path compiles it (weights by rule, unbalanced inequalities)."""
    prob = constrained.canonical_problem(as_problem(problem))
    return bqm_sha256(qopt.compile(prob, inequality="unbalanced")[0])


@pytest.mark.parametrize("make", [knapsack_problem, lambda: tsp_problem()[0]], ids=["knapsack", "tsp"])
def test_problem_sha256_is_the_same_for_every_backend(make):
    problem = make()
    expected = reference_hash(problem)
    for backend, budget in (("cpsat", 2.0), ("highs", 2.0), ("scip", 2.0), ("cpsat", None), ("sa", 2.0),
                            ("auto", 2.0), ("race", 2.0)):
        extra = {"num_reads": 8} if backend in ("sa", "race") else {}
        result = qopt.solve(problem, backend=backend, time_budget=budget, seed=1, **extra)
        assert result.provenance["problem_sha256"] == expected, backend
        assert result.provenance["model"]["num_bqm_variables"] == qopt.compile(
            constrained.canonical_problem(as_problem(problem)), inequality="unbalanced")[0].num_variables


def test_the_exact_solver_starts_before_the_qubo_is_compiled(monkeypatch):
    """The compile waits (up to 20 s) for the exact solver to start: had the plan compiled
    first, the solver could not have started and the wait would run out."""
    from qopt.samplers.mip.cpsat import CpSatSampler

    started = threading.Event()
    order: list[str] = []
    solve_model = CpSatSampler.solve_model

    def spy_solve(self, model, options):
        order.append("solver")
        started.set()
        return solve_model(self, model, options)

    compile_module = importlib.import_module("qopt.compile")
    real_compile = compile_module.compile

    def waiting_compile(model, **options):
        order.append("compile")
        assert started.wait(20.0), "the exact solver had not started when the QUBO was compiled"
        return real_compile(model, **options)

    monkeypatch.setattr(CpSatSampler, "solve_model", spy_solve)
    monkeypatch.setattr(compile_module, "compile", waiting_compile)
    problem, distances = tsp_problem()
    result = qopt.solve(problem, backend="cpsat", time_budget=10.0, seed=1)
    assert order == ["solver"] or order[:2] in (["compile", "solver"], ["solver", "compile"])
    assert result.best.feasible
    assert result.best.objective == pytest.approx(brute_force_tour(distances))  # proven by CP-SAT
    assert result.confidence["proven_optimal"]
    assert result.provenance["problem_sha256"] == reference_hash(problem)


def test_a_failing_compile_still_fails_and_stops_the_solver():
    """A penalty the compiler refuses is the caller's error on every backend (as before the
    exact solver started early), and the solver does not keep the call waiting."""
    problem = knapsack_problem()
    with pytest.raises(qopt.errors.ParameterError) as err:
        qopt.solve(problem, backend="cpsat", time_budget=30.0, penalty={"no such constraint": 1.0})
    assert err.value.field == "penalty"


@pytest.mark.parametrize("deadline", [1.0, 5.0, 30.0])
def test_routing_from_the_model_agrees_with_routing_the_compiled_bqm(deadline):
    """Where the plan is decided without compiling, it is the decision routing makes on the
    compiled BQM (the reference), reason included; an explicit exact backend is honoured."""
    models = [tsp_problem(7)[0], tsp_problem(9, seed=4)[0], knapsack_problem(40), knapsack_problem(12)]
    decided_early: list[str] = []
    for model in models:
        given = as_problem(model)
        bqm = qopt.compile(constrained.canonical_problem(given), inequality="unbalanced")[0]
        reference = route(bqm, "auto", time_budget=deadline, problem=given)
        early = constrained._route_from_model(given, "auto", deadline)
        if early is not None:
            assert (early.backend, early.reason, early.parameters, early.racers) == \
                (reference.backend, reference.reason, reference.parameters, reference.racers)
            decided_early.append(early.backend)
        else:
            assert bqm.num_variables <= 24
        for name in sorted(EXACT_BACKENDS):
            assert constrained._route_from_model(given, name, deadline).backend == name
    assert decided_early  # the TSPs (36 and 64 compiled variables) are decided from the model
    assert constrained._route_from_model(as_problem(models[0]), "cpsat", None) is None  # default budget: compile


def test_num_encoded_variables_counts_the_compiled_bits():
    cqm = dimod.ConstrainedQuadraticModel()
    xs = [dimod.Binary(f"x{k}") for k in range(4)]
    ints = [dimod.Integer("a", lower_bound=0, upper_bound=5), dimod.Integer("b", lower_bound=-3, upper_bound=3),
            dimod.Integer("c", lower_bound=2, upper_bound=2)]
    cqm.set_objective(sum(xs) + dimod.Spin("s") + sum(ints))
    cqm.add_constraint(xs[0] + xs[1] + ints[0] <= 3, label="le")
    cqm.add_constraint(xs[2] + ints[1] == 1, label="eq")
    unbalanced = qopt.compile(cqm, inequality="unbalanced")[0]
    slack = qopt.compile(cqm, inequality="slack")[0]
    assert num_encoded_variables(cqm) == unbalanced.num_variables
    assert num_encoded_variables(cqm) <= slack.num_variables
    assert num_encoded_variables(cqm, "unary") == qopt.compile(cqm, inequality="unbalanced",
                                                               integer_encoding="unary")[0].num_variables


def test_variable_info_is_dimods_table():
    cqm = mixed_cqm()
    vt, lb, ub = variable_info(cqm)
    codes = {dimod.SPIN: 0, dimod.BINARY: 1, dimod.INTEGER: 2, dimod.REAL: 3}
    assert vt.tolist() == [codes[cqm.vartype(v)] for v in cqm.variables]
    assert lb.tolist() == [cqm.lower_bound(v) for v in cqm.variables]
    assert ub.tolist() == [cqm.upper_bound(v) for v in cqm.variables]


def test_canonical_problem_is_the_same_model_in_label_order():
    cqm = mixed_cqm()
    prob = Problem.from_cqm(cqm, "min", name="mixed")
    out = constrained.canonical_problem(prob).cqm
    assert list(out.variables) == sorted(cqm.variables, key=constrained._label_key)
    assert list(out.constraints) == sorted(cqm.constraints, key=constrained._label_key)
    for v in cqm.variables:
        assert (out.vartype(v), out.lower_bound(v), out.upper_bound(v)) == \
            (cqm.vartype(v), cqm.lower_bound(v), cqm.upper_bound(v))
    rng = np.random.default_rng(0)
    labels = list(cqm.variables)
    samples = []
    for _ in range(50):
        sample = {}
        for v in labels:
            lo, hi, vt = cqm.lower_bound(v), cqm.upper_bound(v), cqm.vartype(v)
            sample[v] = float(rng.choice([-1, 1])) if vt is dimod.SPIN else (
                float(rng.uniform(lo, hi)) if vt is dimod.REAL else float(rng.integers(int(lo), int(hi) + 1)))
        samples.append([sample[v] for v in labels])
    states = (np.array(samples), labels)
    np.testing.assert_allclose(out.objective.energies(states), cqm.objective.energies(states), rtol=1e-12)
    for label, con in cqm.constraints.items():
        new = out.constraints[label]
        assert (new.sense, new.rhs) == (con.sense, con.rhs)
        np.testing.assert_allclose(new.lhs.energies(states), con.lhs.energies(states), rtol=1e-12)
        assert list(new.lhs.variables) == sorted(con.lhs.variables, key=constrained._label_key)


def test_constraint_violations_are_dimods():
    cqm = mixed_cqm()
    labels = list(cqm.variables)
    rng = np.random.default_rng(1)
    states = np.array([[float(rng.integers(int(cqm.lower_bound(v)), int(cqm.upper_bound(v)) + 1))
                        if cqm.vartype(v) is not dimod.SPIN else float(rng.choice([-1, 1])) for v in labels]
                       for _ in range(40)])
    names, table = constraint_violations(cqm, states)
    assert names == list(cqm.constraints)
    for row, state in zip(table, states, strict=True):
        expected = cqm.violations(dict(zip(labels, state, strict=True)), clip=True)
        np.testing.assert_allclose(row, [expected[k] for k in names], atol=1e-9)


def test_an_exact_answer_keeps_a_smaller_reserve():
    """An exact backend's answer is evaluated on the model (no QUBO reads to decode): its
    reserve counts the model's terms at the smaller measured rate."""
    from qopt.solve.stages import ANSWER_RESERVE_PER_MODEL_TERM, ANSWER_RESERVE_PER_TERM, Stages, answer_reserve

    assert ANSWER_RESERVE_PER_MODEL_TERM < ANSWER_RESERVE_PER_TERM
    stages = Stages()
    stages.set_budget(1.0, 70643, per_term=ANSWER_RESERVE_PER_MODEL_TERM)
    reserve = answer_reserve(1.0, 70643, ANSWER_RESERVE_PER_MODEL_TERM)
    assert stages.work_end == pytest.approx(stages.deadline - reserve)
    assert reserve < answer_reserve(1.0, 70643)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["cpsat", "highs", "scip", "auto"])
def test_exact_backends_answer_dantzig42_by_the_deadline(backend, shared_data, best_known_values):
    """The explicit exact backends (and auto) on dantzig42 (1 681 variables, 65 600 products) at
    a 1 s budget: answered within a generous 0.5 s of it, every tour at or above the published
    optimum, every bound at or below it."""
    from qopt.model import read_tsplib

    problem, _ = read_tsplib(shared_data / "tsplib" / "tsp" / "dantzig42.tsp")
    result = qopt.solve(problem, backend=backend, time_budget=1.0, seed=1)
    assert result.timing["total"] < 1.5
    optimum = best_known_values["dantzig42"]
    for cand in result.candidates:
        if cand.feasible:
            assert cand.objective >= optimum - 1e-6
    bound = result.confidence.get("objective_bound")
    if bound is not None:
        assert bound <= optimum + 1e-6


def test_integer_models_default_to_slack_penalties():
    """A portfolio in integer lots (links y_i <= units z_i): slack penalties by default, said in
    the provenance, and annealing's answer is feasible and never above CP-SAT's proven optimum;
    a binary model keeps unbalanced penalties."""
    rng = np.random.default_rng(8)
    factors = rng.normal(size=(8, 2))
    sigma = np.round(factors @ factors.T / 2 + np.diag(rng.uniform(0.1, 0.5, 8)), 2)
    mu = np.round(rng.uniform(0.02, 0.2, 8), 3)
    problem, _ = templates.portfolio(mu, sigma, risk_aversion=2.0, budget=5, units=2, cardinality=3)
    exact = qopt.solve(problem, backend="cpsat", time_budget=20.0, seed=1)
    assert exact.confidence["proven_optimal"]
    result = qopt.solve(problem, backend="sa", time_budget=2.0, seed=1)
    assert result.provenance["defaults"]["inequality"]["value"] == "slack"
    assert result.provenance["penalty_calibration"]["inequality"] == "slack"
    best = next(c for c in result.candidates if c.feasible)
    assert best.objective <= exact.best.objective + 1e-9
    binary = qopt.solve(knapsack_problem(12), backend="sa", time_budget=1.0, seed=1, num_reads=8)
    assert binary.provenance["defaults"]["inequality"]["value"] == "unbalanced"


@pytest.mark.parametrize("sense", ["min", "max"])
def test_a_model_without_constraints_is_proven_by_the_exact_backend(sense):
    """A constrained-model input without constraints (binary variables) compiles to its objective
    alone: the branch and bound routed to for 18 variables proves its optimum, which equals the
    brute-force optimum over all 2**18 assignments, in the model's sense."""
    rng = np.random.default_rng(11)
    n = 18
    bqm = dimod.BQM({i: float(rng.integers(-9, 10)) for i in range(n)},
                    {(i, j): float(rng.integers(-9, 10)) for i, j in itertools.combinations(range(n), 2)
                     if rng.random() < 0.5}, 0.0, "BINARY")
    problem = Problem.from_cqm(dimod.CQM.from_bqm(bqm), sense, name="unconstrained")
    result = qopt.solve(problem, time_budget=5.0, seed=1)
    states = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(np.int8)
    energies = bqm.energies((states, list(range(n))))
    brute = float(energies.min() if sense == "min" else energies.max())
    assert result.provenance["routing"]["backend"] == "exact"
    assert result.candidates[0].objective == pytest.approx(brute)
    assert result.confidence["proven_optimal"] is True
    assert result.confidence["objective_bound"] == pytest.approx(brute)


def test_the_box_bound_is_on_the_right_side_of_brute_force():
    """box_bound on a model with integer and binary variables and products of both: never above
    the minimum over every assignment in the box (constraints ignored, so also not above the
    constrained minimum), and equal to it for a separable objective."""
    from qopt.solve.race import box_bound

    rng = np.random.default_rng(5)
    x = [dimod.Integer(f"x{i}", lower_bound=-2, upper_bound=3) for i in range(3)]
    y = [dimod.Binary(f"y{i}") for i in range(3)]
    objective = dimod.quicksum(float(rng.integers(-5, 6)) * a * b for a in x + y for b in x + y if a is not b) + \
        dimod.quicksum(float(rng.integers(-5, 6)) * v for v in x + y) + 2.0 * x[0] * x[0]
    cqm = dimod.CQM()
    cqm.set_objective(objective)
    prob = Problem.from_cqm(cqm, "min")
    grid = itertools.product(*([range(-2, 4)] * 3 + [range(2)] * 3))
    labels = [f"x{i}" for i in range(3)] + [f"y{i}" for i in range(3)]
    brute = min(cqm.objective.energy(dict(zip(labels, g, strict=True))) for g in grid)
    bound = box_bound(prob)
    assert bound["value"] <= brute + 1e-9
    separable = dimod.CQM()
    separable.set_objective(3.0 * x[0] - 2.0 * y[0] + 1.5)
    assert box_bound(Problem.from_cqm(separable, "min"))["value"] == pytest.approx(-6.0 - 2.0 + 1.5)


def test_a_constrained_result_without_an_lp_bound_gets_the_box_bound(monkeypatch):
    """With no exact racer and the LP relaxation giving nothing in time, a quadratic knapsack still
    gets a certified bound: the box bound, above the brute-force optimum over all 2**20 assignments."""
    constrained = importlib.import_module("qopt.solve.constrained")

    rng = np.random.default_rng(8)
    n = 20
    w = rng.integers(1, 20, n).astype(float)
    q = np.triu(rng.integers(0, 30, (n, n)), 1).astype(float)
    p = rng.integers(1, 40, n).astype(float)
    problem, _ = templates.quadratic_knapsack(p, q + q.T, w, float(w.sum() / 3))
    monkeypatch.setattr(constrained, "constrained_bound", lambda *a, **k: None)
    result = qopt.solve(problem, backend="sa", time_budget=2.0, seed=1)
    states = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(float)
    value = states @ p + np.einsum("si,ij,sj->s", states, np.triu(q, 1), states)
    brute = float(value[states @ w <= w.sum() / 3].max())
    assert result.confidence["bound_method"].startswith("box bound")
    assert result.confidence["objective_bound"] >= brute - 1e-9
    assert result.candidates[0].feasible and result.candidates[0].objective <= brute + 1e-9
