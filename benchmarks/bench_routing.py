"""The routing profile: every backend's quality at a few deadlines, per problem class, measured here.

Usage:
    python benchmarks/bench_routing.py [--quick] [--write PATH] [--data ../shared/data] [--out benchmarks/results]
                                       [--backends sa exact ...] [--deadlines 0.1 1 5]
                                       [--classes KEY ... --update PROFILE]   # re-measure some classes only

For each problem class (:mod:`qopt.solve.profile`: BQM or constrained, constraint kinds
none / one-hot / equality / inequality, linear or quadratic terms for a constrained model, a
size bucket, and the template, vartype, density and
sign structure), on public instances (``--data``: Gset, OR-Library bqp, Biq Mac, QKP, TSPLIB; the
few shipped in ``qopt/data`` without it) and seeded generators (``dimod.generators.ran_r``,
``qopt.model`` templates), it runs ``qopt.solve(problem, backend=B, time_budget=T,
fallback=False)`` for each backend B that applies (sa; exact up to
``EXACT_ROUTE_MAX_VARIABLES`` variables; qaoa on BQMs up to :data:`QAOA_MEASURE_MAX`
variables; the hybrid with QAOA subproblems on BQMs above 30 variables at deadlines of 1 s or
more; highs, cpsat, scip and race wherever they are registered) and each deadline T, and
records the answer (the best feasible candidate's objective, else its energy), whether it was
proven optimal, and the wall time. Per class, deadline and backend the profile holds the median
relative gap |answer - best| / max(1, |best|) to the best answer any backend found in the run
or the published best-known value, whichever is better; the success rate (a feasible answer
within max(5%, 0.1 s) of the deadline); the proven-optimal rate; and the median seconds used.
It records the machine, date, library versions, command and duration.

``--write PATH`` writes the profile JSON there (the shipped one is
``python/qopt/data/routing_profile.json``); ``QOPT_ROUTING_PROFILE=PATH`` makes ``backend="auto"``
use it. Writes ``routing[_quick].csv`` (one row per run) and ``routing[_quick].png`` under ``--out``.
``--quick`` (one instance per class, deadlines 0.1 and 1 s) takes about 3 minutes on 2 cores;
the full run (up to five per class, deadlines 0.1, 1 and 5 s) about 23 minutes at load 4-5.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import pathlib
import platform
import shlex
import statistics
import sys
import time

import dimod
import numpy as np

import qopt
from benchkit import RESULTS, deadline_tolerance, pyplot, save_figure, shared_data, shipped_data, write_csv
from qopt.io import read_instance
from qopt.model import Problem, assignment, knapsack, portfolio, quadratic_knapsack, read_qkp, read_tsplib, tsp
from qopt.provenance import library_versions
from qopt.samplers.limits import EXACT_ROUTE_MAX_VARIABLES
from qopt.samplers.registry import backend_names, parameter_spec
from qopt.solve.profile import FORMAT, class_key, problem_features, validate_profile
from qopt.solve.routing import choose_backend

QAOA_MEASURE_MAX = 16      # QAOA above this takes longer than the longest deadline (22 variables: 13 s)
HYBRID_MIN_VARIABLES = 31  # below, the whole model fits one subproblem
CQM_EXACT_MAX = 12         # constrained models grow with slacks when compiled
BACKENDS = ("sa", "exact", "qaoa", "hybrid", "highs", "cpsat", "scip", "race")
MAX_PER_CLASS = 5          # instances measured per class (the first of each with --quick)


class Case:
    """One instance: a BQM (``value`` is its energy, or the file's objective) or a constrained Problem."""

    def __init__(self, name: str, model, *, best_known: float | None = None, sense: str = "min",
                 to_objective=None):
        self.name, self.model, self.best_known, self.sense = name, model, best_known, sense
        self.to_objective = to_objective
        self.constrained = not isinstance(model, dimod.BinaryQuadraticModel)
        bqm = None if self.constrained else model
        self.features = problem_features(bqm, problem=model if self.constrained else None)
        if self.constrained and self.features["kind"] == "bqm":
            raise ValueError(f"{name}: a constrained case needs constraints")

    def value(self, result) -> float | None:
        """The answer in the case's own sense and units; None without a feasible candidate."""
        for c in result.candidates:
            if self.constrained:
                if c.feasible:
                    return float(c.objective)
                continue
            return float(self.to_objective(c.energy)) if self.to_objective else float(c.energy)
        return None


# --------------------------------------------------------------------------- instances
def _instance(path, name=None, problem=None) -> Case:
    inst = read_instance(path, problem=problem)
    return Case(name or inst.name, inst.bqm, best_known=inst.best_known, sense=inst.sense,
                to_objective=inst.to_objective)


def _ran_r(n: int, seed: int) -> Case:
    return Case(f"ran_r-{n}-s{seed}", dimod.generators.ran_r(1, n, seed=seed))


def _knapsack(n: int, seed: int, quadratic: bool = False) -> Case:
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 50, n).astype(float)
    p = rng.integers(1, 100, n).astype(float)
    if quadratic:
        q = np.triu(rng.integers(0, 100, (n, n)) * (rng.random((n, n)) < 0.5), 1).astype(float)
        prob, _ = quadratic_knapsack(p, q + q.T, w, float(w.sum() / 2))
        return Case(f"qkp-gen-{n}-s{seed}", prob, sense="max")
    prob, _ = knapsack(p, w, float(w.sum() / 2))
    return Case(f"knapsack-{n}-s{seed}", prob, sense="max")


