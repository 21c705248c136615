#!/usr/bin/env python
"""The quality frontier at equal wall time: qopt's default annealing path and its replica
exchange sampler against the heuristics a user could install instead.

    python benchmarks/bench_frontier.py [--quick] [--budgets 1,10,60] [--seeds 5]
                                        [--instances G14,G55,...] [--solvers ...] [--auto]
                                        [--slow-max-variables N] [--replot CSV]

Solvers (each given the same wall-clock budget T, run one after another, interleaved: the
solver order rotates with the seed, so machine load is shared evenly):

* ``qopt``: ``qopt.solve(bqm, backend="sa", time_budget=T)`` with defaults (the anytime plan
  of :class:`qopt.samplers.sa.SimulatedAnnealingSampler`, presolve and the background bound);
  ``qopt-auto`` (with ``--auto``): ``backend="auto"``, whatever the router picks;
* ``sa-tuned``: the hand-tuned anchor of issue 14: qopt's SA kernel, 32 reads (16 per thread),
  polish, one anneal whose sweeps fill 90% of T at a sweep rate measured once per instance
  before its timed runs (so the anchor's tuning costs it nothing), ``time_limit=T``;
* ``qopt-pt``: :class:`qopt.samplers.pt.ReplicaExchangeSampler`, one ladder of 16 replicas per
  core, descent every 50 sweeps, ``time_limit=T``;
* ``dwave-sa``: dwave-samplers SimulatedAnnealingSampler (defaults: 1000 sweeps), one read
  a call, called again until T is spent; ``dwave-tabu``: dwave-samplers TabuSampler, ``timeout=T``;
* ``kerberos``: dwave-hybrid's Kerberos workflow with classical samplers (as in
  bench_hybrid.py), ``max_time=T``;
* ``burer2002``, ``palubeckis2004``: MQLib (Dunning, Gupta & Silberholz 2018) BURER2002
  and PALUBECKIS2004bMST2 with ``-r T``, built from ``--mqlib`` (default
  ``build/mqlib/bin/MQLib``; see ../shared/peers/mqlib/README.qopt.md); skipped when absent;
* openjij SA: not installed here (skipped, stated in the output).

Each run records its best-so-far history (qopt and PT: their progress events; dwave-sa: after
each call; MQLib: its own history; Tabu and Kerberos: the end). Reported per instance,
budget and solver: median best objective and its fraction of the best-known value, runs
reaching the best-known value, median time to 0.999 of best-known and to best-known (over
runs that reach it), and median wall time. Writes ``frontier[_quick].csv`` (one row per run)
and ``frontier[_quick].png`` (best-so-far against time, one panel per instance at the
largest budget) under ``--out`` (default benchmarks/results).

``--quick``: G14 and G55 at 1 and 10 s, 2 seeds (about 6 minutes on 2 cores).
``--slow-max-variables N``: skip Tabu and Kerberos on instances of more than N variables.
After the table, a verdict per instance and budget: qopt's median against every peer whose median
wall kept to the budget within max(5%, 0.1 s) (:func:`kept_to_budget`).
"""
from __future__ import annotations

import argparse
import csv
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np

from benchkit import REPO, RESULTS, deadline_tolerance, pyplot, save_figure, shared_data, write_csv
from qopt.io import read_instance

FULL_INSTANCES = ["G14", "G35", "G55", "G60", "G70", "G81", "bqp1000-1", "bqp1000-2", "bqp1000-3"]
SOLVERS = ["qopt", "sa-tuned", "qopt-pt", "dwave-sa", "dwave-tabu", "kerberos", "burer2002", "palubeckis2004"]
#: peers whose runs overrun their budget by seconds on big instances (Tabu 18 s and Kerberos 14 s of
#: a 10 s budget on G55): ``--slow-max-variables`` skips them above that size (said in the output).
SLOW_SOLVERS = ("dwave-tabu", "kerberos")
PLOT_COLUMNS = 3  # panels per row of the plot (one panel per instance)
MQLIB_HEURISTICS = {"burer2002": "BURER2002", "palubeckis2004": "PALUBECKIS2004bMST2"}


