"""ValidateProblem says valid exactly when Solve accepts (issue 10's acceptance test), and
ListBackends publishes each backend's parameter spec.

Every case is sent to a real server twice: as a ValidateProblemRequest and as a
SolveRequest. "Accepted" means Solve did not answer INVALID_ARGUMENT or RESOURCE_EXHAUSTED
(a dwave run without credentials answers FAILED_PRECONDITION: the request itself was
fine). Each case also states the expected verdict, read off the samplers' documented
ranges, so that agreement cannot come from both sides being wrong the same way. The
table holds the five cases that drifted before the specs (steepest seed 2**40, qaoa seed
2**63, hybrid time_limit 1e6, qaoa with 34 variables, exact with 40) and valid values
next to each bound.
"""
from __future__ import annotations

import importlib.util

import dimod
import grpc
import pytest
from google.protobuf import struct_pb2

from qopt.samplers.limits import EXACT_MAX_VARIABLES, QAOA_MAX_QUBITS
from qopt.service import convert
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server
from qopt.v1 import model_pb2, solver_service_pb2, solver_service_pb2_grpc

_HAS_QISKIT = importlib.util.find_spec("qiskit") is not None and importlib.util.find_spec("qiskit_aer") is not None
_HAS_DWAVE = importlib.util.find_spec("dwave.system") is not None
_REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}

SA = {"num_reads": 2, "num_sweeps": 10}
QAOA = {"maxiter": 0, "shots": 16, "sampler": "core"}
HYBRID = {"quantum_backend": "exact", "subproblem_size": 4, "time_limit": 0.5, "strategies": ["energy"]}
CAP = ServiceConfig().max_num_reads


def _case(backend, n, params, valid, needs=None):
    marks = []
    if needs == "qiskit":
        marks.append(pytest.mark.skipif(not _HAS_QISKIT, reason="qiskit / qiskit-aer not installed"))
    if needs == "dwave":
        marks.append(pytest.mark.skipif(not _HAS_DWAVE, reason="dwave-system not installed"))
    return pytest.param(backend, n, params, valid, marks=marks, id=f"{backend}-{n}-{params}")


