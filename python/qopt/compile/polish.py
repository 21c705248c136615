"""Feasibility-keeping local search on decoded samples (optional post-processing).

A classical steepest-descent "polish" in the space of the *original* variables, as hybrid
solvers do after sampling: first repair (flips that reduce the total violation, best
objective among them), then improve with single flips and 1-out/1-in exchanges (swap
moves, the classic knapsack/assignment neighbourhood; e.g. Glover & Kochenberger's
one-flip and swap moves for constrained binary quadratic programs) that keep every
constraint satisfied. Only binary-variable models with linear constraints are polished;
anything else is returned unchanged.

The descent honours the solve's deadline and cancel token: it stops moving (keeping the rows
as far as they got, each no worse than given) when ``deadline`` passes (or would pass during a
move as long as the longest so far: on dantzig42 one move takes about 0.1 s) or ``cancel`` is set,
checked before every move.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from qopt.model.problem import Problem, expression_arrays, variable_info

__all__ = ["feasible_descent", "polish_supported"]

_MAX_PAIR_WORK = 2e7


def polish_supported(problem: Problem) -> bool:
    """True when every variable is binary and every constraint linear."""
    vt, _, _ = variable_info(problem.cqm)
    if np.any(vt != 1):
        return False
    for comp in problem.cqm.constraints.values():
        if not comp.lhs.is_linear():
            return False
    return True


def _arrays(problem: Problem):
    cqm = problem.cqm
    n = len(cqm.variables)
    idx, lin, qu, qv, qb, _ = expression_arrays(cqm.objective)
    c = np.zeros(n)
    np.add.at(c, idx, lin)
    loops = qu == qv
    np.add.at(c, qu[loops], qb[loops])
    qu, qv, qb = qu[~loops], qv[~loops], qb[~loops]
    S = sp.coo_matrix((np.concatenate([qb, qb]), (np.concatenate([qu, qv]), np.concatenate([qv, qu]))),
                      shape=(n, n)).tocsr()
    if n <= 3000:
        S = S.toarray()
    labels = list(cqm.constraints)
    m = len(labels)
    rows, cols, vals = [], [], []
    lo = np.full(m, -np.inf)
    hi = np.full(m, np.inf)
    for r, lab in enumerate(labels):
        comp = cqm.constraints[lab]
        cidx, clin, _, _, _, off = expression_arrays(comp.lhs)
        rows.append(np.full(cidx.size, r))
        cols.append(cidx)
        vals.append(clin)
        b = float(comp.rhs) - off
        s = comp.sense.value
        if s in ("<=", "=="):
            hi[r] = b
        if s in (">=", "=="):
            lo[r] = b
    A = sp.csr_matrix((np.concatenate(vals) if vals else np.zeros(0),
                       (np.concatenate(rows) if rows else np.zeros(0, int),
                        np.concatenate(cols) if cols else np.zeros(0, int))), shape=(m, n))
    if m * n <= 5e6:
        A = A.toarray()
    return c, S, A, lo, hi


def _violation(L, lo, hi, tol):
    return (np.maximum(L - hi - tol, 0.0) + np.maximum(lo - L - tol, 0.0)).sum(axis=0)


def _stopped(deadline: float | None, cancel) -> bool:
    return (cancel is not None and cancel.is_set()) or (deadline is not None and time.monotonic() >= deadline)


def feasible_descent(problem: Problem, x: np.ndarray, *, max_iter: int = 10_000, pairs: bool = True,
                     deadline: float | None = None, cancel=None) -> np.ndarray:
    """Repair then improve binary samples by steepest descent; returns a new float array.

    Args:
        problem: the model (objective minimised in its ``cqm``).
        x: float (R, n) or (n,) original variable values in ``problem.cqm.variables`` order.
        max_iter: most moves per sample.
        pairs: also try 1-out/1-in exchanges (skipped when too large: m * n1 * n0 > 2e7).
        deadline: None, or the time (:func:`time.monotonic` clock, seconds) after which no
            further move is made; rows not reached come back as given.
        cancel: None, or an object with ``is_set()`` (:class:`threading.Event`): when set,
            the descent stops as at the deadline (no exception; the caller checks its token).

    Returns:
        float (R, n): each row no worse in total violation, and, once feasible, no worse in
        objective. Unsupported models (see :func:`polish_supported`) come back unchanged.
    """
    X = np.atleast_2d(np.array(x, dtype=float, copy=True))
    if not polish_supported(problem) or X.size == 0 or _stopped(deadline, cancel):
        return X
    c, S, A, lo, hi = _arrays(problem)
    dense_A = isinstance(A, np.ndarray)
    m, n = A.shape
    tol = 1e-9 * np.maximum(1.0, np.maximum(np.abs(np.where(np.isfinite(lo), lo, 0)),
                                            np.abs(np.where(np.isfinite(hi), hi, 0))))
    step = 0.0  # the longest move so far (any row): no move starts that would end past the deadline
    for r in range(X.shape[0]):
        xr = X[r]
        h = c + S @ xr
        L = A @ xr
        for _ in range(max_iter):
            if _stopped(None if deadline is None else deadline - step, cancel):
                break
            t_move = time.monotonic()
            d = 1.0 - 2.0 * xr                       # flip direction per variable
            gain = d * h                              # objective change per flip
            v_now = float(_violation(L[:, None], lo[:, None], hi[:, None], tol[:, None])[0]) if m else 0.0
            if m:
                Ad = A * d[None, :] if dense_A else (A @ sp.diags(d)).toarray()
                L1 = L[:, None] + Ad
                v1 = _violation(L1, lo[:, None], hi[:, None], tol[:, None])
            else:
                v1 = np.zeros(n)
            move: tuple[int, ...] | None = None
            if v_now > 0:
                better = v1 < v_now - 1e-12
                if np.any(better):
                    key = np.where(better, v1, np.inf)
                    best_v = key.min()
                    cand = np.flatnonzero(key <= best_v + 1e-12)
                    move = (int(cand[np.argmin(gain[cand])]),)
            else:
                ok = (v1 <= 0) & (gain < -1e-12)
                best_single = float(gain[ok].min()) if np.any(ok) else 0.0
                if np.any(ok):
                    move = (int(np.flatnonzero(ok)[np.argmin(gain[ok])]),)
                ones, zeros = np.flatnonzero(xr == 1), np.flatnonzero(xr == 0)
                if pairs and ones.size and zeros.size and m * ones.size * zeros.size <= _MAX_PAIR_WORK:
                    Sij = S[np.ix_(ones, zeros)] if isinstance(S, np.ndarray) else S[ones][:, zeros].toarray()
                    g2 = gain[ones][:, None] + gain[zeros][None, :] - Sij
                    if m:
                        L2 = L[:, None, None] + Ad[:, ones][:, :, None] + Ad[:, zeros][:, None, :]
                        feas2 = np.all((L2 <= hi[:, None, None] + tol[:, None, None]) &
                                       (L2 >= lo[:, None, None] - tol[:, None, None]), axis=0)
                        g2 = np.where(feas2, g2, np.inf)
                    k = int(np.argmin(g2))
                    if g2.flat[k] < min(best_single, 0.0) - 1e-12:
                        i, j = np.unravel_index(k, g2.shape)
                        move = (int(ones[i]), int(zeros[j]))
            if move is None:
                break
            step = max(step, time.monotonic() - t_move)
            for v in move:
                di = 1.0 - 2.0 * xr[v]
                xr[v] += di
                col = S[:, v] if isinstance(S, np.ndarray) else S[:, v].toarray().ravel()
                h = h + di * col
                if m:
                    L = L + di * (A[:, v] if dense_A else A[:, v].toarray().ravel())
        X[r] = xr
    return X
