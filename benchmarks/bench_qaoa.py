"""QAOA benchmark: qopt's C++ statevector engine vs qiskit-aer, side by side in one run.

Usage::

    python benchmarks/bench_qaoa.py [--quick] [--out benchmarks/results]

(with the installed qopt: ``make install`` or ``pip install '.[bench]'``).

Sections (each printed as a Markdown table and saved as CSV under ``--out``):

1. ``stream``: single-thread streaming copy bandwidth of this machine (NumPy ``copyto`` on
   256 MiB arrays, 2 x bytes moved), the physical limit for a statevector pass.
2. ``speed``: one QAOA expectation <C> on 3-regular MaxCut (networkx ``random_regular_graph``,
   seed 1), n = 20, 22, 24, 26 (``--quick``: 20, 22), reps 1 and 3, repeated calls on the same
   model with new angles each call, as an optimiser makes them. Anchors: Aer ``EstimatorV2``
   (exact, ``default_precision=0``) and ``AerSimulator(method="statevector")`` followed by the
   diagonal cost over the probabilities (cost vector cached, not timed); both on a circuit
   transpiled once. The ratio is the faster anchor over the C++ engine (median per call).
   The engine's achieved bandwidth is its modelled memory traffic over its time.
3. ``quality``: QAOASampler reps=2 on 3-regular MaxCut with 10-16 nodes: expected cut ratio
   <cut>/max cut, whether the optimum is among the ranked candidates, fraction of optimal shots.
4. ``engine`` (not in the default sections: ``--sections engine [--ns 20,22,24]``): the engine
   alone, each round a streaming copy, three expectations and one gradient call interleaved;
   achieved bandwidth over the copy's and the gradient's cost in expectations. ``--threads N``
   gives the engine N threads and splits the copy over N (wall time; the default, one thread,
   reports that thread's CPU time).
5. ``peer``: qiskit-optimization's ``MinimumEigenOptimizer`` with its bundled QAOA (Aer
   ``SamplerV2``, COBYLA, reps=2) on the same graphs: time, evaluations and quality.
"""
from __future__ import annotations

import argparse
import csv
import os
import pathlib
import platform
import statistics
import threading
import time

import dimod
import networkx as nx
import numpy as np

from benchkit import RESULTS, pyplot, save_figure
from qopt.samplers.qaoa import QAOASampler, ising_operator
from qopt.statevector import QAOAEvaluator


def maxcut_bqm(n: int, seed: int = 1):
    g = nx.random_regular_graph(3, n, seed=seed)
    bqm = dimod.BinaryQuadraticModel({v: 0.0 for v in g.nodes}, {e: 0.5 for e in g.edges},
                                     -0.5 * g.number_of_edges(), "SPIN")
    return g, bqm


