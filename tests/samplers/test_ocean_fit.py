"""Ocean fit: dwave-samplers' keyword arguments on qopt.SimulatedAnnealingSampler (the same
meaning, or a ParameterError naming them), dimod's sampler checks, Ocean's timing and
embedding_context names on qopt.DWaveSampler, and a caller's sampler object on the pipeline
(qopt.solve(sampler=...) and an in-process server). No timings are asserted."""
from __future__ import annotations

import threading
import time
import unittest
import warnings

import dimod
import dimod.testing
import numpy as np
import pytest
from _models import random_bqm, sparse_bqm

import qopt
from qopt.errors import ParameterError
from qopt.samplers.sa import SimulatedAnnealingSampler as SA


@dimod.testing.load_sampler_bqm_tests(SA)
class TestDimodSamplerChecks(unittest.TestCase):
    """dimod.testing's generated sampler checks (API, energies, vartypes, empty models)."""


def test_dimod_sampler_api():
    dimod.testing.assert_sampler_api(SA())


def test_num_sweeps_per_beta_repeats_each_beta():
    bqm = random_bqm(30, 0.3, seed=2)
    betas = np.geomspace(0.05, 3.0, 25)
    a = SA().sample(bqm, num_reads=16, num_sweeps=100, num_sweeps_per_beta=4, beta_range=(0.05, 3.0), seed=3)
    b = SA().sample(bqm, num_reads=16, beta_schedule_type="custom", beta_schedule=np.repeat(betas, 4), seed=3)
    c = SA().sample(bqm, num_reads=16, beta_schedule_type="custom", beta_schedule=betas, num_sweeps_per_beta=4,
                    seed=3)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)  # same betas, same seed
    np.testing.assert_array_equal(a.record.sample, c.record.sample)
    assert a.info["num_sweeps"] == c.info["num_sweeps"] == 100 and a.info["num_sweeps_per_beta"] == 4


@pytest.mark.parametrize("per_beta", [6, 60])
def test_same_schedule_as_dwave_samplers_gives_similar_energies(per_beta):
    from dwave.samplers import SimulatedAnnealingSampler as DwaveSA

    bqm = random_bqm(40, 0.3, seed=5)
    kw = {"num_reads": 64, "num_sweeps": 60, "num_sweeps_per_beta": per_beta, "beta_range": (0.05, 3.0)}
    ours = SA().sample(bqm, seed=1, **kw).record.energy.mean()
    theirs = DwaveSA().sample(bqm, seed=1, **kw).record.energy.mean()
    best = min(SA().sample(bqm, num_reads=64, num_sweeps=2000, seed=2).record.energy)
    assert abs(ours - theirs) <= 0.1 * abs(best), (ours, theirs, best)


def test_one_beta_schedule_is_the_cold_end_as_in_dwave_samplers():
    bqm = random_bqm(20, 0.5, seed=1)
    a = SA().sample(bqm, num_reads=16, num_sweeps=10, num_sweeps_per_beta=10, beta_range=(0.01, 7.0), seed=4)
    b = SA().sample(bqm, num_reads=16, beta_schedule_type="custom", beta_schedule=[7.0] * 10, seed=4)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)


@pytest.mark.parametrize("kwargs, field", [
    ({"num_sweeps": 10, "num_sweeps_per_beta": 3}, "num_sweeps"),
    ({"num_sweeps_per_beta": 0}, "num_sweeps_per_beta"),
    ({"beta_schedule_type": "custom", "beta_schedule": [1.0, 2.0], "num_sweeps_per_beta": 2, "num_sweeps": 2},
     "num_sweeps"),
    ({"beta_schedule_type": "custom", "beta_schedule": [1.0, 2.0], "beta_range": (1.0, 3.0)}, "beta_range"),
    ({"randomize_order": True}, "randomize_order"),
    ({"proposal_acceptance_criteria": "Gibbs"}, "proposal_acceptance_criteria"),
    ({"proposal_acceptance_criteria": "Glauber"}, "proposal_acceptance_criteria"),
    ({"interrupt_function": 3}, "interrupt_function"),
])
def test_unsupported_or_bad_ocean_options_raise_naming_them(kwargs, field):
    with pytest.raises(ParameterError) as err:
        SA().sample(random_bqm(5, 0.5, seed=1), num_reads=2, **kwargs)
    assert err.value.field == field
    assert str(err.value).startswith(field)


def test_supported_ocean_options_are_accepted_without_warnings():
    bqm = random_bqm(10, 0.5, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warned-and-ignored keyword would fail here
        ss = SA().sample(bqm, num_reads=4, num_sweeps=20, num_sweeps_per_beta=2, randomize_order=False,
                         proposal_acceptance_criteria="Metropolis", interrupt_function=lambda: False,
                         beta_schedule_type="geometric", seed=7, initial_states_generator="random")
        custom = SA().sample(bqm, num_reads=4, beta_schedule_type="custom", beta_schedule=[0.1, 1.0],
                             beta_range=(0.1, 1.0), seed=7)
    assert len(ss) == 4 and ss.info["interrupted"] is False
    assert custom.info["num_sweeps"] == 2
    for name in ("num_sweeps_per_beta", "randomize_order", "proposal_acceptance_criteria", "interrupt_function"):
        assert name in SA().parameters


def test_interrupt_function_stops_the_run_early():
    bqm = sparse_bqm()
    t0 = time.monotonic()
    calls = []

    def stop():
        calls.append(1)
        return time.monotonic() - t0 > 0.1

    ss = SA().sample(bqm, num_reads=32, num_sweeps=10**5, seed=1, interrupt_function=stop)
    assert calls and ss.info["interrupted"] is True and ss.info["stopped_early"] is True
    assert ss.info["num_sweeps_completed"] < 10**5
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-9)


