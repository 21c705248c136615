"""Certified lower bounds: roof duality (dwave-preprocessing) vs qopt's spectral/SDP-dual bound,
side by side in one run, with a plain subgradient eigenvalue bound as the anchor.

Usage (from the repository root, after ``make dev`` or ``pip install .``):

    python benchmarks/bench_bound.py [--data ../shared/data] [--time-limit 10] [--subgradient-seconds 6]
                                     [--out benchmarks/results/bound.csv] [--quick]
    python benchmarks/bench_bound.py --alongside [--sweeps 1000 2000 4000] [--reps 5] [--instance G1]

``--alongside`` times ``qopt.solve(bqm, backend="sa", num_reads=64, num_sweeps=S)`` with the
bound on and off, interleaved (off, on, off, on, ...), and reports the median time to answer,
their ratio and which bound each run with the bound on reported (``results/bound_alongside_<instance>.csv``).

Writes the CSV and, beside it, ``bound.png`` (gap to the best-known value per instance and method).

Instances: Gset G1 (shipped), bqp250-1..5 and bqp100-1 (OR-Library, from --data when present),
gka1a, bqp50-1 (shipped). Gaps are in the instance's own objective terms:
``gap = |bound - best_known| / |best_known|`` (the bound is an upper bound on a max objective,
a lower bound on a min objective).
"""
from __future__ import annotations

import argparse
import csv
import math
import pathlib
import sys
import time

import numpy as np
import scipy.sparse.linalg as spla
from scipy.sparse import diags

from benchkit import RESULTS, pyplot, save_figure, shared_data
from qopt.io import read_instance
from qopt.presolve import roof_duality_bound, spectral_bound
from qopt.presolve.bound import homogenise, ising_arrays


def subgradient_bound(bqm, seconds: float) -> tuple[float, int]:
    """Anchor: projected subgradient ascent on f(d) = N lambda_min(A + D) (sum d = 0) with ARPACK,
    the method the issue measured (4.3% above G1's best-known cut in 6 s). NOT certified
    (uses the Ritz value as is). Returns (bound, steps)."""
    h, A, offset = ising_arrays(bqm)
    A = homogenise(h, A).tocsr()
    N = A.shape[0]
    d = np.zeros(N)
    best = -math.inf
    v = np.ones(N) / math.sqrt(N)
    step0 = float(abs(A).sum()) / N * 0.5
    start = time.perf_counter()
    k = 0
    while time.perf_counter() - start < seconds:
        lam, vec = spla.eigsh(A + diags(d), k=1, which="SA", v0=v, tol=1e-6)
        v = vec[:, 0]
        value = offset + 0.5 * N * lam[0]  # sum(d) == 0
        best = max(best, value)
        g = N * v * v - 1.0  # supergradient of N lambda_min(A + D) - sum d
        g -= g.mean()
        k += 1
        d += step0 / math.sqrt(k) * g / max(1e-12, np.linalg.norm(g)) * math.sqrt(N)
    return best, k


