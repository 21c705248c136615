"""The exact backends (highs, cpsat, scip) against brute force, published optima and their
own contract (status, dual bound, deadline, interrupt, hint, clean stdout)."""
from __future__ import annotations

import itertools
import threading
import time

import dimod
import numpy as np
import pytest
from _models import random_bqm

from qopt.errors import ModelError, ParameterError, UnsupportedProblem
from qopt.model import templates
from qopt.samplers.registry import BACKENDS, get_sampler_class

BACKEND_NAMES = ["highs", "cpsat", "scip"]


def sampler(name):
    return get_sampler_class(name)()


def random_cqm(seed: int, *, quadratic_constraint: bool = False, integers: bool = True, spins: bool = True):
    """A small random CQM (binary, spin and small integer variables) built here."""
    rng = np.random.default_rng(seed)
    cqm = dimod.ConstrainedQuadraticModel()
    xs = [dimod.Binary(f"x{i}") for i in range(5)]
    others = []
    if spins:
        others.append(dimod.Spin("s"))
    if integers:
        others.append(dimod.Integer("y", lower_bound=-1, upper_bound=2))
    terms = xs + others
    obj = sum(float(rng.integers(-5, 6)) * v for v in terms)
    for a, b in itertools.combinations(range(len(xs)), 2):
        if rng.random() < 0.5:
            obj += float(rng.integers(-4, 5)) * xs[a] * xs[b]
    for o in others:
        obj += float(rng.integers(-3, 4)) * xs[int(rng.integers(5))] * o
    cqm.set_objective(obj + 2.5)
    w = rng.integers(1, 6, size=5)
    cqm.add_constraint(sum(float(w[i]) * xs[i] for i in range(5)) <= float(w.sum() // 2), label="cap")
    cqm.add_constraint(xs[0] + xs[1] + xs[2] >= 1, label="cover")
    if integers:
        cqm.add_constraint(xs[3] + others[-1] <= 2, label="mix")
    if quadratic_constraint:
        cqm.add_constraint(xs[0] * xs[4] + xs[1] * xs[2] <= 1, label="quad")
    return cqm


def brute_force_cqm(cqm):
    """(minimum objective over feasible assignments, number feasible), by dimod's enumeration."""
    ss = dimod.ExactCQMSolver().sample_cqm(cqm)
    feasible = ss.record.energy[ss.record.is_feasible]
    return float(feasible.min()), int(feasible.size)


# -- registry and parameters ---------------------------------------------------------------
@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_registered_with_a_spec(name):
    assert name in BACKENDS
    cls = get_sampler_class(name)
    assert isinstance(cls(), dimod.Sampler)
    assert {"time_limit", "num_threads", "seed", "initial_state", "interrupt"} <= set(cls.parameter_spec)


@pytest.mark.parametrize("name", BACKEND_NAMES)
@pytest.mark.parametrize("param,value", [("time_limit", 0), ("time_limit", -1.0), ("num_threads", 0),
                                         ("seed", -1), ("seed", 2**31), ("interrupt", object())])
def test_out_of_range_parameters_raise(name, param, value):
    bqm = random_bqm(4, 1.0, seed=1)
    with pytest.raises(ParameterError) as err:
        sampler(name).sample(bqm, **{param: value})
    assert err.value.field == param
    with pytest.raises(ParameterError) as err:
        sampler(name).sample_cqm(dimod.CQM.from_bqm(bqm), **{param: value})
    assert err.value.field == param


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_bad_cqm_keywords_raise(name):
    cqm = random_cqm(0)
    with pytest.raises(ParameterError) as err:
        sampler(name).sample_cqm(cqm, on_solution=3)
    assert err.value.field == "on_solution"
    with pytest.raises(ParameterError) as err:
        sampler(name).sample_cqm(cqm, structure=[1])
    assert err.value.field == "structure"


# -- brute-force optima --------------------------------------------------------------------
@pytest.mark.parametrize("name", BACKEND_NAMES)
@pytest.mark.parametrize("seed", range(6))
def test_bqm_optimum_proven(name, seed):
    vartype = dimod.SPIN if seed % 2 else dimod.BINARY
    bqm = random_bqm(11, 0.6, seed=seed, vartype=vartype, offset=1.25)
    optimum = float(dimod.ExactSolver().sample(bqm).first.energy)
    ss = sampler(name).sample(bqm, seed=3)
    assert ss.vartype is vartype
    assert ss.info["status"] == "optimal"
    assert ss.first.energy == pytest.approx(optimum, abs=1e-6)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), atol=1e-9)
    assert ss.info["dual_bound"] <= optimum + 1e-6
    assert ss.info["dual_bound"] == pytest.approx(optimum, abs=1e-5)
    assert ss.info["gap"] == pytest.approx(0.0, abs=1e-6)
    assert ss.info["solver"]
    assert {"preprocessing_ns", "sampling_ns", "postprocessing_ns"} <= set(ss.info["timing"])


