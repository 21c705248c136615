"""Admission by cost and fair sharing, against real gRPC servers on loopback: requests over
the cost limits are refused naming the limit and the estimate, ValidateProblem reports the
estimate admission used, time_budget 0 means max_time_budget, memory admission counts the
running requests, principals are served round-robin, and a Solve waits for a slot instead
of being refused at once."""
from __future__ import annotations

import threading
import time

import dimod
import grpc
import pytest

from qopt.client import Client, SolveError
from qopt.service import cost
from qopt.service.admission import Admission, FairQueue
from qopt.service.auth import hash_token
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server
from qopt.solve import solve
from qopt.v1 import solver_service_pb2 as pb

ALICE, BOB = "alice-token-cost", "bob-token-cost"


def _ring(n: int) -> dimod.BinaryQuadraticModel:
    return dimod.BinaryQuadraticModel({}, {(i, (i + 1) % n): 1.0 for i in range(n)}, 0.0, "SPIN")


HUGE = {"backend": "sa", "num_reads": 100_000, "num_sweeps": 10_000_000}


def test_cost_model_numbers():
    sa = cost.estimate("sa", 2000, 2000, {"num_reads": 100_000, "num_sweeps": 10_000_000})
    assert sa.cpu_seconds == pytest.approx(1.8e7)
    capped = cost.estimate("sa", 2000, 2000, {"num_reads": 4, "num_sweeps": 10_000_000, "time_limit": 2.0,
                                              "num_threads": 2})
    assert capped.wall_seconds == 2.0 and capped.cpu_seconds == 4.0
    assert sa.charged(10.0) == 10.0 and sa.charged(None) == sa.cpu_seconds
    ex = cost.estimate("exact", 20, 10, {"num_reads": 2 ** 20})  # every state: enumeration
    assert ex.memory_bytes >= 2 ** 20 * 20
    q = cost.estimate("qaoa", 20, 20, {})
    assert q.memory_bytes >= 2 * 16 * 2 ** 20  # the engine's state and the sampling statevector
    h = cost.estimate("hybrid", 500, 1000, {"time_limit": 86400.0}, time_budget=30.0)
    assert h.wall_seconds == 30.0 and h.cpu_seconds == 90.0  # 2 workers + the classical branch


def test_sa_estimates_the_run_the_pipeline_will_make():
    """Reads and sweeps not given are the pipeline's own defaults (sa_defaults), and a planned
    run (a time_limit, no run size) costs its time limit on every thread it has."""
    from qopt.samplers.sa import available_cores
    from qopt.solve.parameters import sa_defaults

    chosen = sa_defaults({}, 2000, 2000, None)
    reads, sweeps = chosen["num_reads"]["value"], chosen["num_sweeps"]["value"]
    default = cost.estimate("sa", 2000, 2000, {})
    assert default.cpu_seconds == pytest.approx(reads * sweeps * (2000 + 2 * 2000) * cost.SA_SECONDS_PER_SPIN_UPDATE)
    assert reads > 1  # (the model once assumed a single read)
    planned = cost.estimate("sa", 2000, 2000, {"time_limit": 7.0})
    assert planned.wall_seconds == 7.0 and planned.cpu_seconds == 7.0 * available_cores()
    assert planned.threads == available_cores() and "planned run" in planned.model
    assert planned.charged(2.0) == 2.0 * available_cores()  # a shorter deadline caps the charge
    two = cost.estimate("sa", 2000, 2000, {"time_limit": 3.0, "num_threads": 2})
    assert (two.wall_seconds, two.cpu_seconds) == (3.0, 6.0)
    sized = cost.estimate("sa", 2000, 2000, {"num_reads": 8, "time_limit": 7.0})  # a run size: counted work
    assert sized.cpu_seconds == pytest.approx(8 * sweeps * 6000 * cost.SA_SECONDS_PER_SPIN_UPDATE)


@pytest.fixture(scope="module")
def default_server():
    srv = Server("127.0.0.1:0").start()
    yield srv
    srv.stop(grace=1.0)


def test_huge_request_refused_at_submit_and_solve_with_the_validate_estimate(default_server):
    ring = _ring(2000)
    with Client(default_server.address) as c:
        report = c.validate(ring, **HUGE)
        assert not report.valid
        assert report.estimated_cpu_seconds["sa"] == pytest.approx(1.8e7)
        assert report.estimated_seconds["sa"] == pytest.approx(1.8e7)
        assert any("max_request_cpu_seconds" in v.description for v in report.violations)
        for call in (lambda: c.submit(ring, time_budget=0, **HUGE), lambda: c.solve(ring, **HUGE),
                     lambda: c.solve(ring, timeout=30, **HUGE)):
            with pytest.raises(SolveError) as err:
                call()
            assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert err.value.quota == "max_request_cpu_seconds"
            assert "estimated 1.8e+07 CPU-seconds" in err.value.details  # the number ValidateProblem reports
        assert c.list_jobs() == []  # nothing was queued
        backends = c._call("ListBackends", pb.ListBackendsRequest(), 10)
    assert backends.max_time_budget == ServiceConfig().max_time_budget > 0
    assert backends.max_request_cpu_seconds == ServiceConfig().max_request_cpu_seconds


