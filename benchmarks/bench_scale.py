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
  driver's dispatch rate ``1 / d``, from the pipeline's time per task in a Ray worker
  ``t_task``, Ray's per-task overhead ``o`` (a CPU's wall time per task on Ray less
  ``t_task``) and ``d`` (200 no-op tasks from one driver), all measured in this run.

Usage:
    python benchmarks/bench_scale.py [--quick | --full] [--cpus 2] [--data DIR] [--out DIR]

``--quick`` (the default): 16 problems (OR-Library bqp50 1-10, Biq Mac gka, rudy; shipped with
qopt), ``sa`` with 8 reads of 20000 sweeps. ``--full``: 64 public instances from the shared data
(``--data``): OR-Library bqp50, bqp100 and bqp250 problems 1-10 (30) and 34 Gset graphs (the
800-vertex G1, G6-G14, G18-G21 and the 2000-vertex G23-G42 as present, in file order), ``sa`` with
4 reads of 500 sweeps (a few tenths of a second per problem). Writes scale.csv (scale_full.csv
for ``--full``) and the plot under ``--out``.
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

PARAMS = dict(num_reads=8, num_sweeps=20000, num_threads=1)  # --quick
FULL_PARAMS = dict(num_reads=4, num_sweeps=500, num_threads=1)  # --full: 64 problems of up to 2000 variables
#: Gset graphs of the full batch: 800 vertices (G1-G21), then 2000 (G22-G42)
FULL_GSET = [f"G{k}" for k in (1, *range(6, 15), *range(18, 22), *range(22, 43))]


def _full_instances(data: pathlib.Path | None):
    """The 64 problems of ``--full``: bqp50/100/250 1-10 and the first 34 of :data:`FULL_GSET`
    found under ``data``. Raises SystemExit naming what is missing."""
    from qopt.io.readers import read_instance

    if data is None:
        raise SystemExit("--full needs the shared data (gset/, orlib_bqp/): --data DIR or $QOPT_SHARED_DATA")
    out = []
    for stem in ("bqp50", "bqp100", "bqp250"):
        path = data / "orlib_bqp" / f"{stem}.txt"
        if not path.exists():
            raise SystemExit(f"--full: {path} is missing")
        out += [read_instance(path, problem=k) for k in range(1, 11)]
    graphs = [data / "gset" / f"{name}.txt" for name in FULL_GSET]
    out += [read_instance(path) for path in [g for g in graphs if g.exists()][:64 - len(out)]]
    if len(out) < 64:
        raise SystemExit(f"--full: only {len(out)} of the 64 instances found under {data}")
    return out


def _instances(data: pathlib.Path | None, quick: bool):
    from qopt.io.readers import read_instance

    if not quick:
        return _full_instances(data)
    out = []
    root = data or shipped_data()
    bqp50 = next((p for p in (root / "orlib_bqp" / "bqp50.txt", root / "bqp50.txt") if p.exists()), None)
    for k in range(1, 11):
        out.append(read_instance(bqp50 or "bqp50", problem=k))
    for name in ("gka1a", "gka1b", "pm1s_80.0", "pw01_100.0"):
        out.append(read_instance(name))
    out += [read_instance("bqp50", problem=k) for k in (1, 2)]  # 16 in all
    return out[:16]


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
        if kill_at is not None and len(items) >= kill_at and not killed:  # the first answer with a busy worker
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
    params = PARAMS if args.quick else FULL_PARAMS
    calls = [SolveCall(inst.bqm, "sa", {**params, "seed": 1000 + i}) for i, inst in enumerate(instances)]
    n = len(calls)
    load_start = os.getloadavg()[0]
    print(f"{n} problems, sa {params}, {args.cpus} CPUs, load average {load_start:.2f}", flush=True)

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

    load_end = os.getloadavg()[0]
    by_index = {i.index: i for i in anchor}

    def differ(items) -> int:
        """Answers that are errors, or whose best energy or best sample is not the anchor's."""
        return sum(1 for i in items if i.error is not None or i.result.best.energy != by_index[i.index].result.best.energy
                   or i.result.best.sample != by_index[i.index].result.best.sample)

    answered = sorted(i.index for i in killed_items)
    # the pipeline's own time per problem inside a Ray worker, and what Ray adds per task: the
    # wall time one CPU spends per problem on Ray, less that
    t_task_ray = sum(i.result.timing["total"] for i in on_ray) / n
    overhead = max(0.0, t_ray * args.cpus / n - t_task_ray)
    common = {"problems": n, "cpus": args.cpus, "load_start": load_start, "load_end": load_end}
    rows = [
        {"run": "anchor_threads", **common, "seconds": t_anchor, "problems_per_s": n / t_anchor, "ratio": 1.0,
         "differ": 0, "answered": n, "answered_twice": 0, "retried": 0, "mean_task_s": t_task},
        {"run": "ray", **common, "seconds": t_ray, "problems_per_s": n / t_ray, "ratio": t_anchor / t_ray,
         "differ": differ(on_ray), "answered": len(on_ray),
         "answered_twice": len(on_ray) - len({i.index for i in on_ray}),
         "retried": sum(i.attempts > 1 for i in on_ray), "ray_init_s": t_init, "mean_task_s": t_task_ray,
         "overhead_s": overhead, "dispatch_s": dispatch},
        {"run": "ray_worker_killed", **common, "seconds": t_killed, "problems_per_s": n / t_killed,
         "ratio": t_anchor / t_killed, "differ": differ(killed_items), "answered": len(set(answered)),
         "answered_twice": len(answered) - len(set(answered)),
         "retried": sum(i.attempts > 1 for i in killed_items), "killed_pids": killed},
    ]
    cpus_per_node = args.cpus
    for nodes in (1, 2, 4, 8, 16, 32, 64):
        model = min(nodes * cpus_per_node / (t_task_ray + overhead), 1.0 / dispatch)
        rows.append({"run": f"model_{nodes}_nodes", "nodes": nodes, "cpus": nodes * cpus_per_node,
                     "problems_per_s": model, "t_task_s": t_task_ray, "overhead_s": overhead, "dispatch_s": dispatch})
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
    stem = "scale" if args.quick else "scale_full"
    write_csv(rows, args.out / f"{stem}.csv")
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
        save_figure(fig, args.out, stem)
    ok = rows[1]["differ"] == 0 and rows[2]["differ"] == 0 and rows[2]["answered"] == rows[2]["problems"] \
        and rows[2]["answered_twice"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    threading.current_thread().name = "bench_scale"
    sys.exit(main())
