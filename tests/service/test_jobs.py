"""Async jobs over gRPC: lifecycle, watch, cancel, idempotency, paging, retries, limits,
restart recovery and retention. Expected energies come from dimod (ExactSolver /
bqm.energies), never from earlier output of the code under test."""
from __future__ import annotations

import threading
import time

import dimod
import grpc
import numpy as np
import pytest

from qopt.client import Client, JobFailed, SolveError
from qopt.errors import Cancelled, InvalidInput
from qopt.service.errors import TransientError
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server
from qopt.service.store import JobStore
from qopt.solve import solve
from qopt.v1 import solver_service_pb2 as pb


def _bqm(n=8, seed=3):
    return dimod.generators.gnp_random_bqm(n, 0.5, dimod.SPIN, random_state=seed)


def _assert_consistent(bqm, result):
    """Every candidate's energy is dimod's energy of its sample."""
    ss = result.to_sampleset()
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))


def test_job_lifecycle_result_matches_exact_optimum(client):
    bqm = _bqm(10)
    job = client.submit(bqm, backend="sa", num_reads=20, num_sweeps=500, seed=5)
    assert len(job.job_id) == 32
    result = job.result(timeout=30)
    assert result.best.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    _assert_consistent(bqm, result)
    final = job.get()
    assert final.state == "SUCCEEDED"
    assert final.attempt == 1
    assert final.create_time <= final.start_time <= final.end_time
    assert final.create_time.tzinfo is not None and final.elapsed >= 0
    assert final.has_result and final.error_code is None and final.done
    assert result.timing["queue_wait"] >= 0
    for stage in ("validate", "preprocess", "sample", "postprocess"):
        assert stage in result.timing


def test_watch_reports_states_and_best(server):
    started = threading.Event()
    release = threading.Event()

    def slow_solve(problem, backend, **kw):
        kw["on_progress"]({"event": "best", "energy": 5.0, "sample": {}, "source": "test"})
        started.set()
        release.wait(10)
        return solve(problem, backend, **kw)

    with Server("127.0.0.1:0", solve_fn=slow_solve) as srv, Client(srv.address) as c:
        job = c.submit(_bqm(6), backend="sa", num_reads=4, seed=1)
        events = []
        done = threading.Event()

        def follow():
            events.extend(job.watch(timeout=20))
            done.set()

        t = threading.Thread(target=follow)
        t.start()
        assert started.wait(10)
        time.sleep(0.2)
        release.set()
        assert done.wait(20)
        t.join()
    kinds = [e.kind for e in events]
    assert kinds[0] == "snapshot"
    assert events[-1].kind == "state" and events[-1].state == "SUCCEEDED"
    assert len(events[-1].job.result.candidates) >= 1  # the final event carries the result
    bests = [e.best_energy for e in events if e.kind == "best"]
    exact = dimod.ExactSolver().sample(_bqm(6)).first.energy
    assert bests and bests[-1] == pytest.approx(exact)  # the pipeline's own best event
    assert "stage" in kinds


def test_cancel_queued_and_running_jobs():
    gate = threading.Event()

    def blocking(problem, backend, *, cancel=None, **kw):
        while not cancel.is_set():
            if gate.wait(0.02):
                break
        if cancel.is_set():
            raise Cancelled("cancelled")
        return solve(problem, backend, **kw)

    config = ServiceConfig(job_workers=1)
    with Server("127.0.0.1:0", config=config, solve_fn=blocking) as srv, Client(srv.address) as c:
        running = c.submit(_bqm(5), backend="sa", num_reads=2)
        queued = c.submit(_bqm(5), backend="sa", num_reads=3)
        deadline = time.monotonic() + 10
        while running.state != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert queued.state == "QUEUED"
        assert queued.cancel().state == "CANCELLED"
        running.cancel()
        assert running.wait(timeout=10).state == "CANCELLED"
        with pytest.raises(JobFailed) as info:
            running.result(timeout=5)
        assert info.value.code == grpc.StatusCode.CANCELLED
        # cancelling a finished job: FAILED_PRECONDITION
        with pytest.raises(SolveError) as info:
            queued.cancel()
        assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
        gate.set()
        with pytest.raises(SolveError) as info:
            c._call("GetJobResult", pb.GetJobResultRequest(job_id=queued.job_id), 5)
        assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_unknown_job_is_not_found(client):
    for call in (lambda: client.job("0" * 32).get(), lambda: client.job("nope").cancel(),
                 lambda: list(client.job("nope").watch(timeout=5)),
                 lambda: client._call("GetJobResult", pb.GetJobResultRequest(job_id="x"), 5)):
        with pytest.raises(SolveError) as info:
            call()
        assert info.value.code == grpc.StatusCode.NOT_FOUND