@pytest.mark.parametrize("name", BACKEND_NAMES)
@pytest.mark.parametrize("seed", range(8))
def test_cqm_optimum_proven(name, seed):
    cqm = random_cqm(seed)
    optimum, count = brute_force_cqm(cqm)
    assert count > 0
    ss = sampler(name).sample_cqm(cqm)
    assert ss.info["status"] == "optimal"
    best = ss.first
    assert best.is_feasible
    assert best.energy == pytest.approx(optimum, abs=1e-6)
    assert set(ss.variables) == set(cqm.variables)
    assert ss.info["dual_bound"] <= optimum + 1e-6
    assert ss.info["dual_bound"] == pytest.approx(optimum, abs=1e-5)


@pytest.mark.parametrize("name", BACKEND_NAMES)
@pytest.mark.parametrize("seed", range(3))
def test_cqm_with_a_quadratic_constraint(name, seed):
    cqm = random_cqm(seed, quadratic_constraint=True)
    optimum, _ = brute_force_cqm(cqm)
    ss = sampler(name).sample_cqm(cqm)
    assert ss.info["status"] == "optimal"
    assert ss.first.is_feasible
    assert ss.first.energy == pytest.approx(optimum, abs=1e-6)


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_infeasible_cqm(name):
    x, y = dimod.Binaries(["x", "y"])
    cqm = dimod.CQM()
    cqm.set_objective(x + y)
    cqm.add_constraint(x + y >= 1.5, label="a")
    cqm.add_constraint(x - y == 0.5, label="b")
    ss = sampler(name).sample_cqm(cqm)
    assert ss.info["status"] == "infeasible"
    assert not any(ss.record.is_feasible) if len(ss) else True


