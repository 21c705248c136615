"""Threads that cannot starve and the auth defaults (issue 12).

Threads: with every watch stream and every Solve slot held, health checks, GetJob,
ListJobs and CancelJob still answer within 1 s; long calls beyond their share of the
pool, and public streams beyond ``max_public_streams``, are refused at once.

Auth: a non-loopback address without tokens stops ``qopt serve`` unless ``--insecure``;
tokens come from a file, the environment or ``--token-sha256`` (with a warning); a token
sent while auth is off is logged once (refused with ``reject_tokens_when_auth_off``);
with auth on, reflection and the metrics endpoint need a token, health does not.
"""
from __future__ import annotations

import concurrent.futures
import logging
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import dimod
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from qopt.client import Client, SolveError
from qopt.errors import InvalidInput, ParameterError
from qopt.service.auth import hash_token, read_tokens_file, tokens_from_env
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server, check_exposure
from qopt.solve import solve
from qopt.v1 import solver_service_pb2 as pb
from qopt.v1 import solver_service_pb2_grpc as pb_grpc

ALICE, BOB, CAROL = "alice-token-threads", "bob-token-threads", "carol-token-threads"


def _bqm():
    return dimod.BinaryQuadraticModel({0: 1.0, 1: -1.0}, {(0, 1): 0.5}, 0, "SPIN")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Blocking:
    """A solve_fn that blocks until :attr:`gate` is set (or the call is cancelled)."""

    def __init__(self):
        self.gate = threading.Event()
        self.entered = 0
        self._lock = threading.Lock()

    def __call__(self, problem, backend, *, cancel=None, **kw):
        with self._lock:
            self.entered += 1
        deadline = time.monotonic() + 60
        while not self.gate.wait(0.02) and time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                break
        return solve(problem, backend, cancel=cancel, **kw)

    def wait_entered(self, n: int, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while self.entered < n:
            assert time.monotonic() < end, f"{self.entered} of {n} solves started"
            time.sleep(0.02)


def test_pool_is_sized_above_the_slot_limits():
    config = ServiceConfig(rpc_workers=3, max_concurrent_solves=5, max_waiting_solves=0, max_watch_streams=2,
                           max_public_streams=1)
    assert config.long_call_threads == 8 and config.rpc_threads == 11
    assert ServiceConfig().rpc_threads > ServiceConfig().max_concurrent_solves + ServiceConfig().max_watch_streams


def test_short_calls_answer_when_every_watch_and_solve_slot_is_busy():
    fn = _Blocking()
    # defaults: 12 solves, 8 watch streams; one principal may fill every Solve slot here
    config = ServiceConfig(rpc_workers=2, job_workers=1, max_concurrent_solves_per_principal=0, max_waiting_solves=0)
    with Server("127.0.0.1:0", config=config, solve_fn=fn) as srv, Client(srv.address) as c, \
            grpc.insecure_channel(srv.address) as ch, concurrent.futures.ThreadPoolExecutor(16) as pool:
        stub = pb_grpc.SolverServiceStub(ch)
        job = c.submit(_bqm(), backend="sa")
        fn.wait_entered(1)
        streams = []
        for _ in range(config.max_watch_streams):
            stream = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=60)
            assert next(stream).kind == pb.JobEvent.KIND_SNAPSHOT
            streams.append(stream)
        solves = [pool.submit(c.solve, _bqm(), backend="sa", num_reads=1, timeout=60)
                  for _ in range(config.max_concurrent_solves)]
        fn.wait_entered(1 + config.max_concurrent_solves)
        try:
            health = health_pb2_grpc.HealthStub(ch)
            for _ in range(3):
                t0 = time.monotonic()
                assert health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                    health_pb2.HealthCheckResponse.SERVING
                assert stub.GetJob(pb.GetJobRequest(job_id=job.job_id), timeout=1).job.state == pb.JOB_STATE_RUNNING
                assert job.job_id in [j.job_id for j in stub.ListJobs(pb.ListJobsRequest(), timeout=1).jobs]
                assert time.monotonic() - t0 < 3
            # one more of each long call is refused at once, not queued behind the busy threads
            with pytest.raises(SolveError) as info:
                c.solve(_bqm(), backend="sa", num_reads=1, timeout=5)
            assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            with pytest.raises(SolveError) as info:
                list(job.watch(timeout=5))
            assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and info.value.quota == "max_watch_streams"
            cancelled = stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id), timeout=1).job
            assert cancelled.cancel_requested or cancelled.state == "CANCELLED"
        finally:
            fn.gate.set()
            for stream in streams:
                stream.cancel()
        for done in solves:
            assert done.result(timeout=60).best.energy == pytest.approx(-2.5)


