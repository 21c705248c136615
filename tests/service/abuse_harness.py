"""Harness of the fault-and-abuse suite (``test_abuse.py``): a real ``qopt serve``
subprocess on loopback, a gRPC channel with generous message limits, a health probe, the
server's CPU time and resident memory read from ``/proc``, and helpers that unpack the
``google.rpc`` details of an error.

Every wait is bounded in time; :class:`ServeProcess` kills the child when it is closed (a
test that fails mid-way still leaves no process behind).
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import dimod
import grpc
import numpy as np
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from qopt.service import convert
from qopt.v1 import model_pb2, solver_service_pb2_grpc
from qopt.v1 import solver_service_pb2 as pb

__all__ = ["ServeProcess", "channel_options", "bqm_problem", "ring_problem", "solve_request", "field_of", "quota_of",
           "call_error", "CLK_TCK", "IDLE_CPU_SECONDS", "IDLE_WINDOW", "IDLE_WITHIN"]

CLK_TCK = os.sysconf("SC_CLK_TCK")
IDLE_CPU_SECONDS = 0.2  # idle: the server's CPU time grows by less than this ...
IDLE_WINDOW = 1.0       # ... over a window of this many seconds ...
IDLE_WITHIN = 2.0       # ... starting within this many seconds of the client leaving
STARTUP_SECONDS = 30.0  # most seconds `qopt serve` may take to print its address


def _env() -> dict:
    """The child imports the same qopt as this test (installed, or the source tree)."""
    import qopt

    env = dict(os.environ)
    env["PYTHONPATH"] = str(pathlib.Path(qopt.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def channel_options(message_bytes: int = 256 << 20) -> list[tuple[str, int]]:
    """Generous send/receive limits (bytes); the metadata limit stays gRPC's default, as a
    client's would."""
    return [("grpc.max_send_message_length", message_bytes), ("grpc.max_receive_message_length", message_bytes)]


