"""DWaveSampler end to end on dwave.system.testing.MockDWaveSampler, and the credentials error."""
from __future__ import annotations

import socket

import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler
from dwave.system.testing import MockDWaveSampler

from qopt.samplers.dwave import DWaveConfigurationError, DWaveSampler
from qopt.samplers.registry import get_sampler_class


def mock(topology="pegasus", shape=None):
    shape = shape or ([4] if topology == "pegasus" else [2, 4])
    return MockDWaveSampler(topology_type=topology, topology_shape=shape,
                            substitute_sampler=SimulatedAnnealingSampler(),
                            substitute_kwargs={"seed": 7, "num_sweeps": 2000}, parameter_warnings=False)


def test_registry_names_this_class():
    assert get_sampler_class("dwave") is DWaveSampler


@pytest.mark.parametrize("topology", ["pegasus", "zephyr"])
def test_end_to_end_on_mock(topology):
    bqm = dimod.generators.ran_r(1, 12, seed=3)  # dense: needs chains on both topologies
    sampler = DWaveSampler(child_sampler=mock(topology))
    ss = sampler.sample(bqm, num_reads=30, seed=1)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
    assert set(ss.variables) == set(bqm.variables)
    assert ss.first.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    emb = ss.info["embedding"]
    assert emb["physical_qubits"] > 12 and emb["max_chain_length"] >= 2 and not emb["cache_hit"]
    assert 0.0 <= ss.info["chain_break_fraction"] <= 1.0
    assert ss.info["chain_strength"] > 0
    assert ss.info["solver"]["properties"]["topology"]["type"] == topology
    assert "dwave-system" in ss.info["versions"] and "minorminer" in ss.info["versions"]
    again = sampler.sample(bqm, num_reads=5)
    assert again.info["embedding"]["cache_hit"]


def test_chain_breaks_are_reported_and_unembedded():
    bqm = dimod.generators.ran_r(1, 12, seed=5)
    child = MockDWaveSampler(topology_type="pegasus", topology_shape=[4], parameter_warnings=False,
                             substitute_sampler=dimod.RandomSampler())  # random qubits: chains break
    ss = DWaveSampler(child_sampler=child).sample(bqm, num_reads=50, chain_strength=0.5)
    assert ss.info["chain_break_fraction"] > 0
    assert "chain_break_fraction" in ss.record.dtype.names
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))  # majority vote, then true energies


def test_missing_credentials_fail_fast_without_network(tmp_path, monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("DWAVE_"):
            monkeypatch.delenv(key)
    empty = tmp_path / "dwave.conf"
    empty.write_text("")
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(DWaveConfigurationError, match="dwave config create|DWAVE_API_TOKEN"):
        DWaveSampler().sample(dimod.generators.ran_r(1, 4, seed=1), num_reads=1)


def test_bad_parameters():
    sampler = DWaveSampler(child_sampler=mock())
    bqm = dimod.generators.ran_r(1, 4, seed=1)
    with pytest.raises(ValueError, match="num_reads"):
        sampler.sample(bqm, num_reads=0)
    with pytest.raises(ValueError, match="annealing_time"):
        sampler.sample(bqm, annealing_time=-1)