def _assignment(t: int, m: int, seed: int, capacitated: bool) -> Case:
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 100, (t, m)).astype(float)
    if capacitated:
        loads = rng.integers(1, 10, t).astype(float)
        prob, _ = assignment(costs, np.full(m, np.ceil(1.3 * loads.sum() / m)), loads)
        return Case(f"gap-{t}x{m}-s{seed}", prob)
    prob, _ = assignment(costs)
    return Case(f"assignment-{t}x{m}-s{seed}", prob)


def _tsp(n: int, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 100
    d = np.rint(np.linalg.norm(xy[:, None] - xy[None], axis=-1))
    prob, _ = tsp(d)
    return Case(f"tsp-gen-{n}-s{seed}", prob)


def _portfolio(n: int, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n)) / np.sqrt(n)
    prob, _ = portfolio(rng.normal(0.1, 0.05, n), a @ a.T * 0.1, budget=max(2, n // 4))
    return Case(f"portfolio-{n}-s{seed}", prob, sense="max")


def _portfolio_factor(n: int, seed: int, budget: int) -> Case:
    """A 4-factor Markowitz portfolio, pick ``budget`` of ``n`` (the generator of
    ``bench_portfolio.portfolio_instance``, other seeds)."""
    from bench_portfolio import portfolio_instance

    prob = portfolio_instance(n, seed=seed, budget=budget, units=1, cardinality=budget)
    return Case(f"portfolio-factor-{n}-s{seed}", prob, sense="max")


def _mdknapsack(n: int, rows: int, seed: int) -> Case:
    """bench_portfolio's multidimensional knapsack generator, other seeds."""
    from bench_portfolio import mdknapsack_instance

    return Case(f"mdknapsack-{n}x{rows}-s{seed}", mdknapsack_instance(n, rows, seed=seed), sense="max")


def _portfolio_lots(n: int, seed: int, budget: int, cardinality: int) -> Case:
    """bench_portfolio's 4-factor portfolio in integer lots of up to 3 units (integer variables)."""
    from bench_portfolio import portfolio_instance

    prob = portfolio_instance(n, seed=seed, budget=budget, units=3, cardinality=cardinality)
    return Case(f"portfolio-lots-{n}-s{seed}", prob, sense="max")


def _balanced(t: int, m: int, seed: int) -> Case:
    """A balanced assignment: each of ``t`` jobs to one of ``m`` machines, each machine exactly its
    share of the jobs (``t // m`` or one more), costs 1..99 (linear objective, equality constraints)."""
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 100, (t, m))
    x = {(i, k): dimod.Binary(f"x_{i}_{k}") for i in range(t) for k in range(m)}
    share = [t // m + (k < t % m) for k in range(m)]
    constraints = [(dimod.quicksum(x[i, k] for k in range(m)) == 1, f"job_{i}") for i in range(t)]
    constraints += [(dimod.quicksum(x[i, k] for i in range(t)) == share[k], f"machine_{k}") for k in range(m)]
    objective = dimod.quicksum(float(costs[i, k]) * x[i, k] for i in range(t) for k in range(m))
    return Case(f"balanced-{t}x{m}-s{seed}", Problem.build(objective, constraints, name=f"balanced-{t}x{m}-s{seed}"))


def _read(reader, path: pathlib.Path, bk: dict) -> Case:
    prob, _ = reader(path)
    name = prob.name or path.stem
    return Case(name, prob, best_known=bk.get(name, bk.get(path.stem)), sense=prob.sense)


def _best_known(data: pathlib.Path | None) -> dict:
    if data is None or not (data / "best_known.csv").is_file():
        return {}
    with open(data / "best_known.csv") as f:
        return {r["instance"]: float(r["best_known"]) for r in csv.DictReader(f) if r["best_known"]}


def cases(data: pathlib.Path | None, quick: bool) -> list[Case]:
    """The instances, grouped so that each class the router can produce has some (see --quick)."""
    bk = _best_known(data)
    ship = shipped_data()
    out: list[list[Case]] = []  # one list per class; --quick takes the first of each
    out.append([_ran_r(12, 2), _ran_r(16, 1), _ran_r(18, 4)])
    out.append([_ran_r(22, 3), _ran_r(24, 5), _ran_r(28, 6)])
    out.append([_instance(ship / "bqp50.txt", "bqp50-1"), _instance(ship / "gka1a.sparse"), _ran_r(64, 7)])
    out.append([_instance(ship / "G1.txt")])
    out.append([Case("gnm-3000-9000-s8", dimod.generators.gnm_random_bqm(3000, 9000, "SPIN", random_state=8)),
                Case("gnm-2500-7500-s9", dimod.generators.gnm_random_bqm(2500, 7500, "SPIN", random_state=9))])
    if data is not None:
        out[0] += [_instance(data / "biqmac/gka/gka1b.sparse")]
        out[1] += [_instance(data / "biqmac/gka/gka2b.sparse"), _instance(data / "biqmac/gka/gka6a.sparse")]
        out[2] += [_instance(data / "orlib_bqp/bqp100.txt", "bqp100-1"), _instance(data / "biqmac/be/be100.1.sparse")]
        out[3] += [_instance(data / "orlib_bqp/bqp250.txt", "bqp250-1"), _instance(data / "gset/G14.txt")]
        out[4] = [_instance(data / "gset/G55.txt")] + out[4]
    # constrained: constraint kind (inequality, one-hot, equality) x terms (linear, quadratic) x sizes
    # 1-30, 31-200, 201+; each class on at least 3 instances (routing.MIN_CLASS_INSTANCES: fewer do not
    # decide). Generators with other seeds than bench_portfolio's instances, so that it tests the profile.
    ineq_linear = [[_knapsack(20, 1), _assignment(6, 4, 18, capacitated=True), _mdknapsack(24, 3, 31)],
                   [_knapsack(50, 3), _knapsack(150, 4), _assignment(20, 4, 32, capacitated=True),
                    _mdknapsack(60, 5, 33)],
                   [_knapsack(300, 5), _assignment(30, 10, 6, capacitated=True), _mdknapsack(250, 5, 34)]]
    ineq_quadratic = [[_knapsack(24, 2, quadratic=True), _knapsack(20, 35, quadratic=True),
                       _knapsack(28, 36, quadratic=True)],
                      [_knapsack(60, 37, quadratic=True), _knapsack(120, 38, quadratic=True),
                       _knapsack(90, 39, quadratic=True)],
                      [_knapsack(240, 16, quadratic=True), _knapsack(220, 40, quadratic=True),
                       _knapsack(260, 41, quadratic=True)]]
    # integer lots in a quadratic model: its own class beside the binary ones of the same key
    lots = [[_portfolio_lots(20, 42, 12, 6), _portfolio_lots(30, 43, 15, 8), _portfolio_lots(50, 44, 20, 10)]]
    onehot_linear = [[_assignment(5, 4, 7, capacitated=False), _assignment(6, 4, 26, capacitated=False),
                      _assignment(5, 5, 27, capacitated=False)],
                     [_assignment(10, 5, 10, capacitated=False), _assignment(12, 8, 28, capacitated=False),
                      _assignment(15, 10, 29, capacitated=False)],
                     [_assignment(30, 10, 12, capacitated=False), _assignment(25, 10, 30, capacitated=False),
                      _assignment(40, 6, 45, capacitated=False)]]
    onehot_quadratic = [[_tsp(5, 8), _tsp(6, 19), _tsp(6, 46)],
                        [_tsp(10, 9), _tsp(12, 47), _tsp(14, 48)],
                        [_tsp(16, 11), _tsp(20, 49), _tsp(24, 50)]]
    equal_linear = [[_balanced(6, 3, 51), _balanced(5, 4, 52), _balanced(7, 4, 53)],
                    [_balanced(10, 5, 54), _balanced(12, 8, 55), _balanced(20, 6, 56)],
                    [_balanced(24, 10, 57), _balanced(30, 10, 58), _balanced(40, 6, 59)]]
    equal = [[_portfolio(20, 13), _portfolio(24, 20), _portfolio_factor(28, 21, 8), _portfolio_factor(30, 60, 10),
              _portfolio_factor(26, 61, 7)],
             [_portfolio(60, 14), _portfolio(40, 22), _portfolio_factor(80, 23, 15)],
             [_portfolio(220, 15), _portfolio(240, 24), _portfolio_factor(210, 25, 30)]]
    if data is not None:
        qkp = data / "qkp"
        ineq_quadratic[1] = [_read(read_qkp, qkp / "jeu_100_25_1.txt", bk), _read(read_qkp, qkp / "jeu_200_25_1.txt", bk)] \
            + ineq_quadratic[1]
        tsplib = data / "tsplib/tsp"
        onehot_quadratic[1] = [_read(read_tsplib, tsplib / "burma14.tsp", bk)] + onehot_quadratic[1]
        onehot_quadratic[2] = [_read(read_tsplib, tsplib / "ulysses16.tsp", bk), _read(read_tsplib, tsplib / "gr24.tsp", bk)] \
            + onehot_quadratic[2]
    out += ineq_linear + ineq_quadratic + lots + onehot_linear + onehot_quadratic + equal_linear + equal
    picked = [group[:1] if quick else group[:MAX_PER_CLASS] for group in out]
    return [c for group in picked for c in group]


def class_group(features) -> str:
    """The class a case is measured in: its key (:func:`qopt.solve.profile.class_key`), and apart
    from the binary models of that key, the models with integer variables (the router picks the
    nearest of two classes of one key by their secondary features, vartype among them)."""
    key = class_key(features)
    return key if features.get("vartype") in ("BINARY", "SPIN") else f"{key} ({features.get('vartype')})"


# --------------------------------------------------------------------------- running
def applicable(backend: str, case: Case, deadline: float) -> bool:
    n = case.features["num_variables"]
    if backend == "exact":
        return n <= (CQM_EXACT_MAX if case.constrained else EXACT_ROUTE_MAX_VARIABLES)
    if backend == "qaoa":
        return not case.constrained and n <= QAOA_MEASURE_MAX
    if backend == "hybrid":
        return not case.constrained and n >= HYBRID_MIN_VARIABLES and deadline >= 1.0
    return True


def run_one(case: Case, backend: str, deadline: float, seed: int) -> dict:
    spec = parameter_spec(backend)
    params = {"seed": seed} if "seed" in spec else {}
    t0 = time.perf_counter()
    error = None
    value = proven = None
    try:
        result = qopt.solve(case.model, backend=backend, time_budget=deadline, fallback=False, **params)
        value = case.value(result)
        proven = bool(result.confidence.get("proven_optimal"))
        racers = ((result.provenance.get("backend_info") or {}).get("race") or {}).get("racers") or []
    except Exception as exc:  # noqa: BLE001 - a failed backend is a measurement (no answer)
        error, racers = f"{type(exc).__name__}: {exc}"[:200], []
    seconds = time.perf_counter() - t0
    racers = [r.get("backend") if isinstance(r, dict) else r for r in racers]
    return {"class": class_group(case.features), "instance": case.name, "backend": backend, "deadline": deadline,
            "seed": seed, "value": value, "proven": proven, "seconds": seconds, "error": error,
            "racers": [r for r in racers if isinstance(r, str)],
            "in_time": seconds <= deadline + deadline_tolerance(deadline)}


def warm_up(backends: list[str]) -> None:
    """One untimed call per backend on a small model (imports, first compilation), so the first
    measured run does not pay for them."""
    bqm = dimod.generators.ran_r(1, 8, seed=0)
    for b in backends:
        try:
            run_one(Case("warm-up", bqm), b, 1.0, 0)
        except Exception:  # noqa: BLE001 - the measured runs report failures
            pass


def gaps(rows: list[dict], by_case: dict[str, Case]) -> None:
    """Set each row's ``gap`` to the best answer any backend found on its instance, or best-known."""
    for name, case in by_case.items():
        values = [r["value"] for r in rows if r["instance"] == name and r["value"] is not None]
        if case.best_known is not None:
            values.append(case.best_known)
        if not values:
            continue
        best = max(values) if case.sense == "max" else min(values)
        for r in rows:
            if r["instance"] == name:
                r["best"] = best
                r["gap"] = None if r["value"] is None else abs(r["value"] - best) / max(1.0, abs(best))


def _median_gap(gs: list[float | None]) -> float | None:
    """Median of the gaps, a run without a feasible answer counting as infinite; None when that
    median is infinite (half the runs or more gave no feasible answer)."""
    median = statistics.median(float("inf") if g is None else g for g in gs)
    return float(median) if math.isfinite(median) else None


def _worst_gap(gs: list[float | None]) -> float | None:
    """The largest gap; None when some run gave no feasible answer."""
    return None if any(g is None for g in gs) else float(max(gs, default=0.0))


def profile(rows: list[dict], cases_: list[Case], deadlines: list[float], command: str, duration: float) -> dict:
    classes = []
    for group in dict.fromkeys(class_group(c.features) for c in cases_):
        members = [c for c in cases_ if class_group(c.features) == group]
        key = class_key(members[0].features)
        feats = dict(members[0].features)
        feats["num_variables"] = int(statistics.median(c.features["num_variables"] for c in members))
        templates = {c.features.get("template") for c in members}
        feats["template"] = templates.pop() if len(templates) == 1 else None
        results: dict[str, dict] = {}
        for d in deadlines:
            col = {}
            for b in dict.fromkeys(r["backend"] for r in rows):
                rs = [r for r in rows if r["class"] == group and r["backend"] == b and r["deadline"] == d]
                if not rs:
                    continue
                m = {"runs": len(rs), "median_gap": _median_gap([r.get("gap") for r in rs]),
                     "worst_gap": _worst_gap([r.get("gap") for r in rs]),
                     "success_rate": sum(r["in_time"] and r["value"] is not None for r in rs) / len(rs),
                     "proven_rate": sum(bool(r["proven"]) for r in rs) / len(rs),
                     "median_seconds": round(float(statistics.median(r["seconds"] for r in rs)), 4)}
                racers = next((r["racers"] for r in rs if r["racers"]), None)
                if racers:
                    m["racers"] = racers
                col[b] = m
            if col:
                results[f"{d:g}"] = col
        if results:
            classes.append({"key": key, "features": feats, "instances": [c.name for c in members],
                            "results": results})
    return {"format": FORMAT, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                        "cpu_count": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
            "versions": {"python": platform.python_version(), **library_versions()},
            "command": command, "duration_s": round(duration, 1), "deadlines": deadlines, "classes": classes}


def _group_of(c: dict) -> str:
    return class_group(c["features"])


def updated(base: dict, new: dict) -> dict:
    """``base`` with the classes measured in ``new`` replaced (or added); the update recorded in
    ``base["updates"]`` (its command, date, duration, load and classes)."""
    if base.get("format") != new["format"] or sorted(base.get("deadlines", [])) != sorted(new["deadlines"]):
        raise SystemExit("--update: the profile's format or deadlines differ from this run's")
    fresh = {_group_of(c): c for c in new["classes"]}
    classes = [fresh.pop(_group_of(c), c) for c in base["classes"]] + list(fresh.values())
    record = {k: new[k] for k in ("created", "command", "duration_s")}
    record.update(load_average=new["machine"]["load_average"], classes=[_group_of(c) for c in new["classes"]])
    return {**base, "classes": classes, "updates": [*base.get("updates", []), record]}


def picks(doc: dict) -> str:
    """What ``auto`` chooses per class and deadline from this profile (above 16 variables; every
    measured backend counted as available, D-Wave not)."""
    profile = validate_profile(doc, "bench_routing output")
    avail = {b: True for c in profile.classes for col in c.results.values() for b in col}
    lines = ["| class | " + " | ".join(f"{d:g} s" for d in profile.deadlines) + " |",
             "|---|" + "---|" * len(profile.deadlines)]
    for c in profile.classes:
        n = max(17, int(c.features.get("num_variables") or 17))
        cells = [choose_backend(n, n, time_limit=d, features=c.features, profile=profile,
                                available={**avail, "dwave": False}).backend for d in profile.deadlines]
        lines.append(f"| {class_group(c.features)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(doc: dict) -> str:
    lines = ["| class | deadline s | backend | runs | median gap | in time | proven | median s |",
             "|---|---|---|---|---|---|---|---|"]
    for c in doc["classes"]:
        for d, col in c["results"].items():
            for b, m in sorted(col.items(), key=lambda kv: (kv[1]["median_gap"] is None, kv[1]["median_gap"] or 0)):
                gap = "-" if m["median_gap"] is None else f"{100 * m['median_gap']:.2f}%"
                lines.append(f"| {_group_of(c)} | {d} | {b} | {m['runs']} | {gap} | {100 * m['success_rate']:.0f}% | "
                             f"{100 * m['proven_rate']:.0f}% | {m['median_seconds']:.3g} |")
    return "\n".join(lines)


def plot(doc: dict, out: pathlib.Path, stem: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    backends = sorted({b for c in doc["classes"] for col in c["results"].values() for b in col})
    deadline = f"{doc['deadlines'][-1]:g}"
    keys = [_group_of(c) for c in doc["classes"]]
    fig, ax = plt.subplots(figsize=(13, 5))
    width = 0.8 / max(1, len(backends))
    for i, b in enumerate(backends):
        ys = []
        for c in doc["classes"]:
            m = c["results"].get(deadline, {}).get(b)
            ys.append(np.nan if m is None else (100.0 if m["median_gap"] is None else 100 * m["median_gap"]))
        ax.bar(np.arange(len(keys)) + i * width, np.maximum(ys, 1e-3), width, label=b)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(keys)) + 0.4, keys, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(f"median gap at {deadline} s, % (100: no feasible answer)")
    ax.set_title("routing profile: each backend's median gap to the best answer found, per class")
    ax.legend(fontsize=8, ncol=len(backends))
    save_figure(fig, out, stem)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one instance per class, deadlines 0.1 and 1 s (~3 min)")
    ap.add_argument("--data", type=pathlib.Path, default=None, help="public instances (default ../shared/data)")
    ap.add_argument("--out", type=pathlib.Path, default=RESULTS)
    ap.add_argument("--write", type=pathlib.Path, default=None, help="write the profile JSON here")
    ap.add_argument("--backends", nargs="*", default=None, help=f"subset of {', '.join(BACKENDS)}")
    ap.add_argument("--deadlines", nargs="*", type=float, default=None, help="seconds (default 0.1 1 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--classes", nargs="*", default=None,
                    help="measure only these classes (keys as in the profile, e.g. bqm/none/2001+; an integer "
                         "class with its vartype: 'cqm/inequality/quadratic/31-200 (mixed)')")
    ap.add_argument("--update", type=pathlib.Path, default=None,
                    help="with --classes: replace those classes in this existing profile and write it to --write "
                         "(the other classes kept as measured; the update is recorded in its 'updates')")
    args = ap.parse_args(argv)
    command = " ".join(shlex.quote(a) for a in [pathlib.Path(sys.argv[0]).name if argv is None else "bench_routing.py",
                                                *(sys.argv[1:] if argv is None else argv)])
    deadlines = sorted(args.deadlines or ([0.1, 1.0] if args.quick else [0.1, 1.0, 5.0]))
    here = set(backend_names())
    backends = [b for b in (args.backends or BACKENDS) if b in here]
    skipped = [b for b in (args.backends or BACKENDS) if b not in here]
    if skipped:
        print(f"not registered here, not measured: {', '.join(skipped)}")
    data = shared_data(args.data)
    all_cases = cases(data, args.quick)
    if args.classes:
        unknown = set(args.classes) - {class_group(c.features) for c in all_cases}
        if unknown:
            ap.error(f"--classes: no instances of {sorted(unknown)}")
        all_cases = [c for c in all_cases if class_group(c.features) in args.classes]
    if args.update and not (args.classes and args.write):
        ap.error("--update needs --classes and --write")
    print(f"{len(all_cases)} instances, backends {backends}, deadlines {deadlines}; data: {data or 'shipped only'}")
    warm_up(backends)
    t0 = time.perf_counter()
    rows = []
    for case in all_cases:
        for d in deadlines:
            for b in backends:
                if applicable(b, case, d):
                    row = run_one(case, b, d, args.seed)
                    rows.append(row)
                    print(f"  {row['class']:22s} {case.name:22s} {b:7s} T={d:<4g} value={row['value']} "
                          f"{row['seconds']:.2f} s{' ERROR ' + row['error'] if row['error'] else ''}", flush=True)
    duration = time.perf_counter() - t0
    gaps(rows, {c.name: c for c in all_cases})
    stem = "routing_quick" if args.quick else "routing"
    write_csv(rows, args.out / f"{stem}.csv")  # first: the runs survive whatever follows
    doc = profile(rows, all_cases, deadlines, command, duration)
    if args.update:
        doc = updated(json.loads(args.update.read_text()), doc)
    validate_profile(doc, "bench_routing output")  # the format the router reads
    print(report(doc))
    print("\nwhat auto picks (every backend counted as available):\n" + picks(doc))
    print(f"duration {duration:.0f} s")
    plot(doc, args.out, stem)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
