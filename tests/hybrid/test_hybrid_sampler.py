"""HybridSampler: answers checked against brute force; each fallback trigger injected with a
fake backend (failing, hanging, slow, recovering, useless); credit checked against what
each fake can produce; the answer checked against every energy it streamed."""
import threading
import time

import dimod
import numpy as np
import pytest

import qopt
from qopt.errors import BackendUnavailable as TransientBackendError
from qopt.errors import ParameterError, classify_error
from qopt.hybrid.sampler import HybridSampler

BRANCHES = {"quantum", "classical"}


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
    """Never answers until released, and cannot be interrupted."""

    parameters = {}
    properties = {}

    def __init__(self):
        self.release = threading.Event()

    def sample(self, bqm, **kw):
        self.release.wait(60)
        return dimod.ExactSolver().sample(bqm)


class _Slow(dimod.Sampler):
    """Exact answers after ``delay`` seconds (the first call after ``first_delay``); stops at
    once when its ``interrupt`` is set (as QAOA does between evaluations)."""

    parameters = {"interrupt": []}
    properties = {}

    def __init__(self, delay, first_delay=None):
        self.delay, self.first_delay = delay, first_delay
        self.calls = 0
        self.interrupted = 0
        self.returned = 0

    def sample(self, bqm, interrupt=None, **kw):
        self.calls += 1
        try:
            delay = self.first_delay if self.calls == 1 and self.first_delay is not None else self.delay
            end = time.monotonic() + delay
            while time.monotonic() < end:
                if interrupt is not None and interrupt.is_set():
                    self.interrupted += 1
                    return dimod.SampleSet.from_samples_bqm(({v: 1 for v in bqm.variables}), bqm)
                time.sleep(0.005)
            return dimod.ExactSolver().sample(bqm)
        finally:
            self.returned += 1


class _Recovering(dimod.Sampler):
    """Fails with a transient error until ``recover_after`` seconds after it was made, then
    answers exactly."""

    parameters = {}
    properties = {}

    def __init__(self, recover_after):
        self.recover_at = time.monotonic() + recover_after
        self.failed = 0

    def sample(self, bqm, **kw):
        if time.monotonic() < self.recover_at:
            self.failed += 1
            raise TransientBackendError("service unavailable, try later")
        return dimod.ExactSolver().sample(bqm)


class _Useless(dimod.Sampler):
    """Returns the state it was started from (``unchanged``) or the subproblem's highest-energy
    state (``worst``): nothing it returns can lower the incumbent."""

    parameters = {"initial_states": []}
    properties = {}

    def __init__(self, kind):
        self.kind = kind
        self.calls = 0

    def sample(self, bqm, initial_states=None, **kw):
        self.calls += 1
        if self.kind == "unchanged" and initial_states is not None:
            return dimod.SampleSet.from_samples_bqm(initial_states, bqm)
        ss = dimod.ExactSolver().sample(bqm)
        return ss.truncate(1, sorted_by=None) if self.kind == "unchanged" else \
            dimod.SampleSet.from_samples_bqm(ss.record.sample[[int(np.argmax(ss.record.energy))]], bqm)


def _check_valid(ss, bqm):
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
    assert set(ss.record.branch) <= BRANCHES


def test_reaches_exact_optimum_on_small_model():
    bqm = dimod.generators.gnp_random_bqm(18, 0.4, dimod.BINARY, random_state=4)
    exact = dimod.ExactSolver().sample(bqm).first.energy
    ss = HybridSampler().sample(bqm, quantum_sampler=dimod.ExactSolver(), subproblem_size=6, time_limit=1.5,
                                seed=2, classical_branch=False)
    _check_valid(ss, bqm)
    assert ss.first.energy == pytest.approx(exact)
    info = ss.info["hybrid"]
    assert info["subproblems"]["ExactSolver"] >= 1
    assert ss.info["fallback_chain"] == [] and info["breaker"]["transitions"] == []
    assert info["warm_up"]["outcome"] == "ok"


