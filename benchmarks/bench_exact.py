"""Time to a proven optimum on small BQMs: qopt's branch and bound beside the alternatives.

Side by side in one run, on the same seeded BQMs (n = 16 ... 40; dense ``dimod.generators.ran_r``
(+-1 couplings), dense uniform(-1, 1) biases and sparse uniform (10% of the pairs)) and on
OR-Library bqp50-1..10 (published optima in ``../shared/data/best_known.csv``, when present):

* ``bnb``: :class:`qopt.samplers.exact.ExactSampler` (branch and bound in the C++ core);
* ``enum``: ``dimod.ExactSolver`` (all 2**n states; n <= 24);
* ``cpsat``, ``scip``, ``highs``: qopt's MIP backends (:mod:`qopt.samplers.mip`), one thread each;
* ``solve``: ``qopt.solve(bqm)`` end to end with its defaults (is it ``proven_optimal``? wall time).

Each solver gets the same ``--time-limit``; a run that does not prove the optimum within it
counts as unproven (its time is the limit). Printed: per family and size, the median and 90th
percentile seconds to proof, the share proven, and the median ratio of each solver's time to
``bnb``'s on the same instance. CSV: ``benchmarks/results/exact.csv``.

Usage::

    python benchmarks/bench_exact.py --quick      # n = 16, 20, 24, 30 (enum to 20); 2 seeds; 1 s limit
    python benchmarks/bench_exact.py              # n = 16 ... 40; 5 seeds; 10 s limit
    python benchmarks/bench_exact.py --solvers bnb --seeds 20 --sizes 24 28 30 32   # the routing rule
"""
from __future__ import annotations

import argparse
import statistics
import time

import dimod
import numpy as np

from benchkit import RESULTS, pyplot, save_figure, shared_data, write_csv

SIZES = (16, 20, 24, 28, 30, 32, 36, 40)
QUICK_SIZES = (16, 20, 24, 30)
FAMILIES = ("ran_r", "uniform", "sparse")
SOLVERS = ("bnb", "enum", "cpsat", "scip", "highs", "solve")
ENUM_MAX = 24
QUICK_ENUM_MAX = 20  # 2**24 states take dimod about 10 s and 2 GB: the full run only


def make_bqm(family: str, n: int, seed: int) -> dimod.BinaryQuadraticModel:
    """A seeded SPIN BQM of ``family`` (see the module docstring)."""
    if family == "ran_r":
        return dimod.generators.ran_r(1, n, seed=seed)
    rng = np.random.default_rng(seed)
    density = 1.0 if family == "uniform" else 0.1
    lin = {i: float(rng.uniform(-1, 1)) for i in range(n)}
    quad = {(i, j): float(rng.uniform(-1, 1)) for i in range(n) for j in range(i + 1, n) if rng.random() < density}
    return dimod.BQM(lin, quad, 0.0, dimod.SPIN)


def run_one(solver: str, bqm: dimod.BinaryQuadraticModel, limit: float) -> dict:
    """``{seconds, energy, proven}`` of one solver on ``bqm`` (``proven``: optimality proven)."""
    t0 = time.perf_counter()
    if solver == "bnb":
        from qopt.samplers.exact import ExactSampler

        ss = ExactSampler().sample(bqm, num_reads=1, time_limit=limit)
        out = {"energy": float(ss.first.energy), "proven": ss.info["status"] == "optimal",
               "nodes": ss.info.get("num_nodes")}
    elif solver == "enum":
        ss = dimod.ExactSolver().sample(bqm)
        out = {"energy": float(ss.first.energy), "proven": True}
    elif solver == "solve":
        import qopt

        r = qopt.solve(bqm)
        out = {"energy": float(r.candidates[0].energy), "proven": bool(r.confidence.get("proven_optimal")),
               "backend": r.provenance["backend"]}
    else:
        from qopt.samplers.registry import get_sampler

        ss = get_sampler(solver).sample(bqm, time_limit=limit, num_threads=1, seed=1)
        out = {"energy": float(ss.first.energy) if len(ss) else float("nan"),
               "proven": ss.info.get("status") == "optimal"}
    out["seconds"] = time.perf_counter() - t0
    return out


def summarise(rows: list[dict], solvers, limit: float) -> list[str]:
    """Markdown table lines: per (family, n), each solver's p50 / p90 seconds to proof (the
    limit where unproven), share proven, and median time ratio to bnb."""
    lines = ["| family | n | solver | proven | p50 s | p90 s | median ratio to bnb |",
             "|---|---|---|---|---|---|---|"]
    groups = sorted({(r["family"], r["n"]) for r in rows}, key=lambda g: (g[0], g[1]))
    for family, n in groups:
        here = [r for r in rows if r["family"] == family and r["n"] == n]
        base = {r["seed"]: r for r in here if r["solver"] == "bnb"}
        for solver in solvers:
            rs = [r for r in here if r["solver"] == solver]
            if not rs:
                continue
            secs = [r["seconds"] if r["proven"] else max(r["seconds"], limit) for r in rs]
            ratios = [s / max(base[r["seed"]]["seconds"], 1e-6) for r, s in zip(rs, secs, strict=True)
                      if r["seed"] in base]
            p90 = float(np.quantile(secs, 0.9))
            ratio = f"{statistics.median(ratios):.1f}" if ratios and solver != "bnb" else "1"
            lines.append(f"| {family} | {n} | {solver} | {sum(r['proven'] for r in rs)}/{len(rs)} | "
                         f"{statistics.median(secs):.3f} | {p90:.3f} | {ratio} |")
    return lines


