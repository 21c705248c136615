"""OR-Tools CP-SAT (Perron, Didier & Gay, "The CP-SAT-LP solver", CP 2023) as a
:class:`dimod.Sampler`.

CP-SAT takes integer coefficients only. Each expression (objective, constraint) is scaled by
a power of ten ``S`` (:func:`integer_scale`) and rounded; the rounding error, bounded over the
variables' ranges, is reported in ``info["scaling_error"]`` (energy units) and kept on the
safe side: the dual bound subtracts the objective's error bound, and each constraint's
right-hand side is widened by its error bound, so the scaled model is a relaxation and the
reported bound stays a proven lower bound (a solution of a widened row that breaks the
original one is reported infeasible by ``from_samples_cqm``). With coefficients that are
integers, or decimals of few digits, the error is zero.

Products of two binaries are reified AND booleans (``z <=> x and y``); products involving
integers use ``add_multiplication_equality``. A declared TSP structure (``{"kind": "tsp"}``,
:func:`qopt.model.templates.tsp`) is solved with ``add_circuit`` over the arcs instead of the
position one-hot, and the tour written back into the ``x_{c}_{p}`` variables.
"""
from __future__ import annotations

import importlib.metadata
import math
import os
import time
from collections.abc import Mapping

import numpy as np

from qopt.errors import ModelError, UnsupportedProblem
from qopt.samplers.mip.base import MipSampler, Options, import_solver
from qopt.samplers.mip.model import BINARY, REAL, Expression, MipModel, Outcome, product_terms

__all__ = ["CpSatSampler", "integer_scale", "import_cp_model", "default_workers", "MAX_SCALED", "MAX_SCALED_SUM",
           "CALLBACK_MIN_INTERVAL"]

#: Largest scaled coefficient (times its variable's largest magnitude) CP-SAT is given, and
#: the largest sum of them over one expression. CP-SAT proved a wrong optimum with terms near
#: 2**40 (a 7-variable model, the objective scaled by 1e11; correct at 1e10 and below), so
#: both stay far below its int64 overflow checks.
MAX_SCALED = 2.0**30
MAX_SCALED_SUM = 2.0**36
#: CP-SAT's solution callback reads an improving solution (and reports it through
#: ``on_solution``) at most once per this many seconds; one it skips is superseded by a later
#: one, and the last is read (and reported) after the search. Each read takes the interpreter
#: (1-2 ms on portfolio30card10, where CP-SAT reported ~15 solutions a second, and more on
#: bigger models) from the racers that need it: a race's annealing rounds, decoding and polish.
CALLBACK_MIN_INTERVAL = 0.05
#: A scaled coefficient this close to an integer is taken as that integer (decimals in binary
#: floating point: 0.1 * 10 = 1.0000000000000002).
_EXACT = 1e-6


def import_cp_model():
    """The ``ortools.sat.python.cp_model`` module (ImportError with the install hint when it is absent)."""
    return import_solver("ortools.sat.python.cp_model", "cpsat", "ortools")


