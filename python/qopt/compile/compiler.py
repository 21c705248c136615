"""Compile a constrained model (CQM) into a BQM (QUBO) plus an immutable decoder.

The compiler is pure: :func:`compile` keeps no state between calls; the returned
:class:`~qopt.compile.Decoder` is immutable and safe to share between concurrent jobs.
Everything is built with sparse matrix algebra (scipy.sparse) over numpy arrays; there is
no per-term Python loop over the objective, and one small loop per constraint.

Encodings (x = original variables, b = BQM bits):
    * binary x: one bit, x = b (label kept);
    * spin s: one bit, s = 2b - 1 (label kept; the bit is (s + 1) / 2);
    * integer i in [lo, hi]: i = lo + sum_k c_k b_k with the *binary* (log) encoding
      c = 1, 2, 4, ..., 2^(K-2), R - (2^(K-1) - 1), R = hi - lo (every value in [lo, hi]
      exactly once-or-more, K = floor(log2 R) + 1 bits), or the *unary* encoding c = 1 (R bits).
      Bits are labelled ``"{label}#i{k}"`` (``{label}`` is ``str(label)``).

Constraints (all linear; quadratic constraints are rejected):
    * ``==`` and one-hot (``cqm.add_discrete``): penalty ``w * (a.x - rhs)^2`` (one-hot is the
      familiar ``A * (sum x - 1)^2`` of Lucas 2014, "Ising formulations of many NP problems").
    * ``<=`` / ``>=`` with ``inequality="slack"``: ``a.x + s = rhs`` with a slack s >= 0 whose
      range is ``[0, rhs - min(a.x)]`` (min from the variables' bounds), encoded in binary
      (log, default) or unary bits labelled ``"{label}#s{k}"``, penalty ``w * (a.x + s - rhs)^2``.
      *Coefficient resolution*: the smallest ``d <= 6`` for which every coefficient and the
      right-hand side times ``10^d`` is an integer is found; the slack then moves in steps of
      ``gcd(scaled coefficients) / 10^d`` with the exact residue added as a constant, so every
      feasible point has zero penalty. If no such ``d`` exists (irrational-looking data), the
      step is the smallest non-zero ``|coefficient|``, and a feasible point may keep a penalty
      of at most ``w * step^2 / 4``; feasibility is always judged exactly on the original
      constraint by the decoder.
    * ``<=`` / ``>=`` with ``inequality="unbalanced"``: no slack bits; with
      ``h = rhs - a.x`` (>= 0 when satisfied) the penalty is ``w * (-l1 * h + l2 * h^2)``
      (Montanez-Barrera, Willsch, Maldonado-Romo, Michielsen, "Unbalanced penalization: a new
      approach to encode inequality constraints of combinatorial problems for quantum
      optimization algorithms", Quantum Sci. Technol. 9, 025022, 2024; defaults
      ``(l1, l2) = (0.96, 0.0371)`` from that paper's knapsack experiments). Feasible points
      are no longer exactly zero-penalty, which is the point of the method.

Penalty weights (``penalty=None`` or labels missing from a dict): per squared-penalty
constraint ``c`` (equalities, one-hot, slack inequalities),

    ``w_c = (1 + margin) * max_{b in bits(c)} D_b / step_c^2``

where ``D_b = |linear_b| + sum_j |quadratic_bj|`` bounds the objective change from flipping
bit ``b`` (the Verma & Lewis 2022 bound, "Penalty and partitioning techniques to improve
performance of QUBO solvers", Discrete Optimization 44, 100594) and ``step_c`` is the
smallest non-zero change of the constraint's residual (its coefficient resolution). So a
single flip that breaks a satisfied constraint by the least possible amount never pays.
If no bit of the constraint touches the objective, ``D`` is the largest ``D_b`` of the model
(or 1 for an empty objective). ``margin`` defaults to 0.1. When the model has one-hot
constraints (``sum of bits == 1``), ``D_b`` is tightened: neighbours of ``b`` in one one-hot
group count once, with their largest ``|quadratic_bj|`` (at a feasible point at most one of
them is 1).
For inequalities with ``inequality="unbalanced"`` the weight is a *resource price*:
``w_c = (1 + margin) * median_{b in bits(c)} D_b / |a_b|``, the typical objective change per
unit of the constraint's left-hand side, so that the linear term ``l1 * w * h`` acts like a
Lagrange multiplier estimate.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import dimod
import numpy as np
import scipy.sparse as sp

from qopt.checks import ParameterError, check_choice, check_float
from qopt.compile.decoder import Decoder
from qopt.model.load import as_problem
from qopt.model.problem import ModelError, Problem, expression_arrays, variable_info

__all__ = ["compile", "integer_encoding_coefficients", "num_encoded_variables", "DEFAULT_UNBALANCED"]

DEFAULT_UNBALANCED = (0.96, 0.0371)
_SENSE_CODE = {"<=": 0, ">=": 1, "==": 2}


def integer_encoding_coefficients(r: int, encoding: str = "binary") -> np.ndarray:
    """Bit coefficients c (int64) with ``{sum c_k b_k}`` = every integer in ``[0, r]``.

    Args:
        r: range (>= 0). 0 gives no bits.
        encoding: ``"binary"`` (log: 1, 2, 4, ..., last bit truncated so the sum is ``r``)
            or ``"unary"`` (``r`` bits of 1).
    """
    r = int(r)
    if r <= 0:
        return np.zeros(0, dtype=np.int64)
    if encoding == "unary":
        return np.ones(r, dtype=np.int64)
    k = r.bit_length()  # floor(log2 r) + 1
    c = (1 << np.arange(k, dtype=np.int64))
    c[-1] = r - (int(c[:-1].sum()))
    return c


def num_encoded_variables(cqm: dimod.ConstrainedQuadraticModel, integer_encoding: str = "binary") -> int:
    """The variables of the BQM :func:`compile` makes of ``cqm`` before any slack bits: one
    bit per binary or spin variable, :func:`integer_encoding_coefficients`' bits per integer
    (REAL variables, which compile refuses, count none). With ``inequality="unbalanced"`` (no
    slack bits) this is the compiled BQM's ``num_variables``; with ``"slack"`` a lower bound.
    Computed from the variables' bounds, without compiling."""
    vt, lb, ub = variable_info(cqm)
    ints = np.flatnonzero(vt == 2)
    bits = sum(integer_encoding_coefficients(math.floor(ub[i] + 1e-9) - math.ceil(lb[i] - 1e-9),
                                             integer_encoding).size for i in ints.tolist())
    return int(np.count_nonzero(vt <= 1)) + int(bits)


