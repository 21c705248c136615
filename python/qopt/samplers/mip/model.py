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

__all__ = ["STATUSES", "BINARY", "INTEGER", "REAL", "Expression", "Row", "MipModel", "LinearModel", "linearise", "product_terms",
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


def product_terms(model: MipModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every nonzero product of the objective (expression -1) and the constraints (0..m-1):
    ``(expression, u, v, bias)`` arrays with ``u <= v``."""
    exprs = [model.objective, *(r.expr for r in model.constraints)]
    which = np.repeat(np.arange(-1, len(exprs) - 1, dtype=np.int64), [e.qb.size for e in exprs])
    qu = np.concatenate([e.qu for e in exprs]).astype(np.int64)
    qv = np.concatenate([e.qv for e in exprs]).astype(np.int64)
    qb = np.concatenate([e.qb for e in exprs]).astype(float)
    keep = qb != 0.0
    which, qu, qv, qb = which[keep], qu[keep], qv[keep], qb[keep]
    return which, np.minimum(qu, qv), np.maximum(qu, qv), qb


def _mccormick_rows(u, v, col, lower, upper):
    """COO triplets and bounds of the McCormick rows of the products ``col = x_u x_v``.

    Returns ``(row_of_entry, column, coefficient, row_lower, row_upper, product_of_row)``,
    rows numbered from 0; rows whose only entry is the product column (its bounds say it) are
    left out."""
    lu, uu, lv, uv = lower[u], upper[u], lower[v], upper[v]
    sq = u == v
    inf = np.full(u.size, np.inf)
    # McCormick (1976): the convex and concave envelopes of x_u x_v over the box; for a square
    # z = x^2 on [l, h]: two tangents below, the secant above (the fourth row is unused there)
    a_u = np.stack([-lv, -uv, -lv, -uv])
    a_v = np.stack([-lu, -uu, -uu, -lu])
    lo = np.stack([-lu * lv, -uu * uv, -inf, -inf])
    hi = np.stack([inf, inf, -uu * lv, -lu * uv])
    a_u[:, sq] = np.stack([-2.0 * lu, -2.0 * uu, -(lu + uu), np.zeros(u.size)])[:, sq]
    a_v[:, sq] = 0.0
    lo[:, sq] = np.stack([-lu * lu, -uu * uu, -inf, -inf])[:, sq]
    hi[:, sq] = np.stack([inf, inf, -lu * uu, inf])[:, sq]
    used = (a_u != 0.0) | (a_v != 0.0)
    used[3, sq] = False
    k, p = np.nonzero(used)  # row kind, product; ordered by kind then product
    order = np.lexsort((k, p))  # product-major, as the rows were built one product at a time
    k, p = k[order], p[order]
    r = np.arange(k.size)
    rows = np.concatenate([r, r, r])
    cols = np.concatenate([col[p], u[p], v[p]])
    coefs = np.concatenate([np.ones(k.size), a_u[k, p], a_v[k, p]])
    nz = coefs != 0.0
    return rows[nz], cols[nz], coefs[nz], lo[k, p], hi[k, p], p


def linearise(model: MipModel, *, exact: bool = True, what: str = "the backend") -> LinearModel:
    """The linear model of ``model``: every product a column with its McCormick rows.

    Built from arrays in bulk (no Python loop over products): the products of every
    expression are gathered, deduplicated with :func:`numpy.unique`, and their columns and
    McCormick rows laid out as CSR in one step.

    Args:
        model: the model.
        exact: require every product to be linearised exactly (one binary factor, or a binary
            square); False: linearise every product with finite-bounded factors (a valid
            relaxation, :attr:`LinearModel.exact` False when any product is not exact).
        what: the caller's name, for messages (``"HiGHS"``).

    Returns:
        The :class:`LinearModel`: columns ``0..n-1`` the model's variables, then one column per
        distinct product in order of first appearance (objective first); rows: the
        constraints in ``model.constraints`` order, then the McCormick rows, product by product.

    Raises:
        UnsupportedProblem: a product of two non-binary variables with ``exact``; a product
            whose factors lack finite bounds.
    """
    n = model.num_variables
    binary = model.kind == BINARY
    which, qu, qv, qb = product_terms(model)
    square = (qu == qv) & binary[qu]  # b^2 = b: the variable itself
    prod = ~square
    width = max(n, 1)
    keys = qu[prod] * width + qv[prod]
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # columns in order of first appearance
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    pu, pv = uniq[order] // width, uniq[order] % width
    pcol = n + np.arange(order.size, dtype=np.int64)
    term_col = qu.copy()
    term_col[prod] = pcol[rank[inverse.reshape(-1)]]
    lower, upper = model.lower, model.upper

    def name(i) -> str:
        return repr(model.labels[int(i)])

    unbounded = ~(np.isfinite(lower[pu]) & np.isfinite(upper[pu]) & np.isfinite(lower[pv]) & np.isfinite(upper[pv]))
    inexact = ~(binary[pu] | binary[pv])
    if unbounded.any():
        j = int(np.flatnonzero(unbounded)[0])
        raise UnsupportedProblem(f"{what}: the product {name(pu[j])}*{name(pv[j])} has a factor "
                                 "without finite bounds, which a McCormick linearisation needs")
    if exact and inexact.any():
        j = int(np.flatnonzero(inexact)[0])
        raise UnsupportedProblem(f"{what} linearises products with one binary factor only; "
                                 f"{name(pu[j])}*{name(pv[j])} is a product of two non-binary variables "
                                 "(use backend 'cpsat' or 'scip')")
    corners = np.stack([lower[pu] * lower[pv], lower[pu] * upper[pv], upper[pu] * lower[pv], upper[pu] * upper[pv]])
    num_cols = n + pu.size
    col_lower = np.concatenate([lower, corners.min(axis=0)]).astype(float)
    col_upper = np.concatenate([upper, corners.max(axis=0)]).astype(float)
    integrality = np.concatenate([model.kind != REAL, np.zeros(pu.size, bool)])

    # the objective
    obj = model.objective
    cost = np.zeros(num_cols)
    np.add.at(cost, obj.idx, obj.lin)
    in_obj = which == -1
    np.add.at(cost, term_col[in_obj], qb[in_obj])

    # the constraints' rows: linear terms and the product columns, duplicates summed
    m = len(model.constraints)
    lin_rows = np.repeat(np.arange(m, dtype=np.int64), [r.expr.idx.size for r in model.constraints])
    lin_cols = np.concatenate([r.expr.idx for r in model.constraints]).astype(np.int64) if m else np.zeros(0, np.int64)
    lin_vals = np.concatenate([r.expr.lin for r in model.constraints]).astype(float) if m else np.zeros(0)
    rhs = np.array([r.rhs - r.expr.offset for r in model.constraints], dtype=float)
    senses = [r.sense for r in model.constraints]
    c_lower = np.where([s in (">=", "==") for s in senses], rhs, -np.inf) if m else np.zeros(0)
    c_upper = np.where([s in ("<=", "==") for s in senses], rhs, np.inf) if m else np.zeros(0)
    in_con = ~in_obj
    mc_rows, mc_cols, mc_vals, mc_lower, mc_upper, mc_prod = _mccormick_rows(pu, pv, pcol, lower, upper)
    coo = scipy.sparse.coo_matrix(
        (np.concatenate([lin_vals, qb[in_con], mc_vals]),
         (np.concatenate([lin_rows, which[in_con], mc_rows + m]),
          np.concatenate([lin_cols, term_col[in_con], mc_cols]))),
        shape=(m + mc_lower.size, num_cols))
    rows = coo.tocsr()  # sums duplicates
    rows.eliminate_zeros()  # terms that cancelled
    rows.sort_indices()
    labels = tuple(r.label for r in model.constraints) + tuple(
        ("mccormick", model.labels[u], model.labels[v]) for u, v in zip(pu[mc_prod].tolist(), pv[mc_prod].tolist(), strict=True))
    products = np.stack([pu, pv, pcol], axis=1).astype(np.int64).reshape(-1, 3)
    return LinearModel(n, col_lower, col_upper, integrality, cost, float(obj.offset), rows,
                       np.concatenate([c_lower, mc_lower]).astype(float),
                       np.concatenate([c_upper, mc_upper]).astype(float),
                       labels, products, not bool(inexact.any()))


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

