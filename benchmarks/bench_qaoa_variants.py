"""QAOA variants benchmark: qopt's variants side by side with qiskit-optimization, ideal and noisy.

Usage::

    python benchmarks/bench_qaoa_variants.py [--quick] [--out benchmarks/results]

Sections (Markdown tables on stdout, CSV and PNG under ``--out``):

1. ``variants``: seeded random 3-regular (networkx ``random_regular_graph``) and Erdos-Renyi
   (``gnp_random_graph``, p = 0.3) MaxCut graphs, n = 12-16 (``--quick``: 12, 14), reps 1-3.
   Per variant: expected approximation ratio ``<cut> / max cut`` at the final angles (ideal
   C++ statevector), probability of the optimum, circuit evaluations, seconds. ``random``
   is plain QAOA from random angles (uniform gamma in [-pi/2, pi/2] / scale, beta in
   [-pi/4, pi/4]); every variant gets the same ``--maxiter`` COBYLA evaluations (per
   elimination step for ``recursive``, whose ratio is that of its one solution). Max cut by
   brute force (``dimod.ExactSolver``).
2. ``anchors``: qiskit-optimization 0.7 on the same graphs (``--quick``: the n = 12 3-regular
   ones) at reps 1 and the same COBYLA evaluations: ``MinimumEigenOptimizer(QAOA(Aer
   SamplerV2))``, ``WarmStartQAOAOptimizer`` (epsilon 0.25; its pre-solver is exact,
   ``NumPyMinimumEigensolver`` on the binary problem, as COBYLA on the non-convex relaxation
   returns "infeasible"; qopt warm-starts from 16 reads of its simulated annealing) and ``RecursiveMinimumEigenOptimizer`` with that QAOA down to the same
   cutoff; the cut of the solution each returns over max cut, against qopt's best of 1024
   shots (RQAOA: its solution); the time ratio is theirs over qopt's.
3. ``rqaoa``: RQAOA at reps 1 (cutoff ``--cutoff``) on seeded 3-regular graphs, n = 16, 20,
   24 x 10 seeds (``--quick``: 16, 18 x 5): how often it returns the brute-force optimum.
4. ``noisy``: the same circuits (standard, reps 1-2, n = 6, 8; ``--quick``: n = 8 at reps 1) ideal vs on two fake devices
   (``noise_model="fake:brisbane"``, ``"fake:sherbrooke"``): sampled mean cut ratio,
   estimated fidelity, two-qubit gates.
"""
from __future__ import annotations

import argparse
import pathlib
import time

import dimod
import networkx as nx
import numpy as np

from benchkit import RESULTS, pyplot, save_figure, write_csv
from qopt.samplers.qaoa import QAOASampler, energy_scale
from qopt.statevector import QAOAEvaluator

VARIANTS = ("random", "standard", "cvar", "fourier", "warm_start", "recursive")


def maxcut(g) -> dimod.BinaryQuadraticModel:
    return dimod.BinaryQuadraticModel({v: 0.0 for v in g.nodes}, {e: 0.5 for e in g.edges},
                                      -0.5 * g.number_of_edges(), "SPIN")


def graphs(quick: bool):
    sizes = (12, 14) if quick else (12, 14, 16)
    seeds = (1, 2) if quick else (1, 2, 3)
    for n in sizes:
        for s in seeds:
            yield f"3reg n={n} s={s}", nx.random_regular_graph(3, n, seed=s)
    for s in seeds:
        yield f"ER n=12 s={s}", nx.gnp_random_graph(12, 0.3, seed=s)


def table(rows, cols):
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    print()


def run_variant(bqm, variant, reps, maxiter, seed, cutoff):
    kw = dict(reps=reps, maxiter=maxiter, seed=seed, shots=1024, sampler="core")
    if variant == "random":
        rng = np.random.default_rng(seed)
        s = energy_scale(bqm)
        kw["initial_point"] = np.concatenate([rng.uniform(-np.pi / 2, np.pi / 2, reps) / s,
                                              rng.uniform(-np.pi / 4, np.pi / 4, reps)])
        variant = "standard"
    if variant == "cvar":
        kw["cvar_alpha"] = 0.2
    if variant == "recursive":
        kw.pop("sampler")
        kw["rqaoa_cutoff"] = cutoff
    t = time.perf_counter()
    ss = QAOASampler().sample(bqm, variant=variant, **kw)
    return ss, time.perf_counter() - t


