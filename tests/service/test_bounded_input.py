"""Bounded input (issue 12, part "input"): identifiers, parameter Structs and LP text are
bounded before anything is decoded; LP text with control characters is refused and LP
reads run in a killable worker process; every error names the right field (or limit)
with a bounded message; ListJobs page tokens are opaque and validated. Each case runs
against a real server on loopback, which then still answers health and a Solve."""
from __future__ import annotations

import os
import pathlib
import random
import subprocess
import sys
import threading
import time

import dimod
import grpc
import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qopt.errors import ModelError
from qopt.model.formats import lp as lp_format
from qopt.service import convert, errors, validation
from qopt.service.convert import InvalidRequest
from qopt.service.limits import LimitExceeded, ServiceConfig
from qopt.service.server import Server
from qopt.service.store import PageTokens
from qopt.v1 import model_pb2, solver_service_pb2_grpc
from qopt.v1 import solver_service_pb2 as pb

INVALID, EXHAUSTED = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED
CONFIG = ServiceConfig(max_constraints=50, max_lp_bytes=64 * 1024, max_lp_lines=2000, max_struct_values=5000,
                       lp_parse_seconds=5.0)
LP = """Minimize
 obj: x + 2 y - 3 z + [ 8 x * y ] / 2
Subject To
 c1: x + y + z <= 2
 c2: x - y >= -1
 c3: 2 x + z = 1
Bounds
 0 <= z <= 5
Binary
 x y
General
 z
End
"""


@pytest.fixture(scope="module")
def srv():
    server = Server("127.0.0.1:0", config=CONFIG).start()
    yield server
    server.stop(grace=1.0)


@pytest.fixture(scope="module")
def stub(srv):
    channel = grpc.insecure_channel(srv.address)
    yield solver_service_pb2_grpc.SolverServiceStub(channel), health_pb2_grpc.HealthStub(channel)
    channel.close()


def _bqm_request(bqm=None, backend="sa", kind=pb.SolveRequest, **params):
    bqm = bqm if bqm is not None else dimod.generators.ran_r(1, 6, seed=1)
    request = kind(problem=model_pb2.Problem(bqm=convert.bqm_to_proto(bqm)), backend=backend)
    s = struct_pb2.Struct()
    s.update(params)
    request.parameters.CopyFrom(s)
    return request


def _refusal(call, request, timeout=30.0):
    """(code, field or quota subject, message) of a refused call; asserts it was refused."""
    with pytest.raises(grpc.RpcError) as info:
        result = call(request, timeout=timeout)
        if hasattr(result, "__next__"):  # a stream: the refusal comes with the first message
            next(result)
    err = info.value
    status = rpc_status.from_call(err)
    assert status is not None, f"no rich status: {err.code()} {err.details()}"
    assert len(status.message) <= errors.MAX_DESCRIPTION_CHARS
    subject = ""
    for detail in status.details:
        br, qf = error_details_pb2.BadRequest(), error_details_pb2.QuotaFailure()
        if detail.Unpack(br):
            subject = br.field_violations[0].field
            assert all(len(v.description) <= errors.MAX_DESCRIPTION_CHARS for v in br.field_violations)
        elif detail.Unpack(qf):
            subject = qf.violations[0].subject
    return err.code(), subject, status.message


def _still_serving(stub):
    solver, health = stub
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING
    response = solver.Solve(_bqm_request(num_reads=2), timeout=30)
    assert len(response.candidates) >= 1


# -- identifiers, parameters, Structs ------------------------------------------------------
def _deep(depth):
    value = struct_pb2.Value(number_value=1)
    for _ in range(depth):
        outer = struct_pb2.Value()
        outer.list_value.values.append(value)
        value = outer
    return value


def _with_parameters(fill):
    request = _bqm_request()
    fill(request.parameters)
    return request


MIB = 1 << 20


def _with_request_id(request):
    request.request_id = "r" * MIB
    return request