def instances(data: pathlib.Path | None):
    yield read_instance("G1")
    yield read_instance("bqp50", problem=1)
    yield read_instance("gka1a")
    if data is not None and (data / "orlib_bqp" / "bqp250.txt").is_file():
        yield read_instance(data / "orlib_bqp" / "bqp100.txt", problem=1)
        for k in (1, 2, 3, 4, 5):
            yield read_instance(data / "orlib_bqp" / "bqp250.txt", problem=k)
    else:
        print("(no --data: bqp100/bqp250 skipped)", file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=pathlib.Path, default=None,
                    help="instance folder (default $QOPT_SHARED_DATA, else ../shared/data; else shipped only)")
    ap.add_argument("--quick", action="store_true", help="shipped instances only, 5 s / 3 s limits")
    ap.add_argument("--time-limit", type=float, default=10.0, help="spectral bound time limit, seconds")
    ap.add_argument("--subgradient-seconds", type=float, default=6.0)
    ap.add_argument("--out", type=pathlib.Path, default=RESULTS / "bound.csv")
    ap.add_argument("--alongside", action="store_true", help="time to answer with the bound on vs off")
    ap.add_argument("--sweeps", type=int, nargs="+", default=[1000, 2000, 4000])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--instance", default="G1", help="shipped name or path (e.g. ../shared/data/gset/G55)")
    args = ap.parse_args(argv)
    if args.alongside:
        inst = read_instance(args.instance)
        alongside(inst, args.sweeps, args.reps, RESULTS / f"bound_alongside_{inst.name}.csv")
        return
    data = None if args.quick else shared_data(args.data)
    if args.quick:
        args.time_limit = min(args.time_limit, 5.0)
        args.subgradient_seconds = min(args.subgradient_seconds, 3.0)

    rows = []
    header = f"{'instance':10} {'n':>5} {'best':>9} | {'roof':>9} {'gap%':>7} {'s':>5} | {'spectral':>9} {'gap%':>6} {'s':>5} | {'subgrad*':>9} {'gap%':>6} {'s':>4} | best (method)"
    print(header)
    print("-" * len(header))
    for inst in instances(data):
        bk = inst.best_known

        def gap(energy_bound, inst=inst, bk=bk):
            return 100.0 * abs(inst.to_objective(energy_bound) - bk) / abs(bk)

        rd = roof_duality_bound(inst.bqm)
        sb = spectral_bound(inst.bqm, time_limit=args.time_limit)
        t0 = time.perf_counter()
        sg_value, sg_steps = subgradient_bound(inst.bqm, args.subgradient_seconds)
        sg_s = time.perf_counter() - t0
        row = {
            "instance": inst.name, "n": len(inst.bqm), "best_known": bk,
            "roof_bound": inst.to_objective(rd["value"]), "roof_gap_pct": gap(rd["value"]), "roof_s": rd["seconds"],
            "spectral_bound": inst.to_objective(sb["value"]), "spectral_gap_pct": gap(sb["value"]),
            "spectral_s": sb["seconds"], "spectral_sweeps": sb.get("sweeps"), "certificate": sb.get("certificate"),
            "subgradient_bound_uncertified": inst.to_objective(sg_value), "subgradient_gap_pct": gap(sg_value),
            "subgradient_s": sg_s, "subgradient_steps": sg_steps,
        }
        rows.append(row)
        best_method = "roof" if rd["value"] >= sb["value"] else "spectral"
        row["best_gap_pct"] = min(row["roof_gap_pct"], row["spectral_gap_pct"])
        row["best_method"] = best_method
        print(f"{inst.name:10} {row['n']:5d} {bk:9.0f} | {row['roof_bound']:9.1f} {row['roof_gap_pct']:7.2f} {rd['seconds']:5.2f} | "
              f"{row['spectral_bound']:9.1f} {row['spectral_gap_pct']:6.2f} {sb['seconds']:5.2f} | "
              f"{row['subgradient_bound_uncertified']:9.1f} {row['subgradient_gap_pct']:6.2f} {sg_s:4.1f} | {row['best_gap_pct']:5.2f}% ({best_method})",
              flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"\n* subgradient: anchor, Ritz values not certified. Saved {args.out}")
    plot(rows, args.out.parent, args.out.stem)


def alongside(inst, sweeps: list[int], reps: int, out: pathlib.Path) -> None:
    """Median time to answer of ``qopt.solve`` with ``lower_bound`` on and off (interleaved)."""
    import statistics

    import qopt

    rows = []
    print(f"{'instance':10} {'sweeps':>6} | {'off s':>6} {'on s':>6} {'ratio':>6} | spectral reported | median bound")
    for num_sweeps in sweeps:
        times: dict[bool, list[float]] = {False: [], True: []}
        methods, bounds = [], []
        for rep in range(reps):
            for on in (False, True):
                t0 = time.perf_counter()
                res = qopt.solve(inst.bqm, backend="sa", num_reads=64, num_sweeps=num_sweeps, seed=rep, lower_bound=on)
                times[on].append(time.perf_counter() - t0)
                if on:
                    methods.append(res.confidence.get("lower_bound_method"))
                    bounds.append(inst.to_objective(res.confidence["lower_bound"]))
        off, on_ = statistics.median(times[False]), statistics.median(times[True])
        row = {"instance": inst.name, "num_reads": 64, "num_sweeps": num_sweeps, "reps": reps, "off_s": off,
               "on_s": on_, "ratio": on_ / off, "spectral_runs": methods.count("spectral"),
               "median_bound": statistics.median(bounds), "methods": ";".join(map(str, methods))}
        rows.append(row)
        print(f"{inst.name:10} {num_sweeps:6d} | {off:6.3f} {on_:6.3f} {row['ratio']:6.3f} | "
              f"{row['spectral_runs']} of {reps} | {row['median_bound']:.0f}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"Saved {out}")


def plot(rows: list[dict], out: pathlib.Path, stem: str) -> None:
    """Gap of each bound to the best-known value (percent, log scale) per instance: roof duality
    and the subgradient anchor beside qopt's certified spectral bound."""
    plt = pyplot()
    if plt is None or not rows:
        return
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = np.arange(len(rows))
    for k, (key, label) in enumerate((("roof_gap_pct", "roof duality (dwave-preprocessing)"),
                                      ("spectral_gap_pct", "qopt spectral/SDP-dual (certified)"),
                                      ("subgradient_gap_pct", "subgradient eigenvalue (anchor, not certified)"))):
        ax.bar(x + (k - 1) * 0.27, [max(r[key], 1e-3) for r in rows], 0.27, label=label)
    ax.set_xticks(x, [r["instance"] for r in rows], rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("gap |bound - best known| / |best known| (%; 0 drawn at 1e-3)")
    ax.set_title("Lower bounds: gap to the best-known objective (lower is better)")
    ax.legend(fontsize=8)
    save_figure(fig, out, stem)


if __name__ == "__main__":
    main()
