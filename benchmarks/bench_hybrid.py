#!/usr/bin/env python3
"""Hybrid orchestration benchmark (issue 7), side by side in one run.

For each instance (Gset G1; OR-Library bqp250 problems), under the same deadline:
  * qopt hybrid with QAOA subproblems of at most ``--subproblem-size`` variables
    (counts of quantum-solved subproblems and of improvements they made),
  * dwave-hybrid's Kerberos workflow with classical sub-samplers (tabu, SA, SA on
    energy-impact subproblems), its ``max_time`` set to the deadline,
  * plain qopt simulated annealing, restarted until the deadline.
Reports best objective, gap to the best-known value, and wall time (deadline overrun).

Then deadline adherence: ``--adherence-runs`` runs of the hybrid with a 5 s deadline with
the quantum backend healthy, failing, and hanging; reports the worst overrun.

    python benchmarks/bench_hybrid.py [--quick] [--deadline 60] [--out benchmarks/results]

Writes hybrid.csv, hybrid_deadline.csv and hybrid[_quick].png (gap per method, wall time per
adherence run against the deadline) under ``--out``.
"""
from __future__ import annotations

import argparse
import csv
import pathlib
import sys
import threading
import time

import dimod
import numpy as np

from benchkit import RESULTS, pyplot, save_figure, shared_data

SHARED = shared_data()  # None on a fresh clone: G1 only


def instances(problems):
    from qopt.io import read_instance

    out = [read_instance("G1", format="gset")]
    bqp = SHARED / "orlib_bqp" / "bqp250.txt" if SHARED is not None else None
    if bqp is not None and bqp.exists():
        for k in problems:
            out.append(read_instance(bqp, format="bqp", problem=k, best_known=_best_known(f"bqp250-{k}")))
    else:
        print("note: no shared data folder ($QOPT_SHARED_DATA, ../shared/data); bqp250 skipped", file=sys.stderr)
    return out


def _best_known(name):
    table = SHARED / "best_known.csv" if SHARED is not None else None
    if table is None or not table.exists():
        return None
    with table.open() as fh:
        for row in csv.DictReader(fh):
            if row["instance"] == name and row["best_known"]:
                return float(row["best_known"])
    return None


def run_qopt_hybrid(bqm, deadline, size, seed, quantum_backend):
    from qopt.hybrid.sampler import HybridSampler

    t0 = time.monotonic()
    ss = HybridSampler().sample(bqm, quantum_backend=quantum_backend, subproblem_size=size, time_limit=deadline,
                                seed=seed, patience=10**9,
                                quantum_parameters={"reps": 2, "shots": 256, "maxiter": 60}
                                if quantum_backend == "qaoa" else None)
    wall = time.monotonic() - t0
    return float(ss.first.energy), wall, ss.info


def run_kerberos(bqm, deadline, size, seed):
    import hybrid

    iteration = hybrid.Race(
        hybrid.BlockingIdentity(),
        hybrid.InterruptableTabuSampler(timeout=500),
        hybrid.InterruptableSimulatedAnnealingProblemSampler(num_reads=1, num_sweeps=10000),
        hybrid.EnergyImpactDecomposer(size=size, rolling=True, rolling_history=0.3, traversal="bfs")
        | hybrid.SimulatedAnnealingSubproblemSampler(num_reads=100, num_sweeps=1000)
        | hybrid.SplatComposer(),
    ) | hybrid.ArgMin()
    workflow = hybrid.Loop(iteration, max_iter=10**6, max_time=deadline, convergence=10**6)
    t0 = time.monotonic()
    state = workflow.run(hybrid.State.from_sample(hybrid.random_sample(bqm), bqm)).result()
    wall = time.monotonic() - t0
    return float(state.samples.first.energy), wall


