"""A CLI that scripts can trust: one JSON document on stdout, exit codes by failure class,
``--token`` / ``$QOPT_TOKEN`` on every command that talks to a server (``solve --server``
included), every format on every command, results in the instance's own terms (the TSP
tour, the objective of an LP job, the backend that ran) and ``qopt watch`` improvement lines.

Servers are real (``127.0.0.1:0``); the stdout tests run ``python -m qopt`` in a subprocess.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import dimod
import grpc
import numpy as np
import pytest

from qopt import cli
from qopt.cli.exit_codes import BACKEND, CANCELLED, DEADLINE, EXIT_CODES, INTERNAL, LIMIT, OK, SERVER, USAGE, exit_code
from qopt.client import Client, JobFailed, SolveError
from qopt.errors import (
    BackendConfigurationError,
    BackendUnavailable,
    Cancelled,
    NoResultInTime,
    ParameterError,
    ResourceLimitError,
    UnknownBackendError,
)
from qopt.model.formats.qkp import write_qkp
from qopt.model.formats.tsplib import parse_tsplib
from qopt.model.templates import tour_length
from qopt.service.auth import hash_token
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server

TOKEN = "cli-token-0123456789"

MPS = """NAME          TINY
ROWS
 N  obj
 L  c1
COLUMNS
    MARKER                 'MARKER'                 'INTORG'
    x         obj       -1.0   c1        1.0
    y         obj       -2.0   c1        1.0
    z         obj       -3.0   c1        1.0
    MARKER                 'MARKER'                 'INTEND'
RHS
    rhs       c1        2.0
BOUNDS
 UP bnd       x         1
 UP bnd       y         1
 UP bnd       z         1
ENDATA
"""

# max 3x + 2y + 4z, x + y + z <= 2: objective 7 at y = 0
LP = """Maximize
 obj: 3 x + 2 y + 4 z
Subject To
 c1: x + y + z <= 2
Binary
 x y z
End
"""

TSP = """NAME: five
TYPE: TSP
DIMENSION: 5
EDGE_WEIGHT_TYPE: EUC_2D
NODE_COORD_SECTION
1 0 0
2 10 0
3 10 10
4 0 10
5 5 14
EOF
"""


@pytest.fixture(scope="module")
def auth_server():
    srv = Server("127.0.0.1:0", config=ServiceConfig(tokens={hash_token(TOKEN): "scripter"})).start()
    yield srv
    srv.stop(grace=1.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*argv, env=None, timeout=120):
    """``python -m qopt ARGV`` in a subprocess: (returncode, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "qopt", *argv], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


def test_solve_mps_json_is_exactly_one_document_on_stdout(tmp_path):
    path = tmp_path / "tiny.mps"
    path.write_text(MPS)
    rc, out, err = _run("solve", str(path), "--json", "--seed", "1", "--num-reads", "16")
    assert rc == 0, err
    doc = json.loads(out)  # the whole of stdout is one JSON document: no banner before it
    assert "Running HiGHS" not in out
    assert doc["instance"]["format"] == "mps"
    assert doc["best"] == {"objective": -5.0, "feasible": True, "energy": pytest.approx(-5.0)}
    stages = [k for k in doc["timing"] if k != "total"]
    assert stages == [k for k in ("validate", "preprocess", "bound", "sample", "postprocess") if k in stages]
    assert list(doc["timing"])[-1] == "total"


def test_exit_codes_for_a_bad_file_an_unknown_backend_and_no_server(tmp_path):
    garbage = tmp_path / "notes.dat"
    garbage.write_text("hello world\nthis is no model\n")
    rc, out, err = _run("solve", str(garbage), "--json")
    assert (rc, out) == (USAGE, "")
    assert "cannot tell the format" in err and "--format" in err
    not_lp = tmp_path / "junk.lp"  # named .lp, but no LP at all: the message says so and names --format
    not_lp.write_text("this is not\nan lp file\n")
    rc, out, err = _run("solve", str(not_lp), "--json")
    assert (rc, out) == (USAGE, "")
    assert "junk.lp" in err and "no variables" in err and "--format" in err
    lp = tmp_path / "m.lp"
    lp.write_text(LP)
    assert cli.main(["solve", str(lp), "--backend", "no-such-backend"]) == USAGE
    port = _free_port()  # nothing listens there
    assert cli.main(["solve", str(lp), "--server", f"127.0.0.1:{port}", "--timeout", "10"]) == SERVER
    assert cli.main(["jobs", "--server", f"127.0.0.1:{port}"]) == SERVER


