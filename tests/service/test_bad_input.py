"""Malformed requests: each gets the right code and field path (or quota subject), and the
server keeps serving; plus a bounded hypothesis fuzz of request decoding and validation."""
from __future__ import annotations

import math

import dimod
import grpc
import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qopt.service import convert, validation
from qopt.service.convert import InvalidRequest
from qopt.service.limits import LimitExceeded, ServiceConfig
from qopt.service.server import Server
from qopt.v1 import model_pb2, solver_service_pb2_grpc
from qopt.v1 import solver_service_pb2 as pb

CONFIG = ServiceConfig(max_variables=1000, max_quadratic_terms=5000, max_num_reads=1000, max_constraints=20,
                       max_message_bytes=1024 * 1024)
INVALID, EXHAUSTED = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.fixture(scope="module")
def limited_server():
    srv = Server("127.0.0.1:0", config=CONFIG).start()
    yield srv
    srv.stop(grace=1.0)


def _valid(kind=pb.SolveRequest):
    bqm = dimod.generators.gnp_random_bqm(5, 0.6, dimod.SPIN, random_state=2)
    bqm.relabel_variables({i: f"v{i}" for i in range(5)})
    return kind(problem=model_pb2.Problem(bqm=convert.bqm_to_proto(bqm)), backend="sa")


def _params(**kw):
    def fn(r):
        s = struct_pb2.Struct()
        s.update(kw)
        r.parameters.CopyFrom(s)
    return fn


def _cqm(mutate=None):
    def fn(r):
        cqm = r.problem.cqm
        cqm.variables.add(label="x", type=model_pb2.VARIABLE_TYPE_BINARY)
        cqm.variables.add(label="k", type=model_pb2.VARIABLE_TYPE_INTEGER, lower_bound=0, upper_bound=5)
        cqm.objective.linear_index.extend([0, 1])
        cqm.objective.linear_coefficient.extend([1.0, -2.0])
        con = cqm.constraints.add(label="cap", sense=model_pb2.CONSTRAINT_SENSE_LE, rhs=4)
        con.lhs.linear_index.extend([0, 1])
        con.lhs.linear_coefficient.extend([1.0, 1.0])
        if mutate:
            mutate(cqm)
    return fn


def _setitem(seq_getter, index, value):
    return lambda r: seq_getter(r).__setitem__(index, value)


def _huge_message(r):
    r.problem.bqm.labels[:] = []
    r.problem.name = "x" * (2 * 1024 * 1024)


def _many_constraints(cqm):
    for k in range(25):
        c = cqm.constraints.add(label=f"c{k}", sense=model_pb2.CONSTRAINT_SENSE_LE, rhs=1)
        c.lhs.linear_index.append(0)
        c.lhs.linear_coefficient.append(1.0)


def _dup_var(cqm):
    cqm.variables[1].label = "x"


def _cqm_unknown_var(cqm):
    cqm.constraints[0].lhs.linear_index[1] = 9


