"""gRPC Solve: round trip, validation table, deadlines, health and reflection."""
from __future__ import annotations

import math

import dimod
import grpc
import numpy as np
import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

import qopt
from qopt.client import SolveError
from qopt.service import convert
from qopt.solve import solve
from qopt.v1 import model_pb2, solver_service_pb2, solver_service_pb2_grpc


def _bqm(n=30, seed=7, vartype=dimod.SPIN):
    bqm = dimod.generators.gnp_random_bqm(n, 0.3, vartype, random_state=seed)
    bqm.offset = 1.5
    return bqm


def test_round_trip_equals_in_process(client):
    bqm = _bqm()
    remote = client.solve(bqm, backend="sa", num_reads=20, num_sweeps=200, seed=11)
    local = solve(bqm, backend="sa", num_reads=20, num_sweeps=200, seed=11)
    assert [c.sample for c in remote.candidates] == [c.sample for c in local.candidates]
    assert [c.energy for c in remote.candidates] == pytest.approx([c.energy for c in local.candidates])
    assert [c.num_occurrences for c in remote.candidates] == [c.num_occurrences for c in local.candidates]
    # energies agree with dimod's own evaluation of the candidates
    ss = remote.to_sampleset()
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
    assert remote.provenance["problem_sha256"] == local.provenance["problem_sha256"]
    assert remote.provenance["parameters"]["seed"] == 11
    for stage in ("validate", "preprocess", "sample", "postprocess"):
        assert remote.timing[stage] >= 0


def test_labels_round_trip(client):
    bqm = dimod.BinaryQuadraticModel({"a": 1.0, ("x", 1): -1.0}, {("a", ("x", 1)): 2.0}, 0.0, dimod.BINARY)
    result = client.solve(bqm, backend="sa", num_reads=5, seed=1)
    exact = dimod.ExactSolver().sample(bqm).first
    assert result.best.energy == pytest.approx(exact.energy)
    assert set(result.best.sample) == {"a", ("x", 1)}


def test_seed_drawn_is_reported_and_reproduces(client):
    bqm = _bqm(20)
    first = client.solve(bqm, backend="sa", num_reads=8, num_sweeps=50)
    seed = first.provenance["parameters"]["seed"]
    assert isinstance(seed, int)
    again = client.solve(bqm, backend="sa", num_reads=8, num_sweeps=50, seed=seed)
    assert [c.sample for c in again.candidates] == [c.sample for c in first.candidates]


def _valid_request():
    bqm = _bqm(5)
    return solver_service_pb2.SolveRequest(problem=model_pb2.Problem(bqm=convert.bqm_to_proto(bqm)), backend="sa")


def _mutate(fn):
    req = _valid_request()
    fn(req)
    return req


def _set_params(**kw):
    def fn(req):
        s = struct_pb2.Struct()
        s.update(kw)
        req.parameters.CopyFrom(s)
    return fn