# --------------------------------------------------------------------------- instances
#: best-known objectives of OR-Library bqp1000-1..3 (Beasley 1998's b1000 set), which
#: ../shared/data/best_known.csv lacks: the values tabulated by Palubeckis (2004) and by Wang,
#: Lue, Glover & Hao (2012), not re-verified here (a run above one would show a fraction > 1).
BQP1000_BEST_KNOWN = {"bqp1000-1": 371438.0, "bqp1000-2": 354932.0, "bqp1000-3": 371236.0}


def load(data: pathlib.Path, name: str):
    """(Instance with its best-known value, path of its file) from best_known.csv."""
    with open(data / "best_known.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["instance"] == name)
    path = data / row["file"]
    best = float(row["best_known"]) if row["best_known"] else BQP1000_BEST_KNOWN[name]
    problem = int(name.rsplit("-", 1)[1]) if name.startswith("bqp") else None
    return read_instance(path, problem=problem, best_known=best), path


# --------------------------------------------------------------------------- solvers
def run_qopt(inst, T, seed, backend="sa"):
    import qopt

    t0 = time.perf_counter()
    hist = []

    def progress(event):
        if event.get("event") == "best" and "energy" in event:
            hist.append((time.perf_counter() - t0, inst.to_objective(float(event["energy"]))))

    result = qopt.solve(inst.bqm, backend=backend, time_budget=T, seed=seed, on_progress=progress)
    wall = time.perf_counter() - t0
    best = inst.to_objective(result.candidates[0].energy)
    hist.append((wall, best))
    plan = result.provenance.get("backend_info", {}).get("plan")
    note = "" if not plan else f"plan {plan.get('num_cycles', 1)} x ({plan['num_reads']}x{plan['num_sweeps']}+" \
                               f"{plan['num_restarts']}x{plan['restart_sweeps']})"
    return best, wall, hist, note


_SWEEP_SECONDS: dict = {}  # instance name -> seconds per sweep of 32 reads on every core (measured once)


def run_tuned(inst, T, seed):
    """The hand-tuned anchor of issue 14: qopt's SA kernel with 32 reads (16 per thread on 2
    cores), polish on, one anneal whose sweeps fill T at the sweep rate measured once per
    instance outside the timed window (as a user tuning by hand would know it), time_limit T."""
    from qopt.samplers.sa import SimulatedAnnealingSampler

    sampler = SimulatedAnnealingSampler()
    if inst.name not in _SWEEP_SECONDS:
        c0 = time.perf_counter()
        sampler.sample(inst.bqm, num_reads=32, num_sweeps=1000, seed=0)
        _SWEEP_SECONDS[inst.name] = (time.perf_counter() - c0) / 1000
    sweeps = max(100, int(0.9 * T / _SWEEP_SECONDS[inst.name]))
    t0 = time.perf_counter()
    ss = sampler.sample(inst.bqm, num_reads=32, num_sweeps=sweeps, polish=True, time_limit=T, seed=seed)
    wall = time.perf_counter() - t0
    best = inst.to_objective(ss.first.energy)
    return best, wall, [(wall, best)], f"32x{sweeps}"


def run_pt(inst, T, seed):
    from qopt.samplers.pt import ReplicaExchangeSampler
    from qopt.samplers.sa import available_cores

    t0 = time.perf_counter()
    hist = []

    def progress(event):
        hist.append((time.perf_counter() - t0, inst.to_objective(float(event["energy"]))))

    ss = ReplicaExchangeSampler().sample(inst.bqm, num_reads=available_cores(), num_replicas=16, time_limit=T,
                                         descent_interval=50, seed=seed, on_progress=progress)
    wall = time.perf_counter() - t0
    best = inst.to_objective(ss.first.energy)
    hist.append((wall, best))
    acc = ss.info["swap_acceptance"]
    return best, wall, hist, f"{ss.info['num_sweeps']} sweeps, swap acc {min(acc):.2f}-{max(acc):.2f}, " \
                             f"{ss.info['round_trips']} round trips"


def run_dwave_sa(inst, T, seed):
    from dwave.samplers import SimulatedAnnealingSampler

    t0 = time.perf_counter()
    hist, best, k = [], -np.inf, 0
    sampler = SimulatedAnnealingSampler()
    while time.perf_counter() - t0 < T:
        ss = sampler.sample(inst.bqm, num_reads=1, seed=(seed * 1000 + k) % 2**32)
        k += 1
        obj = inst.to_objective(ss.first.energy)
        now = time.perf_counter() - t0
        if obj > best:
            best = obj
            hist.append((now, best))
    return best, time.perf_counter() - t0, hist, f"{k} reads"


def run_tabu(inst, T, seed):
    from dwave.samplers import TabuSampler

    t0 = time.perf_counter()
    ss = TabuSampler().sample(inst.bqm, num_reads=1, timeout=int(T * 1000), seed=seed % 2**32)
    wall = time.perf_counter() - t0
    best = inst.to_objective(ss.first.energy)
    return best, wall, [(wall, best)], ""


def run_kerberos(inst, T, seed):
    from bench_hybrid import run_kerberos as kerberos

    energy, wall = kerberos(inst.bqm, T, 50, seed)
    best = inst.to_objective(energy)
    return best, wall, [(wall, best)], "classical samplers"


def mqlib_file(inst, path, tmp: pathlib.Path):
    """(flag, file) for MQLib: a Gset file as Max-Cut directly; otherwise the BQM written as
    MQLib's QUBO (maximise x^T Q x, Q symmetric, ``a b Q_ab`` once per pair)."""
    if inst.format == "gset":
        return "-fM", path, None
    import dimod

    bqm = inst.bqm.change_vartype(dimod.BINARY, inplace=False)
    idx = {v: i + 1 for i, v in enumerate(bqm.variables)}
    lines = [f"{idx[v]} {idx[v]} {-float(b)!r}" for v, b in bqm.linear.items() if b]
    lines += [f"{idx[u]} {idx[v]} {-float(b) / 2!r}" for (u, v), b in bqm.quadratic.items() if b]
    f = tmp / f"{inst.name}.qubo"
    f.write_text(f"{len(idx)} {len(lines)}\n" + "\n".join(lines) + "\n")
    return "-fQ", f, float(bqm.offset)  # MQLib value V: energy = offset - V


def run_mqlib(inst, T, seed, heuristic, binary, files):
    flag, f, offset = files[inst.name]
    t0 = time.perf_counter()
    out = subprocess.run([str(binary), "-h", heuristic, flag, str(f), "-r", str(T), "-s", str(seed)],
                         capture_output=True, text=True, timeout=T + 120, check=True).stdout.strip()
    wall = time.perf_counter() - t0
    hist_text = out[out.rindex("[") + 1:out.rindex("]")]

    def obj(v):
        return float(v) if offset is None else inst.to_objective(offset - float(v))

    hist = [(float(t), obj(v)) for v, t in (p.split(":") for p in hist_text.split(";") if p)]
    best = max(v for _, v in hist)
    return best, wall, hist, ""


# --------------------------------------------------------------------------- report
def time_to(hist, target):
    """First time the best-so-far reaches ``target`` (None if never)."""
    return next((t for t, v in hist if v >= target - 1e-9), None)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarise(rows, budgets, instances, solvers):
    lines = ["| instance (best-known) | T (s) | solver | median best (fraction) | runs at best-known | "
             "median t to 0.999 (s) | median t to best-known (s) | median wall (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for name in instances:
        for T in budgets:
            for s in solvers:
                rs = [r for r in rows if r["instance"] == name and r["budget"] == T and r["solver"] == s]
                if not rs:
                    continue
                bk = rs[0]["best_known"]
                best = statistics.median(r["best"] for r in rs)
                hits = sum(r["best"] >= bk - 1e-9 for r in rs)
                t999 = median([r["t_0999"] for r in rs])
                tbk = median([r["t_best_known"] for r in rs])
                fmt = (lambda x: "-" if x is None else f"{x:.2f}")
                lines.append(f"| {name} ({bk:g}) | {T:g} | {s} | {best:g} ({best / bk:.4f}) | {hits}/{len(rs)} | "
                             f"{fmt(t999)} | {fmt(tbk)} | {statistics.median(r['wall'] for r in rs):.1f} |")
    return "\n".join(lines)


def kept_to_budget(wall: float, T: float) -> bool:
    """Whether a run of ``wall`` seconds kept to its budget ``T`` (seconds): within
    :func:`benchkit.deadline_tolerance` of it, max(5%, 0.1 s)."""
    return wall <= T + deadline_tolerance(T)


def verdicts(rows, budgets, instances, solvers, subject="qopt"):
    """Per instance and budget: ``subject``'s median best against each peer's whose median wall
    kept to the budget (:func:`kept_to_budget`); peers that overran are listed apart."""
    lines = [f"| instance | T (s) | {subject} median | best peer in budget (median) | {subject} ahead of every "
             f"peer in budget? | peers over budget (median best in median wall) |", "|---|---|---|---|---|---|"]
    for name in instances:
        for T in budgets:
            cell = [r for r in rows if r["instance"] == name and r["budget"] == T]
            mine = [r["best"] for r in cell if r["solver"] == subject]
            if not mine:
                continue
            ours = statistics.median(mine)
            peers, over = {}, []
            for s in solvers:
                rs = [r for r in cell if r["solver"] == s]
                if s == subject or not rs:
                    continue
                wall = statistics.median(r["wall"] for r in rs)
                if kept_to_budget(wall, T):
                    peers[s] = statistics.median(r["best"] for r in rs)
                else:
                    over.append(f"{s} {statistics.median(r['best'] for r in rs):g} in {wall:.2f} s")
            top = max(peers.values(), default=None)
            best = ", ".join(f"{s} {v:g}" for s, v in peers.items() if v == top) if peers else "-"
            verdict = "-" if top is None else ("ahead" if ours > top else "tied" if ours == top else "behind")
            lines.append(f"| {name} | {T:g} | {ours:g} | {best} | {verdict} | {', '.join(over) or '-'} |")
    return "\n".join(lines)


def plot(rows, budgets, instances, solvers, out, stem):
    plt = pyplot()
    if plt is None:
        return
    T = max(budgets)
    ncols = min(PLOT_COLUMNS, len(instances))
    nrows = -(-len(instances) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.5 * ncols, 4.2 * nrows), squeeze=False)
    for ax in axes.flat[len(instances):]:
        ax.set_visible(False)
    colors = {s: f"C{k}" for k, s in enumerate(solvers)}
    for ax, name in zip(axes.flat, instances, strict=False):
        bk = None
        for s in solvers:
            for k, r in enumerate(rr for rr in rows if rr["instance"] == name and rr["budget"] == T
                                  and rr["solver"] == s):
                bk = r["best_known"]
                ts = [max(t, 1e-3) for t, _ in r["history"]]
                vs = [v / bk for _, v in r["history"]]
                if len(ts) == 1:  # only the end is known (Tabu, Kerberos): a marker at the wall time
                    ax.plot(ts, vs, marker="o", ls="none", color=colors[s], label=s if k == 0 else None)
                elif ts:
                    ax.step(ts + [r["wall"]], vs + [vs[-1]], where="post", color=colors[s], alpha=0.8,
                            label=s if k == 0 else None)
        if bk is not None:
            ax.axhline(0.999, color="grey", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_ylim(0.98, 1.0005)
        ax.set_title(f"{name} (best-known {bk:g}), T = {T:g} s")
        ax.set_xlabel("seconds (wall)")
        ax.set_ylabel("best so far / best-known")
    axes.flat[0].legend(fontsize=8, loc="lower right")
    save_figure(fig, out, stem)


def read_rows(path: pathlib.Path) -> list[dict]:
    """Rows of a CSV this script wrote (the history column parsed back)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        hist = [(float(t), float(v)) for v, t in (p.split("@") for p in r["history"].split(";") if p)]
        opt = {k: (None if r[k] == "" else float(r[k])) for k in ("t_0999", "t_best_known")}
        out.append({**r, **opt, "budget": float(r["budget"]), "best": float(r["best"]),
                    "best_known": float(r["best_known"]), "wall": float(r["wall"]), "history": hist})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--budgets", default=None, help="comma-separated seconds (default 1,10,60; quick 1,10)")
    ap.add_argument("--seeds", type=int, default=None, help="runs per cell (default 5; quick 2)")
    ap.add_argument("--first-seed", type=int, default=1, help="seed of the first run (runs use consecutive seeds)")
    ap.add_argument("--instances", default=None)
    ap.add_argument("--solvers", default=",".join(SOLVERS))
    ap.add_argument("--slow-max-variables", type=int, default=None,
                    help=f"skip {', '.join(SLOW_SOLVERS)} on instances of more variables (they overrun by seconds)")
    ap.add_argument("--auto", action="store_true", help="also qopt.solve(bqm, backend='auto', time_budget=T)")
    ap.add_argument("--mqlib", type=pathlib.Path, default=REPO / "build" / "mqlib" / "bin" / "MQLib")
    ap.add_argument("--data", type=pathlib.Path, default=None)
    ap.add_argument("--out", type=pathlib.Path, default=RESULTS)
    ap.add_argument("--stem", default=None)
    ap.add_argument("--replot", type=pathlib.Path, default=None, help="table and plot from a CSV of an earlier run")
    args = ap.parse_args()
    if args.replot is not None:
        rows = read_rows(args.replot)
        budgets = sorted({r["budget"] for r in rows})
        instances = list(dict.fromkeys(r["instance"] for r in rows))
        solvers = list(dict.fromkeys(r["solver"] for r in rows))
        print(summarise(rows, budgets, instances, solvers))
        print()
        print(verdicts(rows, budgets, instances, solvers))
        plot(rows, budgets, instances, solvers, args.out, args.stem or args.replot.stem)
        return
    data = shared_data(args.data)
    if data is None:
        print("no benchmark instances (../shared/data or --data): nothing to run")
        return
    budgets = [float(x) for x in (args.budgets or ("1,10" if args.quick else "1,10,60")).split(",")]
    seeds = args.seeds or (2 if args.quick else 5)
    instances = (args.instances or ("G14,G55" if args.quick else ",".join(FULL_INSTANCES))).split(",")
    solvers = args.solvers.split(",") + (["qopt-auto"] if args.auto else [])
    if not args.mqlib.exists():
        print(f"MQLib not built at {args.mqlib}: skipping {', '.join(MQLIB_HEURISTICS)}")
        solvers = [s for s in solvers if s not in MQLIB_HEURISTICS]
    try:
        import openjij  # noqa: F401
        print("openjij is installed but not wired in here")
    except ImportError:
        print("openjij SA: not installed, skipped")
    stem = args.stem or ("frontier_quick" if args.quick else "frontier")
    print(f"instances {instances}, budgets {budgets}, {seeds} seeds, solvers {solvers}, {os.cpu_count()} cpus")
    if args.slow_max_variables is not None:
        print(f"{', '.join(SLOW_SOLVERS)}: skipped on instances of more than {args.slow_max_variables} variables")

    runners = {
        "qopt": run_qopt, "qopt-auto": lambda i, T, s: run_qopt(i, T, s, backend="auto"), "qopt-pt": run_pt,
        "sa-tuned": run_tuned, "dwave-sa": run_dwave_sa, "dwave-tabu": run_tabu, "kerberos": run_kerberos,
        **{k: (lambda i, T, s, h=h: run_mqlib(i, T, s, h, args.mqlib, files)) for k, h in MQLIB_HEURISTICS.items()},
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        loaded = {}
        for name in instances:
            inst, path = load(data, name)
            loaded[name] = inst
            files[name] = mqlib_file(inst, path, pathlib.Path(tmp))
        for name in instances:
            inst = loaded[name]
            for T in budgets:
                for seed in range(args.first_seed, args.first_seed + seeds):
                    order = solvers[seed % len(solvers):] + solvers[:seed % len(solvers)]
                    for s in order:
                        if s in SLOW_SOLVERS and args.slow_max_variables is not None \
                                and inst.bqm.num_variables > args.slow_max_variables:
                            continue
                        best, wall, hist, note = runners[s](inst, T, seed)
                        bk = inst.best_known
                        row = {"instance": name, "budget": T, "seed": seed, "solver": s, "best": best,
                               "best_known": bk, "fraction": best / bk, "wall": wall,
                               "t_0999": time_to(hist, 0.999 * bk), "t_best_known": time_to(hist, bk),
                               "history": hist, "note": note}
                        rows.append(row)
                        print(f"{name} T={T:g} seed={seed} {s:15s} {best:10g} ({best / bk:.4f}) "
                              f"wall {wall:6.2f} s  {note}", flush=True)
    csv_rows = [{**r, "history": ";".join(f"{v:g}@{t:.3f}" for t, v in r["history"])} for r in rows]
    write_csv(csv_rows, args.out / f"{stem}.csv")
    print()
    print(summarise(rows, budgets, instances, solvers))
    print()
    print(verdicts(rows, budgets, instances, solvers))
    plot(rows, budgets, instances, solvers, args.out, stem)


if __name__ == "__main__":
    main()
