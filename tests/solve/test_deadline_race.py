"""The race and the exact backends keep the solve's deadline: the cores shared, an exact racer's
time limit cut by its stop latency (so it ends, and its proof and bound count, before the work
ends), the time kept for the answer sized by the model, and the canonical form built from
arrays. Fake racers with known timings; margins generous (these check the rules, not the
machine's speed)."""
import threading
import time

import dimod
import numpy as np
import pytest

import qopt
from qopt.samplers.race import STOP_LATENCY_MAX, share_cores, stop_latency
from qopt.solve.stages import ANSWER_RESERVE_MIN, ANSWER_RESERVE_PER_TERM, answer_reserve


def test_the_race_never_runs_more_threads_than_cores():
    assert share_cores(1, cores=2) == (1, 1)  # 2 cores: annealing one, CP-SAT one
    assert share_cores(1, cores=16) == (8, 8)
    assert share_cores(2, cores=16) == (8, 4)
    for cores in range(2, 33):
        for k in (1, 2, 3):
            anneal, exact = share_cores(k, cores=cores)
            assert anneal >= 1 and exact >= 1
            assert anneal + k * exact <= max(cores, 1 + k)


def test_stop_latency_and_answer_reserve_rules():
    assert stop_latency(10.0) == STOP_LATENCY_MAX and stop_latency(0.2) == pytest.approx(0.01)
    assert answer_reserve(1.0) == pytest.approx(ANSWER_RESERVE_MIN)
    # dantzig42 compiled: 1 681 variables, 65 600 interactions
    assert answer_reserve(1.0, 67281) == pytest.approx(ANSWER_RESERVE_MIN + ANSWER_RESERVE_PER_TERM * 67281)
    assert answer_reserve(0.1, 10**7) == pytest.approx(0.05)  # at most half the budget


def _knapsack(n=18, seed=3):
    """max v.x s.t. w.x <= c, and its optimum by enumeration of all 2**n assignments."""
    from qopt.model import Problem

    rng = np.random.default_rng(seed)
    v, w = rng.integers(1, 60, n), rng.integers(1, 40, n)
    cap = int(w.sum() // 2)
    xs = list(dimod.Binaries([f"x{i}" for i in range(n)]))
    problem = Problem.build(sum(int(v[i]) * xs[i] for i in range(n)),
                            [(sum(int(w[i]) * xs[i] for i in range(n)) <= cap, "cap")], sense="max")
    states = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1)
    ok = states @ w <= cap
    return problem, int((states[ok] @ v).max()), states[ok][np.argmax(states[ok] @ v)]


class _UntilLimit(dimod.Sampler):
    """A fake exact backend that works exactly its time limit, then returns the known optimum
    with a proof (status "optimal", dual bound = the optimum): it is credited only when the race
    gave it a limit that ends before the work does."""

    parameters = {"time_limit": [], "interrupt": [], "num_threads": []}
    properties: dict = {}

    def __init__(self, best, threads: list):
        self.best, self.threads = best, threads

    def sample(self, bqm, **kwargs):  # pragma: no cover - the constrained path calls sample_cqm
        raise AssertionError

    def sample_cqm(self, cqm, *, time_limit=None, num_threads=None, interrupt=None, **kwargs):
        self.threads.append(num_threads)
        time.sleep(float(time_limit))
        sample = {f"x{i}": int(b) for i, b in enumerate(self.best)}
        ss = dimod.SampleSet.from_samples_cqm([sample], cqm)
        ss.info.update({"status": "time_limit", "dual_bound": float(ss.first.energy), "solver": "fake"})
        return ss


def test_an_exact_racer_working_to_its_limit_is_credited_its_bound(monkeypatch):
    """The racer sleeps its whole time limit; before the stop-latency rule its limit ended at the
    work's end and its answer came too late to count: no bound, no certified gap."""
    import importlib

    constrained = importlib.import_module("qopt.solve.constrained")
    problem, optimum, best = _knapsack()
    threads: list = []
    real = constrained.get_sampler
    monkeypatch.setattr(constrained, "get_sampler",
                        lambda name: _UntilLimit(best, threads) if name == "highs" else real(name))
    t0 = time.perf_counter()
    result = qopt.solve(problem, "race", racers=["sa", "highs"], seed=1, time_budget=1.5)
    assert time.perf_counter() - t0 < 1.5 + 1.0
    branches = {b["backend"]: b for b in result.provenance["race"]["branches"]}
    assert not branches["highs"]["status"].startswith("overran"), branches
    assert result.best.objective == optimum  # the enumerated optimum
    assert result.confidence["objective_bound"] == pytest.approx(optimum)
    assert result.confidence["proven_optimal"] is True
    assert threads == [share_cores(1)[1]]  # the race's share of the cores, not the solver's default