# -- templates against an independent optimum ----------------------------------------------
def _knapsack_dp(values, weights, capacity):
    best = np.zeros(capacity + 1)
    for v, w in zip(values, weights, strict=True):
        best[w:] = np.maximum(best[w:], best[:capacity + 1 - w] + v)
    return float(best[capacity])


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_knapsack_against_dynamic_programming(name):
    rng = np.random.default_rng(11)
    values = rng.integers(1, 60, size=40)
    weights = rng.integers(1, 30, size=40)
    capacity = int(weights.sum() // 3)
    problem, interpret = templates.knapsack(values, weights, capacity)
    ss = sampler(name).sample_cqm(problem.cqm, time_limit=60)
    assert ss.info["status"] == "optimal"
    answer = interpret(ss.first.sample)
    assert answer["within_capacity"]
    assert answer["total_value"] == pytest.approx(_knapsack_dp(values, weights, capacity))
    assert -ss.info["dual_bound"] >= answer["total_value"] - 1e-6


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_assignment_against_scipy(name):
    from scipy.optimize import linear_sum_assignment
    rng = np.random.default_rng(5)
    costs = rng.integers(1, 50, size=(8, 8)).astype(float)
    # capacities of 1 on a square matrix: a linear assignment problem (Kuhn's method in scipy)
    problem, interpret = templates.assignment(costs, capacities=np.ones(8))
    ss = sampler(name).sample_cqm(problem.cqm, time_limit=60)
    r, c = linear_sum_assignment(costs)
    assert ss.info["status"] == "optimal"
    assert interpret(ss.first.sample)["total_cost"] == pytest.approx(costs[r, c].sum())


# -- published optima ---------------------------------------------------------------------
@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_qkp_reaches_best_known(name, shared_data, best_known_values):
    from qopt.model.formats.qkp import read_qkp
    problem, _ = read_qkp(shared_data / "qkp" / "jeu_100_25_1.txt")
    best = best_known_values["jeu_100_25_1"]
    ss = sampler(name).sample_cqm(problem.cqm, time_limit=10)
    value = -float(ss.first.energy)
    assert ss.first.is_feasible
    assert value <= best + 1e-6 or ss.info["status"] == "optimal"
    # a proven bound on a maximisation is never below the published value
    assert -ss.info["dual_bound"] >= best - 1e-6


# -- deadline, interrupt, hint, callback, output -----------------------------------------------
def _hard_bqm():
    return random_bqm(120, 0.5, seed=4, vartype=dimod.SPIN)


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_time_limit_honoured(name):
    bqm = _hard_bqm()
    t0 = time.monotonic()
    ss = sampler(name).sample(bqm, time_limit=1.0)
    elapsed = time.monotonic() - t0
    assert elapsed < 20.0  # generous: the limit is 1 s
    assert ss.info["status"] == "time_limit"
    # the bound is below every energy: those of random states, and the solver's own (if any)
    rng = np.random.default_rng(0)
    states = rng.choice([-1, 1], size=(200, bqm.num_variables))
    energies = bqm.energies((states, list(bqm.variables)))
    assert ss.info["dual_bound"] <= energies.min()
    if len(ss):
        assert ss.info["dual_bound"] <= float(ss.first.energy) + 1e-6
        assert ss.info["gap"] > 0


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_bound_valid_when_stopped_before_any_solution(name):
    # a 10 ms limit stops CP-SAT in presolve, where its bound field reads 0 (not a bound)
    bqm = _hard_bqm()
    ss = sampler(name).sample(bqm, time_limit=0.01)
    rng = np.random.default_rng(1)
    states = rng.choice([-1, 1], size=(200, bqm.num_variables))
    assert ss.info["dual_bound"] <= bqm.energies((states, list(bqm.variables))).min()


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_interrupt_stops_the_solver(name):
    bqm = _hard_bqm()
    event = threading.Event()
    timer = threading.Timer(0.5, event.set)
    before = threading.active_count()
    timer.start()
    t0 = time.monotonic()
    try:
        ss = sampler(name).sample(bqm, interrupt=event, time_limit=120)
    finally:
        timer.cancel()
        timer.join()
    assert time.monotonic() - t0 < 30.0
    assert ss.info["status"] == "interrupted"
    assert threading.active_count() <= before


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_interrupt_set_before_the_call(name):
    event = threading.Event()
    event.set()
    ss = sampler(name).sample_cqm(random_cqm(1), interrupt=event)
    assert ss.info["status"] == "interrupted"


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_hint_and_on_solution(name):
    cqm = random_cqm(2)
    optimum, _ = brute_force_cqm(cqm)
    first = sampler(name).sample_cqm(cqm)
    seen = []
    ss = sampler(name).sample_cqm(cqm, hint=dict(first.first.sample),
                                  on_solution=lambda sample, objective: seen.append((sample, objective)))
    assert ss.first.energy == pytest.approx(optimum, abs=1e-6)
    assert seen, "no solution reported"
    for sample, objective in seen:
        assert set(sample) == set(cqm.variables)
        assert objective == pytest.approx(cqm.objective.energy(sample), abs=1e-6)
    assert min(o for _, o in seen) == pytest.approx(optimum, abs=1e-6)


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_initial_state_is_accepted(name):
    bqm = random_bqm(10, 0.5, seed=9, vartype=dimod.SPIN)
    state = {v: 1 for v in bqm.variables}
    ss = sampler(name).sample(bqm, initial_state=state)
    assert ss.first.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy, abs=1e-6)
    with pytest.raises(UnsupportedProblem):
        sampler(name).sample(bqm, initial_state={0: 1})


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_stdout_stays_clean(name, capfd):
    sampler(name).sample(random_bqm(8, 0.5, seed=1))
    sampler(name).sample_cqm(random_cqm(3), time_limit=5)
    out, _ = capfd.readouterr()
    assert out == ""