def _recording(seen: list):
    def fake(problem, backend, *, time_budget=None, **kw):
        seen.append(time_budget)
        return solve(problem, "exact", **{k: v for k, v in kw.items() if k in ("max_candidates", "cancel")})
    return fake


def test_time_budget_zero_means_the_pipelines_default_within_the_maximum():
    """No deadline from the caller: the pipeline gets none, as in-process (its own default
    budget, at most DEFAULT_BUDGET_MAX, applies), when the server's max_time_budget is above
    that default's maximum; below it, max_time_budget itself, so the run ends before the job is
    stopped. A caller's deadline is always passed on; one above the maximum is refused."""
    from qopt.solve.stages import DEFAULT_BUDGET_MAX

    bqm = _ring(6)
    seen: list = []
    top = DEFAULT_BUDGET_MAX + 63.0
    with Server("127.0.0.1:0", config=ServiceConfig(max_time_budget=top), solve_fn=_recording(seen)) as srv, \
            Client(srv.address) as c:
        result = c.submit(bqm, backend="exact", time_budget=0).result(timeout=30)
        assert result.best.energy == -6.0
        assert seen == [None]  # the job's pipeline plans as qopt.solve without a deadline does
        c.solve(bqm, backend="exact")  # no deadline
        assert seen[1] is None
        c.solve(bqm, backend="exact", timeout=10)
        assert seen[2] < 10.0
        c.submit(bqm, time_budget=0).result(timeout=30)  # auto alike
        assert seen[3] is None
        with pytest.raises(SolveError) as err:
            c.submit(bqm, backend="exact", time_budget=top + 100)
        assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and err.value.quota == "max_time_budget"
        assert c._call("ListBackends", pb.ListBackendsRequest(), 10).max_time_budget == top
    seen.clear()
    small = ServiceConfig(max_time_budget=DEFAULT_BUDGET_MAX / 2)
    with Server("127.0.0.1:0", config=small, solve_fn=_recording(seen)) as srv, Client(srv.address) as c:
        c.submit(bqm, backend="exact", time_budget=0).result(timeout=30)
        assert seen == [DEFAULT_BUDGET_MAX / 2]  # the job is stopped at it: the run is planned within it


def test_memory_admission_counts_the_running_request():
    one = cost.estimate("qaoa", 20, 20, {}).memory_bytes
    config = ServiceConfig(max_memory_bytes=int(one * 1.5), max_solve_wait=1.0)
    started, release = threading.Event(), threading.Event()

    def blocking(problem, backend, **kw):
        started.set()
        release.wait(20)
        return solve(problem, "sa", num_reads=8, num_sweeps=500, seed=1)

    bqm = _ring(20)
    with Server("127.0.0.1:0", config=config, solve_fn=blocking) as srv, Client(srv.address) as c:
        box: dict = {}
        t = threading.Thread(target=lambda: box.setdefault("r", c.solve(bqm, backend="qaoa", timeout=30)))
        t.start()
        try:
            assert started.wait(10)
            t0 = time.monotonic()
            with pytest.raises(SolveError) as err:
                c.solve(bqm, backend="qaoa", timeout=20)
            waited = time.monotonic() - t0
            assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert err.value.quota == "max_memory_bytes"
            assert str(one) in err.value.details  # the estimate of the refused request
            assert 0.8 < waited < 10  # it waited max_solve_wait for room, then refused
            with pytest.raises(SolveError) as big:  # alone over the limit: refused at once
                c.solve(_ring(22), backend="qaoa", timeout=20)
            assert big.value.quota == "max_memory_bytes"
        finally:
            release.set()
            t.join(30)
        best = box["r"].best
        assert best.energy == bqm.energy(best.sample)
        assert srv.jobs.admission.memory_in_use() == 0
        c.solve(bqm, backend="qaoa", timeout=20)  # room again once the first finished


def test_jobs_are_served_round_robin_across_principals():
    order: list[str] = []
    gate = threading.Event()

    def fake(problem, backend, **kw):
        order.append(problem.offset)
        gate.wait(20)
        return solve(problem, "exact")

    config = ServiceConfig(job_workers=1, tokens={hash_token(ALICE): "alice", hash_token(BOB): "bob"})
    with Server("127.0.0.1:0", config=config, solve_fn=fake) as srv, \
            Client(srv.address, token=ALICE) as a, Client(srv.address, token=BOB) as b:
        jobs = []
        for i in range(10):
            bqm = _ring(4)
            bqm.offset = float(i)
            jobs.append(a.submit(bqm, backend="exact"))
        bqm = _ring(4)
        bqm.offset = 100.0
        jobs.append(b.submit(bqm, backend="exact"))
        gate.set()
        for j in jobs:
            j.result(timeout=30)
    assert sorted(order) == [float(i) for i in range(10)] + [100.0]
    assert order.index(100.0) == 1, order  # B's one job starts right after A's first (before A's third)
    assert [o for o in order if o != 100.0] == [float(i) for i in range(10)]  # A's stay in order


