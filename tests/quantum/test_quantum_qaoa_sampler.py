"""QAOASampler against brute force (dimod.ExactSolver) and Qiskit's own estimator."""
from __future__ import annotations

import dimod
import numpy as np
import pytest
from qhelpers import maxcut_bqm, qiskit_reference, random_bqm

from qopt.checks import ParameterError
from qopt.preflight import PreflightError
from qopt.samplers.qaoa import QAOASampler, ising_operator, linear_ramp
from qopt.samplers.registry import get_sampler_class


def test_registry_names_this_class():
    assert get_sampler_class("qaoa") is QAOASampler


@pytest.mark.parametrize("nodes,seed", [(8, 1), (10, 2)])
def test_maxcut_reps2_quality(nodes, seed):
    bqm = maxcut_bqm(nodes, seed)
    optimum = dimod.ExactSolver().sample(bqm).first.energy  # -(max cut)
    ss = QAOASampler().sample(bqm, reps=2, shots=2000, seed=5, optimizer="L-BFGS-B")
    assert ss.first.energy == optimum  # the optimum is among the ranked candidates
    assert ss.info["expectation"] / optimum >= 0.75  # expected cut ratio
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
    assert list(ss.record.energy) == sorted(ss.record.energy)
    assert ss.record.num_occurrences.sum() == 2000


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_random_model_optimum_among_candidates(vartype):
    bqm = random_bqm(6, vartype, seed=21)
    optimum = dimod.ExactSolver().sample(bqm).first.energy
    ss = QAOASampler().sample(bqm, reps=2, shots=2048, seed=3, optimizer="L-BFGS-B")
    assert ss.first.energy == pytest.approx(optimum)
    assert ss.vartype is bqm.vartype
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))


def test_same_seed_same_samples_and_provenance():
    bqm = random_bqm(5, "BINARY", seed=8)
    a = QAOASampler().sample(bqm, reps=2, shots=300, seed=11, maxiter=20)
    b = QAOASampler().sample(bqm, reps=2, shots=300, seed=11, maxiter=20)
    assert np.array_equal(a.record.sample, b.record.sample)
    assert np.array_equal(a.record.num_occurrences, b.record.num_occurrences)
    info = a.info
    assert info["circuit_sha256"] == b.info["circuit_sha256"] and len(info["circuit_sha256"]) == 64
    assert info["num_qubits"] == 5 and info["depth"] > 0 and info["two_qubit_gates"] > 0
    assert {"qiskit", "qiskit-aer"} <= set(info["versions"])
    assert info["transpile"]["seed_transpiler"] == 11
    assert len(info["optimizer_trace"]) == info["optimizer"]["nfev"] or info["optimizer_trace"]
    assert set(info["optimizer_trace"][0]) == {"gamma", "beta", "energy"}
    assert set(info["timing"]) >= {"preprocessing_ns", "optimization_ns", "sampling_ns", "postprocessing_ns"}


def test_core_and_aer_evaluators_agree_at_the_initial_point():
    bqm = random_bqm(6, "SPIN", seed=4)
    core = QAOASampler().sample(bqm, reps=2, shots=10, seed=1, maxiter=0)
    aer = QAOASampler().sample(bqm, reps=2, shots=10, seed=1, maxiter=0, evaluator="aer")
    x0 = np.array(core.info["initial_point"])
    ref, op = qiskit_reference(bqm, x0[:2], x0[2:])
    expected = float(ref.expectation_value(op).real)
    assert core.info["expectation"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert aer.info["expectation"] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_initial_point_order_is_gammas_then_betas():
    bqm = random_bqm(4, "SPIN", seed=2)
    ss = QAOASampler().sample(bqm, reps=2, shots=10, seed=1, maxiter=0, initial_point=[0.1, 0.2, 0.3, 0.4])
    assert ss.info["angles"] == {"gamma": [0.1, 0.2], "beta": [0.3, 0.4]}
    ref, op = qiskit_reference(bqm, np.array([0.1, 0.2]), np.array([0.3, 0.4]))
    assert ss.info["expectation"] == pytest.approx(float(ref.expectation_value(op).real), rel=1e-9, abs=1e-12)


def test_core_sampler_and_ising_operator_diagonal():
    bqm = random_bqm(5, "BINARY", seed=6)
    ss = QAOASampler().sample(bqm, reps=1, shots=500, seed=2, sampler="core")
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
    diag = np.real(np.diag(ising_operator(bqm).to_matrix()))
    assert diag.min() == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    assert linear_ramp(3).shape == (6,)


def test_refusals_and_bad_parameters():
    bqm = maxcut_bqm(10, 1)
    with pytest.raises(PreflightError, match="10 qubits"):
        QAOASampler().sample(bqm, max_qubits=8)
    with pytest.raises(ParameterError, match="reps must be >= 1, was 0"):
        QAOASampler().sample(bqm, reps=0)
    with pytest.raises(ParameterError, match="optimizer"):
        QAOASampler().sample(bqm, optimizer="magic")
    with pytest.raises(ParameterError, match="initial_point"):
        QAOASampler().sample(bqm, reps=1, initial_point=[0.1])
    with pytest.raises(ParameterError, match="evaluator"):
        QAOASampler().sample(bqm, evaluator="gpu")