# name -> (mutation of a valid request, expected code, expected field path or quota subject)
CASES = {
    "no problem": (lambda r: r.ClearField("problem"), INVALID, "problem"),
    "unspecified vartype": (lambda r: setattr(r.problem.bqm, "vartype", 0), INVALID, "problem.bqm.vartype"),
    "zero variables": (lambda r: (r.problem.bqm.ClearField("linear"), r.problem.bqm.ClearField("labels"),
                                  setattr(r.problem.bqm, "num_variables", 0)), INVALID, "problem.bqm.num_variables"),
    "linear too short": (lambda r: r.problem.bqm.linear.pop(), INVALID, "problem.bqm.linear"),
    "nan linear": (_setitem(lambda r: r.problem.bqm.linear, 2, math.nan), INVALID, "problem.bqm.linear[2]"),
    "inf quadratic": (_setitem(lambda r: r.problem.bqm.quadratic_bias, 0, -math.inf), INVALID,
                      "problem.bqm.quadratic_bias[0]"),
    "row out of range": (_setitem(lambda r: r.problem.bqm.quadratic_row, 1, 99), INVALID,
                         "problem.bqm.quadratic_row[1]"),
    "self-loop": (lambda r: r.problem.bqm.quadratic_col.__setitem__(0, r.problem.bqm.quadratic_row[0]), INVALID,
                  "problem.bqm.quadratic_col[0]"),
    "col length": (lambda r: r.problem.bqm.quadratic_col.append(0), INVALID, "problem.bqm.quadratic_col"),
    "nan offset": (lambda r: setattr(r.problem.bqm, "offset", math.nan), INVALID, "problem.bqm.offset"),
    "duplicate labels": (_setitem(lambda r: r.problem.bqm.labels, 1, "v0"), INVALID, "problem.bqm.labels"),
    "unknown backend": (lambda r: setattr(r, "backend", "warp-drive"), INVALID, "backend"),
    "unknown parameter": (_params(num_reeds=3), INVALID, "parameters.num_reeds"),
    "negative reads": (_params(num_reads=-5), INVALID, "parameters.num_reads"),
    "fractional reads": (_params(num_reads=2.5), INVALID, "parameters.num_reads"),
    "nan sweeps": (_params(num_sweeps=math.nan), INVALID, "parameters.num_sweeps"),
    "string seed": (_params(seed="abc"), INVALID, "parameters.seed"),
    "bad schedule": (_params(beta_schedule_type="cubic"), INVALID, "parameters.beta_schedule_type"),
    "huge max_candidates": (lambda r: setattr(r, "max_candidates", 10**9), INVALID, "max_candidates"),
    "huge num_variables": (lambda r: setattr(r.problem.bqm, "num_variables", 2**31), EXHAUSTED, "max_variables"),
    "too many quadratic terms": (lambda r: (r.problem.bqm.quadratic_row.extend([0] * 6000),
                                            r.problem.bqm.quadratic_col.extend([1] * 6000),
                                            r.problem.bqm.quadratic_bias.extend([1.0] * 6000)), EXHAUSTED,
                                 "max_quadratic_terms"),
    "reads over cap": (_params(num_reads=10**6), EXHAUSTED, "max_num_reads"),
    "oversized message": (_huge_message, EXHAUSTED, None),
    "cqm no variables": (lambda r: r.problem.cqm.SetInParent(), INVALID, "problem.cqm.variables"),
    "cqm unspecified type": (_cqm(lambda c: setattr(c.variables[0], "type", 0)), INVALID,
                             "problem.cqm.variables[0].type"),
    "cqm unbounded integer": (_cqm(lambda c: setattr(c.variables[1], "upper_bound", math.inf)), INVALID,
                              "problem.cqm.variables[1].upper_bound"),
    "cqm contradictory bounds": (_cqm(lambda c: setattr(c.variables[1], "lower_bound", 9)), INVALID,
                                 "problem.cqm.variables[1].upper_bound"),
    "cqm fractional bound": (_cqm(lambda c: setattr(c.variables[1], "upper_bound", 2.5)), INVALID,
                             "problem.cqm.variables[1].upper_bound"),
    "cqm duplicate label": (_cqm(_dup_var), INVALID, "problem.cqm.variables[1].label"),
    "cqm unknown variable": (_cqm(_cqm_unknown_var), INVALID, "problem.cqm.constraints[0].lhs.linear_index[1]"),
    "cqm empty constraint": (_cqm(lambda c: (c.constraints[0].lhs.ClearField("linear_index"),
                                             c.constraints[0].lhs.ClearField("linear_coefficient"))), INVALID,
                             "problem.cqm.constraints[0].lhs"),
    "cqm no sense": (_cqm(lambda c: setattr(c.constraints[0], "sense", 0)), INVALID,
                     "problem.cqm.constraints[0].sense"),
    "cqm nan objective": (_cqm(lambda c: c.objective.linear_coefficient.__setitem__(0, math.nan)), INVALID,
                          "problem.cqm.objective.linear_coefficient[0]"),
    "cqm nan rhs": (_cqm(lambda c: setattr(c.constraints[0], "rhs", math.nan)), INVALID,
                    "problem.cqm.constraints[0].rhs"),
    "cqm too many constraints": (_cqm(_many_constraints), EXHAUSTED, "max_constraints"),
    "lp garbage": (lambda r: setattr(r.problem, "lp", "Minimize\n obj: x +\nSubject To\n c: <= <= 3\nEnd"), INVALID,
                   "problem.lp"),
    "lp empty": (lambda r: setattr(r.problem, "lp", "   "), INVALID, "problem.lp"),
    "structure on a bqm": (lambda r: r.problem.structure.update({"kind": "tsp"}), INVALID, "problem.structure"),
    "structure without kind": (lambda r: (_cqm()(r), r.problem.structure.update({"num_cities": 3})), INVALID,
                               "problem.structure"),
    "structure too deep": (lambda r: (_cqm()(r), r.problem.structure.update(
        {"kind": "tsp", "d": [[[[[[[[[1]]]]]]]]]})), INVALID, "problem.structure"),
}