def default_workers() -> int:
    """CP-SAT's workers when ``num_threads`` is None: the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def integer_scale(coefficients: np.ndarray, magnitudes: np.ndarray) -> tuple[float, np.ndarray, float]:
    """The smallest power of ten ``S`` making ``coefficients * S`` integral (within 1e-6), or
    the largest one keeping every ``|c| S m`` under :data:`MAX_SCALED` and their sum under
    :data:`MAX_SCALED_SUM` (1, at least).

    Args:
        coefficients: float64 (k,). magnitudes: float64 (k,) the largest ``|value|`` each
            term's variable (or product) takes.

    Returns:
        ``(S, rounded int64 (k,), error)`` with ``error = sum |c S - round(c S)| m / S``: a
        bound on how far the rounded expression (divided by ``S``) is from the original at any
        point of the box, in the expression's units.
    """
    c = np.asarray(coefficients, dtype=float)
    m = np.maximum(np.asarray(magnitudes, dtype=float), 1.0)
    if c.size == 0:
        return 1.0, np.zeros(0, dtype=np.int64), 0.0
    top = float(np.max(np.abs(c) * m))
    total = float(np.sum(np.abs(c) * m))
    best = None
    for k in range(0, 13):
        scale = 10.0**k
        if (top * scale > MAX_SCALED or total * scale > MAX_SCALED_SUM) and best is not None:
            break
        scaled = c * scale
        rounded = np.round(scaled)
        err = np.abs(scaled - rounded)
        best = (scale, rounded, float(np.sum(err * m)) / scale)
        if np.all(err <= _EXACT):
            return scale, rounded.astype(np.int64), 0.0
    assert best is not None
    scale, rounded, error = best
    return scale, rounded.astype(np.int64), error


class CpSatSampler(MipSampler):
    """OR-Tools CP-SAT over binary and integer variables (products exact, coefficients scaled).

    Examples:
        >>> import dimod
        >>> from qopt.samplers.mip.cpsat import CpSatSampler
        >>> bqm = dimod.BQM.from_ising({"a": 1}, {("a", "b"): -1})
        >>> ss = CpSatSampler().sample(bqm, num_threads=1)
        >>> float(ss.first.energy), ss.info["status"], ss.info["dual_bound"]
        (-2.0, 'optimal', -2.0)
    """

    properties = {
        "description": "OR-Tools CP-SAT; products as reified ANDs / multiplication equalities; TSP as a circuit",
        "num_threads_default": "min(8, CPUs)",
        "variable_kinds": ("BINARY", "SPIN", "INTEGER"),
        "quadratic_constraints": "any product of bounded integer or binary variables",
        "structures": ("tsp",),
    }

    def solve_model(self, model: MipModel, options: Options) -> Outcome:
        """Run CP-SAT on ``model`` (see :class:`MipSampler` for the contract)."""
        cp_model = import_cp_model()
        solver_name = f"OR-Tools CP-SAT {importlib.metadata.version('ortools')}"
        if np.any(model.kind == REAL):
            bad = model.labels[int(np.flatnonzero(model.kind == REAL)[0])]
            raise UnsupportedProblem(f"backend 'cpsat' takes binary and integer variables only; {bad!r} is real")
        tsp = _tsp_structure(options.structure, model)
        try:
            build = _TspBuild(model, tsp, cp_model) if tsp is not None else _Build(model, cp_model, options.expired)
        except _OutOfTime:  # building spent the time limit (G1's 19 176 products: 1 s at load 5)
            return Outcome("time_limit", [], -math.inf, solver_name)
        if options.interrupted():
            return Outcome("interrupted", [], -math.inf, solver_name)
        if options.hint is not None:
            build.hint(options.hint)
        if options.expired():  # building spent the time limit: do not start the solver
            return Outcome("time_limit", [], -math.inf, solver_name)
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.log_search_progress = False
        # CP-SAT's own Ctrl-C handler replaces the process's SIGINT handler and leaves the default
        # (terminate) behind after the solve: a later Ctrl-C (or a server's SIGINT) would kill the
        # process instead of raising KeyboardInterrupt. qopt stops it through ``interrupt`` instead.
        params.catch_sigint_signal = False
        params.num_workers = int(options.num_threads or default_workers())
        if options.seed is not None:
            params.random_seed = int(options.seed)
        remaining = options.remaining()
        if remaining is not None:
            params.max_time_in_seconds = remaining
        callback = _callback(build, options)
        with options.watching(solver.stop_search):
            code = solver.solve(build.model, callback)
        name = solver.status_name(code)
        if name == "MODEL_INVALID":  # pragma: no cover - a model we built wrongly
            raise UnsupportedProblem(f"CP-SAT rejected the model: {build.model.validate()}")
        stopped = callback.stopped or options.stopped or options.interrupted()
        solutions = list(reversed(callback.solutions[-5:]))
        if name in ("OPTIMAL", "FEASIBLE"):
            final = build.values(solver)
            if not solutions or not np.array_equal(final, solutions[0]):
                solutions.insert(0, final)
                if callback.pending and options.on_solution is not None:  # skipped by the throttle: reported now
                    options.on_solution(final, build.objective_of(float(solver.objective_value)))
        if name == "OPTIMAL":
            status = "optimal"
        elif name == "INFEASIBLE":
            status = "infeasible"
        elif stopped:
            status = "interrupted"
        elif options.time_limit is not None:  # CP-SAT stops short of a proof only at a limit
            status = "time_limit"
        else:
            status = "feasible"
        if name == "INFEASIBLE":
            bound = math.inf
        elif name in ("OPTIMAL", "FEASIBLE"):
            bound = build.bound(float(solver.best_objective_bound))
        else:  # UNKNOWN: CP-SAT's bound field is not a bound then (it reads 0 before presolve ends)
            bound = -math.inf
        if name == "OPTIMAL" and build.objective_error == 0.0:
            bound = build.bound(float(solver.objective_value))
        if tsp is not None and solutions:
            _check_tour_objective(model, build, solutions[0])
        info = {"scaling_error": {"objective": build.objective_error, "constraints": build.constraint_error},
                "model": "circuit" if tsp is not None else "cqm"}
        return Outcome(status, solutions, bound, solver_name, info)


def _callback(build, options: Options):
    """A CP-SAT solution callback that keeps improving solutions and calls ``on_solution``, at
    most once per :data:`CALLBACK_MIN_INTERVAL` seconds (``pending`` says one was skipped)."""
    cp_model = import_cp_model()

    base = cp_model.CpSolverSolutionCallback

    class Collect(base):  # type: ignore[misc, valid-type]
        def __init__(self):
            super().__init__()
            self.solutions: list[np.ndarray] = []
            self.stopped = False
            self.pending = False  # an improving solution was skipped by the throttle
            self.last = -math.inf

        def on_solution_callback(self):
            if options.interrupted():
                self.stopped = True
                self.stop_search()
            now = time.monotonic()
            if now - self.last < CALLBACK_MIN_INTERVAL:
                self.pending = True
                return
            self.last, self.pending = now, False
            values = build.values(self)
            self.solutions.append(values)
            if options.on_solution is not None:
                options.on_solution(values, build.objective_of(float(self.objective_value)))

    return Collect()


def _weighted_sum(cp_model, terms: list, ints: np.ndarray):
    """``sum_k ints[k] * terms[k]`` as one CP-SAT expression (one call, not a chain of sums)."""
    return cp_model.LinearExpr.weighted_sum(terms, [int(a) for a in ints])


class _Scaled:
    """The objective's scale, offset and rounding error, and what follows from them."""

    scale: float = 1.0
    offset: float = 0.0
    objective_error: float = 0.0
    constraint_error: float = 0.0

    def objective_of(self, scaled: float) -> float:
        """The model's objective from CP-SAT's (scaled) objective value."""
        return scaled / self.scale + self.offset

    def bound(self, scaled_bound: float) -> float:
        """A proven lower bound on the model's objective from CP-SAT's bound on the scaled one."""
        if not math.isfinite(scaled_bound):
            return -math.inf
        return scaled_bound / self.scale - self.objective_error + self.offset


