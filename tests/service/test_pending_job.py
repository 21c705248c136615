"""The last fallback tier: a ``Solve`` that runs out of its deadline with nothing to return
continues as a job; the DEADLINE_EXCEEDED answer names it (google.rpc.ErrorInfo
PENDING_JOB / ResourceInfo), the client follows it, and a retry of the same request_id
returns its result. Faults are injected by registering failing backends."""
from __future__ import annotations

import importlib
import threading

import dimod
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from qopt.client import Client, SolveError
from qopt.errors import NoResultInTime
from qopt.samplers import registry
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server
from qopt.v1 import solver_service_pb2 as pb

MODULE = __name__


class FlakySampler(dimod.Sampler):
    """Gives up (NoResultInTime, as the pipeline does when every tier failed) on its first
    ``fail_first`` calls, then enumerates exactly."""

    parameters = {"seed": []}
    properties = {}
    calls = 0
    fail_first = 1
    gate = None            # when set to an Event, calls after the failing ones wait for it

    def sample(self, bqm, seed=None):
        type(self).calls += 1
        if type(self).calls <= type(self).fail_first:
            raise NoResultInTime("injected: no tier answered", [{"tier": "quantum", "backend": "flaky",
                                                                 "outcome": "failed"}])
        if type(self).gate is not None:
            type(self).gate.wait(30)
        return dimod.ExactSolver().sample(bqm)


RELEASE = threading.Event()


class HangingSampler(dimod.Sampler):
    """A quantum backend that never answers (until the test releases it)."""

    parameters = {"seed": []}
    properties = {}

    def sample(self, bqm, seed=None):
        RELEASE.wait(60)
        raise ConnectionError("released")


def _model(n=10, seed=3):
    return dimod.generators.gnp_random_bqm(n, 0.6, dimod.SPIN, random_state=seed)


def _ground(bqm):
    return dimod.ExactSolver().sample(bqm).first.energy


@pytest.fixture()
def flaky(monkeypatch):
    monkeypatch.setitem(registry.BACKENDS, "flaky", (MODULE, "FlakySampler", "fails first"))
    assert importlib.import_module(MODULE) is not None
    FlakySampler.calls = 0
    FlakySampler.fail_first = 1
    FlakySampler.gate = None
    yield FlakySampler
    if FlakySampler.gate is not None:
        FlakySampler.gate.set()


def _server(**config):
    return Server("127.0.0.1:0", max_workers=4, config=ServiceConfig(**config)).start()


def test_no_result_in_time_becomes_a_pending_job(flaky):
    bqm = _model()
    srv = _server()
    try:
        with Client(srv.address) as c:
            with pytest.raises(SolveError) as info:
                c.solve(bqm, backend="flaky", timeout=20, request_id="pending-1")
            err = info.value
            assert err.code == grpc.StatusCode.DEADLINE_EXCEEDED
            assert err.job_id and err.job_id in err.details
            job = c.job(err.job_id).wait(timeout=30)
            assert job.state == "SUCCEEDED"
            result = err.job.result(timeout=30)           # keyed by the model's own labels
            assert result.candidates[0].energy == pytest.approx(_ground(bqm))
            assert result.candidates[0].energy == pytest.approx(bqm.energy(result.candidates[0].sample))
            # the job belongs to the caller and carries the derived idempotency key
            assert job.request_id == "pending-solve:pending-1" and job.backend == "flaky"
            # a retry of the same request_id returns the job's result instead of solving again
            calls = flaky.calls
            again = c.solve(bqm, backend="flaky", timeout=20, request_id="pending-1")
            assert flaky.calls == calls
            assert again.candidates[0].energy == pytest.approx(_ground(bqm))
            assert [j.job_id for j in c.list_jobs()] == [err.job_id]
    finally:
        srv.stop(grace=1.0)


def test_pending_status_has_rich_details(flaky):
    srv = _server()
    try:
        channel = grpc.insecure_channel(srv.address)
        stub = pb_grpc().SolverServiceStub(channel)
        from qopt.service.convert import bqm_to_proto
        from qopt.v1 import model_pb2

        request = pb.SolveRequest(problem=model_pb2.Problem(bqm=bqm_to_proto(_model())), backend="flaky")
        with pytest.raises(grpc.RpcError) as info:
            stub.Solve(request, timeout=20)
        status = rpc_status.from_call(info.value)
        assert status.code == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
        kinds = {}
        for detail in status.details:
            for cls in (error_details_pb2.ErrorInfo, error_details_pb2.ResourceInfo):
                if detail.Is(cls.DESCRIPTOR):
                    msg = cls()
                    detail.Unpack(msg)
                    kinds[cls.__name__] = msg
        assert kinds["ErrorInfo"].reason == "PENDING_JOB"
        job_id = kinds["ErrorInfo"].metadata["job_id"]
        assert kinds["ResourceInfo"].resource_type == "qopt.v1.Job"
        assert kinds["ResourceInfo"].resource_name == job_id
        assert "quantum" in kinds["ErrorInfo"].metadata["fallback_chain"]
        with Client(srv.address) as c:      # no request_id: still a job, without an idempotency key
            job = c.job(job_id).wait(timeout=30)
            assert job.state == "SUCCEEDED" and job.request_id == ""
        channel.close()
    finally:
        srv.stop(grace=1.0)