# -- CP-SAT specifics: scaling and the circuit -------------------------------------------------
def test_cpsat_scaling_error_reported_and_bound_kept_valid():
    bqm = random_bqm(10, 0.7, seed=21, vartype=dimod.BINARY)
    bqm.scale(np.pi)  # coefficients no power of ten makes integral
    optimum = float(dimod.ExactSolver().sample(bqm).first.energy)
    ss = sampler("cpsat").sample(bqm)
    assert ss.info["scaling_error"]["objective"] > 0
    assert ss.info["dual_bound"] <= optimum + 1e-9
    assert ss.first.energy == pytest.approx(optimum, abs=ss.info["scaling_error"]["objective"] + 1e-9)


def test_cpsat_integer_products():
    cqm = dimod.CQM()
    y, w = dimod.Integer("y", lower_bound=-3, upper_bound=4), dimod.Integer("w", lower_bound=0, upper_bound=3)
    x = dimod.Binary("x")
    cqm.set_objective(y * w - 2 * y * y + 3 * x * w - x)
    cqm.add_constraint(y * w + x <= 5, label="q")
    optimum, _ = brute_force_cqm(cqm)
    ss = sampler("cpsat").sample_cqm(cqm)
    assert ss.info["status"] == "optimal" and ss.first.is_feasible
    assert ss.first.energy == pytest.approx(optimum)
    with pytest.raises(UnsupportedProblem, match="non-binary"):
        sampler("highs").sample_cqm(cqm)


def _tsp_brute_force(D):
    n = len(D)
    return min(templates.tour_length(D, (0, *p)) for p in itertools.permutations(range(1, n)))


@pytest.mark.parametrize("fix_start", [True, False])
def test_cpsat_circuit_on_a_declared_tsp(fix_start):
    rng = np.random.default_rng(3)
    pts = rng.random((7, 2))
    D = np.round(100 * np.linalg.norm(pts[:, None] - pts[None], axis=-1))
    problem, interpret = templates.tsp(D, fix_start=fix_start)
    assert problem.structure["kind"] == "tsp"
    ss = sampler("cpsat").sample_cqm(problem.cqm, structure=problem.structure, num_threads=1)
    assert ss.info["model"] == "circuit"
    assert ss.info["status"] == "optimal"
    answer = interpret(ss.first.sample)
    assert answer["valid"] and ss.first.is_feasible
    assert answer["length"] == pytest.approx(_tsp_brute_force(D))
    assert ss.first.energy == pytest.approx(answer["length"])
    assert ss.info["dual_bound"] == pytest.approx(answer["length"])


def test_cpsat_circuit_refuses_a_structure_that_does_not_match():
    D = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], dtype=float)
    problem, _ = templates.tsp(D)
    with pytest.raises(ModelError) as err:
        sampler("cpsat").sample_cqm(problem.cqm, structure={**problem.structure, "num_cities": 5})
    assert err.value.field == "structure"
    wrong = {**problem.structure, "distances": (2 * D).tolist()}
    with pytest.raises(ModelError, match="does not match the objective"):
        sampler("cpsat").sample_cqm(problem.cqm, structure=wrong)


@pytest.mark.shared_data
def test_cpsat_circuit_solves_burma14(shared_data, best_known_values):
    from qopt.model.formats.tsplib import read_tsplib
    problem, interpret = read_tsplib(shared_data / "tsplib" / "tsp" / "burma14.tsp")
    best = best_known_values["burma14"]
    ss = sampler("cpsat").sample_cqm(problem.cqm, structure=problem.structure, time_limit=60)
    assert ss.info["status"] == "optimal"
    assert interpret(ss.first.sample)["length"] == pytest.approx(best)
    assert ss.info["dual_bound"] == pytest.approx(best)


@pytest.mark.parametrize("name,module", [("highs", "highspy"), ("cpsat", "ortools.sat.python.cp_model"),
                                         ("scip", "pyscipopt")])
def test_missing_solver_library_gives_the_install_hint(name, module, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, module, None)  # import now raises ImportError
    with pytest.raises(ImportError, match="pip install"):
        sampler(name).sample(random_bqm(3, 1.0, seed=1))