class _OutOfTime(Exception):
    """The time limit passed while the model was being built."""


#: While building, the time limit is checked once per this many products.
_BUILD_CHECK_EVERY = 1024


class _Build(_Scaled):
    """The CP-SAT model of a :class:`MipModel`; ``expired()`` (when given) is checked while the
    products are built, and raises :class:`_OutOfTime` once true."""

    def __init__(self, model: MipModel, cp_model, expired=None):
        self.expired = expired
        self.mip = model
        self.cp_model = cp_model
        self.model = cp_model.CpModel()
        self.vars = []
        for i, label in enumerate(model.labels):
            lo, hi = model.lower[i], model.upper[i]
            if model.kind[i] == BINARY:
                self.vars.append(self.model.new_bool_var(str(label)))
            else:
                if not (math.isfinite(lo) and math.isfinite(hi)):
                    raise UnsupportedProblem(f"backend 'cpsat' needs finite bounds on {label!r}")
                self.vars.append(self.model.new_int_var(math.ceil(lo - 1e-9), math.floor(hi + 1e-9), str(label)))
        self.magnitude = np.maximum(np.abs(model.lower), np.abs(model.upper))
        self.products: dict[tuple[int, int], tuple[object, float]] = {}
        self._binary_products()
        self.constraint_error = 0.0
        for row in model.constraints:
            self._constraint(row.label, row.expr, row.sense, row.rhs)
        terms, coefs, mags, offset = self._terms(model.objective)
        self.scale, ints, self.objective_error = integer_scale(coefs, mags)
        self.offset = offset
        self.model.minimize(_weighted_sum(cp_model, terms, ints))

    def _binary_products(self) -> None:
        """Every distinct product of two binaries at once, as ``z <=> x and y``: the clauses
        ``z -> x and y`` (an enforced ``add_bool_and``) and ``x and y -> z`` (``add_bool_or``
        of ``not x, not y, z``), each negation made once per variable."""
        m = self.mip
        _, qu, qv, _ = product_terms(m)
        binary = m.kind == BINARY
        both = (qu != qv) & binary[qu] & binary[qv]
        if not both.any():
            return
        pairs = np.unique(np.stack([qu[both], qv[both]], axis=1), axis=0)
        xs = self.vars
        neg = [x.Not() if b else None for x, b in zip(xs, binary.tolist(), strict=True)]
        new_bool, add_and, add_or = self.model.new_bool_var, self.model.add_bool_and, self.model.add_bool_or
        for k, (u, v) in enumerate(pairs.tolist()):
            if self.expired is not None and k % _BUILD_CHECK_EVERY == 0 and self.expired():
                raise _OutOfTime
            z = new_bool("")
            add_and([xs[u], xs[v]]).only_enforce_if(z)
            add_or([neg[u], neg[v], z])
            self.products[(u, v)] = (z, 1.0)

    def _product(self, u: int, v: int):
        key = (min(u, v), max(u, v))
        if key in self.products:
            return self.products[key]
        m = self.mip
        x, y = self.vars[key[0]], self.vars[key[1]]
        if m.kind[key[0]] == BINARY and m.kind[key[1]] == BINARY:
            z = self.model.new_bool_var(f"and_{key[0]}_{key[1]}")
            self.model.add_bool_and([x, y]).only_enforce_if(z)
            self.model.add_bool_or([x.Not(), y.Not()]).only_enforce_if(z.Not())
            mag = 1.0
        else:
            lu, uu = int(round(m.lower[key[0]])), int(round(m.upper[key[0]]))
            lv, uv = int(round(m.lower[key[1]])), int(round(m.upper[key[1]]))
            corners = [lu * lv, lu * uv, uu * lv, uu * uv]
            z = self.model.new_int_var(min(corners), max(corners), f"prod_{key[0]}_{key[1]}")
            self.model.add_multiplication_equality(z, [x, y])
            mag = float(max(abs(c) for c in corners))
        self.products[key] = (z, mag)
        return self.products[key]

    def _terms(self, expr: Expression):
        terms, coefs, mags = [], [], []
        for i, a in zip(expr.idx.tolist(), expr.lin.tolist(), strict=True):
            if a:
                terms.append(self.vars[i])
                coefs.append(a)
                mags.append(self.magnitude[i])
        for u, v, b in zip(expr.qu.tolist(), expr.qv.tolist(), expr.qb.tolist(), strict=True):
            if not b:
                continue
            if u == v and self.mip.kind[u] == BINARY:
                terms.append(self.vars[u])
                mags.append(1.0)
            else:
                z, mag = self._product(u, v)
                terms.append(z)
                mags.append(mag)
            coefs.append(b)
        return terms, np.asarray(coefs, dtype=float), np.asarray(mags, dtype=float), expr.offset

    def _constraint(self, label, expr: Expression, sense: str, rhs: float) -> None:
        terms, coefs, mags, offset = self._terms(expr)
        scale, ints, error = integer_scale(np.append(coefs, rhs - offset), np.append(mags, 1.0))
        self.constraint_error = max(self.constraint_error, error)
        lhs = _weighted_sum(self.cp_model, terms, ints[:-1])
        target = (rhs - offset) * scale
        slack = error * scale + 1e-9 * max(1.0, abs(target))
        if sense in ("<=", "=="):
            hi = math.floor(target + slack)
        if sense in (">=", "=="):
            lo = math.ceil(target - slack)
        if sense == "<=":
            self.model.add(lhs <= hi)
        elif sense == ">=":
            self.model.add(lhs >= lo)
        elif sense == "==":
            if lo > hi:
                self.model.add_bool_or([])  # no integer point: infeasible
            else:
                self.model.add_linear_constraint(lhs, lo, hi)
        else:  # pragma: no cover - dimod has three senses
            raise ModelError(f"constraints[{label!r}]", f"unknown sense {sense!r}")

    # -- reading the answer --------------------------------------------------------------
    def hint(self, values: np.ndarray) -> None:
        for var, val in zip(self.vars, values.tolist(), strict=True):
            self.model.add_hint(var, int(round(val)))
        for (u, v), (z, _) in self.products.items():
            self.model.add_hint(z, int(round(values[u] * values[v])))

    def values(self, source) -> np.ndarray:
        return np.array([source.value(v) for v in self.vars], dtype=float)