def test_quantum_improvements_credited_and_counted():
    bqm = dimod.generators.gnp_random_bqm(120, 0.05, dimod.SPIN, random_state=1)
    ss = HybridSampler().sample(bqm, quantum_sampler=dimod.ExactSolver(), subproblem_size=10, time_limit=2.0,
                                seed=5, patience=10**6)
    _check_valid(ss, bqm)
    qva = ss.info["quantum_value_added"]
    improvements = ss.info["hybrid"]["improvements"].get("ExactSolver", 0)
    assert improvements == qva["quantum_improvements"] > 0 and qva["quantum_energy_gain"] > 0
    # rows in order: the quantum branch's incumbent, the classical branch's best
    assert qva["hybrid_best_energy"] == pytest.approx(ss.record.energy[0])
    assert qva["classical_branch_best_energy"] == pytest.approx(ss.record.energy[1])
    assert ss.record.backend[1] == "sa" and ss.record.branch[1] == "classical"
    # the incumbent's energy is the initial one less every step's gain
    initial = ss.info["quantum_value_added"]
    gained = sum(initial[k] for k in ("quantum_energy_gain", "classical_tier_energy_gain", "polish_energy_gain",
                                      "adopted_energy_gain"))
    assert all(initial[k] >= 0 for k in ("quantum_energy_gain", "classical_tier_energy_gain",
                                         "polish_energy_gain", "adopted_energy_gain"))
    assert gained > 0


@pytest.mark.parametrize("kind", ["unchanged", "worst"])
def test_no_credit_to_a_backend_that_never_improves(kind):
    """Whatever the race does (adoption of the classical incumbent, polish), a backend whose
    answers cannot lower the incumbent gets no improvement, no gain and no candidate."""
    bqm = dimod.generators.gnp_random_bqm(80, 0.08, dimod.SPIN, random_state=9)
    useless = _Useless(kind)
    events = []
    ss = HybridSampler().sample(bqm, quantum_sampler=useless, subproblem_size=8, time_limit=1.5, seed=3,
                                patience=10**6, on_progress=events.append)
    _check_valid(ss, bqm)
    assert useless.calls > 1
    qva = ss.info["quantum_value_added"]
    assert qva["quantum_improvements"] == 0 and qva["quantum_energy_gain"] == 0.0
    assert ss.info["hybrid"]["improvements"].get("_Useless", 0) == 0
    assert "_Useless" not in set(ss.record.backend)
    assert all(e["backend"] != "_Useless" for e in events)
    result = qopt.solve(bqm, backend="hybrid", quantum_sampler=useless, subproblem_size=8, time_limit=1.0,
                        seed=3)
    assert all((c.info or {}).get("backend") != "_Useless" for c in result.candidates)
    assert result.confidence["quantum_value_added"]["quantum_energy_gain"] == 0.0


@pytest.mark.parametrize("exc,kind", [(ConnectionError("backend down"), "transient"),
                                      (TransientBackendError("rate limited"), "transient"),
                                      (RuntimeError("device refused the job"), "structural")])
def test_backend_error_opens_the_breaker(exc, kind):
    bqm = dimod.generators.gnp_random_bqm(40, 0.2, dimod.SPIN, random_state=3)
    failing = _Failing(exc)
    t0 = time.monotonic()
    ss = HybridSampler().sample(bqm, quantum_sampler=failing, subproblem_size=8, time_limit=1.5, seed=1,
                                max_retries=2, warm_up=False, breaker_failures=2, breaker_cool_down=10.0)
    assert time.monotonic() - t0 < 1.5 + 0.5
    _check_valid(ss, bqm)
    chain = ss.info["fallback_chain"]
    failed = [c for c in chain if c.get("outcome") == "failed"]
    assert failed and failed[0]["classification"] == kind == classify_error(exc)
    opened = [c for c in chain if c.get("breaker") == "open"]
    assert len(opened) == 1 and opened[0]["tier"] == "classical"
    retries = [c for c in chain if c.get("outcome") == "retry"]
    assert (len(retries) > 0) == (kind == "transient")
    assert ss.info["hybrid"]["breaker"]["state"] == "open"
    # every call failed and was recorded; none was made once the breaker was open (10 s cool-down):
    # at most breaker_failures (2) and the other one in flight (num_workers=2), with its retries
    assert len(failed) == failing.calls <= 2 + 1 + (2 if kind == "transient" else 0)
    # nothing produced by the quantum backend is counted as quantum
    assert ss.info["hybrid"]["improvements"].get("_Failing", 0) == 0
    assert ss.info["quantum_value_added"]["quantum_energy_gain"] == 0.0
    assert sum(n for b, n in ss.info["hybrid"]["subproblems"].items() if b.startswith("classical-tier/")) >= 1