CASES = {
    # name: (method, request, code, field or limit)
    "request_id 1 MiB (Solve)": ("Solve", _with_request_id(_bqm_request()), INVALID, "request_id"),
    "request_id 1 MiB (SubmitJob)": ("SubmitJob", _with_request_id(_bqm_request(kind=pb.SubmitJobRequest)), INVALID,
                                     "request_id"),
    "backend 1 MiB": ("Solve", _bqm_request(backend="b" * MIB), INVALID, "backend"),
    "job_id 1 MiB (GetJob)": ("GetJob", pb.GetJobRequest(job_id="j" * MIB), INVALID, "job_id"),
    "job_id 1 MiB (CancelJob)": ("CancelJob", pb.CancelJobRequest(job_id="j" * MIB), INVALID, "job_id"),
    "job_id 1 MiB (GetJobResult)": ("GetJobResult", pb.GetJobResultRequest(job_id="j" * MIB), INVALID, "job_id"),
    "job_id 1 MiB (WatchJob)": ("WatchJob", pb.WatchJobRequest(job_id="j" * MIB), INVALID, "job_id"),
    "problem.name 1 MiB": ("SubmitJob", pb.SubmitJobRequest(problem=model_pb2.Problem(name="n" * MIB)), INVALID,
                           "problem.name"),
    "50k unknown parameter keys": ("Solve", _with_parameters(lambda s: s.update({f"k{i}": i for i in range(50_000)})),
                                   INVALID, "parameters"),
    "parameters nested 20 deep": ("Solve", _with_parameters(lambda s: s.fields["num_reads"].CopyFrom(_deep(20))),
                                  INVALID, "parameters"),
    "parameters with 20k values": ("Solve", _with_parameters(lambda s: s.update({"seed": list(range(20_000))})),
                                   EXHAUSTED, "max_struct_values"),
    "bias 1e308 (linear)": ("Solve", _bqm_request(dimod.BinaryQuadraticModel({0: 1e308, 1: 1e308}, {(0, 1): 1.0}, 0,
                                                                             "SPIN")), INVALID, "problem.bqm.linear[0]"),
    "bias 1e308 (quadratic)": ("Solve", _bqm_request(dimod.BinaryQuadraticModel(
        {0: 1.0, 1: 1.0, 2: 1.0}, {(0, 1): 1e300, (1, 2): -1e308}, 0, "SPIN")), INVALID, "problem.bqm.quadratic_bias[1]"),
    "exact with 65 variables": ("Solve", _bqm_request(dimod.generators.ran_r(1, 65), backend="exact"), INVALID,
                                "problem"),
    "garbage initial_states": ("Solve", _bqm_request(initial_states="garbage"), INVALID, "parameters.initial_states"),
    "initial_states of wrong shape": ("Solve", _bqm_request(initial_states=[[1, 2, 3]]), INVALID,
                                      "parameters.initial_states"),
    "unknown key in quantum_parameters": (
        "Solve", _bqm_request(dimod.generators.ran_r(1, 20), backend="hybrid", quantum_backend="exact",
                              subproblem_size=8, time_limit=1.0, quantum_parameters={"bogus": 1}),
        INVALID, "parameters.quantum_parameters.bogus"),
    "a server-set key in quantum_parameters": (
        "Solve", _bqm_request(dimod.generators.ran_r(1, 20), backend="hybrid", quantum_backend="exact",
                              subproblem_size=8, time_limit=1.0, quantum_parameters={"interrupt": "x"}),
        INVALID, "parameters.quantum_parameters.interrupt"),
    "quantum_sampler": ("Solve", _bqm_request(backend="hybrid", quantum_sampler="x"), INVALID,
                        "parameters.quantum_sampler"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(CASES))
def test_each_bad_input_gets_its_code_and_field_and_the_server_keeps_serving(stub, name):
    method, request, code, field = CASES[name]
    t0 = time.monotonic()
    got = _refusal(getattr(stub[0], method), request)
    assert got[:2] == (code, field), got
    assert time.monotonic() - t0 < 20  # refused before any real work (generous bound)
    _still_serving(stub)


def test_nested_parameters_are_checked_against_the_quantum_backends_spec(stub):
    qp = _bqm_request(dimod.generators.ran_r(1, 20), backend="hybrid", quantum_backend="exact", subproblem_size=8,
                      time_limit=1.0, quantum_parameters={"num_reads": -3, "bogus": 1})
    report = stub[0].ValidateProblem(pb.ValidateProblemRequest(problem=qp.problem, backend=qp.backend,
                                                               parameters=qp.parameters), timeout=30)
    fields = {v.field for v in report.violations}
    assert not report.valid
    assert {"parameters.quantum_parameters.num_reads", "parameters.quantum_parameters.bogus"} <= fields
    # a valid nested parameter is accepted and the hybrid runs
    ok = _bqm_request(dimod.generators.ran_r(1, 20), backend="hybrid", quantum_backend="exact", subproblem_size=8,
                      time_limit=1.0, quantum_parameters={"num_reads": 2})
    assert len(stub[0].Solve(ok, timeout=60).candidates) >= 1


def test_pass_manager_is_refused_on_its_field(stub):
    from qopt.samplers import registry

    try:
        registry.parameter_spec("qaoa")
    except ImportError:
        pytest.skip("qaoa (qiskit) is not installed here")
    got = _refusal(stub[0].Solve, _bqm_request(backend="qaoa", pass_manager="x"))
    assert got[:2] == (INVALID, "parameters.pass_manager")
    hybrid = _bqm_request(dimod.generators.ran_r(1, 20), backend="hybrid", quantum_backend="qaoa", subproblem_size=4,
                          time_limit=1.0, quantum_parameters={"pass_manager": "x"})
    got = _refusal(stub[0].Solve, hybrid)
    assert got[:2] == (INVALID, "parameters.quantum_parameters.pass_manager")
    _still_serving(stub)


# -- LP text -------------------------------------------------------------------------------
def _lp_request(text):
    return pb.SolveRequest(problem=model_pb2.Problem(lp=text), backend="sa")


def _constraints_lp(count):
    return ("Minimize\n obj: " + " + ".join(f"x{i}" for i in range(count + 1)) + "\nSubject To\n"
            + "".join(f" c{i}: x{i} + x{i + 1} <= 1\n" for i in range(count)) + "Binary\n"
            + " ".join(f"x{i}" for i in range(count + 1)) + "\nEnd\n")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("text, code, field, words", [
    ("\x00" * 30, INVALID, "problem.lp", "contains control character U+0000 at offset 0"),
    (LP.replace("Binary", "Binary\x07"), INVALID, "problem.lp", "U+0007"),
    ("\\ " + "x" * (70 * 1024), EXHAUSTED, "max_lp_bytes", "max_lp_bytes"),
    ("\\\n" * 3000 + LP, EXHAUSTED, "max_lp_lines", "max_lp_lines"),
    (_constraints_lp(1000), EXHAUSTED, "max_constraints", "counted from the text"),
    (_constraints_lp(40) + "\n", None, None, None),  # under the limits: solved
])
def test_lp_text_is_bounded_before_it_is_read(stub, text, code, field, words):
    if code is None:
        response = stub[0].Solve(_lp_request(text), timeout=8)  # the anytime run fills the deadline
        assert len(response.candidates) >= 1
        return
    got = _refusal(stub[0].Solve, _lp_request(text))
    assert got[:2] == (code, field) and words in got[2], got
    report = stub[0].ValidateProblem(pb.ValidateProblemRequest(problem=model_pb2.Problem(lp=text)), timeout=30)
    assert not report.valid and any(words in v.description for v in report.violations)
    _still_serving(stub)


@pytest.mark.timeout(60)
def test_an_lp_read_past_its_time_limit_is_stopped_and_the_reader_recovers():
    parser = lp_format.LPParser()
    try:
        t0 = time.monotonic()
        with pytest.raises(ModelError, match="took longer than 1 s"):
            parser.probe("\x00" * 30, 1.0)  # bypasses the control-character check: dimod's reader never returns
        assert time.monotonic() - t0 < 10
        assert parser.probe(LP, 30.0) == (3, 3, 1)  # a new worker reads the next text
        with pytest.raises(ModelError, match="not a valid LP model"):
            parser.probe("Minimize\n obj: x +\nSubject To\n c: x <=\nEnd", 30.0)
    finally:
        parser.close()


def test_control_characters_and_constraint_counts():
    assert lp_format.find_control_character(LP) is None
    assert lp_format.find_control_character("ab\x00") == (2, "U+0000")
    assert lp_format.find_control_character("a\tb\r\n\x7f") == (5, "U+007F")
    assert lp_format.count_constraints(LP) == 3  # the Bounds line is not a constraint
    assert lp_format.count_constraints(_constraints_lp(123)) == 123
    assert lp_format.count_constraints("Minimize\n obj: x\nSubject To c1: x >= 0\nEnd") == 1
    with pytest.raises(ModelError, match="U\\+0000 at offset 3"):
        lp_format.loads("Min\x00")


def _mutations(text, rng):
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        op, i = rng.randrange(3), rng.randrange(len(chars) + 1)
        junk = rng.choice(["\x00", "\x1b", "[", "]", "*", "^", "/", "<=", ":", "-", "1e308", "\n", " ", "x", "End",
                           "Subject To", "Bounds", "\u00e9", "\\"])
        if op == 0:
            chars.insert(i, junk)
        elif op == 1 and chars:
            del chars[min(i, len(chars) - 1)]
        elif chars:
            chars[min(i, len(chars) - 1)] = junk
    return "".join(chars)


FUZZ_CONFIG = ServiceConfig(lp_parse_seconds=3.0, max_constraints=1000)


def _decode_within_bound(text):
    t0 = time.monotonic()
    try:
        decoded = validation.decode_problem(model_pb2.Problem(lp=text), FUZZ_CONFIG)
        assert decoded.kind == "lp"
    except (InvalidRequest, LimitExceeded):
        pass
    assert time.monotonic() - t0 < FUZZ_CONFIG.lp_parse_seconds + 5


@pytest.mark.timeout(240)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                 st.integers(0, 2**32).map(lambda seed: _mutations(LP, random.Random(seed)))))
def test_fuzz_lp_decoding_returns_or_refuses_within_a_bound(text):
    _decode_within_bound(text)


