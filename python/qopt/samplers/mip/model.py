"""The neutral model the exact backends share: a CQM in binary/integer/real variables, its
McCormick linearisation, status names and the answer every backend returns.

A :class:`MipModel` is a :class:`dimod.ConstrainedQuadraticModel` read into arrays, with its
SPIN variables rewritten as binaries (``s = 2 b - 1``, :meth:`dimod.ConstrainedQuadraticModel.spin_to_binary`),
so that each backend sees binary, integer and real variables only. :func:`linearise` turns
every product into an auxiliary column with the McCormick inequalities (McCormick,
"Computability of global solutions to factorable nonconvex programs", Math. Programming 10,
1976): exact when one factor is binary (the "AND" linearisation of Glover & Woolsey 1974
for two binaries), a valid relaxation otherwise. Squares of binaries are the variable itself.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import dimod
import numpy as np
import scipy.sparse

from qopt.errors import UnsupportedProblem
from qopt.model.problem import expression_arrays, variable_info

__all__ = ["STATUSES", "BINARY", "INTEGER", "REAL", "Expression", "Row", "MipModel", "LinearModel", "linearise",
           "Outcome", "relative_gap"]

#: The statuses a backend reports in ``info["status"]``.
STATUSES = ("optimal", "feasible", "infeasible", "time_limit", "interrupted")

#: dimod's stand-in for an infinite bound of a REAL variable (its bounds lie within +-1e30).
DIMOD_INFINITY = 1e30

#: Variable kinds of a :class:`MipModel` (the codes of :func:`qopt.model.problem.variable_info`).
BINARY, INTEGER, REAL = 1, 2, 3


@dataclasses.dataclass(frozen=True)
class Expression:
    """A quadratic expression over a :class:`MipModel`'s variables (indices into them).

    Attributes:
        idx: int64 (k,) variables with a linear bias; lin: float64 (k,) their biases.
        qu, qv: int64 (q,) the two variables of each product (``qu == qv``: a square);
        qb: float64 (q,) their biases. offset: the constant term.
    """

    idx: np.ndarray
    lin: np.ndarray
    qu: np.ndarray
    qv: np.ndarray
    qb: np.ndarray
    offset: float

    @property
    def is_linear(self) -> bool:
        return not np.any(self.qb)


@dataclasses.dataclass(frozen=True)
class Row:
    """One constraint ``expr sense rhs`` (``sense`` one of ``"<="``, ``">="``, ``"=="``)."""

    label: object
    expr: Expression
    sense: str
    rhs: float


@dataclasses.dataclass(frozen=True)
class MipModel:
    """A CQM as arrays, SPIN variables rewritten as binaries.

    Attributes:
        cqm: the model as given (its variables, vartypes and labels are the answer's).
        labels: its variables, in ``cqm.variables`` order (index i is variable ``labels[i]``).
        kind: int8 (n,) :data:`BINARY`, :data:`INTEGER` or :data:`REAL` per variable.
        spin: bool (n,) which variables are SPIN in ``cqm`` (binary here: ``s = 2 b - 1``).
        lower, upper: float64 (n,) bounds (binaries [0, 1]; dimod's +-1e30 read as +-inf).
        objective: the objective (minimised) in these variables, the CQM's offset included.
        constraints: the constraints, in ``cqm.constraints`` order.
    """

    cqm: dimod.ConstrainedQuadraticModel
    labels: tuple
    kind: np.ndarray
    spin: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    objective: Expression
    constraints: tuple[Row, ...]

    @classmethod
    def from_cqm(cls, cqm: dimod.ConstrainedQuadraticModel) -> MipModel:
        """Read ``cqm`` (not modified).

        Raises:
            UnsupportedProblem: a variable without finite bounds, where a backend needs them, is
                left to the backend; nothing is raised here for well-formed CQMs.
        """
        vt, _, _ = variable_info(cqm)
        spin = vt == 0
        work = cqm.spin_to_binary(inplace=False) if spin.any() else cqm
        kind, lower, upper = variable_info(work)
        lower = np.where(kind == BINARY, 0.0, np.where(lower <= -DIMOD_INFINITY, -np.inf, lower))
        upper = np.where(kind == BINARY, 1.0, np.where(upper >= DIMOD_INFINITY, np.inf, upper))
        rows = tuple(Row(label, _expression(comp.lhs), _sense(comp.sense), float(comp.rhs))
                     for label, comp in work.constraints.items())
        return cls(cqm, tuple(cqm.variables), kind.astype(np.int8), spin, lower.astype(float),
                   upper.astype(float), _expression(work.objective), rows)

    @classmethod
    def from_bqm(cls, bqm: dimod.BinaryQuadraticModel) -> MipModel:
        """The unconstrained model of ``bqm`` (minimise its energy, offset included)."""
        return cls.from_cqm(dimod.ConstrainedQuadraticModel.from_bqm(bqm))

    @property
    def num_variables(self) -> int:
        return len(self.labels)

    @property
    def is_linear(self) -> bool:
        """No products anywhere (objective and constraints)."""
        return self.objective.is_linear and all(r.expr.is_linear for r in self.constraints)

    def values(self, sample: Mapping | None) -> np.ndarray | None:
        """float64 (n,) values of ``sample`` (label -> value in the CQM's vartypes) in this
        model's variables (SPIN -> binary); None for None.

        Raises:
            UnsupportedProblem: (field ``hint``) a variable of the model is missing from ``sample``.
        """
        if sample is None:
            return None
        if not isinstance(sample, Mapping):
            labels, arr = _as_mapping(sample)
            sample = dict(zip(labels, arr, strict=True))
        missing = [v for v in self.labels if v not in sample]
        if missing:
            raise UnsupportedProblem(f"the hint has no value for variable {missing[0]!r}", field="hint")
        x = np.array([float(sample[v]) for v in self.labels], dtype=float)
        x[self.spin] = (x[self.spin] + 1.0) / 2.0
        return x

    def sample_array(self, values: np.ndarray) -> np.ndarray:
        """Solver values (n,) -> the CQM's values: integers rounded, SPIN back to +-1."""
        x = np.asarray(values[:self.num_variables], dtype=float).copy()
        integral = self.kind != REAL
        x[integral] = np.round(x[integral])
        x[self.spin] = 2.0 * x[self.spin] - 1.0
        return x

    def sample_dict(self, values: np.ndarray) -> dict:
        """:meth:`sample_array` as a dict label -> value (ints for integral variables)."""
        x = self.sample_array(values)
        return {v: (float(x[i]) if self.kind[i] == REAL else int(x[i])) for i, v in enumerate(self.labels)}

    def objective_value(self, sample: Mapping) -> float:
        """The CQM's objective of ``sample`` (in its own vartypes), in double precision."""
        return float(self.cqm.objective.energy(sample))


def _expression(expr) -> Expression:
    idx, lin, qu, qv, qb, offset = expression_arrays(expr)
    return Expression(idx, lin, qu, qv, qb, float(offset))


def _sense(sense) -> str:
    return sense.value if hasattr(sense, "value") else str(sense)


def _as_mapping(sample):
    arr, labels = dimod.as_samples(sample)
    if arr.shape[0] != 1:
        raise UnsupportedProblem(f"the hint must be one sample, was {arr.shape[0]}", field="hint")
    return labels, arr[0]


# ---------------------------------------------------------------------------------------
# McCormick linearisation
# ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LinearModel:
    """A :class:`MipModel` with every product replaced by a column (a linear model).

    Columns ``0..n-1`` are the model's variables, the others product columns ``z = x_u x_v``.

    Attributes:
        num_variables: n.
        col_lower, col_upper: float64 (N,) column bounds. integrality: bool (N,) integer
            columns (binaries and integers; product columns are continuous).
        cost: float64 (N,) objective coefficients; offset: its constant.
        rows: CSR float64 (M, N); row_lower, row_upper: float64 (M,) (+-inf where open).
        row_labels: (M,) the constraint of each row (``("mccormick", u, v)`` for the product rows).
        products: int64 (P, 3) rows ``(u, v, column)``.
        exact: every product is exact (one factor binary, or a binary square), so the linear
            model has the same optimum as the CQM; otherwise it is a relaxation.
    """

    num_variables: int
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray
    cost: np.ndarray
    offset: float
    rows: scipy.sparse.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_labels: tuple
    products: np.ndarray
    exact: bool

    @property
    def num_columns(self) -> int:
        return int(self.col_lower.size)

    def complete(self, values: np.ndarray) -> np.ndarray:
        """Column values (N,) from the model's variable values (n,): products computed."""
        out = np.zeros(self.num_columns)
        out[:self.num_variables] = values
        if self.products.size:
            u, v, z = self.products.T
            out[z] = out[u] * out[v]
        return out


class _Builder:
    """Accumulates columns and rows while products are linearised."""

    def __init__(self, model: MipModel, *, exact: bool, what: str):
        self.model = model
        self.require_exact = exact
        self.what = what
        self.lower = list(model.lower)
        self.upper = list(model.upper)
        self.integral = list(model.kind != REAL)
        self.products: dict[tuple[int, int], int] = {}
        self.triples: list[tuple[int, int, int]] = []
        self.rows: list[tuple[np.ndarray, np.ndarray, float, float, object]] = []
        self.exact = True

    def _name(self, i: int) -> str:
        return repr(self.model.labels[i])

    def product(self, u: int, v: int) -> int:
        key = (min(u, v), max(u, v))
        col = self.products.get(key)
        if col is not None:
            return col
        m = self.model
        u, v = key
        lu, uu, lv, uv = m.lower[u], m.upper[u], m.lower[v], m.upper[v]
        if not all(math.isfinite(b) for b in (lu, uu, lv, uv)):
            raise UnsupportedProblem(f"{self.what}: the product {self._name(u)}*{self._name(v)} has a factor "
                                     "without finite bounds, which a McCormick linearisation needs")
        exact = m.kind[u] == BINARY or m.kind[v] == BINARY
        if not exact:
            if self.require_exact:
                raise UnsupportedProblem(f"{self.what} linearises products with one binary factor only; "
                                         f"{self._name(u)}*{self._name(v)} is a product of two non-binary variables "
                                         "(use backend 'cpsat' or 'scip')")
            self.exact = False
        col = len(self.lower)
        corners = [lu * lv, lu * uv, uu * lv, uu * uv]
        self.lower.append(min(corners))
        self.upper.append(max(corners))
        self.integral.append(False)
        self.products[key] = col
        self.triples.append((u, v, col))
        inf = math.inf
        label = ("mccormick", m.labels[u], m.labels[v])
        if u == v:  # z = x^2, x in [l, h]: two tangents below, the secant above
            self._row([col, u], [1.0, -2.0 * lu], -lu * lu, inf, label)
            self._row([col, u], [1.0, -2.0 * uu], -uu * uu, inf, label)
            self._row([col, u], [1.0, -(lu + uu)], -inf, -lu * uu, label)
            return col
        # McCormick (1976): the convex and concave envelopes of x_u x_v over the box
        self._row([col, u, v], [1.0, -lv, -lu], -lu * lv, inf, label)
        self._row([col, u, v], [1.0, -uv, -uu], -uu * uv, inf, label)
        self._row([col, u, v], [1.0, -lv, -uu], -inf, -uu * lv, label)
        self._row([col, u, v], [1.0, -uv, -lu], -inf, -lu * uv, label)
        return col

    def _row(self, cols, coefs, lo, hi, label):
        cols_a = np.asarray(cols, dtype=np.int64)
        coefs_a = np.asarray(coefs, dtype=float)
        if not np.any(coefs_a[1:]):
            return  # only the product column: its bounds say it
        self.rows.append((cols_a, coefs_a, lo, hi, label))

    def linear(self, expr: Expression) -> tuple[np.ndarray, np.ndarray, float]:
        """Columns and coefficients of ``expr`` with its products replaced (duplicates summed)."""
        m = self.model
        cols = [expr.idx]
        coefs = [expr.lin]
        offset = expr.offset
        extra_c: list[int] = []
        extra_b: list[float] = []
        for u, v, b in zip(expr.qu.tolist(), expr.qv.tolist(), expr.qb.tolist(), strict=True):
            if b == 0.0:
                continue
            if u == v and m.kind[u] == BINARY:
                extra_c.append(u)
            else:
                extra_c.append(self.product(u, v))
            extra_b.append(b)
        cols.append(np.asarray(extra_c, dtype=np.int64))
        coefs.append(np.asarray(extra_b, dtype=float))
        c = np.concatenate(cols)
        a = np.concatenate(coefs)
        if c.size:
            uniq, inv = np.unique(c, return_inverse=True)
            a = np.bincount(inv, a, minlength=uniq.size)
            c = uniq
        return c, a, offset

    def constraint(self, row: Row) -> None:
        c, a, off = self.linear(row.expr)
        rhs = row.rhs - off
        lo = rhs if row.sense in (">=", "==") else -math.inf
        hi = rhs if row.sense in ("<=", "==") else math.inf
        self.rows.append((c, a, lo, hi, row.label))


def linearise(model: MipModel, *, exact: bool = True, what: str = "the backend") -> LinearModel:
    """The linear model of ``model``: every product a column with its McCormick rows.

    Args:
        model: the model.
        exact: require every product to be linearised exactly (one binary factor, or a binary
            square); False: linearise every product with finite-bounded factors (a valid
            relaxation, :attr:`LinearModel.exact` False when any product is not exact).
        what: the caller's name, for messages (``"HiGHS"``).

    Returns:
        The :class:`LinearModel`; the objective rows come first among the columns' costs, the
        constraints' rows before the McCormick rows they create.

    Raises:
        UnsupportedProblem: a product of two non-binary variables with ``exact``; a product
            whose factors lack finite bounds.
    """
    b = _Builder(model, exact=exact, what=what)
    obj_c, obj_a, offset = b.linear(model.objective)
    for row in model.constraints:
        b.constraint(row)
    n_cols = len(b.lower)
    cost = np.zeros(n_cols)
    np.add.at(cost, obj_c, obj_a)
    if b.rows:
        indptr = np.cumsum([0] + [r[0].size for r in b.rows])
        indices = np.concatenate([r[0] for r in b.rows])
        data = np.concatenate([r[1] for r in b.rows])
    else:
        indptr, indices, data = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    rows = scipy.sparse.csr_matrix((data, indices, indptr), shape=(len(b.rows), n_cols))
    products = np.asarray(b.triples, dtype=np.int64).reshape(-1, 3)
    return LinearModel(model.num_variables, np.asarray(b.lower, float), np.asarray(b.upper, float),
                       np.asarray(b.integral, bool), cost, float(offset), rows,
                       np.asarray([r[2] for r in b.rows], float), np.asarray([r[3] for r in b.rows], float),
                       tuple(r[4] for r in b.rows), products, b.exact)


# ---------------------------------------------------------------------------------------
# the answer
# ---------------------------------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    """What one backend run found.

    Attributes:
        status: one of :data:`STATUSES`.
        solutions: the solutions found, best first, each float64 (>= n,) values of the
            model's variables (solver space: binaries for SPIN variables; extra columns ignored).
        dual_bound: a proven lower bound on the model's minimum objective (its offset
            included); ``-inf`` when none was proven.
        solver: the solver's name and version (``"HiGHS 1.16.0"``).
        info: further backend facts for ``info`` (e.g. CP-SAT's scaling error).
    """

    status: str
    solutions: list[np.ndarray]
    dual_bound: float
    solver: str
    info: dict = dataclasses.field(default_factory=dict)


def relative_gap(best: float | None, bound: float) -> float:
    """``(best - bound) / max(1, |best|)``, 0 when the bound meets ``best``, inf without either."""
    if best is None or not math.isfinite(best) or not math.isfinite(bound):
        return math.inf
    return max(0.0, best - bound) / max(1.0, abs(best))