def _check_tour_objective(model: MipModel, build, values: np.ndarray) -> None:
    """The declared TSP structure must give the model's objective (tour length = objective)."""
    sample = model.sample_dict(values)
    length = float(np.sum([build.D[i, j] for (i, j), _ in build.tour_arcs(values)]))
    objective = model.objective_value(sample)
    if abs(objective - length - build.offset) > 1e-6 * max(1.0, abs(objective)) + build.objective_error:
        raise ModelError("structure", f"the declared tsp structure does not match the objective: the tour of "
                                      f"length {length} has objective {objective}")


def _tsp_structure(structure: Mapping | None, model: MipModel):
    """The checked TSP declaration, or None when there is none (another kind is ignored)."""
    if not structure or structure.get("kind") != "tsp":
        return None
    try:
        n = int(structure["num_cities"])
        fix_start = bool(structure.get("fix_start", True))
        D = np.asarray(structure["distances"], dtype=float)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError("structure", f"a tsp structure needs num_cities, fix_start and distances ({exc})") from None
    if D.shape != (n, n) or not np.all(np.isfinite(D)):
        raise ModelError("structure", f"distances must be a finite {n}x{n} matrix, had shape {D.shape}")
    cities = range(1, n) if fix_start else range(n)
    labels = [f"x_{c}_{p}" for c in cities for p in cities]
    index = {v: i for i, v in enumerate(model.labels)}
    if len(labels) != model.num_variables or any(v not in index for v in labels):
        raise ModelError("structure", "the tsp structure does not match the model's variables x_{c}_{p}")
    return {"n": n, "fix_start": fix_start, "D": D, "index": index}


