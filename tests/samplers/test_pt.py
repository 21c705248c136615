"""Replica exchange sampler (qopt.samplers.pt): brute-force and Biq Mac optima, swap
statistics, the same answer for the same seed, parameter errors naming the parameter."""
from __future__ import annotations

import threading
import time
import unittest

import dimod
import dimod.testing
import numpy as np
import pytest
from _models import random_bqm

import qopt
from qopt.data import best_known
from qopt.errors import ParameterError
from qopt.io import read_instance
from qopt.samplers.pt import ReplicaExchangeSampler as PT
from qopt.samplers.registry import get_sampler


@dimod.testing.load_sampler_bqm_tests(PT)
class TestDimodSamplerChecks(unittest.TestCase):
    """dimod.testing's generated sampler checks (API, energies, vartypes, empty models)."""


def test_dimod_sampler_api():
    dimod.testing.assert_sampler_api(PT())


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reaches_brute_force_optimum(vartype, seed):
    bqm = random_bqm(14, 0.4, seed=seed, vartype=vartype, offset=1.5)
    exact = dimod.ExactSolver().sample(bqm).first.energy
    ss = PT().sample(bqm, num_reads=2, num_sweeps=300, num_replicas=8, seed=seed)
    assert ss.vartype is vartype
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9, atol=1e-9)
    assert ss.first.energy == pytest.approx(exact)


@pytest.mark.parametrize("name", ["pm1s_80.0", "gka1a"])
def test_shipped_biqmac_optimum(name):
    inst = read_instance(name)
    ss = PT().sample(inst.bqm, num_reads=2, num_replicas=16, num_sweeps=3000, descent_interval=20, seed=5)
    assert inst.to_objective(ss.first.energy) == pytest.approx(best_known(name))


def test_swap_statistics_and_ladder_in_info():
    bqm = random_bqm(40, 0.2, seed=9)
    ss = PT().sample(bqm, num_reads=3, num_replicas=10, num_sweeps=1200, beta_range=(0.05, 5.0),
                     tune_fraction=0.5, seed=4)
    info = ss.info
    assert len(info["swap_acceptance"]) == 9 and all(0.0 < a <= 1.0 for a in info["swap_acceptance"])
    assert len(info["betas"]) == 10
    assert info["betas"][0] == pytest.approx(0.05) and info["betas"][-1] == pytest.approx(5.0)
    assert all(a < b for a, b in zip(info["betas"], info["betas"][1:], strict=False))
    assert info["round_trips"] > 0
    assert info["num_sweeps"] == info["num_sweeps_completed"] == 1200 and not info["stopped_early"]
    assert set(info["timing"]) == {"preprocessing_ns", "sampling_ns", "postprocessing_ns"}


def test_descent_and_perturbation_counted():
    bqm = random_bqm(60, 0.1, seed=2)
    ss = PT().sample(bqm, num_reads=2, num_replicas=6, num_sweeps=400, descent_interval=10, perturb_after=2,
                     seed=8)
    assert ss.info["num_descents"] == 2 * 40 and ss.info["num_perturbations"] > 0


def test_same_seed_same_answer_on_one_and_two_threads():
    bqm = random_bqm(50, 0.2, seed=3)
    kw = dict(num_reads=4, num_replicas=8, num_sweeps=300, descent_interval=25, seed=11)
    a = PT().sample(bqm, num_threads=1, **kw)
    b = PT().sample(bqm, num_threads=2, **kw)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    assert a.info["swap_acceptance"] == b.info["swap_acceptance"]
    c = PT().sample(bqm, num_threads=2, **{**kw, "seed": 12})
    assert c.info["swap_acceptance"] != a.info["swap_acceptance"]


@pytest.mark.parametrize("name, kwargs", [
    ("num_replicas", {"num_replicas": 1}),
    ("num_reads", {"num_reads": 0}),
    ("num_sweeps", {"num_sweeps": -1}),
    ("beta_range", {"beta_range": (2.0, 1.0)}),
    ("beta_range", {"beta_range": (0.0, 1.0)}),
    ("tune_fraction", {"tune_fraction": 1.0}),
    ("tune_interval", {"tune_interval": 0}),
    ("descent_interval", {"descent_interval": -1}),
    ("perturb_after", {"perturb_after": 0}),
    ("seed", {"seed": -1}),
    ("num_threads", {"num_threads": 0}),
    ("time_limit", {"time_limit": 0}),
    ("interrupt", {"interrupt": object()}),
    ("on_progress", {"on_progress": 3}),
])
def test_bad_parameters_raise_naming_them(name, kwargs):
    with pytest.raises(ParameterError) as err:
        PT().sample(random_bqm(5, 0.5, seed=1), **kwargs)
    assert err.value.field == name and str(err.value).startswith(name)


def test_time_limit_alone_plans_the_sweeps_and_is_kept():
    bqm = random_bqm(300, 0.05, seed=5)
    t = time.perf_counter()
    ss = PT().sample(bqm, time_limit=0.5, num_reads=2, seed=1)
    wall = time.perf_counter() - t
    assert wall < 0.5 + 1.0  # generous: the limit stops every ladder at its next sweep
    assert ss.info["calibration"]["sweeps"] == 20 and ss.info["num_sweeps"] >= 1
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9)


def test_interrupt_stops_the_run():
    event = threading.Event()
    event.set()
    ss = PT().sample(random_bqm(30, 0.3, seed=1), num_reads=3, num_sweeps=10**9, interrupt=event, seed=1)
    assert ss.info["interrupted"] and ss.info["stopped_early"] and 1 <= len(ss) <= 3
    assert ss.info["num_sweeps_completed"] < 10**9


def test_progress_events_improve_and_end_at_the_best():
    bqm = random_bqm(200, 0.05, seed=6)
    events = []
    ss = PT().sample(bqm, num_reads=2, num_sweeps=2000, seed=3, on_progress=events.append)
    energies = [e["energy"] for e in events]
    assert energies and all(b < a for a, b in zip(energies, energies[1:], strict=False))
    assert energies[-1] == pytest.approx(ss.first.energy)
    assert {e["backend"] for e in events} == {"pt"}


def test_backend_pt_through_solve():
    bqm = random_bqm(12, 0.5, seed=7)
    assert isinstance(get_sampler("pt"), PT)
    result = qopt.solve(bqm, backend="pt", seed=2, num_sweeps=300, lower_bound=False)
    assert result.candidates[0].energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    assert result.provenance["backend"] == "pt"
