"""Preflight numbers and refusals for the quantum backends."""
from __future__ import annotations

import dimod
import pytest
from dwave.samplers import SimulatedAnnealingSampler
from dwave.system.testing import MockDWaveSampler
from qhelpers import maxcut_bqm

from qopt.errors import ParameterError
from qopt.preflight import PreflightError, preflight


def test_qaoa_preflight_counts():
    bqm = maxcut_bqm(10, 1)
    out = preflight(bqm, "qaoa", reps=2, shots=500)
    assert out["qubits"] == 10 and out["shots"] == 500
    # one RZZ per interaction and layer (Aer's basis has rzz), counted independently here
    assert out["two_qubit_gates"] == 2 * bqm.num_interactions
    assert out["depth"] >= 2 * 3  # at least 3 edge colours of a 3-regular graph per layer
    assert out["memory_bytes"] == 2 ** 10 * 24
    assert out["estimated_seconds"] > 0


def test_qaoa_preflight_refusals():
    bqm = maxcut_bqm(26, 1)
    with pytest.raises(PreflightError, match="26 qubits, more than max_qubits=24"):
        preflight(bqm, "qaoa")
    # max_qubits cannot lift the advertised budget (QAOA_MAX_QUBITS)
    with pytest.raises(ParameterError, match="max_qubits must be <= 24, was 30"):
        preflight(bqm, "qaoa", max_qubits=30, max_memory=1_000_000, transpile=False)
    with pytest.raises(PreflightError, match=r"needs 25165824 bytes .* limit of 1000000 bytes"):
        preflight(maxcut_bqm(20, 1), "qaoa", max_memory=1_000_000, transpile=False)


def test_dwave_preflight_on_mock_and_default_topology():
    bqm = dimod.generators.ran_r(1, 10, seed=2)
    child = MockDWaveSampler(topology_type="pegasus", topology_shape=[4],
                             substitute_sampler=SimulatedAnnealingSampler(), parameter_warnings=False)
    out = preflight(bqm, "dwave", child_sampler=child, num_reads=10, annealing_time=50)
    assert out["physical_qubits"] >= 10 and out["max_chain_length"] >= 2
    assert out["target"] == "MockDWaveSampler"
    default = preflight(bqm, "dwave")
    assert default["topology"]["type"] == "pegasus" and default["physical_qubits"] >= 10


def test_dwave_preflight_refuses_what_does_not_embed():
    bqm = dimod.generators.ran_r(1, 40, seed=2)  # K40 cannot embed in a P2 fragment
    child = MockDWaveSampler(topology_type="pegasus", topology_shape=[2], parameter_warnings=False)
    with pytest.raises(PreflightError, match="40 variables"):
        preflight(bqm, "dwave", child_sampler=child, embedding_timeout=2)
