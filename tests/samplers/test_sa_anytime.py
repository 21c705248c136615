"""Anytime simulated annealing: a time_limit alone makes the sampler plan reads, sweeps and
elite restarts to fill it. Checked: the plan never overruns the deadline (generous margins),
passing the recorded plan back reproduces the run, restarts never lose the first anneal's
best and reach brute-force optima, independent cycles never lose cycle 0's best and reproduce
on 1 and 2 threads, crossover seeds keep the spins two elites agree on (up to the global flip
of a symmetric model) and perturbation seeds flip about RESTART_FLIP_FRACTION of the spins, the same seed gives the same answer on 1 and 2 threads, qopt.solve keeps
its deadline with the bound on for a model whose certificate would be sparse, and qopt.solve
with a deadline leaves the run's size to the sampler and states it."""
from __future__ import annotations

import time

import dimod
import numpy as np
import pytest
from _models import random_bqm

import qopt
from qopt.errors import ParameterError
from qopt.samplers.sa import RESTART_CROSSOVER_SHARE, RESTART_FLIP_FRACTION, restart_states
from qopt.samplers.sa import SimulatedAnnealingSampler as SA
from qopt.solve.parameters import sa_defaults


def _sparse(n=2000, m=6000, seed=4):
    """A sparse random Ising model (dimod's G(n, m) generator, uniform real biases)."""
    return dimod.generators.gnm_random_bqm(n, m, dimod.SPIN, random_state=seed)


@pytest.mark.parametrize("limit", [0.3, 1.5])
def test_planned_run_fills_but_never_exceeds_the_deadline(limit):
    bqm = _sparse()
    t = time.perf_counter()
    ss = SA().sample(bqm, time_limit=limit, seed=1, num_threads=2)
    wall = time.perf_counter() - t
    assert wall < limit + 0.5  # the kernel's limit is the backstop; the plan aims at 90% of it
    plan = ss.info["plan"]
    assert plan["num_reads"] == 32 and len(ss) == 32  # one 16-lane group per thread
    assert plan["num_sweeps"] >= 1 and plan["polish"] is True and ss.info["polish"] is True
    assert plan["calibration"]["num_sweeps"] >= 1 and plan["calibration"]["seconds"] < 0.1 * limit + 0.05
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9)


def test_solve_keeps_the_deadline_beside_the_bound_on_a_sparse_certificate_model():
    # more spins than DENSE_MAX: the spectral bound (a sparse LU, seconds, GIL stalls) is not run
    # beside the planned anneal, which overran its deadline on G55 when it was
    import threading

    from qopt.presolve.bound import DENSE_MAX

    n = DENSE_MAX + 500
    rng = np.random.default_rng(5)  # a ring (one component) plus 2n random chords, couplings +-1
    edges = [(i, (i + 1) % n) for i in range(n)] + [tuple(e) for e in rng.integers(0, n, (2 * n, 2)) if e[0] != e[1]]
    bqm = dimod.generators.ran_r(1, (list(range(n)), edges), seed=5)
    t = time.perf_counter()
    result = qopt.solve(bqm, backend="sa", time_budget=1.0, seed=2, lower_bound=True)
    wall = time.perf_counter() - t
    assert wall < 1.0 + 0.5  # generous margin; benchmarks/FRONTIER.md measures the real overrun
    assert "sparse certificate" in result.provenance["lower_bound"]["note"]
    assert result.timing.get("bound", 0.0) == 0.0
    assert not [th for th in threading.enumerate() if th.name == "qopt-bound"]


def test_recorded_plan_reproduces_the_run():
    bqm = random_bqm(80, 0.1, seed=3)
    first = SA().sample(bqm, time_limit=0.5, seed=7, num_threads=2)
    plan = first.info["plan"]
    kw = {k: plan[k] for k in ("num_reads", "num_sweeps", "num_restarts", "restart_sweeps", "polish")}
    again1 = SA().sample(bqm, seed=7, num_threads=1, **kw)
    again2 = SA().sample(bqm, seed=7, num_threads=2, **kw)
    np.testing.assert_array_equal(again1.record.sample, again2.record.sample)
    assert "plan" not in again1.info and again1.info["num_restarts_completed"] == kw["num_restarts"]
    if not first.info["stopped_early"]:  # the deadline did not bind: the same run
        np.testing.assert_array_equal(first.record.sample, again1.record.sample)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_restarts_never_lose_the_first_anneals_best(seed):
    bqm = _sparse(600, 1800, seed=seed)
    kw = dict(num_reads=16, num_sweeps=200, seed=seed, polish=True, num_threads=2)
    alone = SA().sample(bqm, **kw)
    more = SA().sample(bqm, num_restarts=3, restart_sweeps=100, **kw)
    assert more.first.energy <= alone.first.energy + 1e-9
    assert more.info["num_restarts_completed"] == 3 and len(more) == 16
    np.testing.assert_allclose(more.record.energy, bqm.energies(more), rtol=1e-9)
    assert list(more.record.energy) == sorted(more.record.energy)


