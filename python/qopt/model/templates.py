"""Templates for the problems people bring, each returning ``(problem, interpret)``.

``problem`` is a :class:`~qopt.model.Problem`; ``interpret(sample)`` turns a sample
(mapping from the problem's variable labels to values, e.g. ``Candidate.sample``) into the
business answer as a plain, JSON-friendly dict. Objectives are built from numpy arrays
(``dimod.BinaryQuadraticModel.from_numpy_vectors``), not per-term Python loops where sizes grow.

Variable labels are strings: ``x_{i}`` (item/vertex/asset i), ``x_{t}_{m}`` (task t on
machine m), ``x_{c}_{p}`` (city c at tour position p), ``y_{i}`` (integer lots), so that
models export to LP files unchanged.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import dimod
import numpy as np

from qopt.model.problem import ModelError, Problem, validate

__all__ = ["maxcut", "knapsack", "quadratic_knapsack", "portfolio", "assignment", "tsp", "tour_length"]


def _vector(name: str, values, n: int | None = None, *, nonneg: bool = False) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.ndim != 1 or (n is not None and a.size != n):
        raise ModelError(name, f"must be a 1-d array of length {n if n is not None else 'n'}, had shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ModelError(name, "must hold finite numbers")
    if nonneg and np.any(a < 0):
        raise ModelError(name, "must be >= 0")
    return a


def _matrix(name: str, values, shape=None) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.ndim != 2 or (shape is not None and a.shape != shape):
        raise ModelError(name, f"must be a 2-d array of shape {shape}, had shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ModelError(name, "must hold finite numbers")
    return a


def _bqm_objective(labels, linear, irow=None, icol=None, qdata=None, offset=0.0):
    empty = np.zeros(0, dtype=np.int64)
    quad = (irow if irow is not None else empty, icol if icol is not None else empty,
            qdata if qdata is not None else np.zeros(0))
    return dimod.BinaryQuadraticModel.from_numpy_vectors(np.asarray(linear, float), quad, offset, dimod.BINARY,
                                                         variable_order=labels)


def _add_linear_constraint(cqm, labels, coeffs, sense: str, rhs: float, label):
    qm = dimod.BinaryQuadraticModel.from_numpy_vectors(np.asarray(coeffs, float), ([], [], []), 0.0, dimod.BINARY,
                                                       variable_order=list(labels))
    cqm.add_constraint_from_model(qm, sense, rhs, label=label, copy=False)


def _bits(sample: Mapping, labels) -> np.ndarray:
    return np.array([sample[v] for v in labels], dtype=float)


# ---------------------------------------------------------------------------------------
def maxcut(edges, num_nodes: int | None = None):
    """Weighted MaxCut: maximise the total weight of edges across a two-set partition.

    Args:
        edges: iterable of ``(u, v)`` or ``(u, v, w)`` with integer vertices ``0..n-1``
            (weight 1 when omitted), or a ``networkx.Graph`` (attribute ``weight``).
        num_nodes: number of vertices (default: 1 + largest vertex index).

    Returns:
        ``(problem, interpret)``; variables ``x_i`` (1 = side B), objective
        ``sum w_uv (x_u + x_v - 2 x_u x_v)``, ``sense="max"``. ``interpret`` gives
        ``{"side_a", "side_b", "cut_value", "cut_edges"}``.

    Raises:
        ModelError: non-finite weight, negative vertex, or self-loop.
    """
    if hasattr(edges, "edges") and hasattr(edges, "nodes"):
        edges = [(u, v, d.get("weight", 1.0)) for u, v, d in edges.edges(data=True)]
    rows = [tuple(e) for e in edges]
    u = np.array([r[0] for r in rows], dtype=np.int64)
    v = np.array([r[1] for r in rows], dtype=np.int64)
    w = np.array([r[2] if len(r) > 2 else 1.0 for r in rows], dtype=float)
    if u.size and (u.min() < 0 or v.min() < 0):
        raise ModelError("edges", "vertices must be integers >= 0")
    if np.any(u == v):
        raise ModelError("edges", f"self-loop at vertex {int(u[u == v][0])}")
    if not np.all(np.isfinite(w)):
        raise ModelError("edges", "weights must be finite")
    n = int(num_nodes if num_nodes is not None else (max(u.max(), v.max()) + 1 if u.size else 0))
    labels = [f"x_{i}" for i in range(n)]
    lin = np.zeros(n)
    np.add.at(lin, u, w)
    np.add.at(lin, v, w)
    obj = _bqm_objective(labels, lin, u, v, -2.0 * w)
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(obj)
    problem = Problem.from_cqm(cqm, "max", name="maxcut", metadata={"template": "maxcut", "num_nodes": n})
    validate(problem)

    def interpret(sample):
        x = _bits(sample, labels)
        cut = x[u] != x[v]
        return {"side_a": [i for i in range(n) if x[i] == 0], "side_b": [i for i in range(n) if x[i] == 1],
                "cut_value": float(w[cut].sum()),
                "cut_edges": [[int(a), int(b)] for a, b in zip(u[cut], v[cut], strict=True)]}

    return problem, interpret


# ---------------------------------------------------------------------------------------
def knapsack(values, weights, capacity: float):
    """0-1 knapsack: maximise total value subject to total weight <= capacity.

    Args:
        values: float (n,) item values. weights: float (n,) item weights (>= 0).
        capacity: the capacity (>= 0).

    Returns:
        ``(problem, interpret)``; variables ``x_i``, constraint ``"capacity"``,
        ``sense="max"``. ``interpret`` gives ``{"selected", "total_value", "total_weight",
        "capacity", "within_capacity"}``.

    Raises:
        ModelError: shape mismatch, negative weight/capacity, non-finite data.
    """
    return quadratic_knapsack(values, None, weights, capacity, _name="knapsack")


def quadratic_knapsack(profits, quadratic, weights, capacity: float, *, _name: str = "quadratic_knapsack"):
    """Quadratic knapsack (Gallo, Hammer & Simeone 1980): maximise
    ``sum_i p_i x_i + sum_{i<j} P_ij x_i x_j`` subject to ``sum_i w_i x_i <= C``.

    Args:
        profits: float (n,) linear profits p.
        quadratic: float (n, n) pair profits; the strict upper triangle (i < j) is used,
            the diagonal is added to ``profits``, the lower triangle is ignored. None for none.
        weights: float (n,) item weights (>= 0). capacity: C (>= 0).

    Returns:
        ``(problem, interpret)`` like :func:`knapsack`; ``sense="max"``.

    Raises:
        ModelError: shape mismatch, negative weight/capacity, non-finite data.
    """
    p = _vector("profits", profits)
    n = p.size
    w = _vector("weights", weights, n, nonneg=True)
    if not np.isfinite(capacity) or capacity < 0:
        raise ModelError("capacity", f"must be a finite number >= 0, was {capacity}")
    labels = [f"x_{i}" for i in range(n)]
    if quadratic is not None:
        P = _matrix("quadratic", quadratic, (n, n))
        iu, ju = np.triu_indices(n, 1)
        qd = P[iu, ju]
        nz = qd != 0
        iu, ju, qd = iu[nz], ju[nz], qd[nz]
        lin = p + np.diag(P)
    else:
        iu = ju = qd = None  # type: ignore[assignment]
        lin = p
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(_bqm_objective(labels, lin, iu, ju, qd))
    _add_linear_constraint(cqm, labels, w, "<=", float(capacity), "capacity")
    problem = Problem.from_cqm(cqm, "max", name=_name,
                               metadata={"template": _name, "num_items": n, "capacity": float(capacity)})
    validate(problem)

    def interpret(sample):
        x = _bits(sample, labels)
        value = float(lin @ x + (qd @ (x[iu] * x[ju]) if qd is not None else 0.0))
        tw = float(w @ x)
        return {"selected": [int(i) for i in np.flatnonzero(x)], "total_value": value, "total_weight": tw,
                "capacity": float(capacity), "within_capacity": bool(tw <= capacity + 1e-9)}

    return problem, interpret


# ---------------------------------------------------------------------------------------
def portfolio(mu, sigma, *, risk_aversion: float = 1.0, budget: int, units: int = 1,
              cardinality: int | None = None, names: Sequence[str] | None = None):
    """Markowitz mean-variance portfolio selection (Markowitz 1952) with integer lots.

    The budget is split into ``budget`` equal lots; asset i receives ``y_i`` in
    ``[0, units]`` lots and weight ``w_i = y_i / budget``. Maximise
    ``mu . w - risk_aversion * w^T Sigma w`` subject to ``sum_i y_i == budget``
    (``"budget"``) and, with ``cardinality=K``, at most K assets held (``"cardinality"``,
    with indicators ``z_i`` and linking constraints ``y_i <= units * z_i``, ``"link_i"``).
    With ``units=1`` this is the classic "pick exactly ``budget`` assets" selection model
    with binary ``x_i``.

    Args:
        mu: float (n,) expected returns. sigma: float (n, n) covariance (symmetric).
        risk_aversion: q >= 0. budget: lots to allocate (>= 1). units: max lots per asset.
        cardinality: optional max number of assets held. names: optional asset names.

    Returns:
        ``(problem, interpret)``, ``sense="max"``; ``interpret`` gives ``{"weights": {name: w},
        "lots": {name: y}, "selected", "expected_return", "variance", "objective"}``.

    Raises:
        ModelError: bad shapes, non-symmetric sigma, infeasible budget/cardinality.
    """
    m = _vector("mu", mu)
    n = m.size
    S = _matrix("sigma", sigma, (n, n))
    if not np.allclose(S, S.T, atol=1e-12 * max(1.0, np.abs(S).max())):
        raise ModelError("sigma", "covariance must be symmetric")
    if budget < 1 or units < 1:
        raise ModelError("budget", f"budget and units must be >= 1, were {budget}, {units}")
    if budget > n * units:
        raise ModelError("budget", f"budget {budget} exceeds n * units = {n * units}")
    if cardinality is not None and (cardinality < 1 or cardinality * units < budget):
        raise ModelError("cardinality", f"cardinality {cardinality} cannot hold budget {budget} with units {units}")
    names = list(names) if names is not None else [str(i) for i in range(n)]
    q = float(risk_aversion)
    B = float(budget)
    binary = units == 1
    labels = [f"x_{i}" if binary else f"y_{i}" for i in range(n)]
    cqm = dimod.ConstrainedQuadraticModel()
    obj = dimod.QuadraticModel()
    if binary:
        obj.add_variables_from("BINARY", labels)
    else:
        for v in labels:
            obj.add_variable("INTEGER", v, lower_bound=0, upper_bound=units)
    # maximise mu.y/B - q y^T S y / B^2 (user's sense); linear part + diagonal
    lin = m / B - q * np.diag(S) / B ** 2
    obj.add_linear_from(zip(labels, lin, strict=True))
    iu, ju = np.triu_indices(n, 1)
    qd = -2.0 * q * S[iu, ju] / B ** 2
    nz = qd != 0
    obj.add_quadratic_from(zip([labels[i] for i in iu[nz]], [labels[j] for j in ju[nz]], qd[nz], strict=True))
    if not binary:
        # y_i^2 terms: the diagonal of S applies to y_i^2, not y_i (undo the linear part)
        obj.add_linear_from(zip(labels, q * np.diag(S) / B ** 2, strict=True))
        for v, d in zip(labels, np.diag(S), strict=True):
            if d:
                obj.add_quadratic(v, v, -q * d / B ** 2)
    cqm.set_objective(obj)
    cqm.add_constraint_from_iterable([(v, 1.0) for v in labels], "==", rhs=B, label="budget")
    if cardinality is not None and not binary:
        zl = [f"z_{i}" for i in range(n)]
        for i in range(n):
            cqm.add_variable("BINARY", zl[i])
            cqm.add_constraint_from_iterable([(labels[i], 1.0), (zl[i], -float(units))], "<=", rhs=0.0,
                                             label=f"link_{i}")
        cqm.add_constraint_from_iterable([(z, 1.0) for z in zl], "<=", rhs=float(cardinality), label="cardinality")
    elif cardinality is not None and binary and cardinality < budget:
        raise ModelError("cardinality", f"cardinality {cardinality} < budget {budget} with units=1")
    problem = Problem.from_cqm(cqm, "max", name="portfolio",
                               metadata={"template": "portfolio", "budget": budget, "units": units,
                                         "cardinality": cardinality, "risk_aversion": q, "assets": names})
    validate(problem)

    def interpret(sample):
        y = _bits(sample, labels)
        wts = y / B
        ret = float(m @ wts)
        var = float(wts @ S @ wts)
        return {"weights": {names[i]: float(wts[i]) for i in range(n) if y[i]},
                "lots": {names[i]: int(y[i]) for i in range(n) if y[i]},
                "selected": [names[i] for i in range(n) if y[i]],
                "expected_return": ret, "variance": var, "objective": ret - q * var,
                "budget_used": int(y.sum())}

    return problem, interpret


# ---------------------------------------------------------------------------------------
def assignment(costs, capacities=None, loads=None):
    """Generalised assignment: each task to exactly one machine, machine loads within capacity.

    Minimise ``sum_{t,m} costs[t, m] x_{t}_{m}`` subject to one-hot ``task_{t}``
    (``sum_m x_{t}_{m} == 1``, added with ``cqm.add_discrete``) and, when ``capacities``
    is given, ``capacity_{m}``: ``sum_t loads[t] x_{t}_{m} <= capacities[m]``. Without
    ``capacities`` nothing limits a machine's load, so the optimum puts every task on its
    cheapest machine; give ``capacities`` (e.g. ``ceil(T / M)`` each, with unit loads) to
    spread the tasks.

    Args:
        costs: float (T, M). capacities: float (M,) or None. loads: float (T,), default 1.

    Returns:
        ``(problem, interpret)``, ``sense="min"``; ``interpret`` gives ``{"assignment":
        {task: machine}, "total_cost", "machine_load": {machine: load}, "unassigned"}``.

    Raises:
        ModelError: bad shapes or non-finite data.
    """
    C = _matrix("costs", costs)
    T, M = C.shape
    ld = _vector("loads", loads if loads is not None else np.ones(T), T, nonneg=True)
    labels = [f"x_{t}_{m}" for t in range(T) for m in range(M)]
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(_bqm_objective(labels, C.ravel()))
    for t in range(T):
        cqm.add_discrete(labels[t * M:(t + 1) * M], label=f"task_{t}")
    if capacities is not None:
        cap = _vector("capacities", capacities, M, nonneg=True)
        for mm in range(M):
            _add_linear_constraint(cqm, labels[mm::M], ld, "<=", float(cap[mm]), f"capacity_{mm}")
    problem = Problem.from_cqm(cqm, "min", name="assignment",
                               metadata={"template": "assignment", "num_tasks": T, "num_machines": M})
    validate(problem)

    def interpret(sample):
        x = _bits(sample, labels).reshape(T, M)
        assign = {t: int(np.argmax(x[t])) for t in range(T) if x[t].sum() == 1}
        load = {mm: float(ld @ x[:, mm]) for mm in range(M)}
        return {"assignment": assign, "total_cost": float((C * x).sum()), "machine_load": load,
                "unassigned": [t for t in range(T) if x[t].sum() != 1]}

    return problem, interpret


# ---------------------------------------------------------------------------------------
def tour_length(distances, tour) -> float:
    """Length of a closed tour (list of city indices) under a distance matrix."""
    D = np.asarray(distances, dtype=float)
    t = np.asarray(tour, dtype=np.int64)
    return float(D[t, np.roll(t, -1)].sum())


def tsp(distances, *, fix_start: bool = True):
    """Travelling salesman, permutation encoding (Lucas 2014, section 7.1).

    ``x_{c}_{p} = 1`` when city c is visited at position p. One-hot rows ``city_{c}`` and
    columns ``position_{p}`` (``cqm.add_discrete``); minimise
    ``sum_p sum_{c != d} D[c, d] x_{c}_{p} x_{d}_{p+1}`` (positions cyclic).
    With ``fix_start`` (default) city 0 is pinned at position 0, which removes the
    rotational symmetry and leaves ``(n-1)^2`` variables.

    Args:
        distances: float (n, n), n >= 3; asymmetric matrices are allowed (direction p -> p+1).

    Returns:
        ``(problem, interpret)``, ``sense="min"``; ``interpret`` gives ``{"tour": [cities],
        "length", "valid"}`` (``valid`` False if the sample is not a permutation).
        ``problem.structure`` declares the permutation: ``{"kind": "tsp", "num_cities": n,
        "fix_start": fix_start, "distances": D as lists, "variables": "x_{c}_{p}"}``, so a
        solver may model the tour directly (CP-SAT's circuit constraint).

    Raises:
        ModelError: bad shape or non-finite distances.
    """
    D = _matrix("distances", distances)
    n = D.shape[0]
    if D.shape != (n, n) or n < 3:
        raise ModelError("distances", f"must be a square matrix with n >= 3, had shape {D.shape}")
    cities = list(range(1, n)) if fix_start else list(range(n))
    positions = list(range(1, n)) if fix_start else list(range(n))
    k = len(cities)
    labels = [f"x_{c}_{p}" for c in cities for p in positions]
    ci = np.array(cities)
    # index of (c, p) = a*k + b with a, b indices into cities/positions
    lin = np.zeros(k * k)
    rows, cols, vals = [], [], []
    A, Bm = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    offdiag = A != Bm
    a_idx, b_idx = A[offdiag], Bm[offdiag]
    w = D[ci[a_idx], ci[b_idx]]
    for pi in range(k):
        p = positions[pi]
        nxt = (p + 1) % n
        if fix_start and nxt == 0:
            lin[np.arange(k) * k + pi] += D[ci, 0]  # last position returns to city 0
            continue
        qi = positions.index(nxt)
        rows.append(a_idx * k + pi)
        cols.append(b_idx * k + qi)
        vals.append(w)
    if fix_start:
        lin[np.arange(k) * k + 0] += D[0, ci]  # city 0 at position 0 -> city at position 1
    irow = np.concatenate(rows)
    icol = np.concatenate(cols)
    qd = np.concatenate(vals)
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(_bqm_objective(labels, lin, irow, icol, qd))
    for a, c in enumerate(cities):
        cqm.add_discrete(labels[a * k:(a + 1) * k], label=f"city_{c}")
    for b, p in enumerate(positions):
        cqm.add_constraint_from_iterable([(labels[a * k + b], 1.0) for a in range(k)], "==", rhs=1.0,
                                         label=f"position_{p}")
    structure = {"kind": "tsp", "num_cities": n, "fix_start": bool(fix_start), "distances": D.tolist(),
                 "variables": "x_{c}_{p}"}
    problem = Problem.from_cqm(cqm, "min", name="tsp", metadata={"template": "tsp", "num_cities": n,
                                                                 "fix_start": bool(fix_start)},
                               structure=structure)
    validate(problem)

    def interpret(sample):
        x = _bits(sample, labels).reshape(k, k)
        valid = bool(np.all(x.sum(axis=0) == 1) and np.all(x.sum(axis=1) == 1))
        order = [int(ci[np.argmax(x[:, b])]) if x[:, b].sum() >= 1 else -1 for b in range(k)]
        tour = ([0] if fix_start else []) + order
        length = tour_length(D, tour) if valid else float("nan")
        return {"tour": tour, "length": length, "valid": valid}

    return problem, interpret