def test_fallback_never_raises_the_backend_error():
    bqm = dimod.generators.gnp_random_bqm(40, 0.2, dimod.SPIN, random_state=3)
    with pytest.raises(ConnectionError):
        HybridSampler().sample(bqm, quantum_sampler=_Failing(ConnectionError("down")), subproblem_size=8,
                               time_limit=1.0, seed=1, fallback="never", warm_up=False)
    with pytest.raises(ConnectionError):  # the warm-up call already fails
        HybridSampler().sample(bqm, quantum_sampler=_Failing(ConnectionError("down")), subproblem_size=8,
                               time_limit=1.0, seed=1, fallback="never")


def test_breaker_reopens_then_closes_on_recovery():
    bqm = dimod.generators.gnp_random_bqm(60, 0.1, dimod.SPIN, random_state=5)
    recovering = _Recovering(recover_after=0.8)
    ss = HybridSampler().sample(bqm, quantum_sampler=recovering, subproblem_size=8, time_limit=3.0, seed=2,
                                breaker_failures=2, breaker_cool_down=0.3, max_retries=0, patience=10**6)
    _check_valid(ss, bqm)
    breaker = ss.info["hybrid"]["breaker"]
    moves = [(t["from"], t["to"]) for t in breaker["transitions"]]
    assert moves[0] == ("closed", "open")  # the warm-up failed: open at once
    assert ("open", "half_open") in moves and moves[-1] == ("half_open", "closed")
    assert breaker["state"] == "closed"
    # the cool-down was waited each time the breaker opened
    times = [t["at"] for t in breaker["transitions"]]
    for (_, to), t_open, t_next in zip(moves, times, times[1:], strict=False):
        if to == "open":
            assert t_next - t_open >= 0.3 - 1e-6
    assert ss.info["hybrid"]["warm_up"]["outcome"] == "failed"
    assert ss.info["hybrid"]["subproblems"].get("_Recovering", 0) >= 2  # used again after closing
    assert any(b.startswith("classical-tier/") for b in ss.info["hybrid"]["subproblems"])  # while open


def test_slow_first_call_is_warm_up_not_a_timeout():
    """The issue's case: a backend whose first call is slow (imports, first transpile) is
    warmed up outside the subproblem timeout and keeps its subproblems."""
    bqm = dimod.generators.gnp_random_bqm(60, 0.1, dimod.SPIN, random_state=5)
    slow_first = _Slow(delay=0.0, first_delay=0.6)
    ss = HybridSampler().sample(bqm, quantum_sampler=slow_first, subproblem_size=8, time_limit=2.5, seed=2,
                                subproblem_timeout=0.3)
    warm = ss.info["hybrid"]["warm_up"]
    assert warm["outcome"] == "ok" and warm["seconds"] >= 0.6
    assert ss.info["timing"]["warm_up_ns"] >= 0.6e9
    assert ss.info["hybrid"]["breaker"]["transitions"] == []
    assert ss.info["hybrid"]["subproblems"]["_Slow"] >= 2
    # without the warm-up the first subproblem times out, but one time-out does not open the breaker
    ss = HybridSampler().sample(bqm, quantum_sampler=_Slow(delay=0.0, first_delay=0.6), subproblem_size=8,
                                time_limit=2.5, seed=2, subproblem_timeout=0.3, warm_up=False)
    assert ss.info["hybrid"]["breaker"]["transitions"] == []
    assert ss.info["hybrid"]["subproblems"]["_Slow"] >= 2


def test_late_warm_up_closes_the_breaker():
    bqm = dimod.generators.gnp_random_bqm(60, 0.1, dimod.SPIN, random_state=5)
    ss = HybridSampler().sample(bqm, quantum_sampler=_Slow(delay=0.0, first_delay=0.8), subproblem_size=8,
                                time_limit=2.5, seed=2, warm_up_timeout=0.3, breaker_cool_down=10.0,
                                patience=10**6)
    info = ss.info["hybrid"]
    assert info["warm_up"]["outcome"] == "ok" and info["warm_up"]["late"] and info["warm_up"]["seconds"] >= 0.8
    moves = [(t["from"], t["to"]) for t in info["breaker"]["transitions"]]
    assert moves == [("closed", "open"), ("open", "closed")]
    assert info["subproblems"]["_Slow"] >= 2  # the quantum backend was used once it was warm