def _resolution(coef: np.ndarray, const: float):
    """(scale 10^d, integer gcd) if coefficients and const are decimals with d <= 6, else None."""
    vals = np.concatenate([coef, [const]])
    for d in range(7):
        s = 10.0 ** d
        scaled = vals * s
        r = np.rint(scaled)
        if np.all(np.abs(scaled - r) <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
            ints = np.abs(r[:-1]).astype(np.int64)
            g = int(np.gcd.reduce(ints[ints != 0])) if np.any(ints) else 1
            return s, max(g, 1)
    return None


def compile(model, *, penalty=None, integer_encoding: str = "binary", slack: str = "binary",
            inequality: str = "slack", unbalanced=DEFAULT_UNBALANCED, margin: float = 0.1):
    """Compile a constrained model to a binary quadratic model and a decoder.

    Args:
        model: anything :func:`qopt.model.as_problem` accepts: a :class:`~qopt.model.Problem`,
            a dimod CQM (minimised), BQM, QuadraticProgram, spec dict, LP/MPS path or text.
        penalty: ``None`` (per-constraint weights from the rule in the module docstring),
            a positive float (every constraint), or a dict ``{constraint label: weight}``
            (others get the rule's weight). Weights are in objective units per squared unit
            of constraint residual.
        integer_encoding: ``"binary"`` (log, default) or ``"unary"`` for integer variables.
        slack: ``"binary"`` (log, default) or ``"unary"`` encoding of slack variables.
        inequality: ``"slack"`` (default) or ``"unbalanced"`` penalisation of ``<=``/``>=``.
        unbalanced: ``(l1, l2)`` multipliers for ``inequality="unbalanced"``.
        margin: relative margin added to the automatic weights (>= 0).

    Returns:
        ``(bqm, decoder)``: a BINARY :class:`dimod.BinaryQuadraticModel` whose energy is the
        minimisation-form objective plus penalties, with variables ordered as original
        bits then slack bits; and an immutable :class:`~qopt.compile.Decoder`
        (``decoder.weights`` holds the weight applied to each constraint).

    Raises:
        ModelError (a ValueError): invalid model (see :func:`qopt.model.validate`), a REAL
            variable, a quadratic constraint, or a generated label that collides.
        ParameterError (a ValueError): a bad option or penalty (names it).

    Examples:
        >>> import dimod
        >>> x, y, z = dimod.Binaries("xyz")
        >>> cqm = dimod.ConstrainedQuadraticModel()
        >>> cqm.set_objective(-x - 2*y - 3*z)
        >>> cqm.add_constraint(x + y + z <= 2, label="cap")
        'cap'
        >>> bqm, decoder = compile(cqm)
        >>> best = decoder.decode(dimod.ExactSolver().sample(bqm))[0]
        >>> best.sample, best.objective, best.feasible
        ({'x': 0, 'y': 1, 'z': 1}, -5.0, True)
    """
    integer_encoding = check_choice("integer_encoding", integer_encoding, ("binary", "unary"))
    slack = check_choice("slack", slack, ("binary", "unary"))
    inequality = check_choice("inequality", inequality, ("slack", "unbalanced"))
    margin = check_float("margin", margin, minimum=0.0)
    try:
        l1, l2 = (check_float("unbalanced", float(u), minimum=0.0) for u in unbalanced)
    except (TypeError, ValueError):
        raise ParameterError("unbalanced", f"must be a pair (l1, l2) of numbers >= 0, was {unbalanced!r}") from None
    problem: Problem = as_problem(model)
    cqm = problem.cqm
    labels = list(cqm.variables)
    n = len(labels)
    vt, lb, ub = variable_info(cqm)
    if np.any(vt == 3):
        v = labels[int(np.flatnonzero(vt == 3)[0])]
        raise ModelError(f"variables[{v!r}]", "continuous (REAL) variables cannot be compiled to a QUBO; "
                                              "make the variable integer or binary")

    # ---- encoding x = o + E b -------------------------------------------------------
    o = np.zeros(n)
    e_rows, e_cols, e_vals = [], [], []
    simple = np.flatnonzero(vt <= 1)
    nb = simple.size
    e_rows.append(simple)
    e_cols.append(np.arange(nb))
    e_vals.append(np.where(vt[simple] == 0, 2.0, 1.0))
    o[simple] = np.where(vt[simple] == 0, -1.0, 0.0)
    bit_labels = [labels[i] for i in simple]
    ints = np.flatnonzero(vt == 2)
    for i in ints:
        lo, hi = math.ceil(lb[i] - 1e-9), math.floor(ub[i] + 1e-9)
        o[i] = lo
        c = integer_encoding_coefficients(hi - lo, integer_encoding)
        k = c.size
        e_rows.append(np.full(k, i))
        e_cols.append(np.arange(nb, nb + k))
        e_vals.append(c.astype(float))
        bit_labels.extend(f"{labels[i]}#i{j}" for j in range(k))
        nb += k
    E = sp.csr_matrix((np.concatenate(e_vals), (np.concatenate(e_rows), np.concatenate(e_cols))), shape=(n, nb))
    num_var_bits = nb

    # ---- objective in bit space --------------------------------------------------------
    idx, lin, qu, qv, qb, off = expression_arrays(cqm.objective)
    c_vec = np.zeros(n)
    np.add.at(c_vec, idx, lin)
    Q = sp.csr_matrix((qb, (qu, qv)), shape=(n, n))
    lin_bits = E.T @ (c_vec + Q @ o + Q.T @ o)
    offset = off + float(c_vec @ o) + float(o @ (Q @ o))
    M = (E.T @ Q @ E).tocoo()
    obj_lin, obj_quad = _split_quadratic(M, nb)
    obj_lin += lin_bits
    # flip bound D_b = |linear_b| + sum_j |quadratic_bj| (objective only)
    absq = abs(obj_quad)
    flip = np.abs(obj_lin) + np.asarray(absq.sum(axis=0)).ravel() + np.asarray(absq.sum(axis=1)).ravel()
    flip_default = float(flip.max()) if flip.size and flip.max() > 0 else 1.0

    # ---- constraints ------------------------------------------------------------------
    con_labels = list(cqm.constraints)
    m = len(con_labels)
    a_rows, a_cols, a_vals = [], [], []
    con_off = np.zeros(m)
    rhs = np.zeros(m)
    sense = np.zeros(m, dtype=np.int8)
    for r, label in enumerate(con_labels):
        comp = cqm.constraints[label]
        cidx, clin, cqu, cqv, cqb, coff = expression_arrays(comp.lhs)
        if cqb.size and np.any(cqb):
            raise ModelError(f"constraints[{label!r}]", "quadratic constraints are not supported by compile "
                                                        "(their square penalty would be quartic)")
        a_rows.append(np.full(cidx.size, r))
        a_cols.append(cidx)
        a_vals.append(clin)
        con_off[r] = coff
        rhs[r] = float(comp.rhs)
        sense[r] = _SENSE_CODE[comp.sense.value]
    if m:
        A_orig = sp.csr_matrix((np.concatenate(a_vals), (np.concatenate(a_rows), np.concatenate(a_cols))),
                               shape=(m, n))
    else:
        A_orig = sp.csr_matrix((0, n))
    A = (A_orig @ E).tocsr()
    A.sum_duplicates()
    k0 = A_orig @ o + con_off - rhs  # residual g = A b + k0 ; want g <= 0 / >= 0 / == 0
    # normalise >= to <=
    flip_sign = np.where(sense == 1, -1.0, 1.0)
    A = sp.diags(flip_sign) @ A
    A = A.tocsr()
    k0 = k0 * flip_sign
    gmin = k0 + np.asarray(A.minimum(0).sum(axis=1)).ravel()
    gmax = k0 + np.asarray(A.maximum(0).sum(axis=1)).ravel()

    flip = _one_hot_refine(flip, obj_lin, obj_quad, A, k0, sense, num_var_bits)
    weights = _weights(penalty, con_labels, A, flip, flip_default, margin, k0)  # base rule (step 1)
    steps = np.ones(m)
    slack_rows, slack_cols, slack_vals = [], [], []
    slack_spec = []
    sq_w = np.zeros(m)
    lin_w = np.zeros(m)
    active = np.ones(m, dtype=bool)
    for r in range(m):
        lo_ptr, hi_ptr = A.indptr[r], A.indptr[r + 1]
        coef = A.data[lo_ptr:hi_ptr]
        res = _resolution(coef, k0[r])
        if res is not None:
            scale, g = res
            step = g / scale
        else:
            scale, g, step = None, None, float(np.min(np.abs(coef[coef != 0]))) if np.any(coef) else 1.0
        steps[r] = step
        is_eq = sense[r] == 2
        if not is_eq and gmax[r] <= 1e-9 * max(1.0, abs(rhs[r])):
            active[r] = False  # always satisfied: no penalty needed
            continue
        if is_eq:
            sq_w[r] = 1.0
            continue
        if inequality == "unbalanced":
            # h = -g ; penalty w(-l1 h + l2 h^2) = w(l1 g + l2 g^2)
            lin_w[r] = l1
            sq_w[r] = l2
            continue
        sq_w[r] = 1.0
        # slack s in [0, -gmin], g + s = 0
        if scale is not None:
            G = int(round(-gmin[r] * scale))
            s0 = G % g
            T = (G - s0) // g
            k0[r] += s0 / scale
        else:
            T = int(math.floor(-gmin[r] / step + 1e-9))
        c = integer_encoding_coefficients(T, slack)
        if c.size:
            slack_spec.append((r, nb, c * step))
            slack_rows.append(np.full(c.size, r))
            slack_cols.append(np.arange(nb, nb + c.size))
            slack_vals.append(c * step)
            bit_labels.extend(f"{con_labels[r]}#s{j}" for j in range(c.size))
            nb += c.size
    # weights use each constraint's own step: w = rule / step^2 (only for auto-derived ones);
    # unbalanced inequality rows use the resource-price rule instead (see module docstring)
    auto_mask = np.array([_is_auto(penalty, lab) for lab in con_labels], dtype=bool)
    unbal = lin_w > 0
    price = _price_rule(A, flip, flip_default, margin) if np.any(unbal & auto_mask) else np.zeros(m)
    weights = np.where(auto_mask, np.where(unbal, price, weights / np.maximum(steps, 1e-300) ** 2), weights)
    weights = np.where(active, weights, 0.0)

    if slack_rows:
        S = sp.csr_matrix((np.concatenate(slack_vals), (np.concatenate(slack_rows), np.concatenate(slack_cols))),
                          shape=(m, nb))
        A_ext = (sp.hstack([A, sp.csr_matrix((m, nb - A.shape[1]))]) + S).tocsr()
    else:
        A_ext = sp.hstack([A, sp.csr_matrix((m, nb - A.shape[1]))]).tocsr() if nb > A.shape[1] else A

    W2 = weights * sq_w
    W1 = weights * lin_w
    P = (A_ext.T @ sp.diags(W2) @ A_ext).tocoo()
    pen_lin, pen_quad = _split_quadratic(P, nb)
    pen_lin += A_ext.T @ (2.0 * W2 * k0 + W1)
    offset += float(np.sum(W2 * k0 * k0) + np.sum(W1 * k0))

    linear = np.zeros(nb)
    linear[:num_var_bits] += obj_lin
    linear += pen_lin
    quad = (sp.coo_matrix((obj_quad.data, (obj_quad.row, obj_quad.col)), shape=(nb, nb)) + pen_quad).tocoo()
    quad.sum_duplicates()
    keep = quad.data != 0
    if len(set(bit_labels)) != nb:
        seen = set()
        for lab in bit_labels:
            if lab in seen:
                raise ModelError(f"variables[{lab!r}]", "label collides with a generated integer/slack bit label")
            seen.add(lab)
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
        linear, (quad.row[keep], quad.col[keep], quad.data[keep]), offset, dimod.BINARY, variable_order=bit_labels)

    decoder = Decoder._create(
        problem=problem, labels=labels, bit_labels=bit_labels[:num_var_bits], num_bits=nb, E=E, o=o,
        A_orig=A_orig, con_off=con_off, rhs=rhs, sense=sense, con_labels=con_labels,
        weights={lab: float(w) for lab, w in zip(con_labels, weights, strict=True)},
        A_bits=A, k0=k0, slack_spec=slack_spec, slack_labels=bit_labels[num_var_bits:],
        options={"integer_encoding": integer_encoding, "slack": slack, "inequality": inequality,
                 "unbalanced": [l1, l2], "margin": margin},
    )
    return bqm, decoder


