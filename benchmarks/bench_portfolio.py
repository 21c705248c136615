"""The exact classical backends side by side: HiGHS, CP-SAT and SCIP at a few deadlines, with
heuristics beside them when asked (``--others``): qopt's pipeline with ``backend="sa"`` or
``"auto"``, ``dimod.cqm_to_bqm`` + dwave-samplers SA, and qiskit-optimization's
``QuadraticProgramToQubo`` + dwave-samplers SA (both with their default penalties; SA reads
until 90% of the deadline).

Usage:
    python benchmarks/bench_portfolio.py [--quick] [--deadlines 1 5 30] [--others sa auto dimod_sa qiskit_sa]
                                         [--only NAME ...] [--data ../shared/data] [--out benchmarks/results]

For each instance and deadline, each backend runs once (``sample_cqm`` with ``time_limit`` = the
deadline; CP-SAT gets the TSP's declared structure, so it solves tours with ``add_circuit``). The
table gives the objective in the user's sense, its gap to the reference, the certified gap from
the backend's own dual bound, the status, feasibility, the wall time (for a proven optimum: the
time to the proof). The reference is the published best-known value (QKP, TSPLIB), a dynamic
program (knapsack), or the best proven optimum of the run (``run (proven)``), else the best
value any backend found (``run (best found, unproven)``).

Instances: generated knapsack n=50 and n=200, capacitated assignment 30x10, a dense
30-variable random BQM, Markowitz portfolios (20 assets with integer lots and cardinality 6; 30
assets, pick 10, cardinality limit 10), a 20x4 generalised assignment (loads, tight
capacities), a 60x5 multidimensional knapsack (all seeded); from the shared data: QKP
jeu_100_25_1, TSPLIB burma14, ulysses16, gr24 and dantzig42, Gset G1 and OR-Library bqp250-1
(as BQMs: energies, minimised). Deadlines 1, 5 and 30 s; every heuristic of ``--others``.
``--quick``: the 1 s and 5 s deadlines on :data:`QUICK` (one instance per class), the exact
backends with qopt ``sa`` and ``auto`` (about 3 minutes on 2 cores).

The ``auto_ratio`` column (on the ``auto`` rows) is ``auto``'s objective over the best of the
single backends (:data:`SINGLE`) at the same deadline; ``auto_shortfall`` is
``(best - auto) / max(1, |best|)`` in the user's sense (> 0: ``auto`` is worse);
``auto_vs_sa`` is the same shortfall against ``sa`` alone. ``deadline_kept`` says whether the
call returned within :func:`benchkit.deadline_tolerance` of the deadline (max(5%, 0.1 s)). The run ends
with a summary (:func:`summary`): per deadline, the cells where ``auto`` is within 0.1% of the
best single backend, those where it is not worse than ``sa`` by more than 0.1%, the deadlines
kept per backend, the instances CP-SAT or HiGHS proved that ``auto`` also proved, and the
constrained ``auto`` results with a certified gap.

Writes ``portfolio[_quick].csv`` and ``portfolio[_quick].png`` under ``--out``.
"""
from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time

import dimod
import numpy as np

import qopt
from benchkit import RESULTS, deadline_tolerance, pyplot, save_figure, shared_data, write_csv
from qopt.errors import UnsupportedProblem
from qopt.io.readers import read_instance
from qopt.model import assignment, knapsack, portfolio, read_qkp, read_tsplib
from qopt.model.problem import Problem
from qopt.samplers.registry import get_sampler_class

BACKENDS = ("highs", "cpsat", "scip")
#: the single backends ``auto`` is compared with: the exact ones and qopt's annealing path
SINGLE = (*BACKENDS, "sa")
#: ``auto`` counts as matching a backend when its shortfall is at most this (0.1%)
MATCH = 1e-3
#: ``--quick``: a handful of instances, one per class
QUICK = ("knapsack50", "gap20x4", "portfolio30card10", "mdknapsack60x5", "jeu_100_25_1", "burma14")


def knapsack_dp(values, weights, capacity: int) -> float:
    """The 0-1 knapsack optimum by dynamic programming over integer capacities."""
    best = np.zeros(capacity + 1)
    for v, w in zip(values, weights, strict=True):
        best[w:] = np.maximum(best[w:], best[:capacity + 1 - w] + v)
    return float(best[capacity])