# -- messages ------------------------------------------------------------------------------
def test_status_messages_and_violations_are_bounded():
    long = "d" * (3 * MIB)
    assert errors.bounded("short") == "short"
    cut = errors.bounded(long)
    assert len(cut) <= errors.MAX_DESCRIPTION_CHARS and cut.endswith("more characters)")
    status = errors.invalid_argument_proto([(f"parameters.k{i}", long) for i in range(1000)])
    assert len(status.SerializeToString()) < 16 * 1024 + 2048  # fits gRPC's trailing metadata limit
    assert len(status.message) <= errors.MAX_DESCRIPTION_CHARS and "999 more" in status.message
    quota = errors.resource_exhausted_proto("max_x" * 1000, long)
    assert len(quota.SerializeToString()) < 4096
    assert len(errors.status_proto_for_exception(LimitExceeded("max_x", long)).message) <= 1024


# -- page tokens ---------------------------------------------------------------------------
def test_page_tokens_are_opaque_and_validated(stub):
    solver = stub[0]
    for seed in range(4):
        solver.SubmitJob(_bqm_request(dimod.generators.ran_r(1, 6, seed=seed), kind=pb.SubmitJobRequest,
                                      num_reads=1), timeout=30)
    seen, token = [], ""
    while True:
        page = solver.ListJobs(pb.ListJobsRequest(page_size=1, page_token=token), timeout=30)
        seen.extend(j.job_id for j in page.jobs)
        token = page.next_page_token
        if not token:
            break
        assert not token.strip("-_ ").isdigit() and len(token) == 44
    assert len(seen) == len(set(seen)) >= 4
    first = solver.ListJobs(pb.ListJobsRequest(page_size=1), timeout=30).next_page_token
    for bad in (str(10**30), "-1", " 5 ", "1_0", "2", "", first[:-1] + ("A" if first[-1] != "A" else "B"),
                first + "=", "\u00e9" * 44, "x" * 10_000):
        if not bad:
            continue
        got = _refusal(solver.ListJobs, pb.ListJobsRequest(page_token=bad))
        assert got[:2] == (INVALID, "page_token"), (bad[:20], got)
    # a token is scoped to its state filter (and principal, below)
    got = _refusal(solver.ListJobs, pb.ListJobsRequest(page_token=first, state=pb.JOB_STATE_SUCCEEDED))
    assert got[:2] == (INVALID, "page_token")
    _still_serving(stub)


