"""Constrained models through qopt.compile: quality against published optima, calibration
against dimod.cqm_to_bqm's default penalty, and compile speed, side by side in one run.

Usage:
    python benchmarks/bench_cqm.py [--quick] [--data ../shared/data] [--json out.json] [--out benchmarks/results]

Writes ``cqm_<section>[_quick].csv`` and ``cqm[_quick].png`` (compile time and feasible fraction, qopt
beside dimod) under ``--out``. Without a data folder (a fresh clone) only the compile section runs.

Sections (markdown tables on stdout):
    1. QKP (Billionnet & Soutif): best feasible objective vs best-known, SA reads only and
       SA + polish, with the wall time per instance (target: within 1%, < 10 s).
    2. TSPLIB burma14 / ulysses16: best feasible tour vs the proven optimum (target 5%).
    3. Feasible fraction and best feasible objective: penalty="auto" (calibrated, asked for
       target_feasible_fraction=1.0, at most 8 rounds) vs dimod.cqm_to_bqm's default Lagrange
       multiplier (10 x the largest bias), same SA sampler, same total reads and sweeps.
    4. Compile time of a 10,000-variable / 100,000-quadratic-term / 1,000-constraint model,
       qopt.compile vs dimod.cqm_to_bqm (target < 2 s).

The SA sampler is qopt.SimulatedAnnealingSampler with one thread; seeds are fixed.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import pathlib
import sys
import time

import dimod
import numpy as np

import qopt
from benchkit import RESULTS, pyplot, save_figure, shared_data, write_csv
from qopt.compile import compile as qcompile
from qopt.compile import solve_constrained
from qopt.model import assignment, read_qkp, read_tsplib

HERE = pathlib.Path(__file__).resolve().parent

QKP_SA = dict(num_reads=50, num_sweeps=3000, max_rounds=8, growth=1.5, initial_scale=0.25,
              target_feasible_fraction=0.5, compile_options={"inequality": "unbalanced"})
QKP_POLISH = dict(QKP_SA, polish=True)
TSP_SA = dict(num_reads=50, num_sweeps=5000, max_rounds=6, initial_scale=0.25, target_feasible_fraction=0.5)


def best_known(data: pathlib.Path) -> dict:
    with open(data / "best_known.csv") as f:
        return {r["instance"]: float(r["best_known"]) for r in csv.DictReader(f) if r["best_known"]}


def qkp_instances(data: pathlib.Path):
    """(file stem, name inside the file, sha256) for each QKP file; the name inside decides the reference."""
    out = []
    for path in sorted((data / "qkp").glob("*.txt")):
        text = path.read_text()
        out.append((path, text.splitlines()[0].strip(), hashlib.sha256(text.encode()).hexdigest()))
    return out


def run_qkp(data, bk, quick):
    rows = []
    insts = qkp_instances(data)
    if quick:
        insts = [i for i in insts if i[0].stem in ("jeu_100_25_1", "jeu_100_75_2", "jeu_200_50_1", "jeu_200_100_1")]
    by_digest = {}
    for path, _, digest in qkp_instances(data):
        by_digest.setdefault(digest, []).append(path.stem)
    for path, inner, digest in insts:
        ref_name = "jeu" + inner[1:] if inner.startswith("r_") else path.stem
        note = ""
        if ref_name != path.stem:
            twins = ", ".join(s for s in by_digest[digest] if s != path.stem) or "no other file"
            note = f"file holds {inner} (byte-identical to {twins}); compared with {ref_name}"
        problem, _ = read_qkp(path)
        ref = bk[ref_name]
        row = {"file": path.stem, "n": len(problem.cqm.variables), "best_known": ref, "note": note}
        for tag, cfg in (("sa", QKP_SA), ("polish", QKP_POLISH)):
            t0 = time.perf_counter()
            res = solve_constrained(problem, qopt.SimulatedAnnealingSampler(), seed=1, **cfg)
            dt = time.perf_counter() - t0
            best = res.best.objective if res.feasible_found else None
            row[tag] = {"objective": best, "gap_pct": None if best is None else 100.0 * (ref - best) / ref,
                        "seconds": dt, "rounds": len(res.rounds),
                        "final_weight": res.rounds[-1].weights.get("capacity")}
        rows.append(row)
        print(f"  {path.stem}: sa gap {row['sa']['gap_pct']}, polish gap {row['polish']['gap_pct']}",
              file=sys.stderr)
    return rows


def run_tsp(data, quick):
    rows = []
    for name, opt in (("burma14", 3323.0), ("ulysses16", 6859.0)):
        problem, interpret = read_tsplib(data / "tsplib" / "tsp" / f"{name}.tsp")
        t0 = time.perf_counter()
        res = solve_constrained(problem, qopt.SimulatedAnnealingSampler(), seed=3, **TSP_SA)
        dt = time.perf_counter() - t0
        best = res.best.objective if res.feasible_found else None
        rows.append({"instance": name, "optimum": opt, "length": best,
                     "gap_pct": None if best is None else 100 * (best - opt) / opt, "seconds": dt,
                     "valid_tour": bool(res.feasible_found and interpret(res.best.sample)["valid"]),
                     "rounds": len(res.rounds)})
        print(f"  {name}: {rows[-1]}", file=sys.stderr)
    return rows


def _cqm_to_bqm_run(problem, num_reads, num_sweeps, seed):
    """dimod.cqm_to_bqm default penalty, SA, decode via its inverter; (feasible fraction, best feasible)."""
    bqm, invert = dimod.cqm_to_bqm(problem.cqm)
    ss = qopt.SimulatedAnnealingSampler().sample(bqm, num_reads=num_reads, num_sweeps=num_sweeps, seed=seed)
    feas, best = 0, None
    for sample in ss.samples():
        s = invert(dict(sample))
        if problem.cqm.check_feasible(s):
            feas += 1
            obj = problem.objective(s)
            if best is None or (obj < best if problem.sense == "min" else obj > best):
                best = obj
    return feas / len(ss), best


def run_feasible_fraction(data, quick):
    cases = []
    names = ["jeu_100_25_1", "jeu_100_50_3", "jeu_200_25_1"] if quick else \
        ["jeu_100_25_1", "jeu_100_50_3", "jeu_100_75_2", "jeu_100_100_1", "jeu_200_25_1", "jeu_200_50_2",
         "jeu_200_75_1", "jeu_200_100_1"]
    for nm in names:
        cases.append((nm, read_qkp(data / "qkp" / f"{nm}.txt")[0], dict(QKP_SA, max_rounds=6)))
    for nm in ("burma14",) if quick else ("burma14", "ulysses16"):
        cases.append((nm, read_tsplib(data / "tsplib" / "tsp" / f"{nm}.tsp")[0], TSP_SA))
    rng = np.random.default_rng(0)
    T, M = 12, 4
    costs = rng.integers(1, 30, (T, M))
    loads = rng.integers(1, 5, T)
    caps = np.full(M, int(np.ceil(loads.sum() / M)) + 2)
    cases.append(("assignment 12x4", assignment(costs, caps, loads)[0],
                  dict(num_reads=50, num_sweeps=3000, max_rounds=6, initial_scale=0.25, target_feasible_fraction=0.5)))
    rows = []
    for name, problem, cfg in cases:
        # ask calibration for every read feasible (the rounds stop there or when spent)
        cfg = dict(cfg, target_feasible_fraction=1.0, max_rounds=8)
        res = solve_constrained(problem, qopt.SimulatedAnnealingSampler(), seed=5, **cfg)
        total_reads = sum(r.num_reads for r in res.rounds)
        all_feas = sum(r.feasible_fraction * r.num_reads for r in res.rounds) / total_reads
        ff_d, best_d = _cqm_to_bqm_run(problem, total_reads, cfg["num_sweeps"], 5)
        rows.append({"instance": name, "sense": problem.sense, "reads": total_reads, "sweeps": cfg["num_sweeps"],
                     "auto_final_round_ff": res.rounds[-1].feasible_fraction, "auto_all_reads_ff": all_feas,
                     "auto_best": res.best.objective if res.feasible_found else None,
                     "dimod_ff": ff_d, "dimod_best": best_d, "rounds": len(res.rounds)})
        print(f"  {name}: {rows[-1]}", file=sys.stderr)
    return rows


def big_model(n=10_000, q=100_000, m=1_000, k=20, seed=0):
    rng = np.random.default_rng(seed)
    labels = [f"v{i}" for i in range(n)]
    i = rng.integers(0, n, q)
    j = (i + 1 + rng.integers(0, n - 1, q)) % n
    obj = dimod.BinaryQuadraticModel.from_numpy_vectors(rng.normal(size=n), (i, j, rng.normal(size=q)), 0.0,
                                                        "BINARY", variable_order=labels)
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(obj)
    for c in range(m):
        idx = rng.choice(n, k, replace=False)
        w = rng.integers(1, 10, k)
        sense = ("<=", ">=", "==")[c % 3]
        rhs = float(w.sum() // 2)
        cqm.add_constraint_from_iterable([(labels[t], float(x)) for t, x in zip(idx, w, strict=True)], sense, rhs=rhs,
                                         label=f"c{c}")
    return cqm


def run_compile_speed(quick):
    cqm = big_model()
    times = []
    for _ in range(1 if quick else 3):
        t0 = time.perf_counter()
        bqm, _ = qcompile(cqm)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    bqm_d, _ = dimod.cqm_to_bqm(cqm)
    t_d = time.perf_counter() - t0
    return {"num_variables": len(cqm.variables), "num_quadratic": cqm.objective.num_interactions,
            "num_constraints": len(cqm.constraints), "qopt_seconds_best": min(times), "qopt_seconds_all": times,
            "qopt_bqm_variables": bqm.num_variables, "qopt_bqm_interactions": bqm.num_interactions,
            "dimod_seconds": t_d, "dimod_bqm_variables": bqm_d.num_variables,
            "dimod_bqm_interactions": bqm_d.num_interactions, "speedup": t_d / min(times)}


def _f(x, fmt="{:.2f}"):
    return "—" if x is None else fmt.format(x)


def report(res) -> str:
    out = []
    if "qkp" in res:
        out.append("### QKP: best feasible objective vs best-known (maximise)\n")
        out.append("| file | n | best known | SA only | gap % | s | SA + polish | gap % | s | note |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in res["qkp"]:
            a, b = r["sa"], r["polish"]
            out.append(f"| {r['file']} | {r['n']} | {r['best_known']:.0f} | {_f(a['objective'], '{:.0f}')} | "
                       f"{_f(a['gap_pct'])} | {a['seconds']:.1f} | {_f(b['objective'], '{:.0f}')} | "
                       f"{_f(b['gap_pct'])} | {b['seconds']:.1f} | {r['note']} |")
        for tag in ("sa", "polish"):
            gaps = [r[tag]["gap_pct"] for r in res["qkp"] if r[tag]["gap_pct"] is not None]
            within = sum(g <= 1.0 for g in gaps)
            secs = [r[tag]["seconds"] for r in res["qkp"]]
            out.append(f"\n{tag}: {within}/{len(res['qkp'])} within 1%, median gap {np.median(gaps):.2f}%, "
                       f"max gap {max(gaps):.2f}%, max time {max(secs):.1f} s")
    if "tsp" in res:
        out.append("\n### TSPLIB: best feasible tour vs optimum\n")
        out.append("| instance | optimum | found | gap % | valid tour | rounds | s |")
        out.append("|---|---|---|---|---|---|---|")
        for r in res["tsp"]:
            out.append(f"| {r['instance']} | {r['optimum']:.0f} | {_f(r['length'], '{:.0f}')} | {_f(r['gap_pct'])} |"
                       f" {r['valid_tour']} | {r['rounds']} | {r['seconds']:.1f} |")
    if "feasible" in res:
        out.append("\n### Feasible fraction: penalty=\"auto\" vs dimod.cqm_to_bqm default (same SA, same total reads)\n")
        out.append("| instance | sense | reads x sweeps | auto: final-round ff | auto: all-reads ff | auto best | "
                   "cqm_to_bqm ff | cqm_to_bqm best |")
        out.append("|---|---|---|---|---|---|---|---|")
        for r in res["feasible"]:
            out.append(f"| {r['instance']} | {r['sense']} | {r['reads']} x {r['sweeps']} | "
                       f"{r['auto_final_round_ff']:.2f} | {r['auto_all_reads_ff']:.2f} | "
                       f"{_f(r['auto_best'], '{:.0f}')} | {r['dimod_ff']:.2f} | {_f(r['dimod_best'], '{:.0f}')} |")
    if "compile" in res:
        c = res["compile"]
        out.append("\n### Compile speed\n")
        out.append(f"Model: {c['num_variables']} binary variables, {c['num_quadratic']} quadratic terms, "
                   f"{c['num_constraints']} linear constraints (20 variables each, <=/>=/== in turn).\n")
        out.append("| compiler | seconds | BQM variables | BQM interactions |")
        out.append("|---|---|---|---|")
        out.append(f"| qopt.compile (best of {len(c['qopt_seconds_all'])}) | {c['qopt_seconds_best']:.2f} | "
                   f"{c['qopt_bqm_variables']} | {c['qopt_bqm_interactions']} |")
        out.append(f"| dimod.cqm_to_bqm | {c['dimod_seconds']:.2f} | {c['dimod_bqm_variables']} | "
                   f"{c['dimod_bqm_interactions']} |")
        out.append(f"\nRatio dimod / qopt: {c['speedup']:.1f}x")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a subset (about 1-2 minutes)")
    ap.add_argument("--data", type=pathlib.Path, default=None,
                    help="instance folder (default $QOPT_SHARED_DATA, else ../shared/data)")
    ap.add_argument("--out", type=pathlib.Path, default=RESULTS)
    ap.add_argument("--json", type=pathlib.Path, default=None, help="also write raw results here")
    ap.add_argument("--only", nargs="*", default=["compile", "tsp", "feasible", "qkp"],
                    choices=["compile", "tsp", "feasible", "qkp"])
    args = ap.parse_args(argv)
    data = shared_data(args.data)
    res = {}
    t0 = time.perf_counter()
    if "compile" in args.only:
        print("compile speed ...", file=sys.stderr)
        res["compile"] = run_compile_speed(args.quick)
    if data is None:
        print("no data folder (--data, $QOPT_SHARED_DATA, ../shared/data): compile section only", file=sys.stderr)
    else:
        bk = best_known(data)
        if "tsp" in args.only:
            print("tsp ...", file=sys.stderr)
            res["tsp"] = run_tsp(data, args.quick)
        if "feasible" in args.only:
            print("feasible fraction ...", file=sys.stderr)
            res["feasible"] = run_feasible_fraction(data, args.quick)
        if "qkp" in args.only:
            print("qkp ...", file=sys.stderr)
            res["qkp"] = run_qkp(data, bk, args.quick)
    res["wall_seconds"] = time.perf_counter() - t0
    print(report(res))
    print(f"\n(total wall time {res['wall_seconds']:.0f} s{', --quick' if args.quick else ''})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1, default=float))
    suffix = "_quick" if args.quick else ""
    for section in ("compile", "tsp", "feasible", "qkp"):
        if section in res:
            rows = res[section] if isinstance(res[section], list) else [res[section]]
            write_csv(rows, args.out / f"cqm_{section}{suffix}.csv")
    plot(res, args.out, f"cqm{suffix}")


def plot(res: dict, out: pathlib.Path, stem: str) -> None:
    """Left: compile time of the 10,000-variable model, qopt.compile beside dimod.cqm_to_bqm (seconds).
    Right: feasible fraction of the reads, penalty="auto" beside dimod's default penalty, per instance."""
    plt = pyplot()
    if plt is None or "compile" not in res:
        return
    feasible = res.get("feasible", [])
    fig, axes = plt.subplots(1, 2 if feasible else 1, figsize=(12 if feasible else 5, 4.5), squeeze=False)
    c = res["compile"]
    ax = axes[0][0]
    ax.bar([0, 1], [c["qopt_seconds_best"], c["dimod_seconds"]], color=["C0", "C1"])
    ax.set_xticks([0, 1], ["qopt.compile", "dimod.cqm_to_bqm"])
    ax.set_ylabel("compile time (s)")
    ax.set_title(f"{c['num_variables']:,} vars, {c['num_quadratic']:,} quadratic, {c['num_constraints']:,} constraints"
                 f"\n{c['speedup']:.1f}x", fontsize=9)
    if feasible:
        ax = axes[0][1]
        x = np.arange(len(feasible))
        ax.bar(x - 0.2, [r["auto_all_reads_ff"] for r in feasible], 0.4, label='qopt penalty="auto" (all rounds)')
        ax.bar(x + 0.2, [r["dimod_ff"] for r in feasible], 0.4, label="dimod.cqm_to_bqm default penalty")
        for xi, r in zip(x, feasible, strict=True):  # the best feasible objective each found
            ax.text(xi, 1.07, f"{r['auto_best']:g}\nvs {r['dimod_best']:g}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, [r["instance"] for r in feasible], rotation=30, ha="right")
        ax.set_ylabel("feasible fraction of reads")
        ax.set_ylim(0, 1.35)
        ax.set_title("Same SA sampler, reads and sweeps (labels: best feasible objective, auto vs dimod)", fontsize=9)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    save_figure(fig, out, stem)


if __name__ == "__main__":
    main()