def plot(rows: list[dict], solvers, limit: float, stem: str) -> None:
    """Median seconds to a proven optimum against n per solver, one panel per family (an
    unproven run counts as the time limit; hollow markers where some runs were unproven)."""
    plt = pyplot()
    families = [f for f in FAMILIES if any(r["family"] == f for r in rows)]
    if plt is None or not families:
        return
    fig, axes = plt.subplots(1, len(families), figsize=(4.2 * len(families), 3.6), sharey=True, squeeze=False)
    for ax, family in zip(axes[0], families, strict=True):
        for solver in solvers:
            rs = [r for r in rows if r["family"] == family and r["solver"] == solver]
            sizes = sorted({r["n"] for r in rs})
            if not sizes:
                continue
            med = [statistics.median(r["seconds"] if r["proven"] else max(r["seconds"], limit)
                                     for r in rs if r["n"] == n) for n in sizes]
            allproven = [all(r["proven"] for r in rs if r["n"] == n) for n in sizes]
            line, = ax.plot(sizes, med, "-", label=solver)
            ax.scatter(sizes, med, color=line.get_color(), zorder=3,
                       facecolors=[line.get_color() if ok else "none" for ok in allproven])
        ax.axhline(limit, color="grey", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_title(family)
        ax.set_xlabel("variables n")
    axes[0][0].set_ylabel("median seconds to proof (limit if unproven)")
    axes[0][-1].legend(fontsize=8)
    save_figure(fig, RESULTS, stem)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n = 16, 20, 24, 30 (enum to 20), 2 seeds, 1 s limit, 3 bqp50 (< 2 min)")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--seeds", type=int, default=None, help="seeds per family and size")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per solver run")
    ap.add_argument("--solvers", nargs="*", default=list(SOLVERS), choices=SOLVERS)
    ap.add_argument("--families", nargs="*", default=list(FAMILIES), choices=FAMILIES)
    ap.add_argument("--no-bqp", action="store_true", help="skip OR-Library bqp50")
    args = ap.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    seeds = args.seeds or (2 if args.quick else 5)
    limit = args.time_limit or (1.0 if args.quick else 10.0)
    rows: list[dict] = []
    warm = make_bqm("uniform", 12, 0)
    for solver in args.solvers:  # imports and first calls outside the timings
        run_one(solver, warm, limit)
    for family in args.families:
        for n in sizes:
            for seed in range(seeds):
                bqm = make_bqm(family, n, seed)
                for solver in args.solvers:
                    if solver == "enum" and n > (QUICK_ENUM_MAX if args.quick else ENUM_MAX):
                        continue
                    r = run_one(solver, bqm, limit)
                    rows.append({"family": family, "n": n, "seed": seed, "solver": solver, **r})
                energies = {r["solver"]: r["energy"] for r in rows[-len(args.solvers):] if r["n"] == n}
                proven = [r["energy"] for r in rows if r["family"] == family and r["n"] == n and r["seed"] == seed
                          and r["proven"]]
                if proven and max(proven) - min(proven) > 1e-6 * max(1.0, abs(min(proven))):
                    print(f"  DISAGREEMENT {family} n={n} seed={seed}: {energies}")
            print(f"{family} n={n} done", flush=True)
    data = shared_data()
    if not args.no_bqp and data is not None and (data / "orlib_bqp" / "bqp50.txt").exists():
        import csv

        from qopt.io import read_instance

        with open(data / "best_known.csv", newline="") as fh:
            best = {row["instance"]: float(row["best_known"]) for row in csv.DictReader(fh) if row["best_known"]}
        for k in range(1, 4 if args.quick else 11):
            inst = read_instance(data / "orlib_bqp" / "bqp50.txt", problem=k)
            bqm = inst.bqm
            for solver in args.solvers:
                if solver == "enum":
                    continue
                r = run_one(solver, bqm, limit)
                objective = inst.objective_scale * r["energy"] + inst.objective_offset
                r["matches_published"] = abs(objective - best[f"bqp50-{k}"]) < 1e-6
                rows.append({"family": "bqp50", "n": 50, "seed": k, "solver": solver, **r})
        print("bqp50 done", flush=True)
    print()
    print("\n".join(summarise(rows, args.solvers, limit)))
    bqp = [r for r in rows if r["family"] == "bqp50"]
    if bqp:
        for solver in args.solvers:
            rs = [r for r in bqp if r["solver"] == solver]
            if rs:
                print(f"bqp50 {solver}: published optimum matched on {sum(r['matches_published'] for r in rs)}"
                      f"/{len(rs)}, proven on {sum(r['proven'] for r in rs)}/{len(rs)}")
    solve = [r for r in rows if r["solver"] == "solve"]
    if solve:
        print(f"qopt.solve: proven_optimal on {sum(r['proven'] for r in solve)}/{len(solve)}, max wall "
              f"{max(r['seconds'] for r in solve):.3f} s")
    write_csv(rows, RESULTS / "exact.csv")
    plot([r for r in rows if r["family"] != "bqp50"], args.solvers, limit, "exact_quick" if args.quick else "exact")


if __name__ == "__main__":
    main()