def test_page_tokens_are_scoped_to_the_principal_and_the_server():
    tokens = PageTokens(b"k" * 32)
    job_id = "ab" * 16
    token = tokens.encode("alice", 0, job_id)
    assert tokens.decode(token, "alice", 0) == job_id
    assert tokens.decode(token, "bob", 0) is None
    assert tokens.decode(token, "alice", 3) is None
    assert PageTokens(b"j" * 32).decode(token, "alice", 0) is None  # another server's secret


# -- a real `qopt serve` process -----------------------------------------------------------
def _env():
    import qopt

    env = dict(os.environ)
    env["PYTHONPATH"] = str(pathlib.Path(qopt.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.timeout(120)
def test_qopt_serve_stays_serving_during_and_after_nul_lp_requests(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "qopt", "serve", "--address", "127.0.0.1:0", "--store",
                             str(tmp_path / "jobs.sqlite"), "--log-level", "warning"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=_env())
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("qopt serving on "), line
        channel = grpc.insecure_channel(line.split()[3])
        stubs = (solver_service_pb2_grpc.SolverServiceStub(channel), health_pb2_grpc.HealthStub(channel))
        grpc.channel_ready_future(channel).result(timeout=30)
        results: list = []

        def attack():
            for text in ("\x00" * 30, "Minimize\n obj: x + \x00 y\nEnd", LP + "\x00"):
                results.append(_refusal(stubs[0].Solve, _lp_request(text))[:2])

        thread = threading.Thread(target=attack)
        thread.start()
        while thread.is_alive():  # health answers while the bad requests are handled
            status = stubs[1].Check(health_pb2.HealthCheckRequest(), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.SERVING
            time.sleep(0.05)
        thread.join()
        assert results == [(INVALID, "problem.lp")] * 3
        _still_serving(stubs)
        assert len(stubs[0].Solve(_lp_request(LP), timeout=60).candidates) >= 1
        channel.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