def test_long_calls_beyond_their_share_are_refused_by_the_interceptor():
    # a Solve waiting for an earlier call with the same request_id holds a thread too: it is
    # refused at once when the long-call share (solves + watch streams) is used up
    fn = _Blocking()
    config = ServiceConfig(rpc_workers=1, max_concurrent_solves=1, max_waiting_solves=0, max_watch_streams=0,
                           max_public_streams=1)
    with Server("127.0.0.1:0", config=config, solve_fn=fn) as srv, Client(srv.address) as c, \
            concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(c.solve, _bqm(), backend="sa", num_reads=1, timeout=60, request_id="dup")
        fn.wait_entered(1)
        t0 = time.monotonic()
        with pytest.raises(SolveError) as info:
            c.solve(_bqm(), backend="sa", num_reads=1, timeout=30, request_id="dup")
        assert time.monotonic() - t0 < 5
        assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and info.value.quota == "max_concurrent_solves"
        with grpc.insecure_channel(srv.address) as ch:
            assert health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                health_pb2.HealthCheckResponse.SERVING
        fn.gate.set()
        assert first.result(timeout=60).best.energy == pytest.approx(-2.5)


def test_public_streams_are_bounded_and_check_stays_served():
    config = ServiceConfig(rpc_workers=1, max_public_streams=2)
    with Server("127.0.0.1:0", config=config) as srv, grpc.insecure_channel(srv.address) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        watches = [health.Watch(health_pb2.HealthCheckRequest(), timeout=30) for _ in range(2)]
        for w in watches:
            assert next(w).status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as info:
            next(health.Watch(health_pb2.HealthCheckRequest(), timeout=5))
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "max_public_streams" in info.value.details()
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
            health_pb2.HealthCheckResponse.SERVING
        for w in watches:
            w.cancel()
        end = time.monotonic() + 10  # the slots come back once the streams close
        while True:
            try:
                w = health.Watch(health_pb2.HealthCheckRequest(), timeout=5)
                assert next(w).status == health_pb2.HealthCheckResponse.SERVING
                w.cancel()
                break
            except grpc.RpcError:
                assert time.monotonic() < end
                time.sleep(0.1)


