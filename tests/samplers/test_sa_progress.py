"""Live progress of SimulatedAnnealingSampler (``on_progress``): events while the kernel runs,
non-increasing, ending at the sample set's best energy; a failing callback stops the run."""
from __future__ import annotations

import time

import dimod
import numpy as np
import pytest
from _models import sparse_bqm, sweeps_for

from qopt.checks import ParameterError
from qopt.samplers.sa import SimulatedAnnealingSampler

SA = SimulatedAnnealingSampler


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_events_while_running_end_at_the_best(vartype):
    bqm = sparse_bqm(vartype=vartype, offset=12.5)
    num_sweeps = sweeps_for(bqm, 1.5, 16)
    for _ in range(4):  # a calibration slowed by load sizes a short run: then run longer
        events: list[dict] = []
        t0 = time.perf_counter()
        ss = SA().sample(bqm, num_reads=16, num_sweeps=num_sweeps, seed=3, polish=True, on_progress=events.append)
        wall = time.perf_counter() - t0
        if wall >= 1.0:
            break
        num_sweeps *= 2
    # events come at most every 0.25 s, on improvement
    assert len(events) >= (3 if wall >= 1.0 else 2), (events, wall)
    assert all(e["event"] == "best" and e["branch"] == "sa" and e["backend"] == "sa" for e in events)
    energies = [e["energy"] for e in events]
    assert all(b < a for a, b in zip(energies, energies[1:], strict=False)), energies  # improvements only
    best = float(ss.first.energy)
    assert energies[-1] == pytest.approx(best, rel=1e-9, abs=1e-9)
    assert best == pytest.approx(float(bqm.energy(ss.first.sample)), rel=1e-9)  # in the BQM's units
    elapsed = [e["elapsed"] for e in events]
    assert elapsed == sorted(elapsed) and elapsed[-1] <= wall
    assert elapsed[0] < 0.8 * wall  # the first event came while the kernel was running
    assert all(0 <= e["sweep"] <= num_sweeps for e in events)


def test_progress_leaves_the_samples_unchanged():
    bqm = sparse_bqm(n=300, m=900)
    plain = SA().sample(bqm, num_reads=20, num_sweeps=3000, seed=9)
    events = []
    watched = SA().sample(bqm, num_reads=20, num_sweeps=3000, seed=9, num_threads=2, on_progress=events.append)
    np.testing.assert_array_equal(plain.record.sample, watched.record.sample)
    assert events and events[-1]["energy"] == pytest.approx(float(plain.first.energy), rel=1e-9)


def test_a_failing_callback_stops_the_run():
    bqm = sparse_bqm()
    calls = []

    def broken(event):
        calls.append(event)
        raise RuntimeError("callback broke")

    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="callback broke"):
        SA().sample(bqm, num_reads=16, num_sweeps=10**6, seed=1, on_progress=broken)  # minutes if not stopped
    assert time.perf_counter() - t0 < 10
    assert len(calls) == 1


def test_on_progress_must_be_callable():
    with pytest.raises(ParameterError) as info:
        SA().sample(sparse_bqm(n=10, m=20), num_reads=1, on_progress=42)
    assert info.value.field == "on_progress"
    assert "on_progress" in SA.parameters
    assert "on_progress" not in SA.parameter_spec.wire_names()


def test_a_state_seen_mid_run_better_than_the_final_one_is_returned():
    """A schedule that ends hot (beta 0.02: nearly every flip accepted) leaves final states far
    worse than those seen while it was cold: with progress on, the read whose snapshot was best
    returns it, so the last event is the sample set's best, well below the plain run's random
    finish, and only that read differs from the plain run."""
    bqm = sparse_bqm(n=2000, m=6000, seed=4)
    cold = sweeps_for(bqm, 1.2, 16)
    for _ in range(4):  # snapshots come every 0.25 s: a calibration slowed by load sizes a short run
        betas = np.concatenate([np.geomspace(0.1, 5.0, cold), np.full(max(50, cold // 20), 0.02)])
        kwargs = dict(num_reads=16, beta_schedule_type="custom", beta_schedule=betas, seed=7, polish=False)
        events = []
        t0 = time.perf_counter()
        watched = SA().sample(bqm, on_progress=events.append, **kwargs)
        if time.perf_counter() - t0 >= 1.0:
            break
        cold *= 2
    plain = SA().sample(bqm, **kwargs)
    best = float(watched.first.energy)
    assert events[-1]["energy"] == pytest.approx(best, rel=1e-9)
    assert best == pytest.approx(float(bqm.energy(watched.first.sample)), rel=1e-9)
    assert best < float(plain.first.energy) - 100  # a cold state, not a random one
    plain_rows = {tuple(r) for r in plain.record.sample}
    assert sum(tuple(r) not in plain_rows for r in watched.record.sample) == 1  # one read changed
