"""CLI job commands (submit, jobs, watch, cancel, result) against a real server, the
WatchJob stream limit, and the ValidateProblem presolve hook."""
from __future__ import annotations

import json
import threading
import types

import dimod
import grpc
import pytest

from qopt import cli
from qopt.client import Client, SolveError
from qopt.errors import Cancelled
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server
from qopt.solve import solve
from qopt.v1 import solver_service_pb2 as pb

LP = """Minimize
 obj: - x - 2 y
Subject To
 c1: x + y <= 1
Binary
 x y
End
"""


def _gset(path, n=6):
    """A tiny Gset-format MaxCut graph (a cycle, unit weights: the maximum cut of an even
    cycle is n)."""
    lines = [f"{n} {n}"] + [f"{i + 1} {(i + 1) % n + 1} 1" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_submit_jobs_result_cancel(tmp_path, capsys):
    lp = tmp_path / "model.lp"
    lp.write_text(LP)
    with Server("127.0.0.1:0") as srv:
        base = ["--server", srv.address]
        assert cli.main(["submit", str(lp), *base, "--num-reads", "3", "--request-id", "cli-1"]) == 0
        job_id = capsys.readouterr().out.strip()
        assert len(job_id) == 32
        # the same request_id: the same job
        assert cli.main(["submit", str(lp), *base, "--num-reads", "3", "--request-id", "cli-1"]) == 0
        assert capsys.readouterr().out.strip() == job_id
        with Client(srv.address) as c:
            c.job(job_id).wait(timeout=30)
        assert cli.main(["jobs", *base, "--json"]) == 0
        jobs = json.loads(capsys.readouterr().out)
        assert [j["job_id"] for j in jobs] == [job_id]
        assert cli.main(["jobs", *base]) == 0
        assert job_id in capsys.readouterr().out
        # cancelling a finished job is refused with a message and status 4 (the job's state forbids it)
        assert cli.main(["cancel", job_id, *base]) == 4
        assert "FAILED_PRECONDITION" in capsys.readouterr().err
        assert cli.main(["watch", job_id, *base]) in (0, 1)
        out = capsys.readouterr().out
        assert job_id in out and ("SUCCEEDED" in out or "FAILED" in out)
        assert cli.main(["watch", "nope", *base]) == 2  # an unknown job: usage
        assert "NOT_FOUND" in capsys.readouterr().err


def test_submit_bqm_and_result(tmp_path, capsys):
    graph = _gset(tmp_path / "cycle.txt")
    with Server("127.0.0.1:0") as srv:
        base = ["--server", srv.address]
        assert cli.main(["submit", str(graph), "--format", "gset", *base, "--num-reads", "10", "--seed", "1"]) == 0
        job_id = capsys.readouterr().out.strip()
        assert cli.main(["result", job_id, *base, "--json", "--timeout", "30"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["candidates"][0]["energy"] == pytest.approx(-6.0)  # all 6 edges cut: E = sum s_i s_j = -6


def test_cancel_and_watch_running_job(capsys):
    gate = threading.Event()

    def blocking(problem, backend, *, cancel=None, on_progress=None, **kw):
        on_progress({"event": "stage", "stage": "sample"})
        while not cancel.wait(0.02):
            if gate.is_set():
                break
        if cancel.is_set():
            raise Cancelled("cancelled")
        return solve(problem, backend, **kw)

    with Server("127.0.0.1:0", solve_fn=blocking) as srv, Client(srv.address) as c:
        job = c.submit(dimod.BinaryQuadraticModel({0: 1.0, 1: -1.0}, {(0, 1): 0.5}, 0, "SPIN"), backend="sa")
        box = {}
        t = threading.Thread(target=lambda: box.setdefault("rc", cli.main(["watch", job.job_id, "--server",
                                                                             srv.address])))
        t.start()
        while job.state != "RUNNING":
            pass
        assert cli.main(["cancel", job.job_id, "--server", srv.address]) == 0
        t.join(20)
        assert box["rc"] == 6  # a cancelled job: the cancelled exit status
        out = capsys.readouterr().out
        assert "CANCELLED" in out and job.job_id in out


def test_watch_stream_limit_falls_back_to_polling():
    gate = threading.Event()

    def blocked(problem, backend, **kw):
        gate.wait(20)
        return solve(problem, backend, **kw)

    bqm = dimod.BinaryQuadraticModel({0: 1.0}, {}, 0, "SPIN")
    with Server("127.0.0.1:0", config=ServiceConfig(max_watch_streams=1), solve_fn=blocked) as srv, \
            Client(srv.address) as c:
        job = c.submit(bqm, backend="sa")
        stream = c._stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=20)
        assert next(stream).kind == pb.JobEvent.KIND_SNAPSHOT  # holds the only stream
        with pytest.raises(SolveError) as info:
            list(job.watch(timeout=5))
        assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and info.value.quota == "max_watch_streams"
        threading.Timer(0.3, gate.set).start()
        assert job.wait(timeout=20).state == "SUCCEEDED"  # by polling
        stream.cancel()


def test_validate_reports_variables_after_presolve(monkeypatch):
    from qopt.service import validation

    calls = []

    def fake_presolve(bqm):
        calls.append(bqm.num_variables)
        return types.SimpleNamespace(fixed={0: 1, 1: -1}, num_free=bqm.num_variables - 2)

    monkeypatch.setattr(validation, "presolve", fake_presolve)
    bqm = dimod.generators.gnp_random_bqm(7, 0.5, dimod.SPIN, random_state=1)
    with Server("127.0.0.1:0") as srv, Client(srv.address) as c:
        resp = c.validate(bqm)
    assert calls == [7]
    assert resp.HasField("num_variables_after_presolve") and resp.num_variables_after_presolve == 5
