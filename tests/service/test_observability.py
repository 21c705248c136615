"""Structured JSON logs (request_id and job_id on the lines about them) and Prometheus
metrics served over HTTP."""
from __future__ import annotations

import io
import json
import logging
import socket
import urllib.request

import dimod
import grpc
import pytest

from qopt.client import Client, SolveError
from qopt.service.limits import ServiceConfig
from qopt.service.observe import JsonFormatter
from qopt.service.server import Server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def captured_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("qopt")
    old = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(old)


def test_json_logs_carry_request_and_job_ids(captured_logs):
    bqm = dimod.generators.gnp_random_bqm(6, 0.5, dimod.SPIN, random_state=1)
    with Server("127.0.0.1:0") as srv, Client(srv.address) as c:
        job = c.submit(bqm, backend="sa", num_reads=2, seed=1, request_id="req-log-1")
        job.wait(timeout=20)
        c.solve(bqm, backend="sa", num_reads=2, request_id="req-log-2")
        with pytest.raises(SolveError):
            c.solve(bqm, backend="nope", request_id="req-log-3")
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert lines and all({"time", "level", "message", "logger"} <= set(d) for d in lines)
    job_lines = [d for d in lines if d.get("job_id") == job.job_id]
    assert {"job accepted", "job started", "job succeeded"} <= {d["message"] for d in job_lines}
    assert all(d.get("request_id") == "req-log-1" for d in job_lines if d["message"].startswith("job "))
    access = {(d["method"], d["code"], d.get("request_id")) for d in lines if d["logger"] == "qopt.service.access"}
    assert ("SubmitJob", "OK", "req-log-1") in access
    assert ("Solve", "OK", "req-log-2") in access
    assert ("Solve", "INVALID_ARGUMENT", "req-log-3") in access


def test_metrics_endpoint(captured_logs):
    port = _free_port()
    bqm = dimod.generators.gnp_random_bqm(6, 0.5, dimod.SPIN, random_state=1)
    config = ServiceConfig(metrics_port=port)
    with Server("127.0.0.1:0", config=config) as srv, Client(srv.address) as c:
        assert srv.metrics_port == port
        c.solve(bqm, backend="sa", num_reads=2)
        c.submit(bqm, backend="sa", num_reads=2).wait(timeout=20)
        with pytest.raises(SolveError) as info:
            c.job("missing").get()
        assert info.value.code == grpc.StatusCode.NOT_FOUND
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples['qopt_requests_total{code="OK",method="Solve"}'] == 1
    assert samples['qopt_requests_total{code="OK",method="SubmitJob"}'] == 1
    assert samples['qopt_request_errors_total{code="NOT_FOUND",method="GetJob"}'] == 1
    assert samples['qopt_jobs{state="SUCCEEDED"}'] == 1
    assert samples['qopt_queue_length'] == 0
    assert samples['qopt_stage_seconds_count{stage="sample"}'] == 2
    assert samples['qopt_stage_seconds_count{stage="queue_wait"}'] == 1
    assert samples['qopt_request_latency_seconds_count{method="Solve"}'] == 1
    assert 'qopt_retries_total' in text and 'qopt_fallbacks_total' in text
