"""Jobs, unary Solves and batches through ``--executor ray`` on a real local Ray cluster
(two nodes on 127.0.0.2, token auth; one cluster per session, :mod:`conftest`).

The quick ones run in ``make test`` (``-m "not slow"``); those that kill a worker, start a
second server process, run a long hybrid or a campaign are ``slow``."""
from __future__ import annotations

import os
import signal
import threading
import time

import dimod
import grpc
import numpy as np
import pytest

import qopt
from qopt.client import Client, SolveError
from qopt.io.readers import read_instance
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server

#: an SA run of many seconds on one thread (pw01_100.0: 100 variables; no time limit of its own)
LONG_SA = dict(num_reads=4, num_sweeps=2_000_000, num_threads=1, seed=3)


def _check_energies(result, bqm):
    """Every candidate's energy is the problem's own energy of its sample (dimod)."""
    samples = [[c.sample[v] for v in bqm.variables] for c in result.candidates]
    np.testing.assert_allclose(bqm.energies((np.array(samples), list(bqm.variables))),
                               [c.energy for c in result.candidates], rtol=0, atol=1e-6)


def _wait_idle(cluster, timeout: float = 30.0) -> bool:
    """Until no worker of ``cluster`` runs a solve (an earlier test's task ended); True if so."""
    from cluster import solving_worker_pids

    deadline = time.monotonic() + timeout
    while solving_worker_pids(cluster) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not solving_worker_pids(cluster)


def _wait_busy(cluster, timeout: float = 60.0) -> list[int]:
    """Pids of the workers running a solve, once there is one (empty after ``timeout``)."""
    from cluster import solving_worker_pids

    deadline = time.monotonic() + timeout
    pids: list[int] = []
    while not pids and time.monotonic() < deadline:
        pids = solving_worker_pids(cluster)
        time.sleep(0.05)
    return pids


def _solve_in_thread(client: Client, *args, **kwargs) -> tuple[threading.Thread, dict]:
    """``client.solve(*args, **kwargs)`` on a thread; the dict gets its ``result`` or ``error``."""
    answer: dict = {}

    def call() -> None:
        try:
            answer["result"] = client.solve(*args, **kwargs)
        except SolveError as exc:
            answer["error"] = exc

    thread = threading.Thread(target=call, name="test-solve", daemon=True)
    thread.start()
    return thread, answer


@pytest.fixture
def ray_server(ray_cluster, tmp_path):
    assert _wait_idle(ray_cluster), "an earlier test's Ray task is still running"
    config = ServiceConfig(executor="ray", ray_address=ray_cluster.address, job_workers=2, retry_base_delay=0.05,
                           max_attempts=3)
    with Server("127.0.0.1:0", config=config, store_path=str(tmp_path / "jobs.sqlite")) as server:
        yield server


def test_jobs_run_as_ray_tasks_with_energies_of_their_problems(ray_server):
    gka = read_instance("gka1b")
    bqp = read_instance("bqp50")
    with Client(ray_server.address) as client:
        handles = [client.submit(inst.bqm, "sa", num_reads=16, num_sweeps=500, seed=7) for inst in (gka, bqp)]
        results = [h.result(timeout=120) for h in handles]
    for inst, result in zip((gka, bqp), results, strict=True):
        _check_energies(result, inst.bqm)
        assert result.provenance["executor"]["name"] == "ray"
        assert result.provenance["executor"]["node_ip"] == "127.0.0.2"
    # gka1b (20 variables) is small enough for 16 reads to reach its published optimum
    assert results[0].best.energy == pytest.approx(gka.best_known_energy)


def test_a_unary_solve_runs_as_a_ray_task_with_the_in_process_answer(ray_server):
    """``Solve`` (unary) under ``--executor ray`` runs on the cluster, and the same request and
    seed give the answer of the in-process server and of ``qopt.solve`` in this process; each
    candidate's energy is the problem's own (dimod)."""
    bqm = read_instance("bqp50", problem=4).bqm
    params = dict(num_reads=8, num_sweeps=500, seed=9)
    with Client(ray_server.address) as client:
        on_ray = client.solve(bqm, "sa", **params)  # no deadline: the pipeline's own default budget
    with Server("127.0.0.1:0") as local, Client(local.address) as client:
        in_process = client.solve(bqm, "sa", **params)
    direct = qopt.solve(bqm, "sa", **params)
    _check_energies(on_ray, bqm)
    assert on_ray.provenance["executor"]["name"] == "ray"
    assert on_ray.provenance["executor"]["node_ip"] == "127.0.0.2"
    assert "executor" not in in_process.provenance  # the in-process default is untouched
    assert [c.energy for c in on_ray.candidates] == [c.energy for c in in_process.candidates]
    assert [c.sample for c in on_ray.candidates] == [c.sample for c in in_process.candidates]
    assert on_ray.best.energy == direct.best.energy and on_ray.best.sample == direct.best.sample