def test_submit_idempotency(client):
    bqm = _bqm(7)
    first = client.submit(bqm, backend="sa", num_reads=5, seed=2, request_id="idem-1")
    again = client.submit(bqm, backend="sa", num_reads=5, seed=2, request_id="idem-1")
    assert again.job_id == first.job_id
    first.wait(timeout=20)
    assert client.submit(bqm, backend="sa", num_reads=5, seed=2, request_id="idem-1").job_id == first.job_id
    with pytest.raises(SolveError) as info:
        client.submit(_bqm(7, seed=4), backend="sa", num_reads=5, seed=2, request_id="idem-1")
    assert info.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert "idem-1" in info.value.details
    assert sum(1 for j in client.list_jobs() if j.request_id == "idem-1") == 1


def test_solve_idempotency_returns_stored_result(server):
    calls = []

    def counting(problem, backend, **kw):
        calls.append(1)
        return solve(problem, backend, **kw)

    with Server("127.0.0.1:0", solve_fn=counting) as srv, Client(srv.address) as c:
        bqm = _bqm(9)
        # no seed: a second run would draw another one, so equal seeds prove one run
        first = c.solve(bqm, backend="sa", num_reads=5, request_id="solve-1")
        threads = [threading.Thread(target=lambda: c.solve(bqm, backend="sa", num_reads=5, request_id="solve-1"))
                   for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        again = c.solve(bqm, backend="sa", num_reads=5, request_id="solve-1")
        assert again.provenance["parameters"]["seed"] == first.provenance["parameters"]["seed"]
        assert [x.sample for x in again.candidates] == [x.sample for x in first.candidates]
        assert len(calls) == 1
        with pytest.raises(SolveError) as info:
            c.solve(bqm, backend="sa", num_reads=6, request_id="solve-1")
        assert info.value.code == grpc.StatusCode.ALREADY_EXISTS


def test_list_jobs_pages_and_filters():
    with Server("127.0.0.1:0") as srv, Client(srv.address) as c:
        handles = [c.submit(_bqm(4, seed=i), backend="sa", num_reads=1, seed=i) for i in range(7)]
        for h in handles:
            h.wait(timeout=20)
        eighth = c.submit(_bqm(4), backend="sa", num_reads=1, time_budget=5.0)
        eighth.wait(timeout=20)
        page1 = c._call("ListJobs", pb.ListJobsRequest(page_size=3), 5)
        assert len(page1.jobs) == 3 and page1.next_page_token
        page2 = c._call("ListJobs", pb.ListJobsRequest(page_size=3, page_token=page1.next_page_token), 5)
        seen = [j.job_id for j in page1.jobs] + [j.job_id for j in page2.jobs]
        assert len(set(seen)) == 6
        everything = c.list_jobs(page_size=2)
        assert [j.job_id for j in everything][::-1][:7] == [h.job_id for h in handles]  # newest first
        assert len(everything) == 8
        assert {j.job_id for j in c.list_jobs("SUCCEEDED")} >= {h.job_id for h in handles}
        assert c.list_jobs("RUNNING") == []
        with pytest.raises(SolveError) as info:
            c._call("ListJobs", pb.ListJobsRequest(page_token="garbage"), 5)
        assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT and info.value.field == "page_token"


def test_transient_failures_retried_structural_not():
    attempts = {"flaky": 0, "broken": 0, "down": 0, "bug": 0}

    def solve_fn(problem, backend, **kw):
        name = kw.pop("seed_tag", None)
        del name
        tag = {1: "flaky", 2: "broken", 3: "down", 4: "bug"}[kw["seed"]]
        attempts[tag] += 1
        if tag == "flaky" and attempts[tag] < 3:
            raise ConnectionError("remote solver connection reset")
        if tag == "broken":
            raise InvalidInput("problem", "structural: the backend cannot take this model")
        if tag == "bug":
            raise ValueError("a defect inside qopt, not the caller's input")
        if tag == "down":
            raise TransientError("remote solver busy")
        return solve(problem, backend, **kw)

    config = ServiceConfig(max_attempts=3, retry_base_delay=0.01, retry_max_delay=0.05)
    with Server("127.0.0.1:0", config=config, solve_fn=solve_fn) as srv, Client(srv.address) as c:
        flaky = c.submit(_bqm(5), backend="sa", num_reads=2, seed=1)
        broken = c.submit(_bqm(5), backend="sa", num_reads=2, seed=2)
        down = c.submit(_bqm(5), backend="sa", num_reads=2, seed=3)
        bug = c.submit(_bqm(5), backend="sa", num_reads=2, seed=4)
        assert flaky.result(timeout=20).best.energy == pytest.approx(dimod.ExactSolver().sample(_bqm(5)).first.energy)
        assert flaky.get().attempt == 3
        assert broken.wait(timeout=20).state == "FAILED"
        assert broken.get().error_code == "INVALID_ARGUMENT"
        assert broken.get().attempt == 1
        assert down.wait(timeout=20).state == "FAILED"
        assert down.get().error_code == "UNAVAILABLE"
        assert down.get().attempt == 3
        # a plain ValueError is a defect in qopt, not bad input: INTERNAL with a correlation id, not retried
        assert bug.wait(timeout=20).state == "FAILED"
        assert bug.get().error_code == "INTERNAL"
        assert "correlation id" in bug.get().error_message and "defect" not in bug.get().error_message
        assert bug.get().attempt == 1
        # Solve retries too, within its deadline
        attempts["flaky"] = 0
        result = c.solve(_bqm(5), backend="sa", num_reads=2, seed=1, timeout=20)
        assert attempts["flaky"] == 3 and result.best.energy == pytest.approx(
            dimod.ExactSolver().sample(_bqm(5)).first.energy)
        with pytest.raises(SolveError) as info:
            c.solve(_bqm(5), backend="sa", num_reads=2, seed=2, timeout=20)
        assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert attempts["broken"] == 2  # once as a job, once as Solve: never retried


def test_full_queue_and_per_principal_limit_refuse_at_once():
    gate = threading.Event()

    def blocked(problem, backend, **kw):
        gate.wait(20)
        return solve(problem, backend, **kw)

    config = ServiceConfig(job_workers=1, max_queue_length=2, max_jobs_per_principal=10)
    with Server("127.0.0.1:0", config=config, solve_fn=blocked) as srv, Client(srv.address) as c:
        first = c.submit(_bqm(4), backend="sa", num_reads=1)
        deadline = time.monotonic() + 10
        while first.state != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.02)
        c.submit(_bqm(4), backend="sa", num_reads=2)
        c.submit(_bqm(4), backend="sa", num_reads=3)
        t0 = time.monotonic()
        with pytest.raises(SolveError) as info:
            c.submit(_bqm(4), backend="sa", num_reads=4)
        assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert info.value.quota == "max_queue_length"
        assert time.monotonic() - t0 < 5  # refused, not queued behind the others
        gate.set()
    gate.clear()
    config = ServiceConfig(job_workers=1, max_jobs_per_principal=2)
    with Server("127.0.0.1:0", config=config, solve_fn=blocked) as srv, Client(srv.address) as c:
        c.submit(_bqm(4), backend="sa", num_reads=1)
        c.submit(_bqm(4), backend="sa", num_reads=2)
        with pytest.raises(SolveError) as info:
            c.submit(_bqm(4), backend="sa", num_reads=3)
        assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert info.value.quota == "max_jobs_per_principal"
        gate.set()