def _split_quadratic(M: sp.coo_matrix, nb: int):
    """Diagonal of a (not necessarily triangular) matrix to linear (b^2 = b); rest folded upper."""
    M = M.tocoo()
    diag = M.row == M.col
    lin = np.zeros(nb)
    np.add.at(lin, M.row[diag], M.data[diag])
    r, c, d = M.row[~diag], M.col[~diag], M.data[~diag]
    lo, hi = np.minimum(r, c), np.maximum(r, c)
    U = sp.coo_matrix((d, (lo, hi)), shape=(nb, nb)).tocsr().tocoo()
    return lin, U


def _is_auto(penalty, label) -> bool:
    if penalty is None:
        return True
    if isinstance(penalty, Mapping):
        return label not in penalty
    return False


def _one_hot_refine(flip, obj_lin, obj_quad, A, k0, sense, nbits):
    """Tighter flip bounds using one-hot constraints (sum of bits == 1).

    At a feasible point at most one bit of a one-hot group is 1, so the neighbours of bit b
    that lie in one group contribute at most ``max_j |Q_bj|`` rather than the sum. Two
    partitions of the bits into groups are tried (each bit assigned to the first, or to the
    last, one-hot constraint containing it); the smallest bound per bit is kept.
    """
    m = A.shape[0]
    if m == 0 or obj_quad.nnz == 0:
        return flip
    A = A.tocsr()
    counts = np.diff(A.indptr)
    rows = np.repeat(np.arange(m), counts)
    is_one = np.bincount(rows[~np.isclose(A.data, 1.0)], minlength=m) == 0
    onehot = is_one & (sense == 2) & np.isclose(k0, -1.0) & (counts > 1)
    if not np.any(onehot):
        return flip
    sel = onehot[rows]
    g_rows, g_cols = rows[sel], A.indices[sel]
    absq = abs(obj_quad).tocoo()
    qb = np.concatenate([absq.row, absq.col]).astype(np.int64)
    qj = np.concatenate([absq.col, absq.row]).astype(np.int64)
    qv = np.concatenate([absq.data, absq.data])
    nb = flip.size
    first = np.arange(nb)
    best = flip.copy()
    for pick_last in (False, True):
        group = np.full(nbits, -1, dtype=np.int64)
        order = np.argsort(g_rows, kind="stable")
        if pick_last:
            group[g_cols[order]] = g_rows[order]
        else:
            group[g_cols[order][::-1]] = g_rows[order][::-1]
        key = group[qj]
        free = key < 0
        # sums in the order np.add.at would take (each bit's own term first): the same floats
        bound = np.bincount(np.concatenate([first, qb[free]]), minlength=nb,
                            weights=np.concatenate([np.abs(obj_lin), qv[free]]))
        gb, gk, gv = qb[~free], key[~free], qv[~free]
        if gb.size:
            o = np.argsort(gb * (m + 1) + gk, kind="stable")  # by bit, then group (lexsort's order)
            gb, gk, gv = gb[o], gk[o], gv[o]
            start = np.flatnonzero(np.r_[True, (gb[1:] != gb[:-1]) | (gk[1:] != gk[:-1])])
            mx = np.maximum.reduceat(gv, start)
            bound = np.bincount(np.concatenate([first, gb[start]]), minlength=nb,
                                weights=np.concatenate([bound, mx]))
        best = np.minimum(best, bound)
    return best