def test_no_subproblem_waits_past_its_timeout():
    bqm = dimod.generators.gnp_random_bqm(40, 0.2, dimod.SPIN, random_state=3)
    slow = _Slow(delay=5.0)
    timeout = 0.2
    t0 = time.monotonic()
    ss = HybridSampler().sample(bqm, quantum_sampler=slow, subproblem_size=8, time_limit=2.0, seed=1,
                                subproblem_timeout=timeout, breaker_failures=2, breaker_cool_down=0.5,
                                warm_up=False, patience=10**6)
    elapsed = time.monotonic() - t0
    info = ss.info["hybrid"]
    assert elapsed < 2.0 + 0.5
    # polled every 20 ms; a generous margin for a loaded machine, far below the 5 s a call would take
    assert info["longest_subproblem_wait_s"] < timeout + 0.5
    assert slow.interrupted >= 2  # each timed-out call was told to stop, and stopped
    # a call still returning when the run ended is listed (the run waits STOP_WAIT for it); every
    # call returns soon after, far from the 5 s it would take unstopped
    assert all(c["backend"] == "_Slow" for c in info["calls_not_stopped"])
    t_end = time.monotonic()
    while slow.returned < slow.calls and time.monotonic() - t_end < 3.0:
        time.sleep(0.01)
    assert slow.returned == slow.calls
    moves = [(t["from"], t["to"]) for t in info["breaker"]["transitions"]]
    assert moves[0] == ("closed", "open") and ("open", "half_open") in moves, moves
    if len(moves) >= 3:  # the half-open trial timed out too
        assert moves[2] == ("half_open", "open")


def test_hung_backend_times_out_and_is_reported():
    bqm = dimod.generators.gnp_random_bqm(40, 0.2, dimod.SPIN, random_state=3)
    hanging = _Hanging()
    t0 = time.monotonic()
    ss = HybridSampler().sample(bqm, quantum_sampler=hanging, subproblem_size=8, time_limit=2.0, seed=1,
                                subproblem_timeout=0.3, warm_up_timeout=0.3)
    elapsed = time.monotonic() - t0
    hanging.release.set()
    assert elapsed < 2.0 + 0.5
    _check_valid(ss, bqm)
    info = ss.info["hybrid"]
    assert "no answer within" in info["warm_up"]["outcome"]
    assert ss.info["fallback_chain"][0]["classification"] == "transient"
    assert info["calls_not_stopped"]  # a call that ignores interrupt is reported, not hidden
    assert all(c["backend"] == "_Hanging" for c in info["calls_not_stopped"])


def test_answer_never_worse_than_a_streamed_energy():
    bqm = dimod.generators.gnp_random_bqm(300, 0.02, dimod.SPIN, random_state=11)
    events = []
    ss = HybridSampler().sample(bqm, quantum_sampler=dimod.ExactSolver(), subproblem_size=10, time_limit=1.5,
                                seed=1, on_progress=events.append)
    streamed = [e["energy"] for e in events]
    assert len(streamed) > 2 and ss.first.energy <= min(streamed) + 1e-9
    events.clear()
    result = qopt.solve(bqm, backend="hybrid", quantum_backend="exact", subproblem_size=10, time_limit=1.5,
                        seed=1, on_progress=events.append)
    streamed = [e["energy"] for e in events if e.get("event") == "best"]
    assert len(streamed) > 2 and result.best.energy <= min(streamed) + 1e-9
    assert result.best.energy == pytest.approx(bqm.energy(result.best.sample))


def test_parameters_validated():
    bqm = dimod.generators.gnp_random_bqm(10, 0.5, dimod.SPIN, random_state=3)
    for kw, name in [({"subproblem_size": 0}, "subproblem_size"), ({"time_limit": -1}, "time_limit"),
                     ({"strategies": ["nope"]}, "strategies"), ({"quantum_backend": "hybrid"}, "quantum_backend"),
                     ({"breaker_failures": 0}, "breaker_failures"), ({"breaker_cool_down": -1}, "breaker_cool_down"),
                     ({"fallback": "sometimes"}, "fallback"), ({"warm_up_timeout": 0}, "warm_up_timeout")]:
        with pytest.raises(ParameterError) as info:
            HybridSampler().sample(bqm, **kw)
        assert info.value.field == name


def test_pipeline_confidence_carries_the_race():
    bqm = dimod.generators.gnp_random_bqm(60, 0.1, dimod.SPIN, random_state=7)
    result = qopt.solve(bqm, backend="hybrid", quantum_backend="exact", subproblem_size=8, time_limit=1.5, seed=4)
    conf = result.confidence
    assert isinstance(conf["branch_agreement"], bool)
    qva = conf["quantum_value_added"]
    assert qva["quantum_energy_gain"] >= 0
    assert (qva["quantum_improvements"] == 0) == (qva["quantum_energy_gain"] == 0)
    for c in result.candidates:
        assert c.info["branch"] in BRANCHES
    assert result.provenance["backend_info"]["hybrid"]["subproblems"]