def test_an_explicit_exact_backend_that_ignores_its_limit_does_not_hold_the_answer(monkeypatch):
    """An exact backend that sleeps 4 s past a 1 s budget: the answer comes at the deadline (it
    was waited for 1 s past the work's end before), saying that the backend overran."""
    import importlib

    constrained = importlib.import_module("qopt.solve.constrained")
    started = threading.Event()

    class Stuck(dimod.Sampler):
        parameters = {"time_limit": [], "interrupt": []}
        properties: dict = {}

        def sample(self, bqm, **kwargs):  # pragma: no cover
            raise AssertionError

        def sample_cqm(self, cqm, **kwargs):
            started.set()
            time.sleep(4.0)
            return dimod.SampleSet.from_samples_cqm([{v: 0 for v in cqm.variables}], cqm)

    real = constrained.get_sampler
    monkeypatch.setattr(constrained, "get_sampler", lambda name: Stuck() if name == "highs" else real(name))
    problem, _, _ = _knapsack()
    t0 = time.perf_counter()
    result = qopt.solve(problem, "highs", time_budget=1.0)
    assert time.perf_counter() - t0 < 1.0 + 1.0  # max(5%, 100 ms) is the rule; a generous margin
    assert started.is_set()
    branches = {b["backend"]: b for b in result.provenance["race"]["branches"]}
    assert branches["highs"]["status"].startswith("overran the deadline")
    assert not result.candidates


def test_the_canonical_form_of_a_binary_model_is_built_from_arrays_and_independent_of_order():
    """Two copies of one quadratic binary model, built in opposite orders, get the same
    canonical form, whose energies equal the original's on random samples."""
    from qopt.model import Problem
    from qopt.solve.constrained import canonical_problem

    rng = np.random.default_rng(5)
    n = 30
    Q = np.triu(rng.integers(-9, 10, (n, n)), 1)
    w = rng.integers(1, 9, n)

    def build(order):
        xs = {i: dimod.Binary(f"x{i}") for i in order}
        obj = dimod.quicksum(float(Q[i, j]) * xs[i] * xs[j] for i in order for j in order if Q[min(i, j), max(i, j)]
                             and i < j) + dimod.quicksum(float(i % 3) * xs[i] for i in order)
        return Problem.build(obj, [(dimod.quicksum(float(w[i]) * xs[i] for i in order) <= 40.0, "cap")])

    a, b = canonical_problem(build(list(range(n)))), canonical_problem(build(list(reversed(range(n)))))
    assert list(a.cqm.variables) == list(b.cqm.variables)
    assert list(a.cqm.objective.iter_quadratic()) == list(b.cqm.objective.iter_quadratic())
    assert list(a.cqm.constraints["cap"].lhs.iter_linear()) == list(b.cqm.constraints["cap"].lhs.iter_linear())
    original = build(list(range(n)))
    for _ in range(5):
        x = {f"x{i}": int(rng.integers(0, 2)) for i in range(n)}
        assert a.cqm.objective.energy(x) == pytest.approx(original.cqm.objective.energy(x))
        assert a.cqm.constraints["cap"].lhs.energy(x) == pytest.approx(original.cqm.constraints["cap"].lhs.energy(x))


def test_a_racer_whose_model_would_take_most_of_the_budget_to_build_is_not_started():
    """CP-SAT's model of a dense quadratic knapsack is built in Python (holding the interpreter
    annealing needs); where it would take more than BUILD_SHARE of the budget the racer is not
    started and says why, and CP-SAT's TSP circuit (no products) always is."""
    from qopt.model import Problem
    from qopt.solve.race import BUILD_PRODUCTS_PER_SECOND, BUILD_SHARE, racers_too_slow_to_build

    n = 60
    xs = list(dimod.Binaries([f"x{i}" for i in range(n)]))
    obj = dimod.quicksum(xs[i] * xs[j] for i in range(n) for j in range(i + 1, n))  # 1 770 products
    problem = Problem.build(obj, [(dimod.quicksum(xs) <= 30, "cap")], sense="max")
    needed = 1770 / BUILD_PRODUCTS_PER_SECOND["cpsat"] / BUILD_SHARE  # the budget at which it starts
    slow = racers_too_slow_to_build(problem, ("cpsat", "highs", "scip"), 0.5 * needed)
    assert set(slow) == {"cpsat", "scip"} and "1770 products" in slow["cpsat"]
    assert racers_too_slow_to_build(problem, ("cpsat", "highs"), 2.0 * needed) == {}
    assert racers_too_slow_to_build(problem, ("cpsat",), None) == {}
    from qopt.model import templates
    tour = templates.tsp(np.arange(100.0).reshape(10, 10) + np.arange(100.0).reshape(10, 10).T)[0]
    assert racers_too_slow_to_build(tour, ("cpsat",), 1e-3) == {}