class _TspBuild(_Scaled):
    """A tour as ``add_circuit`` over arc literals (Laporte 1992's arc formulation), read back
    into the permutation variables ``x_{c}_{p}`` of :func:`qopt.model.templates.tsp`."""

    def __init__(self, model: MipModel, tsp: dict, cp_model):
        self.mip = model
        self.model = cp_model.CpModel()
        n, D = tsp["n"], tsp["D"]
        self.n, self.fix_start, self.index, self.D = n, tsp["fix_start"], tsp["index"], D
        self.arcs = {(i, j): self.model.new_bool_var(f"arc_{i}_{j}") for i in range(n) for j in range(n) if i != j}
        self.model.add_circuit([(i, j, lit) for (i, j), lit in self.arcs.items()])
        keys = list(self.arcs)
        coefs = np.array([D[i, j] for i, j in keys])
        self.scale, ints, self.objective_error = integer_scale(coefs, np.ones(len(keys)))
        self.offset = float(model.objective.offset)
        self.model.minimize(_weighted_sum(cp_model, [self.arcs[k] for k in keys], ints))
        self.constraint_error = 0.0

    def _tour_values(self, succ: dict[int, int]) -> np.ndarray:
        tour = [0]
        while len(tour) < self.n:
            tour.append(succ[tour[-1]])
        x = np.zeros(self.mip.num_variables)
        for p, c in enumerate(tour):
            if self.fix_start and c == 0:
                continue
            x[self.index[f"x_{c}_{p}"]] = 1.0
        return x

    def tour_arcs(self, values: np.ndarray) -> list[tuple[tuple[int, int], object]]:
        """The arcs (with their literals) of the tour ``values`` of ``x_{c}_{p}`` holds; [] when
        the values are not a permutation."""
        order = {}
        for label, i in self.index.items():
            if values[i] > 0.5:
                _, c, p = label.split("_")
                order[int(p)] = int(c)
        if self.fix_start:
            order[0] = 0
        if sorted(order) != list(range(self.n)) or sorted(order.values()) != list(range(self.n)):
            return []
        arcs = [(order[p], order[(p + 1) % self.n]) for p in range(self.n)]
        return [(a, self.arcs[a]) for a in arcs]

    def hint(self, values: np.ndarray) -> None:
        for _, lit in self.tour_arcs(values):
            self.model.add_hint(lit, 1)

    def values(self, source) -> np.ndarray:
        succ = {i: j for (i, j), lit in self.arcs.items() if source.boolean_value(lit)}
        return self._tour_values(succ)