def portfolio_instance(n: int, *, seed: int, budget: int, units: int, cardinality: int) -> Problem:
    """A seeded Markowitz portfolio (``templates.portfolio``): a 4-factor covariance plus
    idiosyncratic variance, returns in [0.02, 0.2], risk aversion 2, at most ``cardinality``
    assets held."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 4))
    sigma = np.round(factors @ factors.T / 4 + np.diag(rng.uniform(0.1, 0.5, n)), 2)
    mu = np.round(rng.uniform(0.02, 0.2, n), 3)
    problem, _ = portfolio(mu, sigma, risk_aversion=2.0, budget=budget, units=units, cardinality=cardinality)
    return problem


def gap_instance(tasks: int, machines: int, *, seed: int) -> Problem:
    """A seeded generalised assignment (``templates.assignment`` with loads and capacities):
    costs 1..99, loads 1..9, each machine's capacity 1.1 x its share of the total load."""
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 100, size=(tasks, machines))
    loads = rng.integers(1, 10, size=tasks)
    caps = np.full(machines, math.ceil(1.1 * loads.sum() / machines))
    problem, _ = assignment(costs, caps, loads)
    return problem


def mdknapsack_instance(n: int, rows: int, *, seed: int) -> Problem:
    """A seeded multidimensional knapsack: values 10..99, ``rows`` capacity rows of weights
    5..49, each capacity a third of its row's total weight (maximise)."""
    rng = np.random.default_rng(seed)
    values = rng.integers(10, 100, size=n)
    weights = rng.integers(5, 50, size=(rows, n))
    xs = [dimod.Binary(f"x_{i}") for i in range(n)]
    constraints = [(dimod.quicksum(float(weights[k, i]) * xs[i] for i in range(n)) <= float(weights[k].sum() // 3),
                    f"capacity_{k}") for k in range(rows)]
    return Problem.build(dimod.quicksum(float(values[i]) * xs[i] for i in range(n)), constraints, sense="max",
                         name=f"mdknapsack{n}x{rows}")


def generated():
    """(name, problem, reference or None, source) of the seeded instances."""
    out = []
    for n in (50, 200):
        rng = np.random.default_rng(n)
        values = rng.integers(10, 100, size=n)
        weights = rng.integers(5, 60, size=n)
        cap = int(weights.sum() // 2)
        problem, _ = knapsack(values, weights, cap)
        out.append((f"knapsack{n}", problem, knapsack_dp(values, weights, cap), "DP"))
    rng = np.random.default_rng(30)
    costs = rng.integers(1, 100, size=(30, 10))
    loads = rng.integers(1, 10, size=30)
    caps = np.full(10, math.ceil(1.2 * loads.sum() / 10))
    problem, _ = assignment(costs, caps, loads)
    out.append(("assignment30x10", problem, None, "run"))
    rng = np.random.default_rng(7)
    bqm = dimod.BQM("BINARY")
    for i in range(30):
        bqm.add_linear(i, float(rng.integers(-20, 21)))
    for i in range(30):
        for j in range(i + 1, 30):
            bqm.add_quadratic(i, j, float(rng.integers(-10, 11)))
    out.append(("bqm30dense", Problem.from_cqm(dimod.CQM.from_bqm(bqm), "min", name="bqm30dense"), None, "run"))
    # Markowitz with integer lots: products of integers (HiGHS refuses them; SCIP and CP-SAT take them)
    out.append(("portfolio20lots", portfolio_instance(20, seed=20, budget=12, units=3, cardinality=6), None, "run"))
    out.append(("portfolio30card10", portfolio_instance(30, seed=30, budget=10, units=1, cardinality=10),
                None, "run"))
    out.append(("gap20x4", gap_instance(20, 4, seed=24), None, "run"))
    out.append(("mdknapsack60x5", mdknapsack_instance(60, 5, seed=60), None, "run"))
    return out


def public(data: pathlib.Path | None):
    if data is None:
        return []
    import csv
    with open(data / "best_known.csv", newline="") as fh:
        known = {r["instance"]: float(r["best_known"]) for r in csv.DictReader(fh) if r["best_known"]}
    out = []
    problem, _ = read_qkp(data / "qkp" / "jeu_100_25_1.txt")
    out.append(("jeu_100_25_1", problem, known["jeu_100_25_1"], "best_known.csv"))
    for name in ("burma14", "ulysses16", "gr24", "dantzig42", "att48"):
        problem, _ = read_tsplib(data / "tsplib" / "tsp" / f"{name}.tsp")
        out.append((name, problem, known[name], "best_known.csv"))
    # unconstrained: energies of the BQM (minimised); the reference is the best-known energy
    for name, path, number in (("G1", "gset/G1.txt", None), ("bqp250-1", "orlib_bqp/bqp250.txt", 1)):
        inst = read_instance(data / path, problem=number, best_known=known[name])
        problem = Problem.from_cqm(dimod.CQM.from_bqm(inst.bqm), "min", name=name)
        out.append((name, problem, inst.best_known_energy, "best_known.csv (as energy)"))
    return out


def run_backend(name: str, problem: Problem, deadline: float) -> dict:
    """One run: objective (user's sense), certified gap, status, feasibility, wall seconds."""
    sampler = get_sampler_class(name)()
    t0 = time.perf_counter()
    try:
        ss = sampler.sample_cqm(problem.cqm, time_limit=deadline, structure=problem.structure, seed=1)
    except UnsupportedProblem as exc:
        return {"objective": None, "feasible": False, "bound": None, "certified_gap": None,
                "status": "unsupported", "wall_s": time.perf_counter() - t0, "solver": str(exc)[:60]}
    wall = time.perf_counter() - t0
    feasible = ss.record.is_feasible if len(ss) else np.zeros(0, bool)
    best = float(ss.record.energy[feasible].min()) if feasible.any() else None
    bound = float(ss.info["dual_bound"])
    sign = problem.sign
    return {"objective": None if best is None else sign * best, "feasible": best is not None,
            "bound": sign * bound if math.isfinite(bound) else None, "certified_gap": ss.info["gap"],
            "status": ss.info["status"], "wall_s": wall, "solver": ss.info["solver"]}


def _heuristic(objective, feasible: bool, wall: float, solver: str, certified=None) -> dict:
    return {"objective": objective if feasible else None, "feasible": feasible, "bound": None,
            "certified_gap": certified, "status": "heuristic", "wall_s": wall, "solver": solver}


def run_qopt(problem: Problem, deadline: float, backend: str) -> dict:
    """qopt's pipeline (``backend="sa"`` or ``"auto"``) under the same deadline (``time_budget``)."""
    t0 = time.perf_counter()
    result = qopt.solve(problem, backend=backend, time_budget=deadline, seed=1)
    wall = time.perf_counter() - t0
    best = next((c for c in result.candidates if c.feasible), None)
    routed = result.provenance.get("routing", {}).get("backend") or backend
    out = _heuristic(None if best is None else float(best.objective), best is not None, wall,
                     f"qopt {backend} ({routed})", result.confidence.get("gap"))
    if result.confidence.get("proven_optimal"):
        out["status"] = "optimal"
    return out


def _deadline_stop(deadline: float):
    end = time.monotonic() + deadline
    return lambda: time.monotonic() >= end


def _anneal(bqm: dimod.BinaryQuadraticModel, deadline: float) -> dimod.SampleSet:
    """dwave-samplers SA, reads until the deadline (its interrupt_function), seed 1."""
    from dwave.samplers import SimulatedAnnealingSampler
    return SimulatedAnnealingSampler().sample(bqm, num_reads=1000, num_sweeps=1000, seed=1,
                                              interrupt_function=_deadline_stop(0.9 * deadline))


def run_dimod_sa(problem: Problem, deadline: float) -> dict:
    """dimod.cqm_to_bqm (its default Lagrange multiplier) + dwave-samplers SA."""
    t0 = time.perf_counter()
    cqm = problem.cqm
    if any(cqm.vartype(v) is dimod.SPIN for v in cqm.variables):
        cqm = cqm.spin_to_binary(inplace=False)  # cqm_to_bqm takes no SPIN variables
    bqm, invert = dimod.cqm_to_bqm(cqm)
    ss = _anneal(bqm, deadline)
    best = None
    for sample in ss.truncate(min(len(ss), 100)).samples():  # the 100 lowest energies
        x = invert(sample)
        if cqm.check_feasible(x):
            value = problem.sign * float(cqm.objective.energy(x))
            if best is None or problem.sign * value < problem.sign * best:
                best = value
    return _heuristic(best, best is not None, time.perf_counter() - t0, "dimod.cqm_to_bqm + dwave-samplers SA")


def run_qiskit_sa(problem: Problem, deadline: float) -> dict:
    """qiskit-optimization's QuadraticProgramToQubo (its default penalty) + dwave-samplers SA."""
    from qiskit_optimization.converters import QuadraticProgramToQubo

    from qopt.model import to_quadratic_program
    t0 = time.perf_counter()
    qp = to_quadratic_program(problem)
    converter = QuadraticProgramToQubo()
    qubo = converter.convert(qp)
    sign = 1.0 if qubo.objective.sense.name == "MINIMIZE" else -1.0
    n = qubo.get_num_vars()
    lin = qubo.objective.linear.to_array()
    quad = qubo.objective.quadratic.to_dict()
    bqm = dimod.BQM({i: sign * float(lin[i]) for i in range(n)},
                    {(int(i), int(j)) if i != j else (int(i), int(i)): sign * float(b)
                     for (i, j), b in quad.items() if i != j}, sign * float(qubo.objective.constant), "BINARY")
    for (i, j), b in quad.items():
        if i == j:
            bqm.add_linear(int(i), sign * float(b))
    ss = _anneal(bqm, deadline)
    best = None
    for row in ss.truncate(min(len(ss), 100)).record.sample:  # the 100 lowest energies
        x = converter.interpret(np.asarray(row[[ss.variables.index(i) for i in range(n)]], dtype=float))
        if qp.is_feasible(x):
            value = float(qp.objective.evaluate(x))
            if best is None or problem.sign * value < problem.sign * best:
                best = value
    return _heuristic(best, best is not None, time.perf_counter() - t0,
                      "qiskit-optimization QuadraticProgramToQubo + dwave-samplers SA")


OTHERS = {"sa": lambda p, d: run_qopt(p, d, "sa"), "auto": lambda p, d: run_qopt(p, d, "auto"),
          "dimod_sa": run_dimod_sa, "qiskit_sa": run_qiskit_sa}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--deadlines", type=float, nargs="+", default=None)
    ap.add_argument("--others", nargs="*", default=None, choices=sorted(OTHERS),
                    help="heuristics beside the exact backends: qopt sa / auto, dimod cqm_to_bqm + SA, qiskit "
                         "QuadraticProgramToQubo + SA (default: sa auto with --quick, all four otherwise)")
    ap.add_argument("--only", nargs="+", default=None, help="run only these instances")
    ap.add_argument("--data", type=pathlib.Path, default=None)
    ap.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = ap.parse_args(argv)
    deadlines = args.deadlines or ([1.0, 5.0] if args.quick else [1.0, 5.0, 30.0])
    others = args.others if args.others is not None else (["sa", "auto"] if args.quick else sorted(OTHERS))
    instances = generated() + public(shared_data(args.data))
    only = args.only or (QUICK if args.quick else None)
    if only:
        instances = [i for i in instances if i[0] in only]
    rows = []
    for name, problem, reference, source in instances:
        for deadline in deadlines:
            results = {b: run_backend(b, problem, deadline) for b in BACKENDS}
            for other in others:
                results[other] = OTHERS[other](problem, deadline)
            ref, src = reference, source
            if ref is None:  # the best proven optimum of the run, else the best value found
                pick = max if problem.sense == "max" else min
                proven = [r["objective"] for r in results.values() if r["status"] == "optimal"]
                found = [r["objective"] for r in results.values() if r["objective"] is not None]
                ref = pick(proven) if proven else (pick(found) if found else None)
                src = "run (proven)" if proven else "run (best found, unproven)"
            ratio, shortfall = auto_versus_best_single(results, problem.sense)
            _, versus_sa = auto_versus_best_single(results, problem.sense, single=("sa",))
            for backend, r in results.items():
                gap = None
                if ref is not None and r["objective"] is not None:
                    gap = abs(r["objective"] - ref) / max(1.0, abs(ref))
                rows.append({"instance": name, "deadline_s": deadline, "backend": backend, "sense": problem.sense,
                             "objective": r["objective"], "reference": ref, "reference_source": src,
                             "gap_to_reference": gap, "bound": r["bound"], "certified_gap": r["certified_gap"],
                             "status": r["status"], "feasible": r["feasible"], "wall_s": round(r["wall_s"], 3),
                             "auto_ratio": ratio if backend == "auto" else None,
                             "auto_shortfall": shortfall if backend == "auto" else None,
                             "auto_vs_sa": versus_sa if backend == "auto" else None,
                             "deadline_kept": r["wall_s"] <= deadline + deadline_tolerance(deadline),
                             "solver": r["solver"]})
                print(_line(rows[-1]), flush=True)
    suffix = "_quick" if args.quick else ""
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, args.out / f"portfolio{suffix}.csv")
    _plot(rows, args.out, f"portfolio{suffix}")
    print("\n".join(summary(rows)))
    print("\n".join(markdown(rows)))
    return 0


def _cell(r: dict) -> str:
    """One backend's result in a table cell: **opt** (time to the proof), none, or the gap to the
    reference with the certified gap, then the wall seconds; "late" when the deadline was missed."""
    late = "" if r["deadline_kept"] else ", late"
    if r["status"] == "unsupported":
        return "unsupported"
    if r["objective"] is None:
        return f"none ({r['wall_s']:.2f} s{late})"
    if r["status"] == "optimal":
        return f"**opt** {r['wall_s']:.2f} s{late}"
    gap = "-" if r["gap_to_reference"] is None else f"{100 * r['gap_to_reference']:.3f}%"
    cert = r["certified_gap"]
    cert = "" if cert is None or not math.isfinite(cert) else f", cert. {100 * cert:.1f}%"
    return f"{gap}{cert} ({r['wall_s']:.2f} s{late})"


def markdown(rows: list[dict]) -> list[str]:
    """The run as markdown tables, one per deadline: a cell per backend (:func:`_cell`) and, with
    ``auto``, its objective over the best single backend's and its shortfall."""
    out = []
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    for deadline in sorted({r["deadline_s"] for r in rows}):
        at = [r for r in rows if r["deadline_s"] == deadline]
        out += ["", f"At {deadline:g} s:", "",
                "| instance (reference) | " + " | ".join(backends) + " | auto / best single |",
                "|---|" + "---|" * (len(backends) + 1)]
        for inst in dict.fromkeys(r["instance"] for r in at):
            mine = {r["backend"]: r for r in at if r["instance"] == inst}
            first = next(iter(mine.values()))
            ref = "-" if first["reference"] is None else format(first["reference"], ".4g")
            auto = mine.get("auto")
            if auto is None or auto["auto_shortfall"] is None:
                versus = "-"
            elif not math.isfinite(auto["auto_shortfall"]):
                versus = "no feasible answer"
            else:
                ratio = "-" if auto["auto_ratio"] is None else f"{auto['auto_ratio']:.4f}"
                versus = f"{ratio} (shortfall {100 * auto['auto_shortfall']:.3f}%)"
            cells = [_cell(mine[b]) if b in mine else "-" for b in backends]
            out.append(f"| {inst} ({ref}) | " + " | ".join(cells) + f" | {versus} |")
    return out


def summary(rows: list[dict]) -> list[str]:
    """The run's targets in lines, per deadline (see the module docstring)."""
    out = []
    for deadline in sorted({r["deadline_s"] for r in rows}):
        at = [r for r in rows if r["deadline_s"] == deadline]
        auto = [r for r in at if r["backend"] == "auto"]
        line = f"at {deadline:g} s:"
        if auto:
            matched = [r for r in auto if r["auto_shortfall"] is not None and r["auto_shortfall"] <= MATCH]
            judged = [r for r in auto if r["auto_shortfall"] is not None]
            line += f" auto within 0.1% of the best single backend on {len(matched)} of {len(judged)}"
            behind = [r["instance"] for r in judged if r not in matched]
            line += f" (not: {', '.join(behind)})" if behind else ""
            versus = [r for r in auto if r["auto_vs_sa"] is not None]
            ok = [r for r in versus if r["auto_vs_sa"] <= MATCH]
            line += f"; not worse than sa by more than 0.1% on {len(ok)} of {len(versus)}"
            proved = {r["instance"] for r in at if r["backend"] in ("cpsat", "highs") and r["status"] == "optimal"}
            auto_proved = {r["instance"] for r in auto if r["status"] == "optimal"}
            line += f"; proven optimal on {len(proved & auto_proved)} of the {len(proved)} CP-SAT or HiGHS proved"
            missing = sorted(proved - auto_proved)
            line += f" (not: {', '.join(missing)})" if missing else ""
            certified = [r for r in auto if r["certified_gap"] is not None and math.isfinite(r["certified_gap"])]
            line += f"; certified gap on {len(certified)} of {len(auto)}"
        out.append(line)
        for backend in sorted({r["backend"] for r in at}):
            mine = [r for r in at if r["backend"] == backend]
            late = [f"{r['instance']} {r['wall_s']:.2f} s" for r in mine if not r["deadline_kept"]]
            out.append(f"  {backend}: deadline kept on {len(mine) - len(late)} of {len(mine)}"
                       + (f" (late: {', '.join(late)})" if late else ""))
    return out


def auto_versus_best_single(results: dict, sense: str, single=SINGLE) -> tuple[float | None, float | None]:
    """``auto``'s objective over the best single backend's (``single``, default :data:`SINGLE`,
    same deadline), and its shortfall ``(best - auto) / max(1, |best|)`` in the user's sense
    (> 0: auto is worse, ``inf`` when auto found nothing feasible and a single backend did);
    None without both."""
    auto = results.get("auto")
    found = [results[b]["objective"] for b in single if b in results and results[b]["objective"] is not None]
    if auto is None or not found:
        return None, None
    best = max(found) if sense == "max" else min(found)
    if auto["objective"] is None:
        return None, math.inf
    a = auto["objective"]
    ratio = a / best if best else (1.0 if a == best else None)
    worse = (best - a) if sense == "max" else (a - best)
    return ratio, worse / max(1.0, abs(best))


def _fmt(x, spec=".4g"):
    return "-" if x is None else format(x, spec)


def _line(r: dict) -> str:
    gap = None if r["gap_to_reference"] is None else 100 * r["gap_to_reference"]
    cert = r["certified_gap"]
    cert = None if cert is None or not math.isfinite(cert) else 100 * cert
    return (f"| {r['instance']} | {r['deadline_s']:g} | {r['backend']} | {_fmt(r['objective'])} | "
            f"{_fmt(r['reference'])} | {_fmt(gap, '.3f')}% | {_fmt(cert, '.3f')}% | {r['status']} | "
            f"{r['feasible']} | {r['wall_s']:.2f} | {_fmt(r.get('auto_ratio'), '.4f')} |")


def _plot(rows, out: pathlib.Path, stem: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(9, 4))
    instances = sorted({r["instance"] for r in rows})
    backends = sorted({r["backend"] for r in rows})
    deadline = max(r["deadline_s"] for r in rows)
    width = 0.8 / max(1, len(backends))
    for k, b in enumerate(backends):
        gaps = []
        for inst in instances:
            r = next((r for r in rows if r["instance"] == inst and r["backend"] == b and r["deadline_s"] == deadline),
                     None)
            g = None if r is None else r["gap_to_reference"]
            gaps.append(100 * g if g is not None else np.nan)
        ax.bar(np.arange(len(instances)) + k * width, gaps, width, label=b)
    ax.set_xticks(np.arange(len(instances)) + 0.4 - width / 2, instances, rotation=30, ha="right")
    ax.set_ylabel(f"gap to reference at {deadline:g} s (%)")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out, stem)


if __name__ == "__main__":
    sys.exit(main())