class ServeProcess:
    """``qopt serve --address 127.0.0.1:0 --store DIR/jobs.sqlite [--config DIR/config.json]``.

    Args:
        tmp: a private directory (the store, the config file and the server's stderr log).
        config: ServiceConfig settings written to a JSON file passed as ``--config``.
        args: further command-line flags.
    """

    def __init__(self, tmp: pathlib.Path, config: dict | None = None, args: tuple[str, ...] = ()):
        tmp.mkdir(parents=True, exist_ok=True)
        self.store = tmp / "jobs.sqlite"
        self.log_path = tmp / "server.log"
        cmd = [sys.executable, "-m", "qopt", "serve", "--address", "127.0.0.1:0", "--store", str(self.store),
               "--log-level", "warning", *args]
        if config:
            path = tmp / "config.json"
            path.write_text(json.dumps(config))
            cmd += ["--config", str(path)]
        self._log = open(self.log_path, "w")
        # stderr goes to a file: a pipe nobody reads would block the server once full
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, text=True, env=_env())
        self.pid = self.proc.pid
        self.address = self._read_address()
        self.channel = grpc.insecure_channel(self.address, options=channel_options())
        self.stub = solver_service_pb2_grpc.SolverServiceStub(self.channel)
        self._extra: list[grpc.Channel] = []
        self.wait_serving(STARTUP_SECONDS)

    def _read_address(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        assert self.proc.stdout is not None
        line = ""
        while time.monotonic() < deadline:  # readline blocks; the child prints once or exits
            line = self.proc.stdout.readline().strip()
            if line or self.proc.poll() is not None:
                break
        if not line.startswith("qopt serving on "):
            self.close()
            raise AssertionError(f"server did not start: {line!r}; log: {self.log()[-2000:]}")
        return line.split()[3]

    # ---- channels and health ----

    def new_channel(self) -> grpc.Channel:
        """A channel of its own (closed by :meth:`close` unless the test closes it first)."""
        ch = grpc.insecure_channel(self.address, options=channel_options())
        self._extra.append(ch)
        return ch

    def health(self, timeout: float = 1.0, channel: grpc.Channel | None = None) -> int:
        """The overall health status (``health_pb2.HealthCheckResponse.SERVING`` = 1); raises
        ``grpc.RpcError`` (DEADLINE_EXCEEDED) when no answer comes within ``timeout`` s."""
        stub = health_pb2_grpc.HealthStub(channel or self.channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout).status

    def assert_serving(self, timeout: float = 1.0) -> None:
        """Health answers SERVING within ``timeout`` seconds, on a fresh channel (a new
        connection, as a load balancer's probe would make)."""
        assert self.proc.poll() is None, f"server exited with {self.proc.returncode}; log: {self.log()[-2000:]}"
        with grpc.insecure_channel(self.address) as ch:
            grpc.channel_ready_future(ch).result(timeout=5)
            status = self.health(timeout, channel=ch)
        assert status == health_pb2.HealthCheckResponse.SERVING, status

    def wait_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.health(1.0) == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"server not SERVING after {timeout} s; log: {self.log()[-2000:]}")
            time.sleep(0.05)

    # ---- /proc ----

    def cpu_seconds(self) -> float:
        """utime + stime of the server process (all its threads), seconds."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5)

    def rss_bytes(self) -> int:
        """Resident memory of the server process (bytes)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def idle_after(self, within: float = IDLE_WITHIN, window: float = IDLE_WINDOW,
                   threshold: float = IDLE_CPU_SECONDS) -> float | None:
        """Seconds until the server went idle (CPU time grew by < ``threshold`` s over a
        ``window`` s window that started within ``within`` s from now), or None if it did not."""
        t0 = time.monotonic()
        samples = [(t0, self.cpu_seconds())]
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            samples.append((now, self.cpu_seconds()))
            # the oldest sample at least `window` s back
            start = next((s for s in reversed(samples) if now - s[0] >= window), None)
            if start is not None:
                if samples[-1][1] - start[1] < threshold:
                    return start[0] - t0
                if start[0] - t0 > within:
                    return None

    def assert_idle(self, what: str) -> None:
        went_idle = self.idle_after()
        assert went_idle is not None, (f"{what}: CPU did not return to idle within {IDLE_WITHIN} s "
                                       f"(> {IDLE_CPU_SECONDS} CPU-s per {IDLE_WINDOW} s)")

    # ---- lifecycle ----

    def log(self) -> str:
        self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def terminate(self, timeout: float) -> tuple[int | None, float]:
        """SIGTERM; (exit status or None if still running after ``timeout`` s, seconds taken)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
        return rc, time.monotonic() - t0

    def close(self) -> None:
        """Kill the server (if it still runs) and close every channel."""
        for ch in [*getattr(self, "_extra", []), *([self.channel] if hasattr(self, "channel") else [])]:
            ch.close()
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kill is not refused
            pass
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()

    def __enter__(self) -> "ServeProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---- requests ----

def bqm_problem(bqm: dimod.BinaryQuadraticModel) -> model_pb2.Problem:
    return model_pb2.Problem(bqm=convert.bqm_to_proto(bqm))


def ring_problem(n: int, *, linear: float = 0.0, coupling: float = 1.0) -> model_pb2.Problem:
    """An n-variable SPIN ring (n couplings), built from numpy arrays."""
    idx = np.arange(n, dtype=np.uint32)
    msg = model_pb2.BinaryQuadraticModel(vartype=model_pb2.VARTYPE_SPIN, num_variables=n)
    msg.linear.extend(np.full(n, linear).tolist())
    msg.quadratic_row.extend(idx.tolist())
    msg.quadratic_col.extend(((idx + 1) % n).tolist())
    msg.quadratic_bias.extend(np.full(n, coupling).tolist())
    return model_pb2.Problem(bqm=msg)


def solve_request(problem: model_pb2.Problem, backend: str = "sa", **parameters) -> pb.SolveRequest:
    req = pb.SolveRequest(problem=problem, backend=backend)
    if parameters:
        req.parameters.update(parameters)
    return req


# ---- error details ----

def _details(err: grpc.RpcError):
    status = rpc_status.from_call(err)
    assert status is not None, f"no google.rpc.Status details: {err.code()} {err.details()[:300]!r}"
    return status.details


def field_of(err: grpc.RpcError) -> str:
    """The field of the first ``google.rpc.BadRequest`` violation of an INVALID_ARGUMENT."""
    for any_ in _details(err):
        br = error_details_pb2.BadRequest()
        if any_.Unpack(br) and br.field_violations:
            return br.field_violations[0].field
    raise AssertionError(f"no BadRequest detail: {err.details()[:300]!r}")


def quota_of(err: grpc.RpcError) -> tuple[str, str]:
    """(subject, description) of the first ``google.rpc.QuotaFailure`` violation."""
    for any_ in _details(err):
        qf = error_details_pb2.QuotaFailure()
        if any_.Unpack(qf) and qf.violations:
            return qf.violations[0].subject, qf.violations[0].description
    raise AssertionError(f"no QuotaFailure detail: {err.details()[:300]!r}")


def call_error(fn: Callable[[], object]) -> grpc.RpcError:
    """The ``grpc.RpcError`` that ``fn()`` raises (AssertionError when it succeeds)."""
    try:
        fn()
    except grpc.RpcError as err:
        return err
    raise AssertionError("the call succeeded; it should have been refused")