def test_a_cancelled_unary_solve_cancels_its_ray_task(ray_server, ray_cluster):
    """The client going away (its channel closed) cancels a unary ``Solve`` in flight, and
    with it the call's Ray task (its worker stops solving within seconds); the server answers
    the next Solve."""
    bqm = read_instance("pw01_100.0").bqm
    client = Client(ray_server.address)
    thread, answer = _solve_in_thread(client, bqm, "sa", timeout=120, **LONG_SA)
    assert _wait_busy(ray_cluster), "the Solve's Ray task never started"
    client.close()
    thread.join(30)
    assert answer["error"].code == grpc.StatusCode.CANCELLED
    assert _wait_idle(ray_cluster, 15.0), "the Ray task outlived its cancelled Solve"
    gka = read_instance("gka1b")
    with Client(ray_server.address) as client:  # 20 variables: 16 reads reach the published optimum
        result = client.solve(gka.bqm, "sa", timeout=60, num_reads=16, num_sweeps=500, seed=2)
    assert result.best.energy == pytest.approx(gka.best_known_energy)


def test_a_unary_solve_past_its_deadline_cancels_its_ray_task(ray_cluster, tmp_path):
    """The gRPC deadline holds on Ray: a Solve whose run outlasts its deadline (``exact`` asked
    for 65536 of the 2^22 states of a 22-variable model enumerates them all with
    dimod.ExactSolver, which takes no interrupt: about 8 s on this machine) ends at its 3 s
    deadline with DEADLINE_EXCEEDED, and its Ray task is cancelled with it (pending jobs off,
    so nothing continues the work as a job). The enumeration cannot stop early, so the task
    ends when it does (its worker surviving), hence the 20 s allowed; an annealing run or the
    branch and bound stops within a second (the cancel test above)."""
    bqm = dimod.generators.ran_r(1, 22, seed=1)
    assert _wait_idle(ray_cluster), "an earlier test's Ray task is still running"
    config = ServiceConfig(executor="ray", ray_address=ray_cluster.address, pending_jobs=False)
    with Server("127.0.0.1:0", config=config, store_path=str(tmp_path / "jobs.sqlite")) as server, \
            Client(server.address) as client:
        t0 = time.monotonic()
        thread, answer = _solve_in_thread(client, bqm, "exact", timeout=3.0, num_reads=65536)
        assert _wait_busy(ray_cluster, 3.0), "the Solve's Ray task never started"
        thread.join(30)
        assert time.monotonic() - t0 < 3.0 + 2.0
        assert answer["error"].code == grpc.StatusCode.DEADLINE_EXCEEDED
        assert _wait_idle(ray_cluster, 20.0), "the Ray task outlived its Solve's deadline"


@pytest.mark.slow  # kills a worker: Ray starts a new one (seconds of imports)
def test_a_worker_killed_mid_job_is_retried_and_answered_once(ray_server, ray_cluster):
    bqm = read_instance("pw01_100.0").bqm
    with Client(ray_server.address) as client:
        handle = client.submit(bqm, "sa", num_reads=4, num_sweeps=1_000_000, num_threads=1, seed=3)  # seconds
        pids = _wait_busy(ray_cluster)
        assert pids, "the job's Ray task never started"
        os.kill(pids[0], signal.SIGKILL)
        result = handle.result(timeout=180)
        job = handle.get()
    _check_energies(result, bqm)
    assert job.attempt == 2  # the lost run, then the retry
    assert result.provenance["executor"]["pid"] != pids[0]
    assert len(ray_server.store.list_jobs(None, limit=10)) == 1  # one job, one stored result


def test_solve_many_on_ray_gives_the_threads_results_for_the_same_seeds(ray_server):
    import qopt

    instances = [read_instance("bqp50", problem=k) for k in (1, 2, 3)] + [read_instance("gka1b")]
    bqms = [inst.bqm for inst in instances]
    params = dict(num_reads=8, num_sweeps=400, seed=5)
    on_ray = list(qopt.solve_many(bqms, "sa", executor="ray", **params))
    on_threads = list(qopt.solve_many(bqms, "sa", executor="thread", **params))
    assert [item.index for item in on_ray] == [0, 1, 2, 3]
    for bqm, a, b in zip(bqms, on_ray, on_threads, strict=True):
        assert a.error is None and a.attempts == 1
        _check_energies(a.result, bqm)
        assert a.result.provenance["executor"]["name"] == "ray"
        assert [c.energy for c in a.result.candidates] == [c.energy for c in b.result.candidates]
        assert a.result.best.sample == b.result.best.sample
    # SolveBatch on a server whose executor is Ray: one answer per problem, each from a Ray task
    with Client(ray_server.address) as client:
        items = list(client.solve_many(bqms, "sa", ordered=False, timeout=120, **params))
    assert sorted(item.index for item in items) == [0, 1, 2, 3]
    for item in items:
        assert item.result.provenance["executor"]["name"] == "ray"
        assert item.result.best.energy == on_threads[item.index].result.best.energy