def variants_section(args, out):
    rows = []
    for name, g in graphs(args.quick):
        bqm = maxcut(g)
        ev = QAOAEvaluator(bqm)
        cost = ev.cost_vector()
        opt = float(cost.min())
        for reps in (1, 2, 3):
            for variant in VARIANTS:
                if variant == "recursive" and reps > 1:
                    continue
                ss, sec = run_variant(bqm, variant, reps, args.maxiter, 7, args.cutoff)
                if variant == "recursive":
                    ratio = float(ss.first.energy) / opt
                    p_opt = float(ss.first.energy == opt)
                else:
                    a = ss.info["angles"]
                    ratio = ss.info["expectation"] / opt
                    if variant == "warm_start":
                        probs = np.abs(ev.warm_start_amplitudes(a["gamma"], a["beta"], _thetas(bqm, ss))) ** 2
                    else:
                        probs = ev.probabilities(a["gamma"], a["beta"])
                    p_opt = float(probs[cost == opt].sum())
                rows.append({"graph": name, "reps": reps, "variant": variant, "ratio": ratio, "p_opt": p_opt,
                             "best_ratio": float(ss.first.energy) / opt,
                             "evaluations": int(ss.info["optimizer"]["nfev"]), "seconds": sec})
    write_csv(rows, out / "qaoa_variants.csv")
    summary = []
    for reps in (1, 2, 3):
        for variant in VARIANTS:
            sel = [r for r in rows if r["reps"] == reps and r["variant"] == variant]
            if sel:
                summary.append({"reps": reps, "variant": variant, "graphs": len(sel),
                                "mean ratio": float(np.mean([r["ratio"] for r in sel])),
                                "min ratio": float(np.min([r["ratio"] for r in sel])),
                                "mean p_opt": float(np.mean([r["p_opt"] for r in sel])),
                                "mean best-shot ratio": float(np.mean([r["best_ratio"] for r in sel])),
                                "optimum found": f"{sum(r['p_opt'] == 1.0 for r in sel) if variant == 'recursive' else '-'}",
                                "mean evals": float(np.mean([r["evaluations"] for r in sel])),
                                "mean s": float(np.mean([r["seconds"] for r in sel]))})
    print("## variants (ideal, 3-regular and Erdos-Renyi MaxCut)\n")
    table(summary, list(summary[0]))
    return rows


def _thetas(bqm, ss):
    from qopt.samplers.qaoa.variants import warm_start_thetas

    w = ss.info["warm_start"]
    return warm_start_thetas(w["incumbent"], bqm.vartype, w["epsilon"])


def anchors_section(args, out, rows):
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import SamplerV2
    from qiskit_optimization.algorithms import (
        MinimumEigenOptimizer,
        RecursiveMinimumEigenOptimizer,
        WarmStartQAOAOptimizer,
    )
    from qiskit_optimization.applications import Maxcut
    from qiskit_optimization.minimum_eigensolvers import QAOA, NumPyMinimumEigensolver
    from qiskit_optimization.optimizers import COBYLA

    res = []
    for name, g in graphs(args.quick):
        if not name.startswith("3reg n=12") and args.quick:
            continue
        bqm = maxcut(g)
        opt = float(dimod.ExactSolver().sample(bqm).first.energy)
        qp = Maxcut(g).to_quadratic_program()
        anchors = (
            ("qiskit QAOA", "standard", lambda q: MinimumEigenOptimizer(q)),
            ("qiskit WarmStartQAOA", "warm_start", lambda q: WarmStartQAOAOptimizer(
                pre_solver=MinimumEigenOptimizer(NumPyMinimumEigensolver()), relax_for_pre_solver=False, qaoa=q,
                epsilon=0.25)),
            ("qiskit RQAOA", "recursive", lambda q: RecursiveMinimumEigenOptimizer(
                MinimumEigenOptimizer(q), min_num_vars=args.cutoff)),
        )
        for label, variant, make in anchors:
            qaoa = QAOA(SamplerV2(seed=7), COBYLA(maxiter=args.maxiter), reps=1,
                        pass_manager=generate_preset_pass_manager(optimization_level=1, backend=AerSimulator()))
            t = time.perf_counter()
            result = make(qaoa).solve(qp)
            sec = time.perf_counter() - t
            ratio = float(result.fval) / -opt  # qiskit's Maxcut maximises the cut
            mine = next(r for r in rows if r["graph"] == name and r["reps"] == 1 and r["variant"] == variant)
            res.append({"graph": name, "anchor": label, "anchor ratio": ratio, "anchor s": sec,
                        "qopt variant": variant, "qopt best-shot ratio": mine["best_ratio"],
                        "qopt expected ratio": mine["ratio"], "qopt s": mine["seconds"],
                        "time ratio": sec / mine["seconds"]})
    write_csv(res, out / "qaoa_variants_anchors.csv")
    print("## anchors (qiskit-optimization, reps=1, same COBYLA evaluations)\n")
    print("anchor ratio: cut of the solution it returns / max cut; qopt best-shot ratio: the same for qopt's best "
          "of 1024 shots (RQAOA: its one solution)\n")
    table(res, list(res[0]))
    return res