def _check_status(err: grpc.RpcError, code, field):
    assert err.code() == code, err.details()
    if field is None:
        return
    status = rpc_status.from_call(err)
    assert status is not None, err.details()
    if code == INVALID:
        br = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(br)
        assert br.field_violations[0].field == field, br
        assert field in err.details()
    else:
        qf = error_details_pb2.QuotaFailure()
        assert status.details[0].Unpack(qf)
        assert qf.violations[0].subject == field


def _still_healthy(channel):
    stub = solver_service_pb2_grpc.SolverServiceStub(channel)
    assert len(stub.Solve(_valid(), timeout=10).candidates) >= 1
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_table_is_large_enough():
    assert len(CASES) >= 25


@pytest.mark.parametrize("method", ["Solve", "SubmitJob"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_request(limited_server, case, method):
    mutate, code, field = CASES[case]
    req = _valid(pb.SolveRequest if method == "Solve" else pb.SubmitJobRequest)
    mutate(req)
    with grpc.insecure_channel(limited_server.address, options=[("grpc.max_send_message_length", 8 << 20)]) as ch:
        stub = solver_service_pb2_grpc.SolverServiceStub(ch)
        with pytest.raises(grpc.RpcError) as info:
            getattr(stub, method)(req, timeout=10)
        _check_status(info.value, code, field)
        if case == "oversized message":
            assert "larger than max" in info.value.details()
        _still_healthy(ch)


def _raw_call(server, method, data):
    with grpc.insecure_channel(server.address) as ch:
        call = ch.unary_unary(f"/qopt.v1.SolverService/{method}", request_serializer=None,
                              response_deserializer=None)
        with pytest.raises(grpc.RpcError) as info:
            call(data, timeout=10)
        _still_healthy(ch)
    return info.value


@pytest.mark.parametrize("method", ["Solve", "SubmitJob", "ValidateProblem"])
def test_bad_utf8_label_names_the_label(limited_server, method):
    req = _valid(getattr(pb, f"{method}Request"))
    data = req.SerializeToString()
    assert data.count(b"v2") == 1
    err = _raw_call(limited_server, method, data.replace(b"v2", b"\xff\xfe"))
    _check_status(err, INVALID, "problem.bqm.labels[2]")
    assert "UTF-8" in err.details()


def test_bad_utf8_backend_and_garbage_bytes(limited_server):
    req = _valid()
    req.backend = "s\u00e9"
    data = req.SerializeToString().replace("s\u00e9".encode(), b"s\xc3")
    _check_status(_raw_call(limited_server, "Solve", data), INVALID, "backend")
    err = _raw_call(limited_server, "Solve", b"\x0a\xff\xff\xff")
    assert err.code() == INVALID


def test_time_budget_must_be_finite(limited_server):
    req = _valid(pb.SubmitJobRequest)
    req.time_budget = -1
    with grpc.insecure_channel(limited_server.address) as ch:
        with pytest.raises(grpc.RpcError) as info:
            solver_service_pb2_grpc.SolverServiceStub(ch).SubmitJob(req, timeout=10)
    _check_status(info.value, INVALID, "time_budget")


def test_every_violation_is_reported(limited_server):
    req = _valid()
    req.problem.bqm.linear[1] = math.nan
    req.problem.bqm.quadratic_row[0] = 77
    req.backend = "nope"
    with grpc.insecure_channel(limited_server.address) as ch:
        with pytest.raises(grpc.RpcError) as info:
            solver_service_pb2_grpc.SolverServiceStub(ch).Solve(req, timeout=10)
    br = error_details_pb2.BadRequest()
    rpc_status.from_call(info.value).details[0].Unpack(br)
    assert [v.field for v in br.field_violations] == ["problem.bqm.linear[1]", "problem.bqm.quadratic_row[0]"]
    # (backend is checked once the problem is valid; ValidateProblem lists all three)
    with grpc.insecure_channel(limited_server.address) as ch:
        resp = solver_service_pb2_grpc.SolverServiceStub(ch).ValidateProblem(
            pb.ValidateProblemRequest(problem=req.problem, backend="nope"), timeout=10)
    assert not resp.valid
    assert {v.field for v in resp.violations} == {"problem.bqm.linear[1]", "problem.bqm.quadratic_row[0]", "backend"}


# -- fuzz -----------------------------------------------------------------------------------
_ALLOWED_ROOTS = ("problem", "parameters", "backend", "max_candidates", "time_budget", "request")
_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5).map(float))