@pytest.mark.slow
def test_qopt_benchmark_on_ray_writes_its_report_with_tts_by_hand(ray_cluster, tmp_path):
    import io

    from test_campaign import _check_report

    from qopt.cli import build_parser

    args = build_parser().parse_args(["benchmark", "gka1b", "bqp50", "--backends", "sa", "--deadlines", "0.5",
                                      "--seeds", "3", "--num-reads", "4", "--num-sweeps", "100", "--executor", "ray",
                                      "--ray-address", ray_cluster.address, "--parallel", "2",
                                      "--out", str(tmp_path)])
    args.out = io.StringIO()
    assert args.func(args) == 0
    _check_report(tmp_path, [read_instance("gka1b"), read_instance("bqp50")], ["sa"], [0.5], 3)
    assert "on the ray executor" in (tmp_path / "report.md").read_text()


def test_a_statevector_no_node_can_hold_is_refused_not_left_waiting(ray_server):
    """Each Ray node of the test cluster offers 512 MiB; a 24-qubit QAOA statevector run needs ~768 MiB
    (the cost model), within the server's own max_memory_bytes (8 GiB): the job fails at once
    with RESOURCE_EXHAUSTED naming the memory, instead of waiting for a node that never comes."""
    import dimod

    from qopt.client import JobFailed

    bqm = dimod.BinaryQuadraticModel({i: 1.0 for i in range(24)}, {(i, i + 1): -1.0 for i in range(23)}, 0.0,
                                     "SPIN")
    with Client(ray_server.address) as client:
        handle = client.submit(bqm, "qaoa", reps=1, maxiter=1, shots=16)
        t0 = time.monotonic()
        with pytest.raises(JobFailed) as info:
            handle.result(timeout=60)
        assert handle.get().attempt == 1  # structural: not retried
    assert time.monotonic() - t0 < 30
    assert info.value.code.name == "RESOURCE_EXHAUSTED"
    assert "Ray node" in str(info.value)


@pytest.mark.slow  # the unary cancel (quick) covers the same executor path
def test_cancel_reaches_the_ray_task(ray_server, ray_cluster):
    bqm = read_instance("pw01_100.0").bqm
    with Client(ray_server.address) as client:
        handle = client.submit(bqm, "sa", **LONG_SA)
        assert _wait_busy(ray_cluster), "the job's Ray task never started"
        t0 = time.monotonic()
        handle.cancel()
        job = handle.wait(timeout=30)
        assert time.monotonic() - t0 < 10
        assert job.state in ("CANCELLED", 4)
        assert _wait_idle(ray_cluster, 10.0), "the Ray task outlived its cancelled job"


@pytest.mark.slow  # a second server process, connecting to the cluster as a driver
def test_qopt_serve_executor_ray_flag(ray_cluster, tmp_path):
    import subprocess
    import sys

    from cluster import NODE_IP

    env = {**ray_cluster.env(), "QOPT_RAY_NODE_IP": NODE_IP}
    proc = subprocess.Popen([sys.executable, "-m", "qopt", "serve", "--address", "127.0.0.1:0", "--executor", "ray",
                             "--ray-address", ray_cluster.address, "--store", str(tmp_path / "jobs.sqlite")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("qopt serving on "), line
        address = line.split()[3]
        bqm = read_instance("gka1b").bqm
        with Client(address) as client:
            result = client.submit(bqm, "sa", num_reads=16, num_sweeps=500, seed=2).result(timeout=120)
        _check_energies(result, bqm)
        assert result.provenance["executor"]["name"] == "ray"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


@pytest.mark.slow  # a 12 s hybrid run
def test_a_hybrid_job_on_ray_fans_its_subproblems_out_as_ray_tasks(ray_server):
    """The hybrid runs inside the job's Ray task; its quantum-branch subproblems (here on the
    ``exact`` backend, so they are quick) go to the cluster as Ray tasks of their own and come
    back as arrays; the incumbent and the splice stay with the run. Gset G1 (800 variables):
    the lower bound does not close the gap early (on gka1b it certifies the optimum in a tenth
    of a second, before any subproblem task could come back), so the run goes on to its time
    limit: 12 s within the job's 15 s budget (without a budget the pipeline's default for 800
    variables cuts it to ~3 s, which a cold subproblem worker can use up). The answer is the
    problem's own energy, not below G1's published optimum."""
    inst = read_instance("G1")
    with Client(ray_server.address) as client:
        # a subproblem task may start a cold worker process on the other node (imports: seconds here)
        result = client.submit(inst.bqm, "hybrid", time_budget=15, time_limit=12, subproblem_timeout=10,
                               subproblem_size=6, num_workers=1, quantum_backend="exact",
                               seed=4).result(timeout=120)
    _check_energies(result, inst.bqm)
    hybrid = result.provenance["backend_info"]["hybrid"]
    assert hybrid["subproblems"].get("exact", 0) > 0, hybrid["breaker"]
    assert hybrid["subproblems_dispatched_out"] >= hybrid["subproblems"]["exact"]  # each quantum one went out
    assert result.best.energy >= inst.best_known_energy - 1e-6