def run_sa(bqm, deadline, seed):
    from qopt import SimulatedAnnealingSampler

    t0 = time.monotonic()
    best = np.inf
    k = 0
    while True:
        left = deadline - (time.monotonic() - t0)
        if left <= 0.01:
            break
        ss = SimulatedAnnealingSampler().sample(bqm, num_reads=2, num_sweeps=2000, num_threads=2, seed=seed + k,
                                                time_limit=left)
        best = min(best, float(ss.first.energy))
        k += 1
    return best, time.monotonic() - t0


class _Failing(dimod.Sampler):
    parameters = {}
    properties = {}

    def sample(self, bqm, **kw):
        raise ConnectionError("injected: backend down")


class _Hanging(dimod.Sampler):
    parameters = {}
    properties = {}
    release = threading.Event()

    def sample(self, bqm, **kw):  # ignores interrupt: the hybrid reports it in calls_not_stopped
        self.release.wait(600)
        raise RuntimeError("released")


def adherence(bqm, runs, quantum_backend):
    from qopt.hybrid.sampler import HybridSampler

    rows = []
    for state, sampler in (("healthy", None), ("failing", _Failing()), ("hanging", _Hanging())):
        for r in range(runs):
            t0 = time.monotonic()
            kwargs = {"quantum_sampler": sampler} if sampler is not None else {"quantum_backend": quantum_backend}
            ss = HybridSampler().sample(bqm, subproblem_size=12, time_limit=5.0, seed=r, **kwargs)
            wall = time.monotonic() - t0
            h = ss.info["hybrid"]
            rows.append({"state": state, "run": r, "wall_s": wall, "overrun_s": wall - 5.0,
                         "energy": float(ss.first.energy), "chain": len(ss.info["fallback_chain"]),
                         "breaker": "->".join(t["to"] for t in h["breaker"]["transitions"]) or "closed",
                         "longest_wait_s": h["longest_subproblem_wait_s"],
                         "calls_not_stopped": len(h["calls_not_stopped"])})
    _Hanging.release.set()
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="G1 and bqp250-1 only, 10 s deadline, 2 adherence runs")
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--subproblem-size", type=int, default=12)
    parser.add_argument("--quantum-backend", default="qaoa")
    parser.add_argument("--adherence-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--problems", default="1-10", help="bqp250 problems, e.g. 1-10 or 1,3 (quick: 1)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    if args.quick:
        args.deadline = min(args.deadline, 10.0)
        args.adherence_runs = min(args.adherence_runs, 2)
        args.problems = "1"
    problems = []
    for part in args.problems.split(","):
        lo, _, hi = part.partition("-")
        problems.extend(range(int(lo), int(hi or lo) + 1))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rows = []
    print(f"deadline {args.deadline:g} s, subproblems <= {args.subproblem_size} variables on {args.quantum_backend}")
    print(f"{'instance':<12} {'method':<14} {'objective':>10} {'best known':>10} {'gap %':>7} {'wall s':>7}  notes")
    for inst in instances(problems):
        bqm = inst.bqm
        e, wall, info = run_qopt_hybrid(bqm, args.deadline, args.subproblem_size, args.seed, args.quantum_backend)
        h = info["hybrid"]
        qva = info["quantum_value_added"]
        note = (f"subproblems {h['subproblems']}, improvements {h['improvements']}, "
                f"quantum gain {qva['quantum_energy_gain']:g} from {qva['quantum_improvements']} improvements, "
                f"warm-up {h['warm_up'].get('seconds', 0.0):.2f} s, breaker {h['breaker']['state']} after "
                f"{len(h['breaker']['transitions'])} transitions, stale {h['stale']}")
        results = [("qopt-hybrid", e, wall, note)]
        e, wall = run_kerberos(bqm, args.deadline, args.subproblem_size, args.seed)
        results.append(("kerberos-cls", e, wall, ""))
        e, wall = run_sa(bqm, args.deadline, args.seed)
        results.append(("qopt-sa", e, wall, ""))
        for method, energy, wall, note in results:
            obj = inst.to_objective(energy)
            gap = None if inst.best_known is None else 100.0 * abs(inst.best_known - obj) / abs(inst.best_known)
            rows.append({"instance": inst.name, "method": method, "objective": obj, "best_known": inst.best_known,
                         "gap_percent": gap, "wall_s": wall, "deadline_s": args.deadline, "notes": note})
            print(f"{inst.name:<12} {method:<14} {obj:>10g} {inst.best_known or float('nan'):>10g} "
                  f"{(gap if gap is not None else float('nan')):>7.3f} {wall:>7.2f}  {note}")
    with (out / "hybrid.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    from qopt.io import read_instance

    adh = adherence(read_instance("G1", format="gset").bqm, args.adherence_runs, args.quantum_backend)
    with (out / "hybrid_deadline.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(adh[0]))
        w.writeheader()
        w.writerows(adh)
    print("\ndeadline adherence (5 s deadline, G1):")
    for state in ("healthy", "failing", "hanging"):
        walls = [r["wall_s"] for r in adh if r["state"] == state]
        waits = [r["longest_wait_s"] for r in adh if r["state"] == state]
        breaker = [r["breaker"] for r in adh if r["state"] == state]
        print(f"  {state:<8} runs {len(walls)}  worst wall {max(walls):.3f} s  worst overrun "
              f"{max(walls) - 5.0:+.3f} s (limit: +0.25 s)  longest subproblem wait {max(waits):.3f} s  "
              f"breaker {breaker[0]}")
    plot(rows, adh, args.deadline, out, "hybrid_quick" if args.quick else "hybrid")
    return 0


def plot(rows: list[dict], adh: list[dict], deadline: float, out: pathlib.Path, stem: str) -> None:
    """Left: gap to the best-known objective (%) per instance, qopt hybrid beside dwave-hybrid Kerberos
    and plain qopt SA under one deadline. Right: wall time of each 5 s-deadline hybrid run per backend state."""
    plt = pyplot()
    if plt is None or not rows:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    ax = axes[0]
    names = list(dict.fromkeys(r["instance"] for r in rows))
    methods = [("qopt-hybrid", "qopt hybrid (QAOA subproblems)"), ("kerberos-cls", "dwave-hybrid Kerberos"),
               ("qopt-sa", "qopt SA restarts")]
    x = np.arange(len(names))
    for k, (m, label) in enumerate(methods):
        gaps = [next((r["gap_percent"] for r in rows if r["instance"] == nm and r["method"] == m), None)
                for nm in names]
        bars = ax.bar(x + (k - 1) * 0.27, [g if g is not None else np.nan for g in gaps], 0.27, label=label)
        ax.bar_label(bars, labels=[f"{g:.3f}%" if g is not None else "n/a" for g in gaps], fontsize=7)
    top = max((r["gap_percent"] or 0.0) for r in rows)
    ax.set_ylim(0, max(0.1, 1.4 * top))
    ax.set_xticks(x, names)
    ax.set_ylabel("gap to best known (%)")
    ax.set_title(f"Best objective under a {deadline:g} s deadline (lower is better)")
    ax.legend(fontsize=8)
    ax = axes[1]
    states = ["healthy", "failing", "hanging"]
    for k, st in enumerate(states):
        walls = [r["wall_s"] for r in adh if r["state"] == st]
        ax.scatter([k] * len(walls), walls, zorder=3)
    ax.axhline(5.0, color="k", ls="--", lw=1, label="deadline 5 s")
    ax.axhline(5.25, color="r", ls=":", lw=1, label="limit +0.25 s")
    ax.set_xticks(range(len(states)), [f"quantum backend {s}" for s in states])
    ax.set_ylabel("wall time of the hybrid run (s)")
    ax.set_title("Deadline adherence on G1")
    ax.legend(fontsize=8)
    save_figure(fig, out, stem)


if __name__ == "__main__":
    sys.exit(main())
