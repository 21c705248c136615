"""ListBackends, hybrid parameters through Solve/SubmitJob, candidate origin (info) over the
wire, and WatchJob improvements labelled with the branch and backend that made them."""
from __future__ import annotations

import importlib.util
import json

import dimod
import grpc
import pytest

from qopt import cli
from qopt.client import Client, SolveError
from qopt.results import Candidate, Result
from qopt.samplers import registry
from qopt.samplers.limits import EXACT_MAX_VARIABLES, QAOA_MAX_QUBITS
from qopt.service import convert
from qopt.service.server import Server
from qopt.solve import solve
from qopt.solve.routing import dwave_credentials_configured

HYBRID = {"quantum_backend": "exact", "subproblem_size": 8, "time_limit": 2.0, "strategies": ["energy"]}


def _model(n=60, seed=5):
    return dimod.generators.ran_r(1, n, seed=seed)


# -- ListBackends ------------------------------------------------------------------------
def test_list_backends_names_capabilities_and_parameters(client):
    backends = {b["name"]: b for b in client.list_backends()}
    assert list(backends) == list(registry.BACKENDS)
    sa = backends["sa"]
    assert sa["available"] and sa["unavailable_reason"] == ""
    assert {"num_reads", "num_sweeps", "seed"} <= set(sa["parameters"])
    assert not ({"interrupt", "on_progress"} & set(sa["parameters"]))   # set by the server, never sent
    assert sa["max_variables"] == 0 and not sa["quantum"] and not sa["hybrid"]
    assert backends["exact"]["max_variables"] == EXACT_MAX_VARIABLES == 64
    assert backends["qaoa"]["max_variables"] == QAOA_MAX_QUBITS
    assert backends["qaoa"]["quantum"] and backends["qaoa"]["simulator"]
    assert backends["dwave"]["quantum"] and not backends["dwave"]["simulator"]
    hybrid = backends["hybrid"]
    assert hybrid["hybrid"] and hybrid["available"]
    assert {"quantum_backend", "subproblem_size", "time_limit", "strategies"} <= set(hybrid["parameters"])
    assert "quantum_sampler" not in hybrid["parameters"]   # an object: cannot travel in a Struct
    # availability agrees with what is installed / configured here
    for name in ("qaoa", "dwave"):
        module = registry.BACKENDS[name][0]
        try:
            present = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            present = False
        if not present:
            assert not backends[name]["available"] and backends[name]["unavailable_reason"]
    if backends["dwave"]["available"]:
        assert dwave_credentials_configured()
    for b in backends.values():
        assert b["available"] == (b["unavailable_reason"] == "")
        assert b["parameters"] == sorted(b["parameters"])


def test_list_backends_import_failure_is_unavailable_with_reason(client, monkeypatch):
    monkeypatch.setitem(registry.BACKENDS, "ghost", ("qopt.samplers.ghost_backend", "GhostSampler", "absent module"))
    monkeypatch.setitem(registry.BACKENDS, "broken", ("qopt_missing_dep_xyz.sampler", "Broken", "missing dependency"))
    backends = {b["name"]: b for b in client.list_backends()}
    assert not backends["ghost"]["available"]
    assert "not part of this qopt installation" in backends["ghost"]["unavailable_reason"]
    assert not backends["broken"]["available"]
    assert "qopt_missing_dep_xyz" in backends["broken"]["unavailable_reason"]
    assert backends["ghost"]["parameters"] == []
    available = [b["name"] for b in client.list_backends(available_only=True)]
    assert "ghost" not in available and "broken" not in available and "sa" in available


