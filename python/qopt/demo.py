"""``make run``: start the service, solve Gset G1 through it with the Python client, stop it.

Runs ``qopt serve --address 127.0.0.1:0`` as a child process (embedded defaults), waits
for gRPC health to report SERVING, solves the shipped Gset G1 MaxCut instance (800 nodes,
19176 edges; best-known cut 11624) with ``qopt.Client``, prints the ranked candidates and
the timing per stage, then stops the server with SIGTERM.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _start_server(store: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "qopt", "serve", "--address", "127.0.0.1:0", "--store", store,
                             "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None  # stdout=PIPE
    line = proc.stdout.readline().strip()
    if not line.startswith("qopt serving on "):
        proc.kill()
        raise SystemExit(f"server did not start (said {line!r})")
    return proc, line.rsplit(" ", 1)[1]


def _wait_serving(address: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                resp = stub.Check(health_pb2.HealthCheckRequest(service="qopt.v1.SolverService"), timeout=2)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server at {address} not SERVING after {timeout} s")
            time.sleep(0.1)


def main(argv=None) -> int:
    from qopt.cli.output import Progress, format_table
    from qopt.client import Client
    from qopt.data import instance_path
    from qopt.io import read_instance

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--num-reads", type=int, default=64)
    parser.add_argument("--num-sweeps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--num-threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    instance = read_instance(instance_path("G1"), format="gset")
    print(f"instance: Gset {instance.name}, {instance.bqm.num_variables} nodes, "
          f"{instance.bqm.num_interactions} edges, best-known cut {instance.best_known:g}")
    t0 = time.perf_counter()
    # A job store of its own, so every run solves afresh (a stored request_id would be
    # answered from the store: that is the service's idempotency).
    store_dir = tempfile.TemporaryDirectory(prefix="qopt-demo-")
    proc, address = _start_server(os.path.join(store_dir.name, "jobs.sqlite"))
    try:
        _wait_serving(address)
        print(f"server: {address} SERVING after {time.perf_counter() - t0:.2f} s")
        with Client(address) as client, Progress("solving G1 through gRPC"):
            t1 = time.perf_counter()
            result = client.solve(instance.bqm, backend="sa", timeout=300, name=instance.name,
                                  request_id=f"make-run-G1-{uuid.uuid4().hex[:12]}", num_reads=args.num_reads,
                                  num_sweeps=args.num_sweeps, seed=args.seed, num_threads=args.num_threads)
            wall = time.perf_counter() - t1
        print(f"solved in {wall:.2f} s (client wall clock), num_reads={args.num_reads}, "
              f"num_sweeps={args.num_sweeps}, num_threads={args.num_threads}\n")
        print(format_table(result, instance, top=10))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        print(f"\nserver stopped (exit code {code})")
        store_dir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