def rqaoa_section(args, out):
    """RQAOA at reps=1 on seeded 3-regular graphs: how often it returns the brute-force optimum."""
    sizes = (16, 18) if args.quick else (16, 20, 24)
    seeds = range(1, 6) if args.quick else range(1, 11)
    res = []
    for n in sizes:
        for s in seeds:
            bqm = maxcut(nx.random_regular_graph(3, n, seed=s))
            opt = float(QAOAEvaluator(bqm).cost_vector().min())
            ss, sec = run_variant(bqm, "recursive", 1, args.maxiter, 7, args.cutoff)
            res.append({"n": n, "seed": s, "ratio": float(ss.first.energy) / opt,
                        "optimal": bool(ss.first.energy == opt), "qaoa runs": int(ss.info["num_qaoa_runs"]),
                        "evaluations": int(ss.info["optimizer"]["nfev"]), "seconds": sec})
    write_csv(res, out / "qaoa_variants_rqaoa.csv")
    summary = [{"n": n, "graphs": len([r for r in res if r["n"] == n]),
                "optimal": sum(r["optimal"] for r in res if r["n"] == n),
                "mean ratio": float(np.mean([r["ratio"] for r in res if r["n"] == n])),
                "mean s": float(np.mean([r["seconds"] for r in res if r["n"] == n]))} for n in sizes]
    print("## RQAOA (reps=1) on seeded 3-regular graphs\n")
    table(summary, list(summary[0]))
    return res


def noisy_section(args, out):
    res = []
    for n in (6, 8):
        bqm = maxcut(nx.random_regular_graph(3, n, seed=1))
        opt = float(dimod.ExactSolver().sample(bqm).first.energy)
        for reps in ((1, 2) if n == 6 or not args.quick else (1,)):
            for nm in (None, "fake:brisbane", "fake:sherbrooke"):
                try:
                    ss = QAOASampler().sample(bqm, reps=reps, maxiter=args.maxiter, seed=3, shots=1024,
                                              noise_model=nm)
                except Exception as exc:  # noqa: BLE001 - a refusal is a result here
                    res.append({"n": n, "reps": reps, "noise_model": str(nm), "sampled ratio": float("nan"),
                                "ideal ratio": float("nan"), "fidelity": float("nan"), "2q gates": 0,
                                "note": type(exc).__name__})
                    continue
                res.append({"n": n, "reps": reps, "noise_model": str(nm),
                            "sampled ratio": ss.info["sampled_expectation"] / opt,
                            "ideal ratio": ss.info["expectation"] / opt,
                            "fidelity": float(ss.info.get("estimated_fidelity", 1.0)),
                            "2q gates": int(ss.info["two_qubit_gates"]), "note": ""})
    write_csv(res, out / "qaoa_variants_noisy.csv")
    print("## ideal vs noisy (fake devices, Aer with their noise models)\n")
    table(res, list(res[0]))
    return res


def plot(rows, noisy, out):
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for variant in VARIANTS:
        xs = [1, 2, 3] if variant != "recursive" else [1]
        ys = [np.mean([r["ratio"] for r in rows if r["variant"] == variant and r["reps"] == p]) for p in xs]
        axes[0].plot(xs, ys, marker="o", label=variant)
    axes[0].axhline(0.7924, ls=":", c="grey", label="Wurtz-Lykov p=3 (0.7924)")
    axes[0].set_xticks([1, 2, 3])
    axes[0].set_xlabel("reps")
    axes[0].set_ylabel("approximation ratio")
    axes[0].legend(fontsize=7)
    # Grouped bars: the circuits are categories, one bar per noise model (no lines between them).
    circuits = list(dict.fromkeys((r["n"], r["reps"]) for r in noisy))
    models = ("None", "fake:brisbane", "fake:sherbrooke")
    width = 0.8 / len(models)
    for i, nm in enumerate(models):
        by_circuit = {(r["n"], r["reps"]): r["sampled ratio"] for r in noisy if r["noise_model"] == nm}
        xs = [j + (i - (len(models) - 1) / 2) * width for j, c in enumerate(circuits) if c in by_circuit]
        axes[1].bar(xs, [by_circuit[c] for c in circuits if c in by_circuit], width,
                    label=nm if nm != "None" else "ideal")
    axes[1].set_xticks(range(len(circuits)), [f"n={n} p={p}" for n, p in circuits])
    axes[1].set_ylim(0.5, 1.0)
    axes[1].set_ylabel("sampled mean cut ratio")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out, "qaoa_variants")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--maxiter", type=int, default=60)
    ap.add_argument("--cutoff", type=int, default=6)
    ap.add_argument("--out", type=pathlib.Path, default=RESULTS)
    ap.add_argument("--sections", default="variants,anchors,rqaoa,noisy",
                    help="comma-separated subset of variants,anchors,rqaoa,noisy (anchors needs variants)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sections = set(args.sections.split(","))
    rows = variants_section(args, args.out) if "variants" in sections else []
    if "anchors" in sections and rows:
        anchors_section(args, args.out, rows)
    if "rqaoa" in sections:
        rqaoa_section(args, args.out)
    noisy = noisy_section(args, args.out) if "noisy" in sections else []
    if rows and noisy:
        plot(rows, noisy, args.out)


if __name__ == "__main__":
    main()