def test_cli_backends(server, capsys):
    assert cli.main(["backends", "--server", server.address, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [b["name"] for b in data] == list(registry.BACKENDS)
    assert cli.main(["backends", "--server", server.address]) == 0
    out = capsys.readouterr().out
    assert "hybrid" in out and "parameters: " in out and "quantum (simulated)" in out


# -- hybrid parameters over the wire -----------------------------------------------------
def test_hybrid_parameters_arrive_as_python_types():
    seen = {}

    def recording(*args, **kwargs):
        seen.update(kwargs)
        return solve(*args, **kwargs)

    srv = Server("127.0.0.1:0", max_workers=2, solve_fn=recording).start()
    try:
        with Client(srv.address) as c:
            bqm = _model()
            result = c.solve(bqm, backend="hybrid", seed=3, timeout=30, **HYBRID)
    finally:
        srv.stop(grace=1.0)
    assert seen["quantum_backend"] == "exact"
    assert seen["subproblem_size"] == 8 and type(seen["subproblem_size"]) is int
    assert seen["time_limit"] == 2.0
    assert seen["strategies"] == ["energy"] and isinstance(seen["strategies"], list)
    best = result.candidates[0]
    assert best.energy == pytest.approx(bqm.energy(best.sample))       # dimod's own energy
    assert best.info and best.info["branch"] in ("quantum", "classical")
    assert result.provenance["parameters"]["subproblem_size"] == 8


@pytest.mark.parametrize("rpc", ["solve", "submit"])
def test_object_parameters_refused_naming_them(client, rpc):
    call = client.solve if rpc == "solve" else client.submit
    with pytest.raises(SolveError) as info:
        call(_model(20), backend="hybrid", quantum_sampler="dimod.ExactSolver()", **HYBRID)
    err = info.value
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.field == "parameters.quantum_sampler"
    assert "cannot be sent over the wire" in err.details and "quantum_backend" in err.details


@pytest.mark.parametrize("name,value", [("strategies", ["energy", "bogus"]), ("quantum_backend", "hybrid"),
                                        ("subproblem_size", 0), ("subproblem_size", 2.5),
                                        ("classical_branch", "yes"), ("quantum_parameters", [1, 2]),
                                        ("on_progress", "x"), ("interrupt", True)])
def test_bad_hybrid_parameters_name_the_field(client, name, value):
    with pytest.raises(SolveError) as info:
        client.submit(_model(20), backend="hybrid", **{**HYBRID, name: value})
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.field == f"parameters.{name}"
    report = client.validate(_model(20), backend="hybrid", **{**HYBRID, name: value})
    assert not report.valid and [v.field for v in report.violations] == [f"parameters.{name}"]


def test_hybrid_parameters_accepted_under_auto(client):
    report = client.validate(_model(20), backend="auto", **HYBRID)
    assert report.valid, list(report.violations)


# -- candidate origin --------------------------------------------------------------------
def test_candidate_info_round_trips_through_protobuf():
    result = Result(candidates=[Candidate({"a": 1, "b": -1}, -2.0, 3, info={"branch": "quantum", "backend": "qaoa"}),
                                Candidate({"a": -1, "b": -1}, 1.0, 1)],
                    variables=["a", "b"], vartype=dimod.SPIN, confidence={}, provenance={}, timing={"total": 0.1})
    msg = convert.response_from_result(result, send_labels=True)
    assert dict(msg.candidates[0].info) == {"branch": "quantum", "backend": "qaoa"}
    assert len(msg.candidates[1].info) == 0
    back = convert.result_from_response(msg, ["a", "b"])
    assert back.candidates[0].info == {"branch": "quantum", "backend": "qaoa"}
    assert back.candidates[1].info is None


# -- WatchJob: improvements with their branch ------------------------------------------
def test_watch_reports_branch_and_backend_of_each_improvement(client, server, capsys):
    bqm = _model(60, seed=11)
    job = client.submit(bqm, backend="hybrid", seed=7, **{**HYBRID, "strategies": ["energy", "random_walk"]})
    events = list(job.watch(timeout=60))
    best = [e for e in events if e.kind == "best"]
    assert best, [e.kind for e in events]
    labelled = [e for e in best if e.branch]
    assert labelled and {e.branch for e in labelled} <= {"quantum", "classical"}
    assert all(e.source == "hybrid" for e in labelled)
    assert any(e.backend in ("exact", "sa") for e in labelled)
    assert events[-1].state == "SUCCEEDED"
    result = job.result(timeout=30)
    assert result.candidates[0].energy == pytest.approx(bqm.energy(result.candidates[0].sample))
    assert result.candidates[0].info["branch"] in ("quantum", "classical")
    assert min(e.best_energy for e in best) == pytest.approx(result.candidates[0].energy)
    # the CLI names who made each improvement, and the result table shows the origin
    assert cli.main(["watch", job.job_id, "--server", server.address]) == 0
    assert "by " in capsys.readouterr().out
    assert cli.main(["result", job.job_id, "--server", server.address]) == 0
    out = capsys.readouterr().out
    assert "origin" in out and ("quantum/" in out or "classical/" in out)


def test_watch_line_names_improver(server, capsys):
    """The non-TTY watch log names who made the best (branch/backend), live or from the result."""
    with Client(server.address) as c:
        job = c.submit(_model(60, seed=12), backend="hybrid", seed=8, **HYBRID)
        code = cli.jobs.watch(c, job.job_id, _Plain())
    assert code == 0
    lines = _Plain.written
    assert any(" by quantum/" in line or " by classical/" in line for line in lines), lines


class _Plain:
    written: list[str] = []

    def write(self, text):
        _Plain.written.extend(x for x in text.splitlines() if x)

    def flush(self):
        pass

    def isatty(self):
        return False


def test_hybrid_solve_answers_within_the_client_deadline(client):
    """A hybrid time_limit longer than the gRPC deadline is capped to the time left: the call
    returns a result (gRPC would answer DEADLINE_EXCEEDED otherwise)."""
    bqm = _model(80, seed=13)
    result = client.solve(bqm, backend="hybrid", timeout=4, seed=5, **{**HYBRID, "time_limit": 60.0})
    assert result.provenance["parameters"]["time_limit"] < 4
    best = result.candidates[0]
    assert best.energy == pytest.approx(bqm.energy(best.sample))
