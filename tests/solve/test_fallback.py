"""Fallback tiers for quantum backends, each trigger injected."""
import threading
import time

import dimod
import numpy as np
import pytest

import qopt
from qopt.errors import BackendConfigurationError, NoResultInTime, ParameterError
from qopt.errors import BackendUnavailable as TransientBackendError
from qopt.solve import bqm as bqm_path
from qopt.solve.fallback import FALLBACK_MODES, ResultCache, fallback_mode, sample_with_fallback


class _Broken(dimod.Sampler):
    parameters = {"seed": [], "shots": []}
    properties = {}
    error = ConnectionError("quantum service unreachable")
    calls = 0

    def sample(self, bqm, **kw):
        type(self).calls += 1
        raise self.error


class _Hung(dimod.Sampler):
    parameters = {"seed": []}
    properties = {}

    def __init__(self):
        self.release = threading.Event()

    def sample(self, bqm, **kw):
        self.release.wait(30)
        raise RuntimeError("released")


def _bqm():
    return dimod.generators.gnp_random_bqm(30, 0.3, dimod.SPIN, random_state=2)


def test_transient_error_retried_then_classical():
    bqm = _bqm()
    _Broken.calls = 0
    ss, produced, chain = sample_with_fallback(bqm, "qaoa", _Broken(), {"seed": 1}, time_budget=5.0,
                                               problem_sha256="a", cache=ResultCache())
    assert produced == "sa"
    assert _Broken.calls == 2  # one retry
    assert [c["outcome"] for c in chain] == ["failed", "failed", "ok"]
    assert chain[0]["classification"] == "transient" and chain[-1]["tier"] == "classical"
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))


def test_structural_error_raised_unless_the_caller_asked_for_fallback(monkeypatch):
    monkeypatch.setattr(_Broken, "error", BackendConfigurationError("no embedding of 30 variables"))
    for mode in ("transient", "never", False):
        _Broken.calls = 0
        with pytest.raises(BackendConfigurationError, match="no embedding"):
            sample_with_fallback(_bqm(), "qaoa", _Broken(), {}, time_budget=5.0, problem_sha256="b",
                                 cache=ResultCache(), enabled=mode)
        assert _Broken.calls == 1  # never retried
    for mode in ("always", True):
        _Broken.calls = 0
        _, produced, chain = sample_with_fallback(_bqm(), "qaoa", _Broken(), {}, time_budget=5.0,
                                                  problem_sha256="b", cache=ResultCache(), enabled=mode)
        assert _Broken.calls == 1 and produced == "sa"
        assert chain[0]["classification"] == "structural" and "no embedding" in chain[0]["error"]


def test_transient_error_propagates_with_fallback_never():
    _Broken.calls = 0
    with pytest.raises(ConnectionError):
        sample_with_fallback(_bqm(), "qaoa", _Broken(), {}, time_budget=5.0, problem_sha256="f",
                             cache=ResultCache(), enabled="never")
    assert _Broken.calls == 1


def test_fallback_modes_defined_once():
    assert FALLBACK_MODES == ("transient", "always", "never")
    assert [fallback_mode(v) for v in (*FALLBACK_MODES, True, False)] == [*FALLBACK_MODES, "always", "never"]
    for bad in ("sometimes", None, 1):
        with pytest.raises(ParameterError) as info:
            fallback_mode(bad)
        assert info.value.field == "fallback"


def test_hang_times_out_within_deadline():
    t0 = time.monotonic()
    hung = _Hung()
    ss, produced, chain = sample_with_fallback(_bqm(), "dwave", hung, {}, time_budget=1.0,
                                               problem_sha256="c", cache=ResultCache())
    elapsed = time.monotonic() - t0
    hung.release.set()
    assert produced == "sa" and "no answer within" in chain[0]["outcome"]
    assert elapsed < 1.0 + 0.3