# -- start-up refusal and token sources ---------------------------------------------------
def _env(**extra):
    import qopt

    env = dict(os.environ)
    env.pop("QOPT_TOKENS_SHA256", None)
    env["PYTHONPATH"] = str(pathlib.Path(qopt.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def test_serve_refuses_a_public_address_without_tokens(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "qopt", "serve", "--address", "0.0.0.0:0", "--store",
                           str(tmp_path / "jobs.sqlite")], capture_output=True, text=True, env=_env(), timeout=60)
    assert proc.returncode == 2
    assert "--insecure" in proc.stderr and "--tokens-file" in proc.stderr and "0.0.0.0:0" in proc.stderr
    assert "qopt serving on" not in proc.stdout
    assert not (tmp_path / "jobs.sqlite").exists()  # refused before anything was opened


def test_check_exposure():
    check_exposure("127.0.0.1:1", ServiceConfig())
    check_exposure("[::1]:1", ServiceConfig())
    check_exposure("localhost:1", ServiceConfig())
    check_exposure("0.0.0.0:1", ServiceConfig(insecure=True))
    check_exposure("0.0.0.0:1", ServiceConfig(tokens={hash_token(ALICE): "alice"}))
    for address in ("0.0.0.0:1", "[::]:1", "10.1.2.3:1", "example.org:1"):
        with pytest.raises(ParameterError) as info:
            check_exposure(address, ServiceConfig())
        assert info.value.field == "insecure"
    with pytest.raises(ParameterError, match="insecure"):
        Server("0.0.0.0:0")
    with pytest.raises(ValueError, match="insecure"):
        ServiceConfig(insecure="yes")


def test_token_sources(tmp_path):
    path = tmp_path / "tokens"
    path.write_text(f"# digest principal\n\n{hash_token(ALICE)} alice\n{hash_token(BOB).upper()}  bob\n")
    assert read_tokens_file(path) == {hash_token(ALICE): "alice", hash_token(BOB): "bob"}
    path.write_text(f"{hash_token(ALICE)} alice\nnot-a-digest bob\n")
    with pytest.raises(InvalidInput) as info:
        read_tokens_file(path)
    assert info.value.field.endswith(":2")
    env = {"QOPT_TOKENS_SHA256": f"{hash_token(ALICE)}=alice, {hash_token(BOB)}=bob"}
    assert tokens_from_env(env) == {hash_token(ALICE): "alice", hash_token(BOB): "bob"}
    assert tokens_from_env({}) == {}
    with pytest.raises(InvalidInput, match="QOPT_TOKENS_SHA256"):
        tokens_from_env({"QOPT_TOKENS_SHA256": hash_token(ALICE)})


def test_serve_reads_tokens_from_file_env_and_argv(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{hash_token(ALICE)} alice\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qopt", "serve", "--address", "0.0.0.0:0", "--store", str(tmp_path / "jobs.sqlite"),
         "--tokens-file", str(tokens), "--token-sha256", f"{hash_token(CAROL)}=carol", "--log-format", "text"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(QOPT_TOKENS_SHA256=f"{hash_token(BOB)}=bob"))
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("qopt serving on 0.0.0.0:"), (line, proc.stderr.read() if proc.poll() else "")
        address = "127.0.0.1:" + line.split()[3].rsplit(":", 1)[1]
        for token, principal in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            with Client(address, token=token) as c:
                c.wait_until_ready(20)
                job = c.submit(_bqm(), backend="sa", num_reads=2, request_id=f"from-{principal}")
                assert [j.job_id for j in c.list_jobs()] == [job.job_id]  # each its own principal
        with Client(address, token="unknown") as c, pytest.raises(SolveError) as info:
            c.list_jobs()
        assert info.value.code == grpc.StatusCode.UNAUTHENTICATED
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert "--token-sha256" in err and "ps" in err  # the warning
    assert ALICE not in err and BOB not in err and CAROL not in err


# -- auth off: tokens logged, refused only when asked --------------------------------------
def test_token_with_auth_off_is_logged_once_and_served(caplog):
    caplog.set_level(logging.WARNING, logger="qopt.service.access")
    with Server("127.0.0.1:0") as srv, Client(srv.address, token=ALICE) as c:
        for _ in range(3):
            assert c.list_jobs() == []
        with Client(srv.address, token=BOB) as other:
            other.list_jobs()
    lines = [r.getMessage() for r in caplog.records if "authentication is off" in r.getMessage()]
    assert len(lines) == 2  # once per token
    assert hash_token(ALICE)[:12] in lines[0] and hash_token(BOB)[:12] in lines[1]
    assert not any(ALICE in r.getMessage() or BOB in r.getMessage() for r in caplog.records)


def test_token_with_auth_off_refused_when_configured():
    config = ServiceConfig(reject_tokens_when_auth_off=True)
    with Server("127.0.0.1:0", config=config) as srv:
        with Client(srv.address, token=ALICE) as c, pytest.raises(SolveError) as info:
            c.list_jobs()
        assert info.value.code == grpc.StatusCode.UNAUTHENTICATED and "reject_tokens_when_auth_off" in str(info.value)
        with Client(srv.address) as c:
            assert c.list_jobs() == []


# -- auth on: reflection and metrics need a token, health does not -----------------------
def _list_services(address, token=None):
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    with grpc.insecure_channel(address) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                              metadata=metadata, timeout=10)
        return sorted(s.name for r in responses for s in r.list_services_response.service)


def _scrape(port, token=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_reflection_and_metrics_need_a_token_when_auth_is_on():
    port = _free_port()
    config = ServiceConfig(tokens={hash_token(ALICE): "alice"}, metrics_port=port)
    with Server("127.0.0.1:0", config=config) as srv:
        with grpc.insecure_channel(srv.address) as ch:
            assert health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5).status == \
                health_pb2.HealthCheckResponse.SERVING
        for token in (None, "wrong"):
            with pytest.raises(grpc.RpcError) as info:
                _list_services(srv.address, token)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "qopt.v1.SolverService" in _list_services(srv.address, ALICE)
        for token in (None, "wrong"):
            status, body = _scrape(port, token)
            assert status == 401 and "qopt_requests_total" not in body
        status, body = _scrape(port, ALICE)
        assert status == 200 and "qopt_requests_total" in body


def test_reflection_and_metrics_open_when_auth_is_off():
    port = _free_port()
    with Server("127.0.0.1:0", config=ServiceConfig(metrics_port=port)) as srv:
        assert "qopt.v1.SolverService" in _list_services(srv.address)
        status, body = _scrape(port)
        assert status == 200 and "qopt_requests_total" in body
