#!/usr/bin/env python
"""qopt simulated annealing vs dwave-samplers, side by side in one process.

    python benchmarks/bench_sa.py [--quick] [--data DIR] [--out DIR]

Measures, on Gset G1 (MaxCut), OR-Library bqp250 and bqp1000 and a dense random
n=1000 QUBO:

1. throughput: spin-flip attempts per second (num_reads * num_sweeps * n / wall
   time of ``sample``) of ``qopt.SimulatedAnnealingSampler`` (num_threads=1) and
   ``dwave.samplers.SimulatedAnnealingSampler`` with the same num_reads,
   num_sweeps, beta_range and geometric schedule, alternated seed by seed, and
   their ratio; also per CPU-second (the machine is shared, so wall time is noisy);
2. quality: best and mean energy per run, averaged over seeds, for both;
3. scaling: qopt num_threads=2 against num_threads=1;
4. time-to-target (TTT): independent runs with successive seeds until the
   best-known energy (G1: cut 11624; bqp250: published optimum) is reached;
   wall time summed over the runs, for qopt (2 threads) and dwave-samplers SA,
   over several starting seeds, each capped; dwave-samplers Tabu (with
   energy_threshold) as a further reference;
5. HiGHS on a linearised small instance (bqp50-1, and bqp100-1 in full mode) as
   an exact reference, its solution re-scored on the QUBO.

Instances come from ``--data`` (default ``$QOPT_SHARED_DATA``, else ``../shared/data``); on a
fresh clone without that folder, the instances shipped with qopt (G1, and bqp50 in place of
bqp250; no bqp1000).

Writes ``bench_sa[_quick].csv`` (one row per measurement) and ``bench_sa[_quick].png``
(needs matplotlib) under ``--out`` (default: benchmarks/results); ``--only PART``
runs one part (throughput, scaling, ttt, highs) and adds the part names to the file
names. ``--quick`` takes about 1-2 minutes; the full run about 10 minutes.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import math
import pathlib
import resource
import statistics
import sys
import time

import dimod
import numpy as np
from dwave.samplers import SimulatedAnnealingSampler as DWaveSA
from dwave.samplers import TabuSampler

from benchkit import RESULTS, pyplot, save_figure, shared_data, shipped_data
from qopt.samplers.sa import SimulatedAnnealingSampler, default_beta_range, ising_csr


# --------------------------------------------------------------------------- instances
def read_gset(path):
    """Gset graph -> (Ising BQM with J_ij = w_ij, total weight W). cut = (W - E) / 2."""
    tok = pathlib.Path(path).read_text().split()
    n, m = int(tok[0]), int(tok[1])
    a = np.array(tok[2:2 + 3 * m], dtype=float).reshape(m, 3)
    bqm = dimod.BQM.from_ising({i: 0.0 for i in range(n)}, {})
    for i, j, w in a:
        bqm.add_quadratic(int(i) - 1, int(j) - 1, w)
    return bqm, float(a[:, 2].sum())


def read_orlib(path):
    """OR-Library bqp file -> list of BINARY BQMs with energy = -objective,
    objective = sum_i q_ii x_i + 2 sum_{i<j} q_ij x_i x_j (maximised)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        tok = f.read().split()
    pos, out = 1, []
    for _ in range(int(tok[0])):
        n, nnz = int(tok[pos]), int(tok[pos + 1])
        pos += 2
        a = np.array(tok[pos:pos + 3 * nnz], dtype=float).reshape(nnz, 3)
        pos += 3 * nnz
        i, j, q = a[:, 0].astype(int) - 1, a[:, 1].astype(int) - 1, a[:, 2]
        lin = np.zeros(n)
        diag = i == j
        np.add.at(lin, i[diag], -q[diag])
        bqm = dimod.BQM.from_numpy_vectors(lin, (i[~diag], j[~diag], -2.0 * q[~diag]), 0.0, dimod.BINARY)
        out.append(bqm)
    return out


