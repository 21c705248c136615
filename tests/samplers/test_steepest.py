"""SteepestDescentSampler: local minima checked by dimod flip energies and by brute force."""
from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest
from _models import flip_energies, random_bqm
from dwave.samplers import SimulatedAnnealingSampler as DWaveSA

from qopt.checks import ParameterError
from qopt.samplers.steepest import SteepestDescentSampler

SD = SteepestDescentSampler


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_local_minima_and_never_worse(vartype):
    bqm = random_bqm(60, 0.2, seed=1, vartype=vartype, labels=[f"v{i}" for i in range(60)], offset=-3.0)
    init = dimod.RandomSampler().sample(bqm, num_reads=25, seed=4)
    ss = SD().sample(bqm, initial_states=init)
    assert len(ss) == 25 and ss.vartype is vartype
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9, atol=1e-9)
    assert (flip_energies(bqm, ss) >= -1e-9).all()
    # row k descends from initial state k
    assert (ss.record.energy <= init.record.energy + 1e-9).all()
    assert (ss.info["num_flips"] >= 0).all()


def test_polishes_another_backend_in_other_vartype():
    # initial states from dwave-samplers, in SPIN, for a BINARY model
    bqm = random_bqm(40, 0.3, seed=2, vartype=dimod.BINARY)
    spin_bqm = bqm.change_vartype(dimod.SPIN, inplace=False)
    init = DWaveSA().sample(spin_bqm, num_reads=10, num_sweeps=5, seed=7)
    ss = SD().sample(bqm, initial_states=init)
    assert ss.vartype is dimod.BINARY
    before = bqm.energies(init.change_vartype(dimod.BINARY, inplace=False))
    assert (ss.record.energy <= before + 1e-9).all()
    assert (flip_energies(bqm, ss) >= -1e-9).all()


def test_every_start_of_a_tiny_model_ends_in_a_brute_force_local_minimum():
    n = 10
    bqm = random_bqm(n, 0.6, seed=3)
    states = np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.int8)
    energies = bqm.energies((states, range(n)))
    index = {tuple(s): k for k, s in enumerate(states)}
    # brute-force local minima: no neighbour (one flip) has lower energy
    is_min = np.ones(len(states), bool)
    for k, s in enumerate(states):
        for i in range(n):
            t = s.copy()
            t[i] = -t[i]
            if energies[index[tuple(t)]] < energies[k] - 1e-12:
                is_min[k] = False
                break
    ss = SD().sample(bqm, initial_states=(states, range(n)))
    out = ss.record.sample[:, [ss.variables.index(v) for v in range(n)]]
    for k, s in enumerate(out):
        assert is_min[index[tuple(s)]]
        assert energies[index[tuple(s)]] <= energies[k] + 1e-12


def test_ground_state_is_fixed_point():
    bqm = random_bqm(12, 0.5, seed=6)
    gs = dimod.ExactSolver().sample(bqm).first
    ss = SD().sample(bqm, initial_states=[gs.sample])
    assert ss.first.sample == gs.sample
    assert ss.info["num_flips"][0] == 0


def test_random_starts_seeded_and_thread_independent():
    bqm = random_bqm(50, 0.3, seed=5)
    a = SD().sample(bqm, num_reads=12, seed=9, num_threads=1)
    b = SD().sample(bqm, num_reads=12, seed=9, num_threads=2)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    assert a.info["seed"] == 9 and len(a) == 12
    assert (flip_energies(bqm, a) >= -1e-9).all()


@pytest.mark.parametrize("name,kwargs", [
    ("num_reads", {"num_reads": 0}),
    ("num_threads", {"num_threads": 0}),
    ("seed", {"seed": -2}),
    ("initial_states_generator", {"initial_states_generator": "zeros"}),
])
def test_bad_parameters_raise(name, kwargs):
    with pytest.raises(ParameterError) as err:
        SD().sample(random_bqm(4, 0.5, seed=1), **kwargs)
    assert err.value.field == name


def test_mismatched_initial_states_raise():
    bqm = random_bqm(4, 0.5, seed=1)
    with pytest.raises(ValueError):
        SD().sample(bqm, initial_states=([[1, -1, 1]], ["a", "b", "c"]))


def _reference_descent(bqm, sample):
    """Plain numpy steepest descent (most negative flip energy, first index on ties)."""
    h, (r, c, q), _ = bqm.spin.to_numpy_vectors(range(bqm.num_variables))
    n = bqm.num_variables
    Jm = np.zeros((n, n))
    Jm[r, c] = q
    Jm[c, r] = q
    s = np.array(sample, dtype=float)
    while True:
        dE = -2.0 * s * (h + Jm @ s)
        k = int(np.argmin(dE))
        if dE[k] >= -1e-9:
            return s
        s[k] = -s[k]


@pytest.mark.parametrize("n,density", [(300, 0.02), (40, 0.8)])  # heap path and scan path
def test_matches_reference_descent(n, density):
    bqm = random_bqm(n, density, seed=12)
    starts = np.random.default_rng(3).choice([-1, 1], size=(4, n))
    ss = SD().sample(bqm, initial_states=(starts, range(n)))
    got = ss.record.sample[:, [ss.variables.index(v) for v in range(n)]]
    for k in range(4):
        np.testing.assert_array_equal(got[k], _reference_descent(bqm, starts[k]))


def test_timing_info():
    ss = SD().sample(random_bqm(10, 0.5, seed=1), num_reads=2, seed=1)
    assert set(ss.info["timing"]) == {"preprocessing_ns", "sampling_ns", "postprocessing_ns"}