def random_float_cqm(seed: int):
    """Real (non-decimal) coefficients everywhere, products with a spin and an integer."""
    rng = np.random.default_rng(1000 + seed)
    xs = [dimod.Binary(f"x{i}") for i in range(5)]
    s, y = dimod.Spin("s"), dimod.Integer("y", lower_bound=-2, upper_bound=3)
    terms = [*xs, s, y]
    obj = sum(float(rng.normal()) * v for v in terms) + float(rng.normal())
    for a, b in itertools.combinations(range(7), 2):
        if rng.random() < 0.5:
            obj += float(rng.normal()) * terms[a] * terms[b]
    cqm = dimod.CQM()
    cqm.set_objective(obj)
    cqm.add_constraint(sum(float(rng.uniform(0.1, 2)) * x for x in xs) + 0.3 * y <= float(rng.uniform(1, 4)), label="a")
    cqm.add_constraint(xs[0] * xs[1] * 1.7 + 0.9 * s * xs[2] >= float(rng.uniform(-2, 0.5)), label="q")
    return cqm


@pytest.mark.parametrize("name", BACKEND_NAMES)
@pytest.mark.parametrize("seed", [55, 3, 7])  # 55: CP-SAT proved a wrong optimum with coefficients scaled by 1e11
def test_real_coefficients(name, seed):
    cqm = random_float_cqm(seed)
    optimum, _ = brute_force_cqm(cqm)
    ss = sampler(name).sample_cqm(cqm, num_threads=1)
    assert ss.info["dual_bound"] <= optimum + 1e-6
    assert ss.info["status"] == "optimal"
    assert ss.first.is_feasible and ss.first.energy == pytest.approx(optimum, abs=1e-5)