@pytest.mark.parametrize("seed", [4, 5])
def test_restarts_reach_the_brute_force_optimum(seed):
    bqm = random_bqm(16, 0.4, seed=seed, vartype=dimod.BINARY, offset=-2.0)
    exact = dimod.ExactSolver().sample(bqm).first.energy
    ss = SA().sample(bqm, num_reads=8, num_sweeps=50, num_restarts=2, restart_sweeps=50, seed=seed)
    assert ss.first.energy == pytest.approx(exact)


def test_progress_reports_the_incumbent_as_it_improves():
    bqm = _sparse()
    events = []
    ss = SA().sample(bqm, time_limit=1.0, seed=2, num_threads=2, on_progress=events.append)
    energies = [e["energy"] for e in events]
    assert energies and all(b < a for a, b in zip(energies, energies[1:], strict=False))
    assert energies[-1] == pytest.approx(ss.first.energy)
    assert all(0.0 <= e["elapsed"] < 1.5 for e in events)


def test_explicit_parameters_keep_the_single_anneal():
    bqm = random_bqm(30, 0.3, seed=1)
    ss = SA().sample(bqm, num_reads=4, num_sweeps=100, seed=3, time_limit=100.0)
    assert "plan" not in ss.info and "num_restarts" not in ss.info and ss.info["polish"] is False
    assert len(ss) == 4 and ss.info["num_sweeps_completed"] == 100


@pytest.mark.parametrize("name, kwargs", [
    ("num_restarts", {"num_restarts": -1}),
    ("restart_sweeps", {"restart_sweeps": 0}),
    ("polish", {"polish": "yes"}),
])
def test_bad_restart_parameters_raise_naming_them(name, kwargs):
    with pytest.raises(ParameterError) as err:
        SA().sample(random_bqm(5, 0.5, seed=1), **kwargs)
    assert err.value.field == name


def test_sa_defaults_leave_a_deadline_run_to_the_sampler():
    planned = sa_defaults({}, 1000, 5000, 10.0)
    assert planned["num_reads"]["value"] is None and planned["num_sweeps"]["value"] is None
    assert "plan" in planned["num_reads"]["reason"]
    assert sa_defaults({"time_limit": 10.0}, 1000, 5000, None) == planned  # a caller's time_limit too
    assert sa_defaults({"num_reads": 8}, 1000, 5000, 10.0)["num_sweeps"]["value"] == 1000  # a fixed-size run
    assert sa_defaults({}, 1000, 5000, None)["num_reads"]["value"] == 64  # no deadline: the size rule


def test_solve_with_a_deadline_uses_the_sampler_plan():
    bqm = random_bqm(18, 0.3, seed=8)
    result = qopt.solve(bqm, backend="sa", time_budget=1.0, seed=4, lower_bound=False, presolve=False)
    assert result.provenance["defaults"]["num_reads"]["value"] is None
    plan = result.provenance["backend_info"]["plan"]
    assert plan["num_reads"] % 16 == 0 and result.timing["sample"] < 1.0 + 1.0  # generous margin
    assert result.candidates[0].energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)


@pytest.mark.parametrize("seed", [1, 2])
def test_cycles_never_lose_the_first_cycles_best_and_reproduce_on_any_thread_count(seed):
    bqm = _sparse(600, 1800, seed=seed)
    kw = dict(num_reads=16, num_sweeps=200, num_restarts=1, restart_sweeps=50, seed=seed, polish=True)
    one = SA().sample(bqm, num_threads=2, **kw)
    three = SA().sample(bqm, num_cycles=3, num_threads=2, **kw)
    again = SA().sample(bqm, num_cycles=3, num_threads=1, **kw)
    assert three.first.energy <= one.first.energy + 1e-9  # cycle 0 is the one-cycle run
    assert three.info["num_cycles_completed"] == 3 and len(three) == 16
    np.testing.assert_array_equal(three.record.sample, again.record.sample)
    np.testing.assert_allclose(three.record.energy, bqm.energies(three), rtol=1e-9)