def _price_rule(A, flip, flip_default, margin):
    """Unbalanced rows: w = (1 + margin) * median over the row's bits of D_b / |a_b|."""
    m = A.shape[0]
    w = np.zeros(m)
    nbits = flip.size
    for r in range(m):
        cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
        vals = np.abs(A.data[A.indptr[r]:A.indptr[r + 1]])
        keep = (cols < nbits) & (vals > 0)
        ratio = flip[cols[keep]] / vals[keep]
        ratio = ratio[ratio > 0]
        w[r] = (1.0 + margin) * (float(np.median(ratio)) if ratio.size else flip_default)
    return w


def _weights(penalty, con_labels, A, flip, flip_default, margin, k0):
    m = len(con_labels)
    w = np.zeros(m)
    nbits = flip.size
    for r in range(m):
        cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
        cols = cols[cols < nbits]
        dmax = float(flip[cols].max()) if cols.size else 0.0
        w[r] = (1.0 + margin) * (dmax if dmax > 0 else flip_default)
    if penalty is None:
        return w
    if isinstance(penalty, Mapping):
        known = set(con_labels)
        for lab, val in penalty.items():
            if lab not in known:
                raise ParameterError("penalty", f"must name constraints of the model, was {lab!r} (unknown constraint)")
            w[con_labels.index(lab)] = check_float(f"penalty[{lab!r}]", val, minimum=0.0)
        return w
    if isinstance(penalty, numbers.Real) and not isinstance(penalty, bool):
        return np.full(m, check_float("penalty", penalty, minimum=0.0))
    raise ParameterError("penalty", f"must be None, a number or a dict label -> number, was {penalty!r}")
