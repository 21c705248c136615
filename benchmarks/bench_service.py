#!/usr/bin/env python3
"""Service latency and throughput on loopback: Solve and SubmitJob with N concurrent clients.

Anchor, measured side by side in the same run: the same solves in-process through
``qopt.solve`` (no gRPC, no store), one thread. The service figures are reported with
their ratio to that anchor.

For each concurrency level N (default 1, 8, 32) every client makes ``--calls`` calls:
  * Solve: wall time of ``Client.solve`` (request to response);
  * SubmitJob: wall time of ``Client.submit`` (accepted and persisted), and end-to-end time
    from submit to the job's SUCCEEDED (polled with GetJob).
Throughput = calls answered / wall time from the start to the last client's last call;
jobs completed per second = jobs SUCCEEDED / wall time until the last one finished.

Usage:
    python benchmarks/bench_service.py [--clients 1 8 32] [--calls 50]
        [--num-variables 5] [--num-reads 2] [--num-sweeps 20] [--store PATH] [--json OUT] [--out DIR]

Writes service.csv (one row per concurrency level and RPC, plus the anchor) and service.png
(p50/p99 latency and throughput against N, beside the in-process anchor) under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import statistics
import sys
import tempfile
import threading
import time

import dimod
import numpy as np

from benchkit import RESULTS, pyplot, save_figure, write_csv


def _pct(values, q):
    return float(np.percentile(np.asarray(values), q)) * 1e3 if values else float("nan")


def _summary(latencies, wall):
    return {"calls": len(latencies), "p50_ms": _pct(latencies, 50), "p99_ms": _pct(latencies, 99),
            "mean_ms": statistics.fmean(latencies) * 1e3 if latencies else float("nan"),
            "throughput_per_s": len(latencies) / wall if wall > 0 else float("nan")}


def _problems(count, n, seed0=0):
    return [dimod.generators.gnp_random_bqm(n, 1.0, dimod.SPIN, random_state=seed0 + i) for i in range(count)]


def run(args) -> dict:
    from qopt.client import Client, SolveError
    from qopt.provenance import library_versions
    from qopt.service.limits import ServiceConfig
    from qopt.service.server import Server
    from qopt.solve import solve

    logging.getLogger("qopt").setLevel(logging.ERROR)
    params = {"num_reads": args.num_reads, "num_sweeps": args.num_sweeps}
    library_versions()  # read package metadata once (cached), for the anchor and the service alike
    problems = _problems(args.calls, args.num_variables)

    # anchor: in-process qopt.solve, one thread
    solve(problems[0], "sa", seed=0, **params)
    lat = []
    t0 = time.perf_counter()
    for i, bqm in enumerate(problems):
        t = time.perf_counter()
        solve(bqm, "sa", seed=i, **params)
        lat.append(time.perf_counter() - t)
    anchor = _summary(lat, time.perf_counter() - t0)
    report = {"anchor_in_process": anchor, "levels": {}, "params": {**params, "num_variables": args.num_variables,
                                                                    "calls_per_client": args.calls},
              "cpu_count": os.cpu_count()}

    store_dir = tempfile.mkdtemp(prefix="qopt-bench-")
    store = args.store or os.path.join(store_dir, "jobs.sqlite")
    config = ServiceConfig(rpc_workers=max(16, max(args.clients) // 2), job_workers=args.job_workers,
                           max_queue_length=100_000, max_jobs_per_principal=100_000, max_concurrent_solves=10_000)
    with Server("127.0.0.1:0", config=config, store_path=store) as srv:
        for n_clients in args.clients:
            level = {}
            for kind in ("solve", "submit"):
                lat, e2e, errors, phase_end = [], [], [], []
                lock = threading.Lock()
                barrier = threading.Barrier(n_clients + 1)

                def client(k, kind=kind, lat=lat, e2e=e2e, errors=errors, phase_end=phase_end, lock=lock,
                           barrier=barrier):
                    mine, mine_e2e = [], []
                    with Client(srv.address) as c:
                        c.solve(problems[0], "sa", seed=0, timeout=60, **params)  # connect and warm up
                        barrier.wait()
                        handles = []
                        for i, bqm in enumerate(problems):
                            t = time.perf_counter()
                            try:
                                if kind == "solve":
                                    c.solve(bqm, "sa", seed=i, timeout=120, **params)
                                else:
                                    handles.append((c.submit(bqm, "sa", seed=i, **params), t))
                            except SolveError as err:
                                errors.append(err.code.name)
                                continue
                            mine.append(time.perf_counter() - t)
                        submitted = time.perf_counter()
                        for h, t in handles:
                            while not h.get().done:
                                time.sleep(0.005)
                            mine_e2e.append(time.perf_counter() - t)
                    with lock:
                        phase_end.append(time.perf_counter() if kind == "solve" else submitted)
                        lat.extend(mine)
                        e2e.extend(mine_e2e)

                threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
                [t.start() for t in threads]
                barrier.wait()
                t0 = time.perf_counter()
                [t.join() for t in threads]
                wall = time.perf_counter() - t0
                s = _summary(lat, max(phase_end) - t0)  # calls per second while the calls were being made
                s["errors"] = len(errors)
                s["p50_ratio_to_anchor"] = s["p50_ms"] / anchor["p50_ms"]
                if kind == "submit":
                    s["end_to_end_p50_ms"] = _pct(e2e, 50)
                    s["end_to_end_p99_ms"] = _pct(e2e, 99)
                    s["jobs_completed_per_s"] = len(e2e) / wall
                level[kind] = s
            report["levels"][str(n_clients)] = level
            print(f"N={n_clients:>3}  Solve p50 {level['solve']['p50_ms']:7.2f} ms  p99 {level['solve']['p99_ms']:7.2f} ms "
                  f"{level['solve']['throughput_per_s']:7.1f}/s  | SubmitJob p50 {level['submit']['p50_ms']:7.2f} ms  "
                  f"p99 {level['submit']['p99_ms']:7.2f} ms {level['submit']['throughput_per_s']:7.1f}/s  "
                  f"jobs done {level['submit']['jobs_completed_per_s']:6.1f}/s", flush=True)
    print(f"anchor (in-process qopt.solve, 1 thread): p50 {anchor['p50_ms']:.2f} ms  p99 {anchor['p99_ms']:.2f} ms  "
          f"{anchor['throughput_per_s']:.1f}/s")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--calls", type=int, default=50, help="calls per client per RPC kind")
    parser.add_argument("--num-variables", type=int, default=5)
    parser.add_argument("--num-reads", type=int, default=2)
    parser.add_argument("--num-sweeps", type=int, default=20)
    parser.add_argument("--job-workers", type=int, default=2)
    parser.add_argument("--store", help="job store file (default: a temporary file)")
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--out", default=str(RESULTS), help="folder for service.csv and service.png")
    args = parser.parse_args(argv)
    report = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    out = pathlib.Path(args.out)
    rows = [{"clients": 1, "rpc": "in-process qopt.solve (anchor)", **report["anchor_in_process"]}]
    rows += [{"clients": int(n), "rpc": kind, **figures} for n, level in report["levels"].items()
             for kind, figures in level.items()]
    write_csv(rows, out / "service.csv")
    plot(report, out, "service")
    return 0


def plot(report: dict, out: pathlib.Path, stem: str) -> None:
    """Left: p50 and p99 latency (ms) against concurrent clients for Solve and SubmitJob, with the
    in-process anchor's p50. Right: calls answered per second against clients, with the anchor's."""
    plt = pyplot()
    if plt is None or not report["levels"]:
        return
    anchor = report["anchor_in_process"]
    ns = sorted(int(n) for n in report["levels"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for kind, color in (("solve", "C0"), ("submit", "C1")):
        label = "Solve" if kind == "solve" else "SubmitJob (accepted)"
        figs = [report["levels"][str(n)][kind] for n in ns]
        axes[0].plot(ns, [f["p50_ms"] for f in figs], "o-", color=color, label=f"{label} p50")
        axes[0].plot(ns, [f["p99_ms"] for f in figs], "o--", color=color, label=f"{label} p99")
        axes[1].plot(ns, [f["throughput_per_s"] for f in figs], "o-", color=color, label=label)
    axes[0].axhline(anchor["p50_ms"], color="k", ls=":", label="in-process qopt.solve p50 (anchor)")
    axes[1].axhline(anchor["throughput_per_s"], color="k", ls=":", label="in-process qopt.solve, 1 thread (anchor)")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.set_xlabel("concurrent clients N")
        ax.legend(fontsize=8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("latency per call (ms)")
    axes[0].set_title("gRPC latency on loopback")
    axes[1].set_ylabel("calls answered per second")
    axes[1].set_title("Throughput")
    save_figure(fig, out, stem)


if __name__ == "__main__":
    sys.exit(main())