CASES = [
    # sa
    _case("sa", 6, {**SA, "num_reads": 0}, False),
    _case("sa", 6, {**SA, "num_reads": 1}, True),
    _case("sa", 6, {**SA, "num_reads": 1.5}, False),
    _case("sa", 6, {**SA, "num_reads": CAP}, True),
    _case("sa", 6, {**SA, "num_reads": CAP + 1}, False),
    _case("sa", 6, {**SA, "num_sweeps": -1}, False),
    _case("sa", 6, {**SA, "num_sweeps": 0}, True),
    _case("sa", 6, {**SA, "seed": -1}, False),
    _case("sa", 6, {**SA, "seed": 2**53}, True),
    _case("sa", 6, {**SA, "seed": 2**64}, False),
    _case("sa", 6, {**SA, "num_threads": 0}, False),
    _case("sa", 6, {**SA, "num_threads": 1024}, True),
    _case("sa", 6, {**SA, "num_threads": 1025}, False),
    _case("sa", 6, {**SA, "time_limit": 0}, False),
    _case("sa", 6, {**SA, "time_limit": 1e-3}, True),
    _case("sa", 6, {**SA, "time_limit": 1e9}, True),
    _case("sa", 6, {**SA, "time_limit": 2e9}, False),
    _case("sa", 6, {**SA, "beta_schedule_type": "cosine"}, False),
    _case("sa", 6, {**SA, "beta_schedule_type": "custom", "beta_schedule": [0.1, 1.0], "num_sweeps": 2}, True),
    _case("sa", 6, {**SA, "beta_range": [0.1, 2.0]}, True),
    _case("sa", 6, {**SA, "beta_range": [-1.0, 2.0]}, False),
    _case("sa", 6, {**SA, "polish": True}, True),
    _case("sa", 6, {**SA, "polish": 1}, False),
    _case("sa", 6, {**SA, "initial_states_generator": "zeros"}, False),
    _case("sa", 6, {**SA, "bogus": 1}, False),
    # steepest
    _case("steepest", 6, {"seed": 2**40}, False),           # drifted before the specs
    _case("steepest", 6, {"seed": 2**32 - 1}, True),
    _case("steepest", 6, {"seed": 2**32}, False),
    _case("steepest", 6, {"num_reads": 0}, False),
    _case("steepest", 6, {"num_reads": 3, "num_threads": 1024, "seed": 5}, True),
    # no seed given: the pipeline draws one within the backend's range (steepest: 32 bits)
    pytest.param("steepest", 6, {"num_reads": 3}, True, id="steepest-6-drawn-seed"),
    _case("steepest", 6, {"num_sweeps": 10}, False),          # an sa parameter
    # exact
    _case("exact", EXACT_MAX_VARIABLES + 1, {}, False),       # drifted before the specs
    _case("exact", 25, {}, True),                             # branch and bound beyond enumeration
    _case("exact", 12, {"num_reads": 3}, True),
    _case("exact", 12, {"num_reads": 0}, False),
    # qaoa
    _case("qaoa", 4, {**QAOA, "seed": 2**63}, False, "qiskit"),   # drifted before the specs
    _case("qaoa", 4, {**QAOA, "seed": 2**53}, True, "qiskit"),
    _case("qaoa", 34, dict(QAOA), False, "qiskit"),                # drifted before the specs
    _case("qaoa", QAOA_MAX_QUBITS + 1, dict(QAOA), False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "max_qubits": QAOA_MAX_QUBITS}, True, "qiskit"),
    _case("qaoa", 4, {**QAOA, "max_qubits": QAOA_MAX_QUBITS + 1}, False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "max_qubits": 4}, True, "qiskit"),
    _case("qaoa", 4, {**QAOA, "max_qubits": 3}, False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "reps": 0}, False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "reps": 2}, True, "qiskit"),
    _case("qaoa", 4, {**QAOA, "reps": 1001}, False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "shots": 0}, False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "optimizer": "nope"}, False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "optimizer": "L-BFGS-B", "maxiter": 1}, True, "qiskit"),
    _case("qaoa", 4, {**QAOA, "evaluator": "gpu"}, False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "optimization_level": 3}, True, "qiskit"),
    _case("qaoa", 4, {**QAOA, "optimization_level": 4}, False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "sampler": "aer"}, False, "qiskit"),
    _case("qaoa", 4, {**QAOA, "pass_manager": "preset"}, False, "qiskit"),
    # hybrid
    _case("hybrid", 8, {**HYBRID, "time_limit": 1e6}, False),     # drifted before the specs
    _case("hybrid", 8, {**HYBRID, "time_limit": 86400}, True),
    _case("hybrid", 8, {**HYBRID, "time_limit": 0}, False),
    _case("hybrid", 8, {**HYBRID, "subproblem_size": 64}, True),
    _case("hybrid", 8, {**HYBRID, "subproblem_size": 65}, False),
    _case("hybrid", 8, {**HYBRID, "num_workers": 0}, False),
    _case("hybrid", 8, {**HYBRID, "max_retries": 10}, True),
    _case("hybrid", 8, {**HYBRID, "max_retries": 11}, False),
    _case("hybrid", 8, {**HYBRID, "strategies": ["nope"]}, False),
    _case("hybrid", 8, {**HYBRID, "strategies": "random_walk"}, True),
    _case("hybrid", 8, {**HYBRID, "quantum_backend": "hybrid"}, False),
    _case("hybrid", 8, {**HYBRID, "seed": 2**53}, True),
    _case("hybrid", 8, {**HYBRID, "seed": 2**63}, False),
    _case("hybrid", 8, {**HYBRID, "classical_branch": "yes"}, False),
    _case("hybrid", 8, {**HYBRID, "quantum_parameters": 3}, False),
    _case("hybrid", 8, {**HYBRID, "quantum_parameters": {"num_reads": 2}}, True),
    _case("hybrid", 8, {**HYBRID, "patience": 0}, False),
    _case("hybrid", 8, {**HYBRID, "subproblem_timeout": 0}, False),
    _case("hybrid", 8, {**HYBRID, "quantum_sampler": "exact"}, False),
    # dwave (offline: without credentials a valid request is FAILED_PRECONDITION, not refused)
    _case("dwave", 4, {"num_reads": 0}, False, "dwave"),
    _case("dwave", 4, {"annealing_time": 0}, False, "dwave"),
    _case("dwave", 4, {"annealing_time": 20, "num_reads": 10}, True, "dwave"),
    _case("dwave", 4, {"chain_strength": -1}, False, "dwave"),
    _case("dwave", 4, {"embedding_timeout": 0}, False, "dwave"),
    # exact classical backends (one spec shared by the three)
    *[_case(b, 8, params, ok) for b in ("highs", "cpsat", "scip") for params, ok in (
        ({"time_limit": 5, "num_threads": 1, "seed": 2**31 - 1}, True), ({"seed": 2**31}, False),
        ({"time_limit": 0}, False), ({"num_threads": 0}, False), ({"num_reads": 2}, False))],
    # auto: valid when some backend takes the parameter with that value
    _case("auto", 6, {"seed": 2**40, "num_reads": 2, "num_sweeps": 10}, True),
    _case("auto", 6, {"seed": -1}, False),
    _case("auto", 6, {"bogus": 1}, False),
]