def test_ctrl_c_still_raises_keyboard_interrupt_after_a_solve():
    """Each backend leaves the process's SIGINT handling as it found it (CP-SAT's own handler,
    on by default, left SIGINT terminating the process)."""
    import subprocess
    import sys

    code = ("import os, signal, time, dimod\n"
            "from qopt.samplers.registry import get_sampler\n"
            "for name in ('highs', 'cpsat', 'scip'):\n"
            "    get_sampler(name).sample(dimod.generators.ran_r(1, 6, seed=1))\n"
            "    try:\n"
            "        os.kill(os.getpid(), signal.SIGINT); time.sleep(2)\n"
            "        raise SystemExit(name + ': no KeyboardInterrupt')\n"
            "    except KeyboardInterrupt:\n"
            "        print(name, 'ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    assert proc.stdout.split() == ["highs", "ok", "cpsat", "ok", "scip", "ok"]


# -- the linearisation against dimod's own evaluation -----------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_linear_model_reproduces_the_cqm(seed):
    """At random points (products completed) the linear model's objective and constraint rows
    equal dimod's energies, and every McCormick row holds."""
    from qopt.samplers.mip.model import MipModel, linearise
    cqm = random_cqm(seed, quadratic_constraint=True)
    a = dimod.Integer("a", lower_bound=-2, upper_bound=3)
    b = dimod.Integer("b", lower_bound=0, upper_bound=2)
    cqm.add_constraint(a * b + 2 * a * a - dimod.Binary("x1") * b <= 4, label="nonbinary")
    cqm.set_objective(cqm.objective + a * b - b * b)
    model = MipModel.from_cqm(cqm)
    with pytest.raises(UnsupportedProblem):
        linearise(model, exact=True)
    lm = linearise(model, exact=False)
    assert not lm.exact
    m = len(model.constraints)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        sample = {}
        for v in cqm.variables:
            vt = cqm.vartype(v)
            lo, hi = (-1, 1) if vt is dimod.SPIN else (cqm.lower_bound(v), cqm.upper_bound(v))
            sample[v] = int(rng.choice([lo, hi])) if vt is dimod.SPIN else int(rng.integers(lo, hi + 1))
        z = lm.complete(model.values(sample))
        assert lm.cost @ z + lm.offset == pytest.approx(cqm.objective.energy(sample))
        activity = lm.rows @ z
        for k, (label, comp) in enumerate(cqm.constraints.items()):
            assert lm.row_labels[k] == label
            assert activity[k] + model.constraints[k].expr.offset == pytest.approx(comp.lhs.energy(sample))
        assert np.all(activity[m:] >= lm.row_lower[m:] - 1e-9)
        assert np.all(activity[m:] <= lm.row_upper[m:] + 1e-9)
        assert np.all((z >= lm.col_lower - 1e-9) & (z <= lm.col_upper + 1e-9))


# -- no solution in time: a best effort, never an empty sample set ---------------------------------
@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_bqm_without_a_solution_gives_a_best_effort(name):
    bqm = random_bqm(12, 0.5, seed=3, vartype=dimod.SPIN)
    event = threading.Event()
    event.set()  # the solver never runs
    ss = sampler(name).sample(bqm, interrupt=event)
    assert len(ss) == 1 and ss.info["status"] == "interrupted" and ss.info["best_effort"] == "trivial"
    assert float(ss.first.energy) == pytest.approx(bqm.energy(ss.first.sample))
    hint = {v: (1 if i % 2 else -1) for i, v in enumerate(bqm.variables)}
    ss = sampler(name).sample(bqm, interrupt=event, initial_state=hint)
    assert ss.info["best_effort"] == "hint" and dict(ss.first.sample) == hint
    cqm_hint = {v: 0 for v in random_cqm(1).variables} | {"s": -1}
    ss = sampler(name).sample_cqm(random_cqm(1), interrupt=event, hint=cqm_hint)
    assert len(ss) == 0 and "best_effort" not in ss.info  # a CQM: no solution, nothing claimed


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_time_limit_spent_building_skips_the_solver(name, monkeypatch):
    # a fake clock: each reading is 10 s after the last, so the 5 s limit is spent before the run
    import qopt.samplers.mip.base as base

    class Clock:
        now = 0.0
        perf_counter_ns = staticmethod(time.perf_counter_ns)

        @classmethod
        def monotonic(cls):
            cls.now += 10.0
            return cls.now

    monkeypatch.setattr(base, "time", Clock)
    bqm = random_bqm(12, 0.5, seed=5, vartype=dimod.BINARY)
    ss = sampler(name).sample(bqm, time_limit=5.0)
    assert ss.info["status"] == "time_limit" and ss.info["best_effort"] == "trivial" and len(ss) == 1


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_solve_with_a_short_budget_always_answers(name):
    # the defect: a MIP stopped before its first solution gave an empty sample set to the
    # component expansion ("samplesets must not contain an empty SampleSet")
    import qopt
    for seed in range(4):
        bqm = dimod.generators.ran_r(1, 12, seed=seed)
        minimum = float(dimod.ExactSolver().sample(bqm).first.energy)
        t0 = time.monotonic()
        result = qopt.solve(bqm, backend=name, time_budget=0.1)
        assert time.monotonic() - t0 < 10.0  # generous: the budget is 0.1 s
        assert result.candidates and result.candidates[0].energy >= minimum - 1e-9


# -- deadlines: the checks after building, SCIP's setup rule, CP-SAT's callback throttle ---------

def test_scip_does_not_start_when_its_setup_would_not_fit():
    """SCIP's first presolve round checks neither its time limit nor interruptSolve: a model
    whose products would take longer than the time left is not started (no solution, said why)."""
    from qopt.samplers.mip.model import MipModel
    from qopt.samplers.mip.scip import setup_seconds

    cqm = dimod.CQM.from_bqm(random_bqm(200, 1.0, seed=4))  # 19 900 products
    limit = 0.5 * setup_seconds(MipModel.from_cqm(cqm))
    t0 = time.monotonic()
    ss = sampler("scip").sample_cqm(cqm, time_limit=limit)
    assert time.monotonic() - t0 < limit + 1.0  # generous: it did not build the model either
    assert ss.info["status"] == "time_limit" and len(ss) == 0
    assert "not_started" in ss.info and "products" in ss.info["not_started"]


def test_scip_starts_when_its_setup_fits(monkeypatch):
    import qopt.samplers.mip.scip as scip_module

    cqm = random_cqm(3)
    monkeypatch.setattr(scip_module, "SCIP_SETUP_PRODUCTS_PER_SECOND", 1e12)
    ss = sampler("scip").sample_cqm(cqm, time_limit=30.0)
    assert ss.info["status"] == "optimal" and "not_started" not in ss.info
    assert ss.first.energy == pytest.approx(brute_force_cqm(cqm)[0], abs=1e-6)


def test_highs_does_not_start_when_its_overrun_would_take_most_of_the_limit():
    """HiGHS's presolve and MIP set-up check neither its limit nor its callbacks: a linearisation
    whose expected overrun exceeds half the time left is not started (no solution, said why)."""
    from qopt.samplers.mip.highs import HIGHS_NOT_STARTED_SHARE, stop_latency_seconds
    from qopt.samplers.mip.model import MipModel, linearise

    cqm = dimod.CQM.from_bqm(random_bqm(200, 1.0, seed=4))  # 19 900 products, ~60 000 nonzeros
    latency = stop_latency_seconds(linearise(MipModel.from_cqm(cqm), exact=True, what="test").rows.nnz)
    limit = 0.5 * latency / HIGHS_NOT_STARTED_SHARE
    ss = sampler("highs").sample_cqm(cqm, time_limit=limit)
    assert ss.info["status"] == "time_limit" and len(ss) == 0
    assert "not_started" in ss.info and "nonzeros" in ss.info["not_started"]


def test_highs_gets_the_time_left_less_its_expected_overrun(monkeypatch):
    import highspy

    import qopt.samplers.mip.highs as highs_module

    limits = []
    real_run = highspy.Highs.run

    def run(self):
        limits.append(self.getOptionValue("time_limit"))
        return real_run(self)

    monkeypatch.setattr(highspy.Highs, "run", run)
    monkeypatch.setattr(highs_module, "HIGHS_STOP_NONZEROS_PER_SECOND", 1.0)  # 1 s of overrun per nonzero
    cqm = random_cqm(3)
    nnz = highs_module.linearise(highs_module.MipModel.from_cqm(cqm), exact=True, what="test").rows.nnz
    ss = sampler("highs").sample_cqm(cqm, time_limit=100.0 * nnz)
    limit = limits[0][1] if isinstance(limits[0], tuple) else limits[0]
    assert 98.0 * nnz < limit < 99.0 * nnz  # the 100 nnz s left, less nnz s
    assert ss.info["status"] == "optimal" and "not_started" not in ss.info
    assert ss.first.energy == pytest.approx(brute_force_cqm(cqm)[0], abs=1e-6)


def test_highs_does_not_run_when_passing_the_model_spent_the_limit(monkeypatch):
    import highspy

    import qopt.samplers.mip.highs as highs_module

    build = highs_module.build_highs

    def slow_build(lm, **kwargs):
        time.sleep(0.3)
        return build(lm, **kwargs)

    def no_run(self):  # pragma: no cover - the assertion is that it is not called
        raise AssertionError("HiGHS ran after its time limit was spent")

    monkeypatch.setattr(highs_module, "build_highs", slow_build)
    monkeypatch.setattr(highspy.Highs, "run", no_run)
    ss = sampler("highs").sample_cqm(random_cqm(4), time_limit=0.2)
    assert ss.info["status"] == "time_limit" and len(ss) == 0


def test_cpsat_throttled_callback_still_reports_the_optimum(monkeypatch):
    """With the throttle skipping every solution after the first, the final (optimal) one is
    read and reported after the search: ``on_solution`` still sees the brute-force optimum."""
    import qopt.samplers.mip.cpsat as cpsat_module

    monkeypatch.setattr(cpsat_module, "CALLBACK_MIN_INTERVAL", 1e9)
    cqm = random_cqm(5)
    optimum, _ = brute_force_cqm(cqm)
    seen = []
    ss = sampler("cpsat").sample_cqm(cqm, num_threads=1, seed=1,
                                     on_solution=lambda sample, objective: seen.append(objective))
    assert ss.info["status"] == "optimal"
    assert 1 <= len(seen) <= 2
    assert min(seen) == pytest.approx(optimum, abs=1e-6)
    assert ss.first.energy == pytest.approx(optimum, abs=1e-6)


def test_cpsat_stops_building_once_the_limit_has_passed(monkeypatch):
    """CP-SAT's products are built in Python (G1's 19 176: 0.3-1 s): the time limit is checked
    while they are built, so a spent limit builds none of them and starts no search."""
    from ortools.sat.python import cp_model

    built = []
    add_bool_or = cp_model.CpModel.add_bool_or

    def counting(self, *args, **kwargs):
        built.append(1)
        return add_bool_or(self, *args, **kwargs)

    monkeypatch.setattr(cp_model.CpModel, "add_bool_or", counting)
    cqm = dimod.CQM.from_bqm(random_bqm(120, 1.0, seed=6))  # 7 140 products
    ss = sampler("cpsat").sample_cqm(cqm, time_limit=1e-6)
    assert ss.info["status"] == "time_limit" and len(ss) == 0
    assert len(built) < 1024  # stopped at the first check, not after the 7 140 products