def best_known(data, instance):
    with open(data / "best_known.csv") as f:
        for row in csv.DictReader(f):
            if row["instance"] == instance and row["best_known"]:
                return float(row["best_known"])
    return None


def dense_qubo(n=1000, seed=0):
    """Fully dense random QUBO, integer Q_ij uniform in [-100, 100] (upper triangle)."""
    rng = np.random.default_rng(seed)
    Q = np.triu(rng.integers(-100, 101, size=(n, n)).astype(float))
    return dimod.BQM.from_qubo(Q)


# --------------------------------------------------------------------------- helpers
def cpu_time():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn):
    c0, t0 = cpu_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, cpu_time() - c0


ROWS = []


def record(instance, metric, solver, value, **extra):
    row = {"instance": instance, "metric": metric, "solver": solver, "value": value}
    row.update(extra)
    ROWS.append(row)


def fmt(x):
    return f"{x:.3g}" if isinstance(x, float) else str(x)


# --------------------------------------------------------------------------- measurements
def throughput(name, bqm, num_reads, num_sweeps, seeds, scaling=True):
    """Equal-sweep comparison; returns a summary dict."""
    h, rp, _, J, _ = ising_csr(bqm)
    beta_range = default_beta_range(h, rp, J)
    n = bqm.num_variables
    attempts = num_reads * num_sweeps * n
    kw = dict(num_reads=num_reads, num_sweeps=num_sweeps, beta_range=beta_range, beta_schedule_type="geometric")
    q, d = SimulatedAnnealingSampler(), DWaveSA()
    res = {"q": [], "d": [], "q2": []}
    for seed in seeds:
        ssd, td, cd = timed(lambda seed=seed: d.sample(bqm, seed=seed, **kw))
        ssq, tq, cq = timed(lambda seed=seed: q.sample(bqm, seed=seed, num_threads=1, **kw))
        res["d"].append((td, cd, ssd.record.energy.min(), ssd.record.energy.mean()))
        res["q"].append((tq, cq, ssq.record.energy.min(), ssq.record.energy.mean()))
        if scaling:
            ss2, t2, c2 = timed(lambda seed=seed: q.sample(bqm, seed=seed, num_threads=2, **kw))
            res["q2"].append((t2, c2, ss2.record.energy.min(), ss2.record.energy.mean()))
    out = {"instance": name, "n": n, "nnz": bqm.num_interactions, "num_reads": num_reads, "num_sweeps": num_sweeps}
    for key, solver in (("q", "qopt_sa_1t"), ("d", "dwave_sa"), ("q2", "qopt_sa_2t")):
        if not res[key]:
            continue
        walls = [r[0] for r in res[key]]
        cpus = [r[1] for r in res[key]]
        # median over seeds of the per-run rate (robust to a neighbour's burst of load)
        rate = statistics.median(attempts / w for w in walls)
        cpu_rate = statistics.median(attempts / c for c in cpus)
        best = statistics.mean(r[2] for r in res[key])
        mean = statistics.mean(r[3] for r in res[key])
        out[solver] = dict(rate=rate, cpu_rate=cpu_rate, best=best, mean=mean)
        kw_extra = dict(n=n, num_reads=num_reads, num_sweeps=num_sweeps, seeds=len(seeds))
        record(name, "attempts_per_s", solver, rate, **kw_extra)
        record(name, "attempts_per_cpu_s", solver, cpu_rate, **kw_extra)
        record(name, "mean_best_energy", solver, best, **kw_extra)
        record(name, "mean_energy", solver, mean, **kw_extra)
    out["ratio"] = out["qopt_sa_1t"]["rate"] / out["dwave_sa"]["rate"]
    out["cpu_ratio"] = out["qopt_sa_1t"]["cpu_rate"] / out["dwave_sa"]["cpu_rate"]
    record(name, "speedup_vs_dwave_wall", "qopt_sa_1t", out["ratio"])
    record(name, "speedup_vs_dwave_cpu", "qopt_sa_1t", out["cpu_ratio"])
    if res["q2"]:
        out["scaling"] = out["qopt_sa_2t"]["rate"] / out["qopt_sa_1t"]["rate"]
        record(name, "scaling_2t_vs_1t", "qopt_sa_2t", out["scaling"], num_reads=num_reads)
    return out


