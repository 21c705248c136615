"""DWaveSampler end to end on dwave.system.testing.MockDWaveSampler, and the credentials error
(in-process, through gRPC and on the command line: an explicit ``backend="dwave"`` without
credentials fails at once; only ``fallback="always"`` answers with simulated annealing)."""
from __future__ import annotations

import json
import os
import socket

import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler
from dwave.system.testing import MockDWaveSampler

import qopt
from qopt.cli import main
from qopt.cli.exit_codes import BACKEND
from qopt.data import instance_path
from qopt.errors import ParameterError
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


@pytest.fixture()
def no_credentials(tmp_path, monkeypatch):
    """No D-Wave token anywhere: DWAVE_* removed from the environment, DWAVE_CONFIG_FILE an
    empty file, HOME elsewhere, and any network connection an error."""
    for key in list(os.environ):
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


def test_missing_credentials_fail_fast_without_network(no_credentials):
    with pytest.raises(DWaveConfigurationError, match="dwave config create|DWAVE_API_TOKEN"):
        DWaveSampler().sample(dimod.generators.ran_r(1, 4, seed=1), num_reads=1)
    with pytest.raises(DWaveConfigurationError):
        DWaveSampler().warm_up()


def test_explicit_dwave_without_credentials_raises_in_process(no_credentials):
    bqm = dimod.generators.ran_r(1, 10, seed=1)
    for mode in ("transient", "never", False):
        with pytest.raises(DWaveConfigurationError, match="DWAVE_API_TOKEN"):
            qopt.solve(bqm, backend="dwave", fallback=mode, time_budget=5.0)
    with pytest.raises(DWaveConfigurationError):
        qopt.solve(bqm, backend="dwave")  # the default mode is "transient"
    # the caller who asks for fallback gets annealing, and the chain says why
    for mode in ("always", True):
        result = qopt.solve(bqm, backend="dwave", fallback=mode, time_budget=5.0, seed=1)
        prov = result.provenance
        assert prov["backend"] == "sa" and prov["requested_backend"] == "dwave"
        failed = prov["fallback_chain"][0]
        assert failed["classification"] == "structural" and "DWaveConfigurationError" in failed["error"]
        assert result.best.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    with pytest.raises(ParameterError) as info:
        qopt.solve(bqm, backend="dwave", fallback="sometimes")
    assert info.value.field == "fallback"


def test_explicit_dwave_without_credentials_through_grpc(no_credentials):
    import grpc

    from qopt.client import Client, SolveError
    from qopt.service.server import Server

    bqm = dimod.generators.ran_r(1, 10, seed=1)
    with Server("127.0.0.1:0") as server, Client(server.address) as client:
        with pytest.raises(SolveError) as info:
            client.solve(bqm, backend="dwave", timeout=30)
        assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
        assert "DWAVE_API_TOKEN" in str(info.value)
        result = client.solve(bqm, backend="dwave", timeout=30, fallback="always", seed=1)
        assert result.provenance["backend"] == "sa"
        with pytest.raises(SolveError) as info:
            client.solve(bqm, backend="dwave", timeout=30, fallback="sometimes")
        assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT and info.value.field == "parameters.fallback"


def test_explicit_dwave_without_credentials_on_the_command_line(no_credentials, capsys):
    from qopt.service.server import Server

    path = str(instance_path("bqp50"))
    args = ["solve", path, "--format", "bqp", "--problem", "1", "--backend", "dwave"]
    assert main(args) == BACKEND == 4
    assert "DWAVE_API_TOKEN" in capsys.readouterr().err
    with Server("127.0.0.1:0") as server:
        assert main([*args, "--server", server.address]) == BACKEND
        assert "FAILED_PRECONDITION" in capsys.readouterr().err
    assert main([*args, "--param", "fallback=always", "--seed", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["provenance"]["backend"] == "sa"


def test_hybrid_on_dwave_without_credentials(no_credentials):
    """The warm-up finds out at once; only fallback="always" lets the classical tier take over."""
    import time

    from qopt.hybrid import HybridSampler

    bqm = dimod.generators.gnp_random_bqm(40, 0.2, dimod.SPIN, random_state=3)
    t0 = time.monotonic()
    with pytest.raises(DWaveConfigurationError):
        HybridSampler().sample(bqm, quantum_backend="dwave", subproblem_size=8, time_limit=5.0, seed=1)
    assert time.monotonic() - t0 < 2.0  # at once, not after the time limit
    with pytest.raises(DWaveConfigurationError):
        qopt.solve(bqm, backend="hybrid", quantum_backend="dwave", subproblem_size=8, time_limit=5.0, seed=1)
    result = qopt.solve(bqm, backend="hybrid", quantum_backend="dwave", subproblem_size=8, time_limit=1.0, seed=1,
                        fallback="always")
    hybrid = result.provenance["backend_info"]["hybrid"]
    assert hybrid["warm_up"]["outcome"] == "failed" and hybrid["breaker"]["state"] == "open"
    assert "dwave" not in hybrid["subproblems"]
    assert "DWaveConfigurationError" in result.provenance["fallback_chain"][0]["error"]
    assert result.confidence["quantum_value_added"]["quantum_improvements"] == 0


def test_bad_parameters():
    sampler = DWaveSampler(child_sampler=mock())
    bqm = dimod.generators.ran_r(1, 4, seed=1)
    with pytest.raises(ValueError, match="num_reads"):
        sampler.sample(bqm, num_reads=0)
    with pytest.raises(ValueError, match="annealing_time"):
        sampler.sample(bqm, annealing_time=-1)