def test_cached_result_when_no_time_is_left():
    bqm = _bqm()
    cache = ResultCache()
    earlier = dimod.ExactSolver().sample(dimod.generators.gnp_random_bqm(8, 0.5, dimod.SPIN, random_state=1))
    cache.put("d", earlier, "sa")
    ss, produced, chain = sample_with_fallback(bqm, "qaoa", _Hung(), {}, time_budget=0.05, problem_sha256="d",
                                               cache=cache)
    assert produced == "cache (sa)"
    assert [c["tier"] for c in chain] == ["quantum", "classical", "cache"]
    with pytest.raises(NoResultInTime) as info:
        sample_with_fallback(bqm, "qaoa", _Hung(), {}, time_budget=0.05, problem_sha256="e", cache=cache)
    assert info.value.fallback_chain[-1] == {"tier": "cache", "backend": None, "outcome": "miss"}


def test_pipeline_reports_the_chain_and_the_real_backend(monkeypatch):
    real = bqm_path.get_sampler
    monkeypatch.setattr(bqm_path, "get_sampler", lambda name: _Broken() if name == "qaoa" else real(name))
    monkeypatch.setattr(_Broken, "error", TransientBackendError("rate limited"))
    bqm = _bqm()
    result = qopt.solve(bqm, backend="qaoa", time_budget=3.0, seed=4, shots=100)
    prov = result.provenance
    assert prov["requested_backend"] == "qaoa" and prov["backend"] == "sa"
    assert prov["fallback_chain"][-1] == {"tier": "classical", "backend": "sa", "outcome": "ok"}
    assert bqm.energy(result.best.sample) == pytest.approx(result.best.energy)
    with pytest.raises(TransientBackendError):
        qopt.solve(bqm, backend="qaoa", fallback=False)
    with pytest.raises(TransientBackendError):
        qopt.solve(bqm, backend="qaoa", fallback="never")


def test_hybrid_fallback_chain_survives_presolve_and_components(monkeypatch):
    """Two components too large to enumerate, each solved by the hybrid whose quantum backend
    fails: both components' chains reach provenance, with presolve on."""
    from qopt.solve.routing import RoutingDecision

    monkeypatch.setattr(bqm_path, "route", lambda *a, **k: RoutingDecision("hybrid", "test: hybrid per component"))
    parts = [dimod.generators.gnp_random_bqm(24, 0.3, dimod.SPIN, random_state=s) for s in (1, 2)]
    bqm = dimod.BinaryQuadraticModel(dimod.SPIN)
    for tag, part in zip("ab", parts, strict=True):
        bqm.update(part.relabel_variables({v: f"{tag}{v}" for v in part.variables}, inplace=False))
    failing = _Broken()
    monkeypatch.setattr(_Broken, "error", TransientBackendError("rate limited"))
    result = qopt.solve(bqm, quantum_sampler=failing, subproblem_size=8, time_limit=1.0, seed=3,
                        warm_up=False, breaker_failures=1, breaker_cool_down=10.0)
    assert result.provenance["presolve"]["num_components"] == 2
    chain = result.provenance["fallback_chain"]
    opened = [e for e in chain if e.get("breaker") == "open"]
    assert len(opened) == 2  # one per component
    assert all(e["backend"] == "_Broken" for e in chain if e["tier"] == "quantum")
    assert result.best.energy == pytest.approx(bqm.energy(result.best.sample))


class _Interruptible(dimod.Sampler):
    """Runs until its interrupt is set (polled every 5 ms), then answers with one state."""

    parameters = {"interrupt": []}
    properties = {}

    def __init__(self):
        self.stopped = threading.Event()

    def sample(self, bqm, interrupt=None, **kw):
        end = time.monotonic() + 30
        while time.monotonic() < end and not (interrupt is not None and interrupt.is_set()):
            time.sleep(0.005)
        self.stopped.set()
        return dimod.SampleSet.from_samples_bqm({v: 1 for v in bqm.variables}, bqm)


def test_timed_out_quantum_call_is_stopped_not_left_running():
    from qopt.solve.workers import WORKERS

    sampler = _Interruptible()
    before = set(WORKERS.abandoned())  # hung calls of earlier tests
    ss, produced, chain = sample_with_fallback(_bqm(), "qaoa", sampler, {}, time_budget=0.5, problem_sha256="g",
                                               cache=ResultCache())
    assert produced == "sa" and "no answer within" in chain[0]["outcome"]
    assert sampler.stopped.wait(1.0)  # told to stop at its time-out, and it stopped
    deadline = time.monotonic() + 1.0
    while set(WORKERS.abandoned()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not set(WORKERS.abandoned()) - before  # this test's call is not left running