def test_restart_runs_queued_and_requeues_running(tmp_path):
    store = tmp_path / "jobs.sqlite"
    gate = threading.Event()

    def blocked(problem, backend, *, cancel=None, **kw):
        while not gate.is_set():
            if cancel is not None and cancel.wait(0.02):
                raise Cancelled("stopped")
        return solve(problem, backend, **kw)

    bqms = [_bqm(6, seed=s) for s in range(4)]
    config = ServiceConfig(job_workers=1)
    srv = Server("127.0.0.1:0", config=config, store_path=str(store), solve_fn=blocked).start()
    with Client(srv.address) as c:
        ids = [c.submit(b, backend="sa", num_reads=10, seed=1, request_id=f"r{i}").job_id for i, b in enumerate(bqms)]
        deadline = time.monotonic() + 10
        while c.job(ids[0]).state != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.02)
    srv.stop(grace=0.5)  # job 0 interrupted while RUNNING; 1..3 QUEUED
    import sqlite3

    with sqlite3.connect(store) as db:  # a graceful stop puts the interrupted job back to QUEUED
        states = dict(db.execute("SELECT job_id, state FROM jobs").fetchall())
    assert [states[j] for j in ids] == [pb.JOB_STATE_QUEUED] * 4

    srv = Server("127.0.0.1:0", config=config, store_path=str(store)).start()
    try:
        with Client(srv.address) as c:
            for i, (job_id, bqm) in enumerate(zip(ids, bqms, strict=True)):
                result = c.job(job_id).result(timeout=30)
                assert result.best.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
                assert c.job(job_id).get().attempt == (2 if i == 0 else 1)
            assert sorted(j.job_id for j in c.list_jobs()) == sorted(ids)
    finally:
        srv.stop(grace=0.5)


