"""HybridSampler: answers checked against brute force; each fallback trigger injected."""
import threading
import time

import dimod
import numpy as np
import pytest

from qopt.errors import BackendUnavailable as TransientBackendError
from qopt.errors import classify_error
from qopt.hybrid.sampler import HybridSampler


class _Failing(dimod.Sampler):
    """Raises ``exc`` on every call (counts calls)."""

    parameters = {}
    properties = {}

    def __init__(self, exc):
        self.exc = exc
        self.calls = 0

    def sample(self, bqm, **kw):
        self.calls += 1
        raise self.exc


class _Hanging(dimod.Sampler):
    parameters = {}
    properties = {}

    def __init__(self):
        self.release = threading.Event()

    def sample(self, bqm, **kw):
        self.release.wait(60)
        return dimod.ExactSolver().sample(bqm)


def _check_valid(ss, bqm):
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
    assert set(ss.record.branch) <= {"quantum", "classical"}


def test_reaches_exact_optimum_on_small_model():
    bqm = dimod.generators.gnp_random_bqm(18, 0.4, dimod.BINARY, random_state=4)
    exact = dimod.ExactSolver().sample(bqm).first.energy
    ss = HybridSampler().sample(bqm, quantum_sampler=dimod.ExactSolver(), subproblem_size=6, time_limit=1.5,
                                seed=2, classical_branch=False)
    _check_valid(ss, bqm)
    assert ss.first.energy == pytest.approx(exact)
    info = ss.info["hybrid"]
    assert info["subproblems"]["ExactSolver"] >= 1
    assert ss.info["fallback_chain"] == []


def test_quantum_improvements_counted_against_classical_branch():
    bqm = dimod.generators.gnp_random_bqm(120, 0.05, dimod.SPIN, random_state=1)
    ss = HybridSampler().sample(bqm, quantum_sampler=dimod.ExactSolver(), subproblem_size=10, time_limit=2.0,
                                seed=5, patience=10**6)
    _check_valid(ss, bqm)
    qva = ss.info["quantum_value_added"]
    improvements = ss.info["hybrid"]["improvements"].get("ExactSolver", 0)
    assert (improvements > 0) == (qva["quantum_subproblem_energy_gain"] < 0)
    best_rows = {b: e for b, e in zip(ss.record.branch, ss.record.energy, strict=True)}
    assert qva["hybrid_best_energy"] == pytest.approx(best_rows["quantum"])
    assert qva["classical_branch_best_energy"] == pytest.approx(best_rows["classical"])


@pytest.mark.parametrize("exc,kind", [(ConnectionError("backend down"), "transient"),
                                      (TransientBackendError("rate limited"), "transient"),
                                      (ValueError("problem too large for backend"), "structural")])
def test_backend_error_falls_back_to_classical(exc, kind):
    bqm = dimod.generators.gnp_random_bqm(40, 0.2, dimod.SPIN, random_state=3)
    failing = _Failing(exc)
    t0 = time.monotonic()
    ss = HybridSampler().sample(bqm, quantum_sampler=failing, subproblem_size=8, time_limit=1.5, seed=1,
                                max_retries=2)
    assert time.monotonic() - t0 < 1.5 + 0.5
    _check_valid(ss, bqm)
    chain = ss.info["fallback_chain"]
    failed = [c for c in chain if c.get("outcome") == "failed"]
    assert failed and failed[0]["classification"] == kind == classify_error(exc)
    assert chain[-1]["tier"] == "classical"
    retries = [c for c in chain if c.get("outcome") == "retry"]
    assert (len(retries) > 0) == (kind == "transient")
    # nothing produced by the quantum backend is counted as quantum
    assert ss.info["hybrid"]["improvements"].get("_Failing", 0) == 0
    assert ss.info["quantum_value_added"]["quantum_subproblem_energy_gain"] == 0.0
    assert sum(ss.info["hybrid"]["subproblems"].values()) >= 1  # the classical tier kept working


def test_hung_backend_times_out_and_deadline_holds():
    bqm = dimod.generators.gnp_random_bqm(40, 0.2, dimod.SPIN, random_state=3)
    hanging = _Hanging()
    t0 = time.monotonic()
    ss = HybridSampler().sample(bqm, quantum_sampler=hanging, subproblem_size=8, time_limit=2.0, seed=1,
                                subproblem_timeout=0.3)
    elapsed = time.monotonic() - t0
    hanging.release.set()
    assert elapsed < 2.0 + 0.5
    _check_valid(ss, bqm)
    assert "subproblem_timeout" in ss.info["fallback_chain"][0]["outcome"]


def test_parameters_validated():
    bqm = dimod.generators.gnp_random_bqm(10, 0.5, dimod.SPIN, random_state=3)
    from qopt.checks import ParameterError

    for kw, name in [({"subproblem_size": 0}, "subproblem_size"), ({"time_limit": -1}, "time_limit"),
                     ({"strategies": ["nope"]}, "strategies"), ({"quantum_backend": "hybrid"}, "quantum_backend")]:
        with pytest.raises(ParameterError) as info:
            HybridSampler().sample(bqm, **kw)
        assert info.value.field == name


def test_pipeline_confidence_carries_the_race():
    import qopt

    bqm = dimod.generators.gnp_random_bqm(60, 0.1, dimod.SPIN, random_state=7)
    result = qopt.solve(bqm, backend="hybrid", quantum_backend="exact", subproblem_size=8, time_limit=1.5, seed=4)
    conf = result.confidence
    assert isinstance(conf["branch_agreement"], bool)
    qva = conf["quantum_value_added"]
    branches = {c.info["branch"]: c.energy for c in result.candidates if c.info}
    if "classical" in branches and "quantum" in branches:
        assert conf["branch_agreement"] == (abs(branches["classical"] - branches["quantum"]) < 1e-9)
    assert qva["hybrid_best_energy"] <= qva["hybrid_best_energy"] - qva["quantum_subproblem_energy_gain"]
    assert result.provenance["backend_info"]["hybrid"]["subproblems"]
