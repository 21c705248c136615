"""Live progress of an annealing job through a real server on 127.0.0.1:0: WatchJob streams
the kernel's best energies while it samples, and a cancel stops a running anneal at once."""
from __future__ import annotations

import threading
import time

import pytest
from _models import sparse_bqm, sweeps_for

import qopt
from qopt.client import Client
from qopt.service.server import Server


def test_pipeline_sa_events_are_in_the_models_energies():
    """qopt.solve with backend="sa": presolve fixes some variables (the sampler sees the reduced
    model), yet every sampler event is an energy of the original model, the last one the result's."""
    bqm = sparse_bqm(n=1500, m=3000, seed=8)
    for v in range(0, 1500, 50):  # strong fields: presolve fixes these
        bqm.add_linear(v, 50.0)
    bqm.offset = 100.0
    events = []
    result = qopt.solve(bqm, "sa", on_progress=events.append, num_reads=16,
                        num_sweeps=sweeps_for(bqm, 1.0, 16), seed=2)
    assert result.provenance["presolve"]["num_fixed"] > 0
    sa = [e for e in events if e["event"] == "best" and e.get("branch") == "sa"]
    assert len(sa) >= 2
    best = result.candidates[0].energy
    assert all(e["source"] == "sa" and e["backend"] == "sa" for e in sa)
    assert all(b["energy"] < a["energy"] for a, b in zip(sa, sa[1:], strict=False))
    assert sa[-1]["energy"] == pytest.approx(best, rel=1e-9)
    assert best == pytest.approx(bqm.energy(result.candidates[0].sample), rel=1e-12)


def test_watch_streams_the_kernels_best_while_sampling():
    bqm = sparse_bqm()
    num_sweeps = sweeps_for(bqm, 1.5, 16)
    with Server("127.0.0.1:0", max_workers=4) as srv, Client(srv.address) as c:
        job = c.submit(bqm, backend="sa", num_reads=16, num_sweeps=num_sweeps, seed=5, time_budget=60)
        events = list(job.watch(timeout=60))
        result = job.result(timeout=10)
    assert events[-1].kind == "state" and events[-1].state == "SUCCEEDED"
    kinds = [(e.kind, e.stage) for e in events]
    postprocess = kinds.index(("stage", "postprocess"))
    live = [e for e in events[:postprocess] if e.kind == "best"]
    assert live, kinds  # BEST events came while the job was sampling, before postprocess
    assert all(e.branch == "sa" and e.backend == "sa" and e.source == "sa" and e.state == "RUNNING" for e in live)
    energies = [e.best_energy for e in live]
    assert all(b < a for a, b in zip(energies, energies[1:], strict=False))
    assert energies[-1] == pytest.approx(result.candidates[0].energy, rel=1e-9)


def test_cancel_stops_a_running_anneal_at_once():
    bqm = sparse_bqm()
    with Server("127.0.0.1:0", max_workers=4) as srv, Client(srv.address) as c:
        job = c.submit(bqm, backend="sa", num_reads=16, num_sweeps=200_000, seed=1, time_budget=120)  # about 10 s
        sampling = threading.Event()

        def follow():
            for e in job.watch(timeout=60):
                if e.kind == "best":
                    sampling.set()

        t = threading.Thread(target=follow, daemon=True)
        t.start()
        assert sampling.wait(30)  # the kernel has reported: the anneal is running
        t0 = time.monotonic()
        job.cancel()
        final = job.wait(timeout=30)
        took = time.monotonic() - t0
        t.join(10)
    assert final.state == "CANCELLED"
    assert took < 2.0, took  # the kernel polls the cancel every 5 ms and stops between sweeps
