#!/usr/bin/env python3
"""Scale-out: a batch of public instances through Ray beside the in-process thread executor.

Side by side in one run, on the same machine and the same CPUs:

* **anchor**: the batch through :class:`qopt.service.executor.InProcessExecutor`, ``--cpus``
  threads (``run_batch``);
* **ray**: the same batch, same seeds, through :class:`qopt.service.executor_ray.RayExecutor` on a
  local Ray instance with ``--cpus`` CPUs on 127.0.0.2 (token auth on, the token in the
  environment, never written to ``~/.ray``); reported as the throughput ratio ray / anchor and
  the number of problems whose best energy and sample differ (expected: 0);
* **ray, one worker killed**: the same batch again, with one busy worker process killed
  (SIGKILL, by pid) once half the answers are in: every problem must be answered exactly once
  (the lost one runs again);
* **model**: throughput against the number of worker nodes, ``N x c / (t_task + o)`` capped at the
  driver's dispatch rate ``1 / d``, from the per-task time ``t_task`` (anchor), Ray's
  per-task overhead ``o`` (ray vs anchor here) and ``d`` (no-op tasks measured here).

Usage:
    python benchmarks/bench_scale.py [--quick] [--cpus 2] [--data DIR] [--out DIR]

``--quick`` (default on a shared machine): 16 problems (OR-Library bqp50 1-10, Biq Mac gka,
rudy); without it 64 (bqp50, bqp100, bqp250 1-10 each, Gset G1-G5 and G14-G17..., as found
under ``--data``). Writes scale.csv and scale.png under ``--out``.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import secrets
import signal
import sys
import threading
import time

from benchkit import RESULTS, pyplot, save_figure, shared_data, shipped_data, write_csv

PARAMS = dict(num_reads=8, num_sweeps=20000, num_threads=1)


def _instances(data: pathlib.Path | None, quick: bool):
    from qopt.io.readers import read_instance

    out = []
    root = data or shipped_data()
    bqp50 = next((p for p in (root / "orlib_bqp" / "bqp50.txt", root / "bqp50.txt") if p.exists()), None)
    for k in range(1, 11):
        out.append(read_instance(bqp50 or "bqp50", problem=k))
    for name in ("gka1a", "gka1b", "pm1s_80.0", "pw01_100.0"):
        out.append(read_instance(name))
    if quick:
        out += [read_instance("bqp50", problem=k) for k in (1, 2)]  # 16 in all
        return out[:16]
    if data is not None:
        for stem in ("bqp100", "bqp250"):
            path = data / "orlib_bqp" / f"{stem}.txt"
            if path.exists():
                out += [read_instance(path, problem=k) for k in range(1, 11)]
        for path in sorted((data / "gset").glob("G*.txt"))[: max(0, 64 - len(out))]:
            out.append(read_instance(path))
    while len(out) < 64:
        out.append(out[len(out) % 14])
    return out[:64]


def _busy_worker_pids() -> list[int]:
    import psutil

    return [c.pid for c in psutil.Process().children(recursive=True)
            if " ".join(c.cmdline()[:1]).startswith("ray::_solve_task")]


def _batch(executor, calls, parallel, kill_at=None):
    from qopt.service.executor import run_batch

    t0 = time.perf_counter()
    items, killed = [], []
    for item in run_batch(executor, calls, max_parallel=parallel, max_attempts=3):
        items.append(item)
        if kill_at is not None and len(items) == kill_at and not killed:
            pids = _busy_worker_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
    return items, time.perf_counter() - t0, killed


def run(args) -> list[dict]:
    # token auth on for the local instance, the token only in this process's environment
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from qopt.service.executor import InProcessExecutor, SolveCall
    from qopt.service.executor_ray import RayExecutor

    instances = _instances(shared_data(args.data), args.quick)
    calls = [SolveCall(inst.bqm, "sa", {**PARAMS, "seed": 1000 + i}) for i, inst in enumerate(instances)]
    n = len(calls)
    print(f"{n} problems, sa {PARAMS}, {args.cpus} CPUs", flush=True)

    _batch(InProcessExecutor(), calls[: args.cpus], args.cpus)  # warm: imports, the C++ core
    anchor, t_anchor, _ = _batch(InProcessExecutor(), calls, args.cpus)
    t_task = sum(i.result.timing["total"] for i in anchor) / n
    print(f"anchor (threads): {t_anchor:.2f} s, {n / t_anchor:.2f} problems/s", flush=True)

    t_init = time.perf_counter()
    rx = RayExecutor("local", num_cpus=args.cpus, node_ip_address="127.0.0.2")
    t_init = time.perf_counter() - t_init
    try:
        noop = ray.remote(num_cpus=0.01)(lambda: None)
        ray.get([noop.remote() for _ in range(20)])  # warm
        t0 = time.perf_counter()
        ray.get([noop.remote() for _ in range(200)])
        dispatch = (time.perf_counter() - t0) / 200
        _batch(rx, calls[: args.cpus], args.cpus)  # warm the workers (imports, the C++ core)
        on_ray, t_ray, _ = _batch(rx, calls, 2 * args.cpus)
        print(f"ray: {t_ray:.2f} s, {n / t_ray:.2f} problems/s (ratio {t_anchor / t_ray:.3f})", flush=True)
        killed_items, t_killed, killed = _batch(rx, calls, 2 * args.cpus, kill_at=n // 2)
        print(f"ray, worker {killed} killed at {n // 2} answers: {t_killed:.2f} s", flush=True)
    finally:
        rx.close()

    by_index = {i.index: i for i in anchor}
    differ = sum(1 for i in on_ray if i.error is not None or i.result.best.energy != by_index[i.index].result.best.energy
                 or i.result.best.sample != by_index[i.index].result.best.sample)
    answered = sorted(i.index for i in killed_items)
    t_task_ray = sum(i.result.timing["total"] for i in on_ray) / n
    overhead = max(0.0, t_ray * args.cpus / n - t_task)
    rows = [
        {"run": "anchor_threads", "problems": n, "seconds": t_anchor, "problems_per_s": n / t_anchor, "ratio": 1.0,
         "differ": 0, "answered": n, "answered_twice": 0, "retried": 0, "cpus": args.cpus, "mean_task_s": t_task},
        {"run": "ray", "problems": n, "seconds": t_ray, "problems_per_s": n / t_ray, "ratio": t_anchor / t_ray,
         "differ": differ, "answered": len(on_ray), "answered_twice": len(on_ray) - len({i.index for i in on_ray}),
         "retried": sum(i.attempts > 1 for i in on_ray), "cpus": args.cpus, "ray_init_s": t_init,
         "mean_task_s": t_task_ray},
        {"run": "ray_worker_killed", "problems": n, "seconds": t_killed, "problems_per_s": n / t_killed,
         "ratio": t_anchor / t_killed, "differ": sum(1 for i in killed_items if i.error is not None),
         "answered": len(set(answered)), "answered_twice": len(answered) - len(set(answered)),
         "retried": sum(i.attempts > 1 for i in killed_items), "cpus": args.cpus, "killed_pids": killed},
    ]
    cpus_per_node = args.cpus
    for nodes in (1, 2, 4, 8, 16, 32, 64):
        model = min(nodes * cpus_per_node / (t_task + overhead), 1.0 / dispatch)
        rows.append({"run": f"model_{nodes}_nodes", "nodes": nodes, "cpus": nodes * cpus_per_node,
                     "problems_per_s": model, "t_task_s": t_task, "overhead_s": overhead, "dispatch_s": dispatch})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", default=True)
    p.add_argument("--full", dest="quick", action="store_false", help="64 problems (needs the shared data)")
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--data", type=pathlib.Path)
    p.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = p.parse_args(argv)
    rows = run(args)
    write_csv(rows, args.out / "scale.csv")
    for r in rows:
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})
    plt = pyplot()
    if plt is not None:
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        measured = [r for r in rows if not r["run"].startswith("model")]
        a.bar([r["run"] for r in measured], [r["problems_per_s"] for r in measured])
        a.set_ylabel("problems / s")
        a.set_title(f"{rows[0]['problems']} problems, {args.cpus} CPUs")
        model = [r for r in rows if r["run"].startswith("model")]
        b.plot([r["nodes"] for r in model], [r["problems_per_s"] for r in model], marker="o")
        b.set_xscale("log", base=2)
        b.set_yscale("log")
        b.set_xlabel(f"worker nodes ({args.cpus} CPUs each)")
        b.set_ylabel("problems / s (model)")
        save_figure(fig, args.out, "scale")
    ok = rows[1]["differ"] == 0 and rows[2]["answered"] == rows[2]["problems"] and rows[2]["answered_twice"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    threading.current_thread().name = "bench_scale"
    sys.exit(main())