def table(rows: list[dict], cols: list[str]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def save(rows: list[dict], path: pathlib.Path):
    if not rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def stream_bandwidth() -> dict:
    n = 1 << 25  # 32 Mi doubles = 256 MiB per array
    a = np.ones(n)
    b = np.empty(n)
    np.copyto(b, a)
    best = min(_timed(lambda: np.copyto(b, a)) for _ in range(5))
    c = np.empty(n)
    best_triad = min(_timed(lambda: (np.multiply(a, 3.0, out=c), np.add(c, b, out=c))) for _ in range(3))
    return {"copy_GBps": 2 * 8 * n / best / 1e9, "numpy_triad_GBps": 5 * 8 * n / best_triad / 1e9}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def speed(ns, reps_list, stream_gbps, rounds=None) -> list[dict]:
    from qiskit import transpile
    from qiskit.circuit.library import qaoa_ansatz
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import EstimatorV2

    rows = []
    rng = np.random.default_rng(0)
    for n in ns:
        _, bqm = maxcut_bqm(n)
        op = ising_operator(bqm)
        t0 = time.perf_counter()
        ev = QAOAEvaluator(bqm)
        build = time.perf_counter() - t0
        cost = ev.cost_vector()
        sim = AerSimulator(method="statevector")
        est = EstimatorV2(options={"default_precision": 0.0})
        for reps in reps_list:
            k_core = 5 if n <= 22 else 3
            k_aer = rounds or (3 if n <= 22 else (2 if n <= 24 else 1))
            angles = [(rng.uniform(0.1, 0.6, reps), rng.uniform(0.1, 0.6, reps)) for _ in range(max(k_core, k_aer))]
            ev.expectation(*angles[0])  # warm-up (buffers)
            ev.gradient(*angles[0])  # warm-up (adjoint state and checkpoints)
            t_grad = float("inf")
            for g_, b_ in angles[:2]:
                t0 = time.perf_counter()
                ev.gradient(g_, b_)
                t_grad = min(t_grad, time.perf_counter() - t0)

            qc = qaoa_ansatz(op, reps=reps)
            gam = sorted([p for p in qc.parameters if p.name.startswith("γ")], key=lambda p: p.index)
            bet = sorted([p for p in qc.parameters if p.name.startswith("β")], key=lambda p: p.index)
            qsv = qc.copy()
            qsv.save_statevector()
            tsv = transpile(qsv, sim)
            tqc = transpile(qc, sim)
            isa_op = op.apply_layout(tqc.layout)

            def values(circ, g, b, gam=gam, bet=bet):
                d = {**{p: v for p, v in zip(gam, g, strict=True)}, **{p: v for p, v in zip(bet, b, strict=True)}}
                return [d[p] for p in circ.parameters]

            # Rounds interleave the three methods so they see the same background load; within a
            # round the engine makes k_core calls (new angles each) and each Aer method one call.
            t_core, e_core, t_sv, e_sv, t_est, e_est = [], [], [], [], [], []
            traffic = 0.0
            for r in range(k_aer):
                g, b = angles[r]
                for j in range(k_core):
                    gj, bj = (g, b) if j == 0 else angles[(r + j) % len(angles)]
                    t0 = time.perf_counter()
                    e = ev.expectation(gj, bj)
                    t_core.append(time.perf_counter() - t0)
                    if j == 0:
                        e_core.append(e)
                traffic = ev.core.last_traffic_bytes
                t0 = time.perf_counter()
                res = sim.run(tsv.assign_parameters(values(tsv, g, b))).result()
                psi = np.asarray(res.get_statevector())
                e_sv.append(float(np.dot(np.abs(psi) ** 2, cost)))
                t_sv.append(time.perf_counter() - t0)
                del psi, res
                t0 = time.perf_counter()
                e_est.append(float(est.run([(tqc, isa_op, values(tqc, g, b))]).result()[0].data.evs))
                t_est.append(time.perf_counter() - t0)
            tc, ts_, te = min(t_core), min(t_sv), min(t_est)  # best of the calls (robust to load bursts)
            agree = max(abs(e_core[i] - e_sv[i]) / abs(e_sv[i]) for i in range(k_aer))
            agree_est = max(abs(e_core[i] - e_est[i]) / abs(e_est[i]) for i in range(k_aer))
            row = {"n": n, "reps": reps, "core_s": tc, "aer_estimator_s": te, "aer_statevector_s": ts_,
                   "ratio_vs_faster_aer": min(te, ts_) / tc,
                   "core_median_s": statistics.median(t_core),
                   "ratio_of_medians": min(statistics.median(t_est), statistics.median(t_sv)) / statistics.median(t_core), "core_GBps": traffic / tc / 1e9,
                   "stream_copy_GBps": stream_gbps, "bw_fraction": traffic / tc / 1e9 / stream_gbps,
                   "core_gradient_s": t_grad, "gradient_in_expectations": t_grad / tc, "core_build_s": build, "compact_costs": ev.core.compact_costs,
                   "rel_diff_vs_aer_sv": agree, "rel_diff_vs_aer_est": agree_est,
                   "calls_core": k_core, "calls_aer": k_aer}
            rows.append(row)
            print(f"  n={n} reps={reps}: core {tc*1e3:.1f} ms, aer est {te:.2f} s, aer sv {ts_:.2f} s, "
                  f"ratio {row['ratio_vs_faster_aer']:.1f}x, {row['core_GBps']:.2f} GB/s, "
                  f"gradient {row['gradient_in_expectations']:.1f} expectations, agree {agree:.1e}",
                  flush=True)
        del ev, cost
    return rows


def _cpu_timed(fn, *args) -> float:
    """CPU seconds of the calling thread spent in fn(*args)."""
    t0 = time.thread_time()
    fn(*args)
    return time.thread_time() - t0


def _wall_timed(fn, *args) -> float:
    """Wall seconds of fn(*args)."""
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def _copy_split(b, a, threads: int) -> None:
    """np.copyto(b, a) with the arrays split into ``threads`` contiguous parts, one thread each
    (NumPy releases the GIL in the copy); with one thread, the caller's, so that its CPU time
    counts the copy."""
    if threads == 1:
        np.copyto(b, a)
        return
    parts = list(zip(np.array_split(b, threads), np.array_split(a, threads), strict=True))
    pool = [threading.Thread(target=np.copyto, args=p) for p in parts]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def engine(ns, reps_list, rounds=3, threads=1) -> list[dict]:
    """The engine alone against the streaming copy, interleaved: each round runs one copy (the
    anchor, 256 MiB, NumPy), three expectation calls and one gradient call, so all three see the
    same background load. With ``threads`` = 1 the engine runs on the caller's thread and every
    time is that thread's CPU time (``time.thread_time``), which a machine shared with other jobs
    inflates far less than wall time; with ``threads`` > 1 the engine gets that many threads, the
    copy is split over as many, and the times are wall seconds. Reports best-of times, the
    engine's modelled traffic over its time, the copy bandwidth over that (same rounds), and the
    gradient in expectations."""
    n_copy = 1 << 25
    a, b = np.ones(n_copy), np.empty(n_copy)
    np.copyto(b, a)
    timed = _cpu_timed if threads == 1 else _wall_timed
    rows = []
    rng = np.random.default_rng(0)
    for n in ns:
        _, bqm = maxcut_bqm(n)
        ev = QAOAEvaluator(bqm, num_threads=threads)
        for reps in reps_list:
            g, be = rng.uniform(0.1, 0.6, reps), rng.uniform(0.1, 0.6, reps)
            ev.expectation(g, be)
            ev.gradient(g, be)  # warm-up: buffers and checkpoints
            t_copy, t_exp, t_grad = [], [], []
            for _ in range(rounds):
                t_copy.append(timed(_copy_split, b, a, threads))
                t_exp += [timed(ev.expectation, g, be) for _ in range(3)]
                t_grad.append(timed(ev.gradient, g, be))
            ev.expectation(g, be)
            traffic = ev.core.last_traffic_bytes
            copy_gbps = 2 * 8 * n_copy / min(t_copy) / 1e9
            row = {"n": n, "reps": reps, "expectation_s": min(t_exp), "gradient_s": min(t_grad),
                   "gradient_in_expectations": min(t_grad) / min(t_exp),
                   "engine_GBps": traffic / min(t_exp) / 1e9, "copy_GBps": copy_gbps,
                   "copy_over_engine": copy_gbps / (traffic / min(t_exp) / 1e9),
                   "load": os.getloadavg()[0], "rounds": rounds, "threads": threads}
            rows.append(row)
            print(f"  n={n} reps={reps}: expectation {row['expectation_s']*1e3:.1f} ms "
                  f"({row['engine_GBps']:.1f} GB/s, copy {copy_gbps:.1f} GB/s: {row['copy_over_engine']:.2f}x), "
                  f"gradient {row['gradient_s']*1e3:.1f} ms = {row['gradient_in_expectations']:.2f} expectations",
                  flush=True)
        del ev
    return rows


def quality(node_counts, seeds) -> list[dict]:
    rows = []
    for n in node_counts:
        for seed in seeds:
            _, bqm = maxcut_bqm(n, seed)
            opt = dimod.ExactSolver().sample(bqm).first.energy
            for optimizer in ("L-BFGS-B", "COBYLA"):
                t0 = time.perf_counter()
                ss = QAOASampler().sample(bqm, reps=2, shots=2000, seed=seed, optimizer=optimizer, maxiter=200)
                dt = time.perf_counter() - t0
                optimal = ss.record.num_occurrences[ss.record.energy <= opt + 1e-9].sum() / 2000
                rows.append({"nodes": n, "seed": seed, "method": f"qopt QAOASampler {optimizer}", "max_cut": -opt,
                             "expected_cut_ratio": ss.info["expectation"] / opt,
                             "optimum_found": bool(ss.first.energy <= opt + 1e-9),
                             "optimal_shot_fraction": float(optimal), "evaluations": ss.info["optimizer"]["nfev"],
                             "seconds": dt})
                print(f"  quality n={n} seed={seed} {optimizer}: ratio {rows[-1]['expected_cut_ratio']:.3f}, "
                      f"optimum {rows[-1]['optimum_found']}, {dt:.2f} s", flush=True)
    return rows


def peer(node_counts, seeds) -> list[dict]:
    rows = []
    try:
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_aer import AerSimulator
        from qiskit_aer.primitives import SamplerV2
        from qiskit_optimization.algorithms import MinimumEigenOptimizer
        from qiskit_optimization.applications import Maxcut
        from qiskit_optimization.minimum_eigensolvers import QAOA
        from qiskit_optimization.optimizers import COBYLA
    except ImportError as exc:  # pragma: no cover
        print(f"  peer skipped: {exc}")
        return [{"method": "qiskit-optimization MinimumEigenOptimizer", "note": f"unavailable: {exc}"}]
    for n in node_counts:
        for seed in seeds:
            g, bqm = maxcut_bqm(n, seed)
            opt = -dimod.ExactSolver().sample(bqm).first.energy
            qp = Maxcut(g).to_quadratic_program()
            evals = []
            pm = generate_preset_pass_manager(optimization_level=1, backend=AerSimulator(), seed_transpiler=seed)
            qaoa = QAOA(sampler=SamplerV2(seed=seed), optimizer=COBYLA(), reps=2, pass_manager=pm,
                        callback=lambda *a, evals=evals: evals.append(1))
            t0 = time.perf_counter()
            res = MinimumEigenOptimizer(qaoa).solve(qp)
            dt = time.perf_counter() - t0
            probs_opt = sum(s.probability for s in res.samples if abs(s.fval - opt) < 1e-9)
            expected = sum(s.probability * s.fval for s in res.samples)
            rows.append({"nodes": n, "seed": seed, "method": "qiskit-optimization MinimumEigenOptimizer+QAOA",
                         "max_cut": opt, "expected_cut_ratio": expected / opt,
                         "optimum_found": bool(abs(res.fval - opt) < 1e-9), "optimal_shot_fraction": probs_opt,
                         "evaluations": len(evals), "seconds": dt})
            print(f"  peer n={n} seed={seed}: fval {res.fval} / {opt}, {dt:.2f} s, {len(evals)} evals", flush=True)
    return rows


def plot(speed_rows: list[dict], quality_rows: list[dict], out: pathlib.Path, stem: str) -> None:
    """Left: seconds per expectation call against qubits, the C++ engine and both Aer anchors, per reps.
    Right: expected cut ratio <cut>/max cut per graph size, QAOASampler against qiskit-optimization."""
    plt = pyplot()
    if plt is None or not (speed_rows or quality_rows):
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    ax = axes[0]
    for reps, style in ((1, "-"), (3, "--")):
        rs = sorted((r for r in speed_rows if r["reps"] == reps), key=lambda r: r["n"])
        if not rs:
            continue
        ns = [r["n"] for r in rs]
        ax.plot(ns, [r["core_s"] for r in rs], "o" + style, color="C0", label=f"qopt C++ engine, reps={reps}")
        ax.plot(ns, [r["aer_estimator_s"] for r in rs], "s" + style, color="C1", label=f"Aer EstimatorV2, reps={reps}")
        ax.plot(ns, [r["aer_statevector_s"] for r in rs], "^" + style, color="C2",
                label=f"Aer statevector, reps={reps}")
    ax.set_xticks(sorted({r["n"] for r in speed_rows}))
    if speed_rows:
        ax.set_yscale("log")
    ax.set_xlabel("qubits n (3-regular MaxCut)")
    ax.set_ylabel("seconds per expectation call (best)")
    ax.set_title("QAOA <C>: qopt vs qiskit-aer")
    if speed_rows:
        ax.legend(fontsize=7)
    ax = axes[1]
    methods = list(dict.fromkeys(r["method"] for r in quality_rows if "expected_cut_ratio" in r))
    nodes = sorted({r["nodes"] for r in quality_rows if "nodes" in r})
    width = 0.8 / max(1, len(methods))
    for k, m in enumerate(methods):
        vals = [np.mean([r["expected_cut_ratio"] for r in quality_rows if r.get("method") == m and r["nodes"] == nd]
                        or [np.nan]) for nd in nodes]
        ax.bar(np.arange(len(nodes)) + (k - (len(methods) - 1) / 2) * width, vals, width, label=m)
    ax.set_xticks(np.arange(len(nodes)), [str(nd) for nd in nodes])
    ax.set_xlabel("graph nodes (3-regular MaxCut)")
    ax.set_ylabel("expected cut / max cut (dimensionless)")
    ax.set_ylim(0, 1.05)
    ax.set_title("QAOA reps=2 quality (mean over seeds)")
    ax.legend(fontsize=7, loc="lower right")
    save_figure(fig, out, stem)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="n = 20, 22 only; fewer quality graphs")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--sections", default="stream,speed,quality,peer")
    ap.add_argument("--ns", default=None, help="comma-separated qubit counts for the speed section")
    ap.add_argument("--rounds", type=int, default=None, help="Aer calls per (n, reps) (default 3/2/1 by n)")
    ap.add_argument("--threads", type=int, default=1,
                    help="engine section: engine and copy threads (1: CPU time of one thread; more: wall time)")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error(f"--threads must be >= 1, got {args.threads}")
    out = pathlib.Path(args.out)
    sections = set(args.sections.split(","))
    print(f"# bench_qaoa  {time.strftime('%Y-%m-%d %H:%M:%S')}  {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    import qiskit
    import qiskit_aer
    print(f"qiskit {qiskit.__version__}, qiskit-aer {qiskit_aer.__version__}, numpy {np.__version__}")
    bw = {"copy_GBps": float("nan")}
    rows: list[dict] = []
    if "stream" in sections or "speed" in sections:
        bw = stream_bandwidth()
        print(f"\n## stream\ncopy {bw['copy_GBps']:.1f} GB/s, numpy triad {bw['numpy_triad_GBps']:.1f} GB/s")
        save([bw], out / "qaoa_stream.csv")
    if "speed" in sections:
        ns = [20, 22] if args.quick else [20, 22, 24, 26]
        if args.ns:
            ns = [int(x) for x in args.ns.split(",")]
        print("\n## speed (seconds per expectation call, best of the calls; medians in the CSV)")
        rows = speed(ns, [1, 3], bw["copy_GBps"], args.rounds)
        save(rows, out / ("qaoa_speed.csv" if not args.ns else f"qaoa_speed_{'_'.join(map(str, ns))}.csv"))
        print(table(rows, ["n", "reps", "core_s", "aer_estimator_s", "aer_statevector_s", "ratio_vs_faster_aer",
                           "ratio_of_medians", "core_GBps", "bw_fraction", "core_gradient_s", "gradient_in_expectations", "rel_diff_vs_aer_sv"]))
    if "engine" in sections:
        ns = [int(x) for x in args.ns.split(",")] if args.ns else [20, 22, 24]
        clock = "one thread, CPU time" if args.threads == 1 else f"{args.threads} threads, wall time"
        print(f"\n## engine ({clock}, interleaved with the streaming copy; best of the calls)")
        erows = engine(ns, [1, 3], args.rounds or 3, args.threads)
        save(erows, out / ("qaoa_engine.csv" if args.threads == 1 else f"qaoa_engine_{args.threads}threads.csv"))
        print(table(erows, ["n", "reps", "expectation_s", "engine_GBps", "copy_GBps", "copy_over_engine",
                            "gradient_s", "gradient_in_expectations", "load"]))
    qrows = []
    nodes = [10, 12] if args.quick else [10, 12, 14, 16]
    seeds = [1] if args.quick else [1, 2]
    if "quality" in sections:
        print("\n## quality (QAOASampler reps=2, 2000 shots)")
        qrows += quality(nodes, seeds)
    if "peer" in sections:
        print("\n## peer (qiskit-optimization MinimumEigenOptimizer + QAOA reps=2, COBYLA)")
        qrows += peer([10, 12], seeds)
    if qrows:
        save(qrows, out / "qaoa_quality.csv")
        print(table(qrows, ["nodes", "seed", "method", "max_cut", "expected_cut_ratio", "optimum_found",
                            "optimal_shot_fraction", "evaluations", "seconds"]))
    plot(rows, qrows, out, "qaoa_quick" if args.quick else "qaoa")


if __name__ == "__main__":
    main()