def scaling_only(name, bqm, num_reads, num_sweeps, seeds):
    """num_threads=2 vs 1, alternated seed by seed; the best pair's ratio."""
    q = SimulatedAnnealingSampler()
    ratios, cores = [], []
    for seed in seeds:
        kw = dict(num_reads=num_reads, num_sweeps=num_sweeps, seed=seed)
        _, t1, _ = timed(lambda kw=kw: q.sample(bqm, num_threads=1, **kw))
        _, t2, c2 = timed(lambda kw=kw: q.sample(bqm, num_threads=2, **kw))
        ratios.append(t1 / t2)
        cores.append(c2 / t2)
    r = max(ratios)  # best of the alternated pairs: the least disturbed by other load
    got = statistics.median(cores)
    record(name, "scaling_2t_vs_1t", "qopt_sa_2t", r, num_reads=num_reads, num_sweeps=num_sweeps, seeds=len(seeds),
           cores_obtained=got)
    return r, got


def time_to_target(name, bqm, target, run, cap_s, starts):
    """Restart protocol: run(seed) -> best energy; seeds start, start+1000, ... until the
    target is reached. Returns list of TTT seconds (None when the cap was hit)."""
    out = []
    for start in starts:
        t0 = time.perf_counter()
        seed, hit = start, None
        while time.perf_counter() - t0 < cap_s:
            best = run(seed)
            seed += 1000
            if best <= target + 1e-6 * max(1.0, abs(target)):
                hit = time.perf_counter() - t0
                break
        out.append(hit)
    return out


def ttt_compare(name, bqm, target, reads, sweeps, cap_s, starts, tabu=True):
    q, d = SimulatedAnnealingSampler(), DWaveSA()
    h, rp, _, J, _ = ising_csr(bqm)
    kw = dict(num_reads=reads, num_sweeps=sweeps, beta_range=default_beta_range(h, rp, J),
              beta_schedule_type="geometric")
    runs = {
        "qopt_sa_2t": lambda s: q.sample(bqm, seed=s, num_threads=2, **kw).record.energy.min(),
        "dwave_sa": lambda s: d.sample(bqm, seed=s, **kw).record.energy.min(),
    }
    if tabu:
        tabu_s = TabuSampler()
        runs["dwave_tabu"] = lambda s: tabu_s.sample(
            bqm, num_reads=1, seed=s, timeout=int(cap_s * 1000), energy_threshold=target).record.energy.min()
    summary = {}
    for solver, run in runs.items():
        hits = time_to_target(name, bqm, target, run, cap_s, starts)
        ok = [t for t in hits if t is not None]
        med = statistics.median(ok) if len(ok) * 2 > len(hits) else math.inf  # median over all starts
        summary[solver] = dict(median=med, hits=len(ok), tries=len(hits),
                               mean_hit=statistics.mean(ok) if ok else math.inf)
        record(name, "ttt_median_s", solver, med, reached=len(ok), starts=len(hits), cap_s=cap_s,
               num_reads=reads, num_sweeps=sweeps, target_energy=target)
    return summary