@pytest.fixture(scope="module")
def stub():
    srv = Server("127.0.0.1:0", max_workers=2).start()
    channel = grpc.insecure_channel(srv.address)
    yield solver_service_pb2_grpc.SolverServiceStub(channel)
    channel.close()
    srv.stop(grace=1.0)


def _problem(n: int) -> model_pb2.Problem:
    # a dense frustrated model: presolve fixes nothing, so every backend sees all n variables
    return model_pb2.Problem(bqm=convert.bqm_to_proto(dimod.generators.ran_r(1, n, seed=3)))


def test_table_is_large_enough():
    assert len(CASES) >= 40
    assert {c.values[0] for c in CASES} >= {"sa", "steepest", "exact", "qaoa", "hybrid", "dwave"}


@pytest.mark.parametrize("backend,n,params,valid", CASES)
def test_validate_problem_agrees_with_solve(stub, backend, n, params, valid):
    struct = struct_pb2.Struct()
    struct.update(params)
    problem = _problem(n)
    report = stub.ValidateProblem(solver_service_pb2.ValidateProblemRequest(
        problem=problem, backend=backend, parameters=struct), timeout=60)
    try:
        stub.Solve(solver_service_pb2.SolveRequest(problem=problem, backend=backend, parameters=struct), timeout=60)
        code = grpc.StatusCode.OK
    except grpc.RpcError as exc:
        code = exc.code()
        details = exc.details()
    accepted = code not in _REFUSED
    violations = [f"{v.field}: {v.description}" for v in report.violations]
    assert report.valid == accepted, (violations, code, None if accepted else details)
    assert report.valid == valid, violations
    if not valid:
        assert violations


def test_list_backends_publishes_the_specs(stub):
    resp = stub.ListBackends(solver_service_pb2.ListBackendsRequest(), timeout=30)
    backends = {b.name: b for b in resp.backends}
    for b in resp.backends:
        assert [p.name for p in b.parameter_specs] == list(b.parameters)
    steepest = {p.name: p for p in backends["steepest"].parameter_specs}
    assert steepest["seed"].type == "int"
    assert (steepest["seed"].minimum, steepest["seed"].maximum) == ("0", str(2**32 - 1))
    assert steepest["seed"].nullable and steepest["seed"].doc
    assert steepest["num_threads"].default.number_value == 1
    sa = {p.name: p for p in backends["sa"].parameter_specs}
    assert sa["seed"].maximum == str(2**64 - 1)      # exact, beyond what a double holds
    assert sa["time_limit"].unit == "s" and sa["time_limit"].exclusive_minimum
    assert list(sa["beta_schedule_type"].choices) == ["linear", "geometric", "custom"]
    assert sa["polish"].type == "bool" and sa["polish"].default.bool_value is False
    assert "interrupt" not in sa                      # set by the server
    hybrid = {p.name: p for p in backends["hybrid"].parameter_specs}
    assert float(hybrid["time_limit"].maximum) == 86400.0
    assert list(hybrid["strategies"].default.list_value.values) != []
    assert "quantum_sampler" not in hybrid           # an object: cannot travel in a Struct
    assert backends["exact"].max_variables == 64
    if _HAS_QISKIT:
        qaoa = {p.name: p for p in backends["qaoa"].parameter_specs}
        assert qaoa["max_qubits"].maximum == str(QAOA_MAX_QUBITS) == str(backends["qaoa"].max_variables)
        assert qaoa["max_qubits"].default.number_value == QAOA_MAX_QUBITS
        assert "pass_manager" not in qaoa