def test_principal_cpu_budget_counts_queued_jobs():
    gate = threading.Event()

    def fake(problem, backend, **kw):
        gate.wait(20)
        return solve(problem, "exact")

    one = cost.estimate("sa", 4, 4, {"num_reads": 1000, "num_sweeps": 100_000})
    config = ServiceConfig(job_workers=1, max_principal_cpu_seconds=2.5 * one.cpu_seconds)
    with Server("127.0.0.1:0", config=config, solve_fn=fake) as srv, Client(srv.address) as c:
        kw = {"backend": "sa", "num_reads": 1000, "num_sweeps": 100_000}
        first = [c.submit(_ring(4), **kw), c.submit(_ring(4), **kw)]
        with pytest.raises(SolveError) as err:
            c.submit(_ring(4), **kw)
        assert err.value.quota == "max_principal_cpu_seconds"
        assert "CPU-seconds" in err.value.details
        gate.set()
        for j in first:
            j.result(timeout=30)
        assert srv.jobs.admission.principal_cpu_seconds("anonymous") == 0
        c.submit(_ring(4), **kw).result(timeout=30)  # charged work finished: room again


def test_solve_waits_for_a_slot_instead_of_refusing():
    calls = []

    def slow(problem, backend, **kw):
        calls.append(time.monotonic())
        time.sleep(0.4)
        return solve(problem, "exact")

    config = ServiceConfig(max_concurrent_solves=1)
    with Server("127.0.0.1:0", config=config, solve_fn=slow) as srv:
        results, errors = [], []

        def one():
            try:
                with Client(srv.address) as c:
                    results.append(c.solve(_ring(4), backend="exact", timeout=30).best.energy)
            except SolveError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert not errors and results == [-4.0] * 3
    calls.sort()
    assert calls[2] - calls[0] >= 0.7  # one at a time


def test_fair_slots_prefer_the_principal_with_fewer_running():
    adm = Admission(ServiceConfig(max_concurrent_solves=2, max_concurrent_solves_per_principal=2))
    est = cost.estimate("exact", 4, 4, {})
    adm.acquire_solve("a", "a1", 0, timeout=0)
    adm.acquire_solve("a", "a2", 0, timeout=0)
    got: list[str] = []

    def wait(p, key):
        adm.acquire_solve(p, key, 0, timeout=10)
        got.append(p)

    ta = threading.Thread(target=wait, args=("a", "a3"))
    ta.start()
    time.sleep(0.1)
    tb = threading.Thread(target=wait, args=("b", "b1"))
    tb.start()
    time.sleep(0.1)
    adm.release_solve("a", "a1")  # one slot: b (none running) before a's third, though a waited longer
    tb.join(5)
    assert got == ["b"]
    adm.release_solve("a", "a2")
    ta.join(5)
    assert got == ["b", "a"]
    assert est.cpu_seconds > 0


def test_fair_queue_round_robin():
    q = FairQueue()
    for i in range(4):
        q.put(f"a{i}", "a")
    q.put("b0", "b")
    q.put("c0", "c")
    assert [q.get() for _ in range(6)] == ["a0", "b0", "c0", "a1", "a2", "a3"]
    q.put(None)
    assert q.get() is None


LOAD_CLIENTS, LOAD_CALLS = 32, 20


def _ground_energy(bqm: dimod.BinaryQuadraticModel) -> float:
    return float(dimod.ExactSolver().sample(bqm).first.energy)


def test_32_clients_x_20_solves_all_served_with_correct_energies():
    """Default limits (12 solve slots, 8 per principal, 16 RPC threads): every call is served
    (a call without a slot waits for one), with the brute-force ground energy. Prints p50/p99."""
    problems = [dimod.generators.gnp_random_bqm(8, 0.6, "SPIN", random_state=k) for k in range(LOAD_CLIENTS)]
    grounds = [_ground_energy(b) for b in problems]
    latencies: list[float] = []
    failures: list = []
    lock = threading.Lock()
    with Server("127.0.0.1:0") as srv:
        start = threading.Barrier(LOAD_CLIENTS)

        def run(k: int):
            with Client(srv.address) as c:
                start.wait(30)
                for i in range(LOAD_CALLS):
                    t0 = time.perf_counter()
                    try:
                        result = c.solve(problems[k], backend="sa", num_reads=20, num_sweeps=200, seed=i, timeout=60)
                    except SolveError as exc:
                        with lock:
                            failures.append(exc)
                        continue
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        if abs(result.best.energy - grounds[k]) > 1e-9 or \
                                abs(problems[k].energy(result.best.sample) - result.best.energy) > 1e-9:
                            failures.append((k, i, result.best.energy, grounds[k]))

        threads = [threading.Thread(target=run, args=(k,)) for k in range(LOAD_CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    assert not failures, failures[:5]
    assert len(latencies) == LOAD_CLIENTS * LOAD_CALLS
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"\n{len(latencies)} Solve calls served: p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms")