def test_interrupt_function_error_is_raised():
    def broken():
        raise RuntimeError("broken callback")

    with pytest.raises(RuntimeError, match="broken callback"):
        SA().sample(sparse_bqm(), num_reads=16, num_sweeps=10**5, seed=1, interrupt_function=broken)


def _mock_child():
    from dwave.samplers import SimulatedAnnealingSampler as DwaveSA
    from dwave.system.testing import MockDWaveSampler

    return MockDWaveSampler(topology_type="pegasus", topology_shape=[6], substitute_sampler=DwaveSA())


def test_dwave_timing_and_embedding_context_as_ocean_names_them():
    from dwave.system import EmbeddingComposite

    from qopt.samplers.dwave import DWaveSampler

    child = _mock_child()
    bqm = random_bqm(10, 0.5, seed=3)
    ss = DWaveSampler(child_sampler=child).sample(bqm, num_reads=10, seed=1)
    ocean = EmbeddingComposite(child).sample(bqm, num_reads=10, return_embedding=True)
    timing = ss.info["timing"]
    assert "qpu_timing" not in timing
    for key, value in ocean.info["timing"].items():  # qpu_access_time, qpu_sampling_time, ...
        assert timing[key] == value
    assert {"embedding_ns", "sampling_ns", "postprocessing_ns"} <= set(timing)
    context = ss.info["embedding_context"]
    assert set(context) == set(ocean.info["embedding_context"])
    assert set(context["embedding"]) == set(bqm.variables)
    assert all(isinstance(chain, tuple) and chain for chain in context["embedding"].values())
    assert context["chain_strength"] == ss.info["chain_strength"]
    assert set(context["timing"]) == {"embedding", "unembedding"}


def test_solve_with_a_callers_sampler_returns_the_brute_force_optimum():
    bqm = random_bqm(10, 0.5, seed=8)
    result = qopt.solve(bqm, sampler=dimod.ExactSolver())
    assert result.candidates[0].energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    assert result.provenance["backend"] == "custom:ExactSolver"
    assert result.provenance["routing"]["backend"] == "custom:ExactSolver"


def test_solve_with_an_ocean_composite_on_the_mock_qpu():
    from dwave.system import EmbeddingComposite

    bqm = random_bqm(8, 0.5, seed=9)
    result = qopt.solve(bqm, sampler=EmbeddingComposite(_mock_child()), num_reads=20)
    assert result.provenance["backend"] == "custom:EmbeddingComposite"
    assert result.candidates[0].energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    with pytest.raises(ParameterError) as err:
        qopt.solve(bqm, sampler=EmbeddingComposite(_mock_child()), no_such_parameter=1)
    assert err.value.field == "no_such_parameter"


def test_solve_with_sampler_refuses_bad_arguments():
    bqm = random_bqm(5, 0.5, seed=1)
    from qopt.samplers.registry import register_sampler, using_sampler

    for bad in (lambda: register_sampler(object()), lambda: using_sampler(object()).__enter__()):
        with pytest.raises(ParameterError) as err:
            bad()
        assert err.value.field == "sampler"
    with pytest.raises(ParameterError) as err:
        qopt.solve(bqm, backend="sa", sampler=dimod.ExactSolver())
    assert err.value.field == "backend"
    with pytest.raises(qopt.errors.UnknownBackendError):
        qopt.solve(bqm, backend="custom:NotRegistered")


def test_constrained_model_on_a_callers_sampler():
    cqm = dimod.ConstrainedQuadraticModel()
    x = [dimod.Binary(f"x{i}") for i in range(4)]
    cqm.set_objective(-sum((i + 1) * v for i, v in enumerate(x)))
    cqm.add_constraint(sum(x) <= 2, label="pick2")
    result = qopt.solve(cqm, sampler=dimod.ExactSolver())
    best = result.candidates[0]
    assert best.feasible and best.objective == pytest.approx(-7.0)
    assert result.provenance["backend"].startswith("custom:ExactSolver")


def test_registered_sampler_is_served_by_an_in_process_server():
    from qopt.client import Client
    from qopt.samplers.registry import register_sampler, unregister_sampler
    from qopt.service.server import Server

    name = register_sampler(dimod.ExactSolver(), "exact_solver")
    srv = Server("127.0.0.1:0", max_workers=2).start()
    try:
        bqm = random_bqm(8, 0.5, seed=4)
        with Client(srv.address) as client:
            result = client.solve(bqm, backend=name)
        assert name == "custom:exact_solver"
        assert result.provenance["backend"] == name
        assert result.candidates[0].energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    finally:
        srv.stop(grace=1.0)
        unregister_sampler(name)


def test_using_sampler_is_local_to_its_thread():
    from qopt.samplers.registry import get_sampler, using_sampler

    seen = {}
    with using_sampler(dimod.ExactSolver()) as name:
        assert isinstance(get_sampler(name), dimod.ExactSolver)

        def other():
            try:
                get_sampler(name)
            except qopt.errors.UnknownBackendError:
                seen["other"] = "unknown"

        t = threading.Thread(target=other)
        t.start()
        t.join(10)
    assert seen == {"other": "unknown"}