def pb_grpc():
    from qopt.v1 import solver_service_pb2_grpc

    return solver_service_pb2_grpc


def test_deadline_too_short_to_start_becomes_a_pending_job():
    bqm = _model(12, seed=4)
    srv = _server(min_solve_seconds=30.0)
    try:
        with Client(srv.address) as c:
            with pytest.raises(SolveError) as info:
                c.solve(bqm, backend="sa", num_reads=20, seed=1, timeout=10)
            assert info.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
            assert "too short to start" in info.value.details
            result = c.job(info.value.job_id).result(timeout=30)
            assert result.candidates[0].energy == pytest.approx(_ground(bqm))
    finally:
        srv.stop(grace=1.0)


def test_job_that_also_fails_reaches_a_terminal_state(flaky):
    flaky.fail_first = 10          # the job's own run gives up too
    srv = _server()
    try:
        with Client(srv.address) as c:
            with pytest.raises(SolveError) as info:
                c.solve(_model(), backend="flaky", timeout=20)
            job = c.job(info.value.job_id).wait(timeout=30)
            assert job.state == "FAILED"
            assert job.error_code == "DEADLINE_EXCEEDED"
            assert "fallback chain" in job.error_message
    finally:
        srv.stop(grace=1.0)


def test_pending_jobs_off_answers_plain_deadline_exceeded(flaky):
    srv = _server(pending_jobs=False)
    try:
        with Client(srv.address) as c:
            with pytest.raises(SolveError) as info:
                c.solve(_model(), backend="flaky", timeout=20)
            assert info.value.code == grpc.StatusCode.DEADLINE_EXCEEDED and info.value.job_id is None
            assert c.list_jobs() == []
    finally:
        srv.stop(grace=1.0)


def test_hung_quantum_backend_and_failed_classical_tier_leave_a_pending_job(monkeypatch):
    """The real fallback chain: the quantum backend hangs past its share of the deadline, the
    classical tier fails, the cache misses -> NoResultInTime -> a pending job."""
    import qopt.samplers.sa as sa

    monkeypatch.setitem(registry.BACKENDS, "qaoa", (MODULE, "HangingSampler", "hangs"))

    def broken(self, bqm, **kwargs):
        raise RuntimeError("injected: classical tier down")

    monkeypatch.setattr(sa.SimulatedAnnealingSampler, "sample", broken)
    RELEASE.clear()
    bqm = _model(14, seed=99)
    srv = _server(pending_job_time_budget=1.0)
    try:
        with Client(srv.address) as c:
            with pytest.raises(SolveError) as info:
                c.solve(bqm, backend="qaoa", timeout=4, request_id="hang-1")
            err = info.value
            assert err.code == grpc.StatusCode.DEADLINE_EXCEEDED and err.job_id
            assert "no result before the deadline" in err.details
            job = c.job(err.job_id).wait(timeout=30)     # the job hits the same faults, within 1 s
            assert job.state == "FAILED"
            assert job.error_code == "DEADLINE_EXCEEDED"
            assert "quantum (qaoa)" in job.error_message and "classical (sa)" in job.error_message
    finally:
        RELEASE.set()
        srv.stop(grace=1.0)


def test_retry_while_the_pending_job_runs_names_it_again_then_returns_its_result(flaky):
    flaky.gate = threading.Event()
    bqm = _model(8, seed=21)
    srv = _server()
    try:
        with Client(srv.address) as c:
            with pytest.raises(SolveError) as first:
                c.solve(bqm, backend="flaky", timeout=20, request_id="wait-1")
            with pytest.raises(SolveError) as second:      # the job is held at the gate
                c.solve(bqm, backend="flaky", timeout=1.5, request_id="wait-1")
            assert second.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
            assert second.value.job_id == first.value.job_id
            assert "still running" in second.value.details
            flaky.gate.set()
            result = c.solve(bqm, backend="flaky", timeout=20, request_id="wait-1")
            assert result.candidates[0].energy == pytest.approx(_ground(bqm))
            assert flaky.calls == 2                         # one failed Solve, one job run
    finally:
        flaky.gate.set()
        srv.stop(grace=1.0)