def test_running_job_fails_after_max_attempts(tmp_path):
    store = JobStore(tmp_path / "s.sqlite")
    req = pb.SubmitJobRequest(backend="sa")
    rec, _ = store.insert_job(job_id="j1", principal="anonymous", request_id="", request_hash="h",
                              request=req.SerializeToString(), backend="sa", problem_name="")
    for _ in range(3):
        assert store.mark_running("j1") is not None
        store.recover(max_attempts=3, fail_error=b"")
    assert store.get_job("j1").state == 4  # FAILED after the third interrupted start
    store.close()


def test_retention_deletes_old_finished_jobs(tmp_path):
    store = JobStore(tmp_path / "s.sqlite")
    now = time.time()
    for i, end in enumerate((now - 10 * 86400, now - 3600)):
        store.insert_job(job_id=f"j{i}", principal="p", request_id="", request_hash="h", request=b"",
                         backend="sa", problem_name="", now=end - 1)
        store.mark_running(f"j{i}", now=end - 1)
        store.finish(f"j{i}", 3, result=b"", now=end)
    store.insert_job(job_id="q", principal="p", request_id="", request_hash="h", request=b"", backend="sa",
                     problem_name="", now=now - 30 * 86400)  # old but not finished: kept
    store.put_solve("p", "old", "h", b"", now=now - 10 * 86400)
    assert store.cleanup(7 * 86400) == 2
    assert store.get_job("j0") is None and store.get_job("j1") is not None and store.get_job("q") is not None
    assert store.get_solve("p", "old") is None
    assert store.cleanup(0) == 0  # 0 keeps everything
    store.close()