def test_cycles_reach_the_brute_force_optimum():
    bqm = random_bqm(16, 0.4, seed=6, vartype=dimod.BINARY, offset=1.5)
    exact = dimod.ExactSolver().sample(bqm).first.energy
    ss = SA().sample(bqm, num_reads=4, num_sweeps=30, num_cycles=4, seed=3)
    assert ss.first.energy == pytest.approx(exact)


def test_planned_cycles_keep_the_deadline_and_the_plan_reproduces_them(monkeypatch):
    import qopt.samplers.sa as sa_mod

    monkeypatch.setattr(sa_mod, "PLAN_CYCLE_SECONDS", 0.25)  # a 0.8 s limit: 3 cycles
    bqm = random_bqm(80, 0.1, seed=3)
    t = time.perf_counter()
    first = SA().sample(bqm, time_limit=0.8, seed=5, num_threads=2)
    assert time.perf_counter() - t < 0.8 + 0.5  # generous margin
    plan = first.info["plan"]
    assert plan["num_cycles"] >= 3  # 3 planned, more added while one still fits
    kw = {k: plan[k] for k in ("num_reads", "num_sweeps", "num_restarts", "restart_sweeps", "num_cycles", "polish")}
    again = SA().sample(bqm, seed=5, num_threads=1, **kw)
    if not first.info["stopped_early"]:  # the deadline did not bind: the same run
        np.testing.assert_array_equal(first.record.sample, again.record.sample)


@pytest.mark.parametrize("spin_symmetric", [True, False])
def test_restart_seeds_keep_agreeing_spins_and_perturb_the_rest(spin_symmetric):
    n, reads = 4000, 16
    rng = np.random.default_rng(0)
    a = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    b = a.copy()
    b[:400] *= -1  # b differs from a on 400 spins; -b on the other 3600
    pool = np.stack([a, -b])  # -b has b's energy when the model has no linear biases
    init = restart_states(pool, reads, np.random.default_rng(1), 1, spin_symmetric)
    cross = int(RESTART_CROSSOVER_SHARE * reads)
    assert 0 < cross < reads and init.shape == (reads, n) and init.dtype == np.int8
    for r in range(cross):  # crossovers of elite r mod 2 with the other one
        mine = pool[r % 2]
        if spin_symmetric:  # aligned: the two agree (up to the flip) outside the first 400 spins
            agree = np.arange(n) >= 400
        else:  # not aligned: -b and a agree on the first 400 spins only
            agree = pool[0] == pool[1]
        np.testing.assert_array_equal(init[r][agree], mine[agree])
        differ = np.count_nonzero(init[r][~agree] != mine[~agree])
        assert 0.35 * (~agree).sum() < differ < 0.65 * (~agree).sum()  # random spins there
    for r in range(cross, reads):  # perturbed copies of elite r mod 2
        flipped = np.count_nonzero(init[r] != pool[r % 2])
        assert 0.5 * RESTART_FLIP_FRACTION * n < flipped < 1.5 * RESTART_FLIP_FRACTION * n


@pytest.mark.parametrize("seed", range(5))
def test_elite_pool_is_the_lowest_distinct_states_first_seen(seed):
    """The elite pool against its definition computed another way (numpy's row-unique, first
    occurrence, then a stable sort by energy): the same rows in the same order."""
    from qopt.samplers.sa import _elite

    rng = np.random.default_rng(seed)
    n = 4
    states = np.where(rng.random((40, n)) < 0.5, 1, -1).astype(np.int8)  # 16 states: many repeats
    energies = states.astype(float) @ rng.integers(-2, 3, n).astype(float)  # ties between distinct states
    _, first = np.unique(states, axis=0, return_index=True)
    first = np.sort(first)
    for keep in (1, 3, 8, 40):
        want = first[np.argsort(energies[first], kind="stable")][:keep]
        pool, pool_e = _elite(states, energies, keep)
        np.testing.assert_array_equal(pool, states[want])
        np.testing.assert_array_equal(pool_e, energies[want])