def test_help_lists_every_exit_code():
    rc, out, _ = _run("--help")
    assert rc == 0
    for code, name, _ in EXIT_CODES:
        assert f"{code}  {name}" in out


def test_exit_code_is_chosen_by_class():
    assert exit_code(None) == OK
    assert exit_code(ParameterError("num_reads", "must be >= 1, was 0")) == USAGE
    assert exit_code(UnknownBackendError("no backend 'x'")) == USAGE
    assert exit_code(FileNotFoundError("x")) == USAGE
    assert exit_code(ResourceLimitError("max_variables", "too many")) == LIMIT
    assert exit_code(BackendUnavailable("later")) == BACKEND
    assert exit_code(BackendConfigurationError("no token")) == BACKEND
    assert exit_code(NoResultInTime("late")) == DEADLINE
    assert exit_code(TimeoutError("late")) == DEADLINE
    assert exit_code(Cancelled("stop")) == CANCELLED
    assert exit_code(KeyError("bug")) == INTERNAL
    grpc_cases = {grpc.StatusCode.INVALID_ARGUMENT: USAGE, grpc.StatusCode.NOT_FOUND: USAGE,
                  grpc.StatusCode.RESOURCE_EXHAUSTED: LIMIT, grpc.StatusCode.FAILED_PRECONDITION: BACKEND,
                  grpc.StatusCode.DEADLINE_EXCEEDED: DEADLINE, grpc.StatusCode.CANCELLED: CANCELLED,
                  grpc.StatusCode.UNAUTHENTICATED: SERVER, grpc.StatusCode.UNAVAILABLE: SERVER,
                  grpc.StatusCode.INTERNAL: INTERNAL}
    for code, expected in grpc_cases.items():
        assert exit_code(SolveError(code, "x")) == expected, code
    # UNAVAILABLE from a server that answered (or a job that failed so) is the backend's
    assert exit_code(SolveError(grpc.StatusCode.UNAVAILABLE, "x"), server_reachable=True) == BACKEND
    assert exit_code(JobFailed(grpc.StatusCode.UNAVAILABLE, "x")) == BACKEND


def test_solve_server_takes_token_and_env_token(auth_server, tmp_path, capsys, monkeypatch):
    lp = tmp_path / "m.lp"
    lp.write_text(LP)
    base = ["solve", str(lp), "--server", auth_server.address, "--seed", "1", "--num-reads", "16", "--json"]
    monkeypatch.delenv("QOPT_TOKEN", raising=False)
    assert cli.main(base) == SERVER  # no token: refused
    assert "token" in capsys.readouterr().err
    assert cli.main([*base, "--token", "wrong-token-000000"]) == SERVER
    capsys.readouterr()
    assert cli.main([*base, "--token", TOKEN]) == OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["best"]["objective"] == pytest.approx(7.0) and doc["best"]["feasible"] is True
    monkeypatch.setenv("QOPT_TOKEN", TOKEN)
    assert cli.main(base) == OK
    assert json.loads(capsys.readouterr().out)["best"]["objective"] == pytest.approx(7.0)


def test_tsp_answer_is_a_tour_whose_length_is_the_objective(tmp_path, capsys):
    path = tmp_path / "five.tsp"
    path.write_text(TSP)
    assert cli.main(["solve", str(path), "--seed", "1", "--json", "--top", "3"]) == OK
    doc = json.loads(capsys.readouterr().out)
    distances = parse_tsplib(TSP)["distances"]
    best = doc["candidates"][0]
    assert best["feasible"] is True
    tour = doc["answer"]["tour"]
    assert sorted(tour) == list(range(5))  # a permutation of the cities
    assert tour_length(distances, tour) == pytest.approx(doc["best"]["objective"])
    assert best["answer"] == doc["answer"]
    assert cli.main(["solve", str(path), "--seed", "1", "--top", "1"]) == OK
    table = capsys.readouterr().out
    assert "answer" in table.splitlines()[0] and f"tour {' '.join(map(str, tour))}" in table