BAD_REQUESTS = {
    "no problem": (lambda r: r.ClearField("problem"), "problem"),
    "unspecified vartype": (lambda r: setattr(r.problem.bqm, "vartype", model_pb2.VARTYPE_UNSPECIFIED),
                            "problem.bqm.vartype"),
    "zero variables": (lambda r: (r.problem.bqm.ClearField("linear"), setattr(r.problem.bqm, "num_variables", 0)),
                       "problem.bqm.num_variables"),
    "linear too short": (lambda r: r.problem.bqm.linear.pop(), "problem.bqm.linear"),
    "nan linear": (lambda r: r.problem.bqm.linear.__setitem__(2, math.nan), "problem.bqm.linear[2]"),
    "inf quadratic": (lambda r: r.problem.bqm.quadratic_bias.__setitem__(0, math.inf), "problem.bqm.quadratic_bias[0]"),
    "row out of range": (lambda r: r.problem.bqm.quadratic_row.__setitem__(1, 99), "problem.bqm.quadratic_row[1]"),
    "col out of range": (lambda r: r.problem.bqm.quadratic_col.__setitem__(0, 5), "problem.bqm.quadratic_col[0]"),
    "self-loop": (lambda r: r.problem.bqm.quadratic_col.__setitem__(0, r.problem.bqm.quadratic_row[0]),
                  "problem.bqm.quadratic_col[0]"),
    "col length": (lambda r: r.problem.bqm.quadratic_col.append(0), "problem.bqm.quadratic_col"),
    "bias length": (lambda r: r.problem.bqm.quadratic_bias.append(1.0), "problem.bqm.quadratic_bias"),
    "nan offset": (lambda r: setattr(r.problem.bqm, "offset", math.nan), "problem.bqm.offset"),
    "labels length": (lambda r: r.problem.bqm.labels.extend(["a", "b"]), "problem.bqm.labels"),
    "duplicate labels": (lambda r: r.problem.bqm.labels.extend(["a"] * 5), "problem.bqm.labels"),
    "unknown backend": (lambda r: setattr(r, "backend", "warp-drive"), "backend"),
    "unknown parameter": (_set_params(num_reeds=3), "parameters.num_reeds"),
    "zero reads": (_set_params(num_reads=0), "parameters.num_reads"),
    "fractional reads": (_set_params(num_reads=2.5), "parameters.num_reads"),
    "negative sweeps": (_set_params(num_sweeps=-1), "parameters.num_sweeps"),
    "bad schedule": (_set_params(beta_schedule_type="cubic"), "parameters.beta_schedule_type"),
    "string seed": (_set_params(seed="abc"), "parameters.seed"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_malformed_request_is_invalid_argument(server, case):
    mutate, field = BAD_REQUESTS[case]
    req = _mutate(mutate)
    with grpc.insecure_channel(server.address) as channel:
        stub = solver_service_pb2_grpc.SolverServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Solve(req, timeout=10)
        err = info.value
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
        assert field in err.details()
        status = rpc_status.from_call(err)
        br = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(br)
        assert br.field_violations[0].field == field
        # the server keeps serving: a valid request (a short fixed-size run) still succeeds
        fine = _valid_request()
        fine.parameters.update({"num_reads": 8, "num_sweeps": 200})
        ok = stub.Solve(fine, timeout=10)
        assert len(ok.candidates) >= 1
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_client_error_names_field(client):
    with pytest.raises(SolveError) as info:
        client.solve(_bqm(5), backend="sa", num_reads=-3)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.field == "parameters.num_reads"


def test_deadline_returns_best_found_in_time(client):
    bqm = dimod.generators.gnp_random_bqm(200, 0.5, dimod.SPIN, random_state=3)
    # The call would take hours without the deadline; a result (not DEADLINE_EXCEEDED) must come back.
    result = client.solve(bqm, backend="sa", timeout=5.0, num_reads=64, num_sweeps=5_000_000, seed=1)
    assert result.provenance["backend_info"]["stopped_early"] is True
    ss = result.to_sampleset()
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))


def test_health_and_reflection(server):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="qopt.v1.SolverService"), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name for r in responses for s in r.list_services_response.service}
        assert "qopt.v1.SolverService" in names
        assert "grpc.health.v1.Health" in names


def test_package_exports():
    assert qopt.Client is not None and qopt.solve is solve


def test_a_sampler_object_is_refused_client_side_naming_the_parameter(client):
    from qopt.errors import ParameterError

    with pytest.raises(ParameterError) as info:
        client.solve(_bqm(6), backend="hybrid", quantum_sampler=dimod.ExactSolver(), timeout=10)
    assert info.value.field == "quantum_sampler" and "in-process" in str(info.value)
    # numpy numbers are plain data: sent as numbers, and the answer is the brute-force optimum
    result = client.solve(_bqm(6), backend="sa", num_reads=np.int64(8), num_sweeps=np.int32(200), seed=1, timeout=30)
    assert result.best.energy == pytest.approx(dimod.ExactSolver().sample(_bqm(6)).first.energy)