@st.composite
def bqm_requests(draw):
    n = draw(st.integers(0, 6))
    m = draw(st.integers(0, 8))
    msg = model_pb2.BinaryQuadraticModel(vartype=draw(st.integers(0, 3)), num_variables=draw(
        st.one_of(st.just(n), st.integers(0, 2**32 - 1))))
    msg.linear.extend(draw(st.lists(_floats, min_size=max(n - 1, 0), max_size=n + 1)))
    msg.quadratic_row.extend(draw(st.lists(st.integers(0, n + 1), min_size=m, max_size=m)))
    msg.quadratic_col.extend(draw(st.lists(st.integers(0, n + 1), min_size=m, max_size=m + 1)))
    msg.quadratic_bias.extend(draw(st.lists(_floats, min_size=max(m - 1, 0), max_size=m)))
    msg.offset = draw(_floats)
    if draw(st.booleans()):
        msg.labels.extend(draw(st.lists(st.text(max_size=3), min_size=n, max_size=n + 1)))
    req = pb.SolveRequest(problem=model_pb2.Problem(bqm=msg), backend=draw(st.sampled_from(["", "sa", "auto", "zz"])))
    params = draw(st.dictionaries(st.sampled_from(["num_reads", "num_sweeps", "seed", "bogus", "beta_range"]),
                                  st.one_of(st.integers(-3, 10**7), _floats, st.text(max_size=3)), max_size=3))
    s = struct_pb2.Struct()
    s.update(params)
    req.parameters.CopyFrom(s)
    return req


def _oracle_energy(msg, sample):
    e = msg.offset + sum(b * sample[i] for i, b in enumerate(msg.linear))
    for i, j, b in zip(msg.quadratic_row, msg.quadratic_col, msg.quadratic_bias, strict=True):
        e += b * sample[i] * sample[j]
    return e


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bqm_requests())
def test_fuzz_validation_never_crashes(req):
    try:
        decoded, params = validation.check_request(req, CONFIG)
    except InvalidRequest as exc:
        assert exc.violations and all(v.field.split(".")[0].split("[")[0] in _ALLOWED_ROOTS for v in exc.violations)
        return
    except LimitExceeded as exc:
        assert exc.field.startswith("max_")
        return
    # accepted: the decoded model is the one described (energy of an all-ones sample)
    msg = req.problem.bqm
    bqm = decoded.model
    assert all(math.isfinite(x) for x in msg.linear) and bqm.num_variables == msg.num_variables
    ones = [1] * msg.num_variables
    variables = list(bqm.variables)
    assert bqm.energy(dict(zip(variables, ones, strict=True))) == pytest.approx(_oracle_energy(msg, ones), rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([pb.SolveRequest, pb.SubmitJobRequest, pb.ValidateProblemRequest]))
def test_fuzz_raw_bytes_decode(data, kind):
    try:
        req = kind.FromString(data)
    except Exception:  # noqa: BLE001 - the server reports where decoding failed
        field, description = convert.locate_decode_error(data, kind.DESCRIPTOR)
        assert isinstance(field, str) and description
        return
    if kind is pb.ValidateProblemRequest:
        report = validation.inspect_problem(req, CONFIG)
        assert all(isinstance(v.field, str) for v in report["violations"])
        return
    try:
        validation.check_request(req, CONFIG)
    except (InvalidRequest, LimitExceeded):
        pass