def test_submit_takes_every_format_and_jobs_show_objective_and_backend(auth_server, tmp_path, capsys):
    """MPS, QKP (detected without --format) and TSPLIB files are submitted; ``qopt jobs``
    lists each with the backend that ran and its objective; ``qopt result --file`` decodes
    the tour."""
    rng = np.random.default_rng(4)
    n = 6
    qkp = write_qkp({"name": "q6", "profits": rng.integers(1, 10, n), "quadratic": np.triu(rng.integers(0, 5, (n, n)), 1),
                     "weights": rng.integers(1, 6, n), "capacity": 9})
    files = {"tiny.mps": MPS, "q6.txt": qkp, "five.tsp": TSP, "m.lp": LP}
    base = ["--server", auth_server.address, "--token", TOKEN]
    ids = {}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        assert cli.main(["submit", str(tmp_path / name), *base, "--seed", "1", "--num-reads", "16"]) == OK, name
        ids[name] = capsys.readouterr().out.strip()
    with Client(auth_server.address, token=TOKEN) as client:
        for job_id in ids.values():
            client.job(job_id).wait(timeout=60)
    assert cli.main(["jobs", *base, "--json"]) == OK
    listed = {j["job_id"]: j for j in json.loads(capsys.readouterr().out)}
    lp_job = listed[ids["m.lp"]]
    assert lp_job["state"] == "SUCCEEDED" and lp_job["requested_backend"] == "auto"
    assert lp_job["backend"] not in ("", "auto")
    assert lp_job["best_objective"] == pytest.approx(7.0) and lp_job["feasible"] is True  # not the energy -7
    for name in ("tiny.mps", "q6.txt", "five.tsp"):
        assert listed[ids[name]]["state"] == "SUCCEEDED", name
    assert cli.main(["jobs", *base]) == OK
    header, *rows = capsys.readouterr().out.splitlines()
    assert "backend" in header and "best objective" in header and "feasible" in header
    assert any(ids["m.lp"] in r and " 7 " in f" {r} " for r in rows)
    assert cli.main(["result", ids["five.tsp"], *base, "--file", str(tmp_path / "five.tsp"), "--json"]) == OK
    doc = json.loads(capsys.readouterr().out)
    tour = doc["answer"]["tour"]
    assert sorted(tour) == list(range(5))
    assert tour_length(parse_tsplib(TSP)["distances"], tour) == pytest.approx(doc["best"]["objective"])


def test_result_timeout_and_cancel_exit_codes(auth_server, capsys):
    bqm = dimod.generators.gnp_random_bqm(200, 0.1, "SPIN", random_state=5)
    base = ["--server", auth_server.address, "--token", TOKEN]
    with Client(auth_server.address, token=TOKEN) as client:
        job = client.submit(bqm, backend="sa", num_reads=64, num_sweeps=10_000_000, seed=1)
        assert cli.main(["result", job.job_id, *base, "--timeout", "0.2"]) == DEADLINE
        assert cli.main(["cancel", job.job_id, *base]) == OK
        client.job(job.job_id).wait(timeout=60)
        assert cli.main(["result", job.job_id, *base]) == CANCELLED
    assert "cancel" in capsys.readouterr().err


def test_watch_prints_improvement_lines_with_branch_and_backend(auth_server, capsys):
    bqm = dimod.generators.gnp_random_bqm(120, 0.1, "SPIN", random_state=3)
    with Client(auth_server.address, token=TOKEN) as client:
        job = client.submit(bqm, backend="hybrid", seed=1, time_limit=1.0)
        rc = cli.main(["watch", job.job_id, "--server", auth_server.address, "--token", TOKEN])
    assert rc == OK
    lines = capsys.readouterr().out.splitlines()
    improvements = [line for line in lines if line.startswith("improvement")]
    assert improvements, lines
    for line in improvements:
        assert " t=" in line and "best energy" in line and "branch" in line and "backend" in line
    energies = [float(line.split("best energy")[1].split()[0]) for line in improvements]
    assert energies == sorted(energies, reverse=True)  # each line improves on the last
    assert lines[0].startswith("state") and job.job_id in lines[0]
    assert lines[-1].startswith("state") and "SUCCEEDED" in lines[-1] and "backend hybrid" in lines[-1]


def test_resource_limit_exit_code(tmp_path, capsys):
    lp = tmp_path / "m.lp"
    lp.write_text(LP)
    with Server("127.0.0.1:0", config=ServiceConfig(max_num_reads=8)) as srv:
        for command in ("solve", "submit"):
            assert cli.main([command, str(lp), "--server", srv.address, "--num-reads", "9"]) == LIMIT, command
            assert "max_num_reads" in capsys.readouterr().err
