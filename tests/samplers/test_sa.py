"""SimulatedAnnealingSampler against independent references (dimod energies,
dimod.ExactSolver, published OR-Library optima). No timings are asserted."""
from __future__ import annotations

import os
import signal
import threading

import dimod
import numpy as np
import pytest
from _models import best_known, bqp_as_min_bqm, flip_energies, random_bqm, read_orlib_bqp

from qopt.checks import ParameterError
from qopt.samplers.sa import SimulatedAnnealingSampler

SA = SimulatedAnnealingSampler


def big_sparse_bqm(n=2000, m=6000, seed=4):
    """A sparse model large enough that 10**5 sweeps take minutes."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, size=(2, m))
    keep = i != j
    return dimod.BQM.from_ising(rng.normal(size=n), dict(zip(zip(i[keep], j[keep], strict=True), rng.normal(size=keep.sum()), strict=True)))


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
@pytest.mark.parametrize("density", [0.2, 1.0])  # sparse and dense kernels
def test_energies_equal_dimod(vartype, density):
    labels = [f"x{i}" for i in range(40)]
    bqm = random_bqm(40, density, seed=3, vartype=vartype, labels=labels, offset=7.25)
    ss = SA().sample(bqm, num_reads=20, num_sweeps=50, seed=11)
    assert ss.vartype is vartype
    assert set(ss.variables) == set(labels)
    assert len(ss) == 20
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9, atol=1e-9)
    assert ss.info["kernel"] == ("dense" if density == 1.0 else "sparse")


def test_large_scale_biases_energies_exact():
    # biases spanning many orders of magnitude: energies must still be exact
    bqm = random_bqm(30, 0.5, seed=5)
    bqm.scale(1e6)
    bqm.add_linear(0, 1e-3)
    ss = SA().sample(bqm, num_reads=8, num_sweeps=100, seed=1, polish=True)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-12)


@pytest.mark.parametrize("density", [0.3, 1.0])
def test_same_seed_same_samples_any_threads(density):
    bqm = random_bqm(60, density, seed=2)
    a = SA().sample(bqm, num_reads=21, num_sweeps=100, seed=123, num_threads=1)
    b = SA().sample(bqm, num_reads=21, num_sweeps=100, seed=123, num_threads=2)
    c = SA().sample(bqm, num_reads=21, num_sweeps=100, seed=124, num_threads=2)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    np.testing.assert_array_equal(a.record.energy, b.record.energy)
    assert not np.array_equal(a.record.sample, c.record.sample)
    # read r does not depend on how many reads run alongside it (groups of 4, 8, 16 lanes)
    for k in (1, 3, 5, 8):
        d = SA().sample(bqm, num_reads=k, num_sweeps=100, seed=123)
        np.testing.assert_array_equal(a.record.sample[:k], d.record.sample)


@pytest.mark.parametrize("seed", range(6))
def test_reaches_exact_optimum_small(seed):
    n = 10 + seed
    for vartype, density in [(dimod.SPIN, 0.5), (dimod.BINARY, 1.0)]:
        bqm = random_bqm(n, density, seed=100 + seed, vartype=vartype)
        exact = dimod.ExactSolver().sample(bqm).first.energy
        ss = SA().sample(bqm, num_reads=16, num_sweeps=200, seed=seed)
        assert ss.first.energy == pytest.approx(exact, abs=1e-9)


@pytest.mark.shared_data
def test_bqp50_proven_optima(shared_data):
    problems = read_orlib_bqp(shared_data / "orlib_bqp" / "bqp50.txt")
    assert len(problems) == 10
    for k, (n, q) in enumerate(problems, start=1):
        bqm = bqp_as_min_bqm(n, q)
        ss = SA().sample(bqm, num_reads=16, num_sweeps=500, seed=k, num_threads=2)
        assert -ss.first.energy == best_known(shared_data, f"bqp50-{k}"), f"bqp50-{k}"


def test_time_limit_returns_early_with_valid_samples():
    bqm = big_sparse_bqm()
    ss = SA().sample(bqm, num_reads=64, num_sweeps=10**5, seed=1, time_limit=0.05, num_threads=2)
    assert ss.info["stopped_early"] is True
    assert ss.info["num_sweeps_completed"] < 10**5
    assert 8 <= len(ss) <= 64
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9)
    assert set(np.unique(ss.record.sample)) <= {-1, 1}


def test_no_time_limit_not_stopped():
    bqm = random_bqm(20, 0.5, seed=4)
    ss = SA().sample(bqm, num_reads=3, num_sweeps=10, seed=1, time_limit=100.0)
    assert ss.info["stopped_early"] is False and ss.info["interrupted"] is False
    assert ss.info["num_sweeps_completed"] == 10 and len(ss) == 3


def test_sigint_returns_states_reached():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread only")
    bqm = big_sparse_bqm()
    timer = threading.Timer(0.2, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.warns(RuntimeWarning, match="interrupted"):
            ss = SA().sample(bqm, num_reads=16, num_sweeps=10**5, seed=1)
    finally:
        timer.cancel()
    assert ss.info["interrupted"] is True and ss.info["stopped_early"] is True
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9)


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_zero_sweeps_returns_initial_states(vartype):
    bqm = random_bqm(12, 0.5, seed=8, vartype=vartype, labels="abcdefghijkl")
    rng = np.random.default_rng(0)
    vals = [-1, 1] if vartype is dimod.SPIN else [0, 1]
    init = rng.choice(vals, size=(5, 12))
    # columns in a different order from bqm.variables
    order = list("lkjihgfedcba")
    ss = SA().sample(bqm, initial_states=(init, order), num_sweeps=0, seed=1)
    assert len(ss) == 5
    got = ss.record.sample[:, [ss.variables.index(v) for v in order]]
    np.testing.assert_array_equal(got, init)
    np.testing.assert_allclose(ss.record.energy, bqm.energies((init, order)))


def test_initial_states_used_at_cold_temperature():
    # at a very cold fixed temperature, a ground state stays put
    bqm = random_bqm(12, 0.6, seed=9)
    gs = dimod.ExactSolver().sample(bqm).first.sample
    ss = SA().sample(bqm, initial_states=[gs] * 3, num_sweeps=20, beta_range=(1e3, 1e3), seed=2)
    for s in ss.samples():
        assert dict(s) == gs


@pytest.mark.parametrize("density", [0.1, 1.0])
def test_polish_gives_local_minima(density):
    bqm = random_bqm(80, density, seed=10, vartype=dimod.BINARY)
    ss = SA().sample(bqm, num_reads=10, num_sweeps=3, seed=3, polish=True)
    assert ss.info["polish"] is True
    assert (flip_energies(bqm, ss) >= -1e-9).all()
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9)


def test_empty_and_linear_only_models():
    ss = SA().sample(dimod.BQM(dimod.SPIN), num_reads=3, seed=1)
    assert len(ss) == 3 and len(ss.variables) == 0
    bqm = dimod.BQM({"a": 1.0, "b": -2.0}, {}, 0.5, dimod.BINARY)
    ss = SA().sample(bqm, num_reads=4, num_sweeps=100, seed=1)
    assert ss.first.sample == {"a": 0, "b": 1}
    assert ss.first.energy == pytest.approx(-1.5)


@pytest.mark.parametrize("name,kwargs", [
    ("num_reads", {"num_reads": 0}),
    ("num_sweeps", {"num_sweeps": -1}),
    ("num_threads", {"num_threads": 0}),
    ("seed", {"seed": -1}),
    ("time_limit", {"time_limit": 0}),
    ("beta_range", {"beta_range": (1.0,)}),
    ("beta_range", {"beta_range": (-1.0, 2.0)}),
    ("beta_schedule_type", {"beta_schedule_type": "cosine"}),
    ("polish", {"polish": "yes"}),
    ("initial_states_generator", {"initial_states_generator": "zeros"}),
])
def test_bad_parameters_raise(name, kwargs):
    bqm = random_bqm(5, 0.5, seed=1)
    with pytest.raises(ParameterError) as err:
        SA().sample(bqm, **kwargs)
    assert err.value.field == name
    assert str(err.value).startswith(name)


def test_parameters_and_properties():
    s = SA()
    for p in ("num_reads", "num_sweeps", "beta_range", "seed", "num_threads", "initial_states",
              "time_limit", "polish"):
        assert p in s.parameters
    assert "beta_schedule_options" in s.properties


def test_timing_info():
    ss = SA().sample(random_bqm(10, 0.5, seed=1), num_reads=2, num_sweeps=10, seed=1)
    assert set(ss.info["timing"]) == {"preprocessing_ns", "sampling_ns", "postprocessing_ns"}
    assert all(v >= 0 for v in ss.info["timing"].values())


def test_interrupt_event_stops_between_sweeps():
    bqm = big_sparse_bqm()
    event = threading.Event()
    timer = threading.Timer(0.1, event.set)
    timer.start()
    try:
        ss = SA().sample(bqm, num_reads=32, num_sweeps=10**5, seed=1, interrupt=event, num_threads=2)
    finally:
        timer.cancel()
    assert ss.info["interrupted"] is True and ss.info["stopped_early"] is True
    assert ss.info["num_sweeps_completed"] < 10**5
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9)
    with pytest.raises(ParameterError) as err:
        SA().sample(bqm, num_reads=1, num_sweeps=1, interrupt=object())
    assert err.value.field == "interrupt"


def test_custom_beta_schedule():
    bqm = random_bqm(30, 0.3, seed=2)
    sched = np.geomspace(0.01, 5.0, 200)
    a = SA().sample(bqm, num_reads=16, beta_schedule_type="custom", beta_schedule=sched, seed=3)
    b = SA().sample(bqm, num_reads=16, beta_range=(0.01, 5.0), num_sweeps=200, seed=3)
    assert a.info["num_sweeps"] == 200
    np.testing.assert_array_equal(a.record.sample, b.record.sample)  # same betas, same seed
    for kwargs, name in [({"beta_schedule_type": "custom"}, "beta_schedule"),
                         ({"beta_schedule_type": "custom", "beta_schedule": [1.0, -1.0]}, "beta_schedule"),
                         ({"beta_schedule": [1.0]}, "beta_schedule"),
                         ({"beta_schedule_type": "custom", "beta_schedule": [1.0], "num_sweeps": 5}, "num_sweeps")]:
        with pytest.raises(ParameterError) as err:
            SA().sample(bqm, **kwargs)
        assert err.value.field == name


@pytest.mark.parametrize("seed", range(4))
def test_default_beta_range_matches_dwave_samplers(seed):
    from dwave.samplers.sa.sampler import _default_ising_beta_range

    from qopt.samplers.sa import default_beta_range, ising_csr

    rng = np.random.default_rng(seed)
    bqm = random_bqm(30, 0.2, seed=seed)
    bqm.add_variable("isolated", 0.0)
    if seed % 2:  # integer biases: several variables share the smallest gap
        bqm = dimod.BQM({v: float(rng.integers(-3, 4)) for v in bqm.variables},
                        {uv: float(rng.integers(-3, 4)) for uv in bqm.quadratic}, 0.0, dimod.SPIN)
    h, rp, _, J, _ = ising_csr(bqm)
    np.testing.assert_allclose(default_beta_range(h, rp, J), _default_ising_beta_range(bqm.linear, bqm.quadratic))


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test extra
    given = None

if given is not None:
    @settings(max_examples=30, deadline=None)
    @given(n=st.integers(0, 40), density=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
           vartype=st.sampled_from([dimod.SPIN, dimod.BINARY]), seed=st.integers(0, 2**31),
           reads=st.integers(1, 40), threads=st.integers(1, 3), polish=st.booleans(),
           integer=st.booleans())
    def test_random_models_energies_and_polish(n, density, vartype, seed, reads, threads, polish, integer):
        bqm = random_bqm(n, density, seed=seed % 1000, vartype=vartype, offset=1.5)
        if integer:
            bqm = dimod.BQM({v: round(b * 3) for v, b in bqm.linear.items()},
                            {uv: round(b * 3) for uv, b in bqm.quadratic.items()}, 2.0, vartype)
        ss = SA().sample(bqm, num_reads=reads, num_sweeps=20, seed=seed, num_threads=threads, polish=polish)
        assert len(ss) == reads
        np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9, atol=1e-9)
        if polish and n:
            assert (flip_energies(bqm, ss) >= -1e-9).all()