def highs_reference(name, bqm, best, time_limit):
    """Exact MILP on the standard linearisation y_ij = x_i x_j; solution re-scored on the BQM."""
    try:
        import highspy
    except ImportError:
        print("  highspy not installed: skipped")
        return None
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", 1)
    x = {v: h.addBinary() for v in bqm.variables}
    expr = 0
    for v, b in bqm.linear.items():
        expr = expr + b * x[v]
    for (u, v), b in bqm.quadratic.items():
        y = h.addVariable(lb=0.0, ub=1.0)
        if b < 0:  # minimising: y wants to be 1, bound it above
            h.addConstr(y <= x[u])
            h.addConstr(y <= x[v])
        else:       # y wants to be 0, bound it below
            h.addConstr(y >= x[u] + x[v] - 1)
        expr = expr + b * y
    t0 = time.perf_counter()
    h.minimize(expr)
    dt = time.perf_counter() - t0
    sol = {v: int(round(h.val(x[v]))) for v in bqm.variables}
    rescored = bqm.energy(sol)
    reported = h.getInfo().objective_function_value + bqm.offset
    status = str(h.getModelStatus()).split(".")[-1]
    record(name, "highs_energy_rescored", "highs", rescored, seconds=dt, status=status,
           reported=reported, best_known_energy=best)
    return dict(seconds=dt, rescored=rescored, reported=reported, status=status)


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small settings, about 1-2 minutes")
    ap.add_argument("--data", type=pathlib.Path, default=None,
                    help="folder with gset/, orlib_bqp/ and best_known.csv (default $QOPT_SHARED_DATA, "
                         "else ../shared/data; without one, the instances shipped with qopt)")
    ap.add_argument("--out", type=pathlib.Path, default=RESULTS)
    ap.add_argument("--only", choices=("throughput", "scaling", "ttt", "highs"), action="append",
                    help="run only these parts (repeatable; default all)")
    args = ap.parse_args(argv)
    if args.data is not None and not args.data.is_dir():
        sys.exit(f"instance folder {args.data} not found")
    data = shared_data(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    parts = set(args.only or ("throughput", "scaling", "ttt", "highs"))

    if quick:
        P = dict(reads=32, sweeps=1000, seeds=[1, 2], dense_reads=16, dense_sweeps=500,
                 n250=2, n1000=1, ttt_starts=[1, 2, 3], ttt_cap=8.0, ttt250=2, scaling_reads=64, scaling_pairs=3)
    else:
        P = dict(reads=100, sweeps=1000, seeds=[1, 2, 3], dense_reads=100, dense_sweeps=1000,
                 n250=10, n1000=3, ttt_starts=list(range(1, 11)), ttt_cap=30.0, ttt250=10, scaling_reads=128, scaling_pairs=5)
        P["dense_seeds"] = [1, 2]

    if data is not None:
        g1, W = read_gset(data / "gset" / "G1.txt")
        bqp250 = read_orlib(data / "orlib_bqp" / "bqp250.txt")
        bqp1000 = read_orlib(data / "orlib_bqp" / "bqp1000.txt.gz")
        small = "bqp250"
    else:  # a fresh clone: G1 and bqp50 ship with qopt; bqp50 stands in for bqp250, no bqp1000
        data = shipped_data()
        print(f"note: no shared data folder (--data, $QOPT_SHARED_DATA, ../shared/data); using {data}",
              file=sys.stderr)
        g1, W = read_gset(data / "G1.txt")
        bqp250 = read_orlib(data / "bqp50.txt")
        bqp1000 = []
        small = "bqp50"
    P["small"] = small
    dense = dense_qubo(1000, seed=0)

    print(f"# qopt SA vs dwave-samplers SA ({'quick' if quick else 'full'}); "
          f"num_reads={P['reads']}, num_sweeps={P['sweeps']}, geometric, same beta_range")
    summaries = []
    if "throughput" in parts:
        summaries = throughput_section(P, g1, bqp250, bqp1000, dense)
    if "scaling" in parts:
        scaling_section(P, g1, bqp1000)
    ttt_rows = ttt_section(P, data, quick, g1, W, bqp250) if "ttt" in parts else []
    if "highs" in parts:
        highs_section(data, quick)
    stem = "bench_sa" + ("_quick" if quick else "") + ("" if args.only is None else "_" + "_".join(sorted(parts)))
    save(args.out, stem, summaries, ttt_rows, P)


def throughput_section(P, g1, bqp250, bqp1000, dense):
    summaries = []
    cases = [("G1", g1)] + [(f"{P['small']}-{k + 1}", b) for k, b in enumerate(bqp250[:P["n250"]])] \
        + [(f"bqp1000-{k + 1}", b) for k, b in enumerate(bqp1000[:P["n1000"]])]
    for name, bqm in cases:
        s = throughput(name, bqm, P["reads"], P["sweeps"], P["seeds"])
        summaries.append(s)
    s = throughput("dense1000", dense, P["dense_reads"], P["dense_sweeps"], P.get("dense_seeds", P["seeds"]))
    summaries.append(s)

    hdr = (f"{'instance':<12}{'n':>6}{'qopt att/s':>12}{'dwave att/s':>12}{'ratio':>7}{'cpu ratio':>10}"
           f"{'2t/1t':>7}{'qopt best':>13}{'dwave best':>13}{'qopt mean':>13}{'dwave mean':>13}")
    print(hdr)
    for s in summaries:
        q1, dw = s["qopt_sa_1t"], s["dwave_sa"]
        print(f"{s['instance']:<12}{s['n']:>6}{q1['rate']:>12.3g}{dw['rate']:>12.3g}{s['ratio']:>7.1f}"
              f"{s['cpu_ratio']:>10.1f}{s.get('scaling', float('nan')):>7.2f}{q1['best']:>13.1f}{dw['best']:>13.1f}"
              f"{q1['mean']:>13.1f}{dw['mean']:>13.1f}")
    print("(2t/1t: one run per seed at the same num_reads; reads go to threads 16 at a time, 8 on dense models)")
    sparse = [s for s in summaries if s["instance"] != "dense1000"]
    print(f"geometric-mean speedup, sparse: {math.exp(statistics.mean(math.log(s['ratio']) for s in sparse)):.1f}x "
          f"(target >= 3x); dense: {summaries[-1]['ratio']:.1f}x (target >= 6x)")
    return summaries


def scaling_section(P, g1, bqp1000):
    for name, bqm in [("G1", g1)] + [("bqp1000-1", b) for b in bqp1000[:1]]:
        sc, got = scaling_only(name, bqm, P["scaling_reads"], P["sweeps"], list(range(1, P["scaling_pairs"] + 1)))
        print(f"num_threads=2 vs 1 on {name}, num_reads={P['scaling_reads']}: {sc:.2f}x wall (target >= 1.8x); "
              f"the 2-thread runs got {got:.2f} cores on average (CPU time / wall; other load shares the machine)")


def ttt_section(P, data, quick, g1, W, bqp250):
    print(f"# time to target: restarts of num_reads=32 x 1000 sweeps until the target; "
          f"{len(P['ttt_starts'])} starting seeds, cap {P['ttt_cap']} s each")
    print(f"{'instance':<12}{'target E':>11}{'qopt 2t med s':>15}{'hits':>6}{'dwave SA med s':>16}{'hits':>6}"
          f"{'ratio':>8}{'tabu med s':>12}{'hits':>6}")
    ttt_cases = [("G1", g1, -(2 * 11624 - W))]
    for k, b in enumerate(bqp250[:P["ttt250"]]):
        bk = best_known(data, f"{P['small']}-{k + 1}")
        if bk is not None:
            ttt_cases.append((f"{P['small']}-{k + 1}", b, -bk))
    ttt_rows = []
    for name, bqm, target in ttt_cases:
        starts = P["ttt_starts"] if name == "G1" or not quick else P["ttt_starts"][:2]
        t = ttt_compare(name, bqm, target, 32, 1000, P["ttt_cap"], starts)
        q, d, tb = t["qopt_sa_2t"], t["dwave_sa"], t["dwave_tabu"]
        ratio = d["median"] / q["median"] if math.isfinite(q["median"]) and q["median"] > 0 else float("nan")
        if not math.isfinite(d["median"]) and math.isfinite(q["median"]):
            ratio = float("inf")
        record(name, "ttt_speedup_vs_dwave_sa", "qopt_sa_2t", ratio)
        ttt_rows.append((name, q, d, ratio))
        print(f"{name:<12}{target:>11.0f}{q['median']:>15.3g}{q['hits']:>3}/{q['tries']:<2}{d['median']:>16.3g}"
              f"{d['hits']:>3}/{d['tries']:<2}{ratio:>8.1f}{tb['median']:>12.3g}{tb['hits']:>3}/{tb['tries']:<2}")
    return ttt_rows


def highs_section(data, quick):
    bqp50 = read_orlib(data / "orlib_bqp" / "bqp50.txt" if (data / "orlib_bqp").is_dir() else data / "bqp50.txt")
    highs_cases = [("bqp50-1", bqp50[0])]
    if not quick and (data / "orlib_bqp" / "bqp100.txt").is_file():
        highs_cases.append(("bqp100-1", read_orlib(data / "orlib_bqp" / "bqp100.txt")[0]))
    for name, bqm in highs_cases:
        bk = best_known(data, name)
        r = highs_reference(name, bqm, -bk if bk is not None else None, 20.0 if quick else 60.0)
        if r:
            sa = SimulatedAnnealingSampler().sample(bqm, num_reads=16, num_sweeps=1000, seed=1)
            print(f"HiGHS {name}: status {r['status']} in {r['seconds']:.2f} s, re-scored energy {r['rescored']:.0f} "
                  f"(reported {r['reported']:.0f}); best-known {-bk:.0f}; qopt SA (16 reads) {sa.first.energy:.0f}")



def save(out, stem, summaries, ttt_rows, P):
    keys = sorted({k for r in ROWS for k in r}, key=lambda k: (k not in ("instance", "metric", "solver", "value"), k))
    csv_path = out / f"{stem}.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(ROWS)
    print(f"wrote {csv_path}")
    plt = pyplot()
    if plt is not None:
        if not summaries or not ttt_rows:
            print("partial run: no plot")
            return
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        names = [s["instance"] for s in summaries]
        x = np.arange(len(names))
        axes[0].bar(x - 0.2, [s["qopt_sa_1t"]["rate"] for s in summaries], 0.4, label="qopt SA (1 thread)")
        axes[0].bar(x + 0.2, [s["dwave_sa"]["rate"] for s in summaries], 0.4, label="dwave-samplers SA")
        axes[0].set_yscale("log")
        axes[0].set_xticks(x, names, rotation=45, ha="right")
        axes[0].set_ylabel("spin-flip attempts / s")
        axes[0].set_title("Equal sweeps throughput")
        for xi, s in zip(x, summaries, strict=True):
            axes[0].text(xi, s["qopt_sa_1t"]["rate"], f"{s['ratio']:.1f}x", ha="center", va="bottom", fontsize=8)
        axes[0].set_ylim(top=max(s["qopt_sa_1t"]["rate"] for s in summaries) * 6)
        axes[0].legend(loc="upper right", fontsize=8)
        tn = [r[0] for r in ttt_rows]
        xt = np.arange(len(tn))
        qv = [r[1]["median"] for r in ttt_rows]
        dv = [r[2]["median"] for r in ttt_rows]
        cap = P["ttt_cap"]
        axes[1].bar(xt - 0.2, [v if math.isfinite(v) else cap for v in qv], 0.4, label="qopt SA (2 threads)")
        axes[1].bar(xt + 0.2, [v if math.isfinite(v) else cap for v in dv], 0.4, label="dwave-samplers SA")
        axes[1].set_yscale("log")
        axes[1].set_xticks(xt, tn, rotation=45, ha="right")
        axes[1].set_ylabel("median time to best-known (s)")
        axes[1].set_title(f"Time to target (cap {cap:.0f} s shown as cap)")
        axes[1].set_ylim(top=max(v if math.isfinite(v) else cap for v in qv + dv) * 6)
        axes[1].legend(loc="upper right", fontsize=8)
        save_figure(fig, out, stem)


if __name__ == "__main__":
    main()
