"""Certified lower bounds on the minimum energy of a binary quadratic model.

Two bounds, and the better of them:

* **Roof duality** (Hammer, Hansen & Simeone 1984; Boros & Hammer 2002), computed by
  ``dwave.preprocessing.roof_duality`` (a max-flow on the implication network). Exact on
  models with few frustrated interactions, weak on dense ones.
* **Spectral / SDP-dual bound** (Delorme & Poljak 1993; Poljak & Rendl 1995; the dual of the
  Goemans & Williamson 1995 relaxation). Write the spin form as
  ``E(s) = offset + h.s + sum_{i<j} J_ij s_i s_j`` and fold ``h`` in with an extra spin
  ``s_0`` (``h_i s_i -> h_i s_i s_0``; flipping every spin leaves the energy unchanged, so the
  minimum is the same). With ``A`` the symmetric coupling matrix (``A_ij = J_ij``, zero
  diagonal) on ``N`` spins and any vector ``y``::

      sum_{i<j} J_ij s_i s_j = s^T A s / 2 = (s^T (A - diag y) s + sum(y)) / 2
                             >= (N * lambda_min(A - diag y) + sum(y)) / 2,

  because ``s^T s = N``. The best ``y`` makes this the SDP relaxation's value. We find a
  near-optimal ``y`` with the low-rank "mixing method" (Burer & Monteiro 2003; Wang, Chang &
  Kolter 2017) in the C++ core: its KKT multipliers ``y_i = v_i . (A V)_i`` are the dual
  solution at convergence. ``y`` is only an estimate; the bound is certified separately.

**Certification.** Any ``y`` gives a valid bound once ``lambda_min(A - diag y)`` is replaced by
a number ``t_cert`` that is provably below it. Near the SDP optimum ``lambda_min`` is just
below 0; when the iterations stopped short (the bound alongside sampling gets a few hundredths
of a second) it is well below, and a 150-step Lanczos estimate (not a bound) places the start
instead. We take ``t`` a little below that (widening the margin tenfold until it works) and
prove ``B = A - diag(y) - t I`` positive semidefinite up to a computed error:

* dense (``N <= dense_max``): LAPACK Cholesky ``B = R^T R`` (numpy's, which releases the GIL). If it succeeds in floating point,
  ``B + dB = R^T R`` exactly with ``|dB| <= gamma_{N+1} |R^T| |R|`` (Demmel 1989; Higham,
  *Accuracy and Stability of Numerical Algorithms*, Thm 10.3), so
  ``lambda_min(B) >= -gamma_{N+1} ||R||_F^2`` (Rump 2006, BIT 46, uses the same argument).
* sparse: SuperLU with a symmetric ordering and no pivoting gives ``P B P^T ~ L U``; with
  ``D = diag(U) > 0`` the matrix ``C = L D L^T`` is exactly PSD, and ``lambda_min(B) >=
  -||P B P^T - C||_inf``, where the residual is computed in floating point together with a
  ``gamma_N |L| D |L^T|`` bound on its rounding error.
* Rounding in forming ``B``'s diagonal (``u |B_ii|``) is added, and finally a slack of
  ``1e-9 * (1 + |offset| + sum |biases|)`` covers rounding in converting the model to spin
  form (orders of magnitude above it). When every bias and the offset are integers, every
  energy is an integer, and the bound is rounded up to one.

If a factorisation fails after several widened margins, the Gershgorin bound
``lambda_min >= min_i (B_ii - sum_j |B_ij|)`` (always rigorous, weaker) is used.

**Cancellation.** :func:`lower_bound` and :func:`spectral_bound` take ``cancel`` (an object with
``is_set()``, e.g. :class:`threading.Event`), checked between the bounds, after the mixing
iterations, at each Lanczos step and between factorisations; when it is set they raise
:class:`qopt.errors.Cancelled`.
The steps in between (one roof-duality max-flow, the mixing iterations, bounded by
``time_limit``, and one factorisation) cannot be interrupted.
"""
from __future__ import annotations

import math
import time

import dimod
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from qopt.checks import check_choice, check_float, check_int
from qopt.errors import Cancelled

__all__ = ["lower_bound", "roof_duality", "roof_duality_bound", "spectral_bound", "ising_arrays", "certified_value",
           "homogenise", "DENSE_MAX", "certificate_seconds"]

_U = np.finfo(float).eps / 2  # unit roundoff
_SLACK = 1e-9
#: Largest number of spins (after folding in the linear biases) certified by a dense Cholesky:
#: ~15 ms at 800 spins; above it a sparse LU takes about a second (G55, 5000 spins) or more.
DENSE_MAX = 3000
#: CPU seconds of a dense certificate, measured on the project's 2-core machine with one BLAS
#: thread: the 150-step Lanczos estimate ~0.02 s whatever N (up to a few thousand: its Python
#: steps dominate), one Cholesky 0.017 s at N = 800 and 0.12-0.14 s at N = 2000 (about N^2.5 there).
_LANCZOS_SECONDS = 0.02
_CHOLESKY_SECONDS_800 = 0.017
_REFINE_SHARE = 1e-4  # a certificate's margin is refined by bisection when N * margin exceeds this share of the scale


def _check_cancel(cancel, where: str) -> None:
    """Raise :class:`qopt.errors.Cancelled` when ``cancel`` (None or an object with ``is_set()``) is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"lower bound cancelled {where}")


def certificate_seconds(num_spins: int, dense_max: int = DENSE_MAX) -> float:
    """Estimated CPU seconds of certifying a spectral bound on ``num_spins`` spins (after the
    linear biases are folded in) once its mixing iterations end: a Lanczos estimate and one
    dense Cholesky (``_LANCZOS_SECONDS + _CHOLESKY_SECONDS_800 * (N / 800) ** 2.5``); ``inf``
    above ``dense_max``, where the sparse LU certificate takes seconds per factorisation and
    holds the GIL for up to ~0.2 s at a time (G55: ~1 s per factorisation). Used to decide
    whether the bound fits beside a sampler (:mod:`qopt.solve.bqm`)."""
    if num_spins > dense_max:
        return math.inf
    return _LANCZOS_SECONDS + _CHOLESKY_SECONDS_800 * (max(1, num_spins) / 800.0) ** 2.5


def _gamma(k: int) -> float:
    ku = k * _U
    return ku / (1.0 - ku)


def ising_arrays(bqm: dimod.BinaryQuadraticModel, variables=None):
    """Spin form of ``bqm`` as arrays.

    Args:
        bqm: any binary quadratic model.
        variables: variable order (default ``list(bqm.variables)``).

    Returns:
        (h, A, offset): h float64 (n,); A scipy.sparse CSR (n, n), symmetric with
        ``A_ij = J_ij``, zero diagonal, sorted indices; offset float, such that
        ``E(s) = offset + h.s + s^T A s / 2`` for s in {-1, +1}^n in ``variables`` order.
    """
    spin = bqm if bqm.vartype is dimod.SPIN else bqm.change_vartype(dimod.SPIN, inplace=False)
    if variables is None:
        variables = list(bqm.variables)
    n = len(variables)
    h, (ir, ic, J), offset = spin.to_numpy_vectors(variable_order=variables)  # type: ignore[misc]  # dimod types it as a 3- or 4-tuple
    ir = np.asarray(ir, dtype=np.int64)
    ic = np.asarray(ic, dtype=np.int64)
    A = sp.coo_matrix((np.r_[J, J], (np.r_[ir, ic], np.r_[ic, ir])), shape=(n, n)).tocsr()
    A.sum_duplicates()
    A.sort_indices()
    return np.asarray(h, dtype=float), A, float(offset)


def _scale(bqm: dimod.BinaryQuadraticModel) -> float:
    lin, (_, _, q), off = bqm.to_numpy_vectors()  # type: ignore[misc]  # dimod types it as a 3- or 4-tuple
    return 1.0 + abs(float(off)) + float(np.abs(lin).sum()) + float(np.abs(q).sum())


def _is_integral(bqm: dimod.BinaryQuadraticModel) -> bool:
    lin, (_, _, q), off = bqm.to_numpy_vectors()  # type: ignore[misc]  # dimod types it as a 3- or 4-tuple
    return bool(np.all(lin == np.round(lin)) and np.all(q == np.round(q)) and off == round(off))


def certified_value(value: float, bqm: dimod.BinaryQuadraticModel) -> float:
    """A lower bound ``value`` (energy units of ``bqm``) made safe against floating-point
    rounding: lowered by a slack proportional to the model's scale (sum of |biases|), then
    rounded up to an integer when every bias and the offset are integers (the energy of
    every sample is then an integer too). Every bound qopt reports passes through here."""
    value = value - _SLACK * _scale(bqm)
    if _is_integral(bqm):
        value = float(math.ceil(value))
    return float(value)


def roof_duality(bqm: dimod.BinaryQuadraticModel, *, strict: bool = True) -> tuple[float, dict]:
    """``dwave.preprocessing.roof_duality`` on a copy relabelled ``0..n-1`` in variable order.

    dwave-preprocessing 0.6.11 passes a model whose labels are the integers ``0..n-1`` straight
    to its C++ core, which reads them as positions; when such labels are not stored in
    increasing order (e.g. after ``fix_variables`` or ``add_interaction`` on new labels) the
    returned fixings belong to other variables. Relabelling by position avoids that.

    Returns:
        (lower bound on the energy, ``label -> value`` strong persistencies in ``bqm.vartype``).
    """
    from dwave.preprocessing import roof_duality as _rd

    variables = list(bqm.variables)
    indexed = bqm.relabel_variables({v: i for i, v in enumerate(variables)}, inplace=False)
    lb, fixed = _rd(indexed, strict=strict)
    return float(lb), {variables[i]: int(val) for i, val in fixed.items()}


def roof_duality_bound(bqm: dimod.BinaryQuadraticModel) -> dict:
    """Roof-duality lower bound (Boros & Hammer 2002) via ``dwave.preprocessing``.

    Returns:
        dict with ``value`` (float, energy units of ``bqm`` including its offset),
        ``method="roof_duality"``, ``seconds``, ``num_fixable`` (strong persistencies found).
    """
    start = time.perf_counter()
    if len(bqm) == 0:
        return {"value": float(bqm.offset), "method": "roof_duality", "seconds": 0.0, "num_fixable": 0}
    lb, fixed = roof_duality(bqm, strict=True)
    value = certified_value(float(lb), bqm)
    return {"value": value, "method": "roof_duality", "seconds": time.perf_counter() - start,
            "num_fixable": len(fixed)}


def homogenise(h: np.ndarray, A: sp.csr_matrix) -> sp.csr_matrix:
    """The Ising model with its linear biases folded into couplings to one more spin.

    Appends spin ``s_0`` (index n) coupled to spin i with ``h_i``, so that
    ``E(s) = s^T A' s / 2`` (plus the offset) with ``s_0 = +1``: the form the spectral bound works on.

    Args:
        h: float64 array, shape (n,): linear biases (:func:`ising_arrays`).
        A: symmetric CSR matrix, shape (n, n): the couplings, ``J_ij`` stored in both triangles.

    Returns:
        CSR matrix, shape (n + 1, n + 1) (``A`` itself when every ``h_i`` is 0).
    """
    n = len(h)
    if not np.any(h):
        return A
    nz = np.flatnonzero(h)
    col = sp.csr_matrix((h[nz], (nz, np.full(len(nz), 0))), shape=(n, 1))
    Ah = sp.bmat([[A, col], [col.T, None]], format="csr")
    Ah.sum_duplicates()
    Ah.sort_indices()
    return Ah


def _gershgorin(B_diag: np.ndarray, B_offabs_rowsum: np.ndarray) -> float:
    """Rigorous lower bound on lambda_min of a symmetric matrix from its rows (with rounding)."""
    n = len(B_diag)
    g = float(np.min(B_diag - B_offabs_rowsum * (1 + _gamma(n + 1))))
    return g - _gamma(n + 1) * float(np.max(np.abs(B_diag))) if n else 0.0


_BLAS_CONTROLLER: list = []  # one threadpoolctl controller, built once: building it scans the loaded libraries


def _single_threaded_blas():
    """Context limiting BLAS to one thread: on a loaded machine a multithreaded LAPACK
    Cholesky of an 800 x 800 matrix was measured 10-40x slower than a single-threaded one.
    The controller is built once (20-80 ms of file scanning with the GIL held, per call, otherwise)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: only a speed-up
        import contextlib

        return contextlib.nullcontext()
    if not _BLAS_CONTROLLER:
        _BLAS_CONTROLLER.append(ThreadpoolController())
    return _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas")


def _lanczos_lambda_min(A: sp.csr_matrix, y: np.ndarray, steps: int = 150, seed: int = 0, cancel=None) -> float:
    """Estimate of lambda_min of ``A - diag(y)`` (A: symmetric CSR, shape (N, N); y: float64 (N,)):
    the smallest Ritz value of ``steps`` Lanczos steps with full reorthogonalisation (Golub &
    Van Loan, *Matrix Computations*, Sec. 10.1). Not a bound (Ritz values lie above
    lambda_min); it only places the certificate's shift near lambda_min, so that the first
    factorisations succeed when the mixing iterations stopped short of convergence. The
    products run in sparsetools / BLAS with the GIL released; ``cancel`` is checked every step.

    Raises:
        qopt.errors.Cancelled: ``cancel`` was set."""
    n = A.shape[0]
    k = min(steps, n)
    Q = np.zeros((k, n))
    alpha = np.zeros(k)
    beta = np.zeros(k)
    q = np.random.default_rng(seed).standard_normal(n)
    q /= np.linalg.norm(q)
    m = 0
    for j in range(k):
        _check_cancel(cancel, "in the Lanczos estimate")
        Q[j] = q
        w = A @ q - y * q
        alpha[j] = q @ w
        basis = Q[: j + 1]
        w -= basis.T @ (basis @ w)
        w -= basis.T @ (basis @ w)  # twice is enough (Giraud et al. 2005)
        m = j + 1
        b = float(np.linalg.norm(w))
        if j + 1 == k or b <= 1e-12 * max(1.0, abs(alpha[j])):
            break
        beta[j] = b
        q = w / b
    T = np.diag(alpha[:m]) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
    return float(np.linalg.eigvalsh(T)[0])


def _shift(A: sp.csr_matrix, y: np.ndarray, seed: int, cancel=None, steps: int = 150) -> float:
    """Where the certificate starts: 0 at a converged mixing-method point (lambda_min(A - diag y)
    is then just below 0); a short ``time_limit`` leaves it well below 0, and a Lanczos estimate
    (:func:`_lanczos_lambda_min`, ``steps`` steps) lowered by a quarter of its size (Ritz values
    lie above lambda_min, on G1 by up to ~0.3 of it after 100 steps when the bottom eigenvalues
    cluster) saves the failed factorisations of widening the margin from 0."""
    return 1.25 * min(0.0, _lanczos_lambda_min(A, y, steps=steps, seed=seed, cancel=cancel))


def _cholesky_lambda(M: np.ndarray, diag0: np.ndarray, t: float) -> float | None:
    """Certified lower bound on lambda_min(M) from a Cholesky of M - t I, or None if it fails."""
    n = M.shape[0]
    B = M.copy()
    B[np.diag_indices(n)] = diag0 - t
    try:
        # numpy's LAPACK gufunc releases the GIL (scipy.linalg.cholesky holds it: measured
        # 200 ms stalls of the sampler's thread for an N = 1500 factorisation); B = L L^T.
        L = np.linalg.cholesky(B)
    except np.linalg.LinAlgError:
        return None
    frob2 = float(np.vdot(L, L)) * (1 + _gamma(n * n))
    err = _gamma(n + 1) * frob2 / (1 - _gamma(n + 1)) + _U * float(np.max(np.abs(diag0 - t)))
    return float(t - err)


def _certify_dense(M: np.ndarray, theta: float, scale: float, cancel=None) -> tuple[float, dict]:
    """Largest t_cert found with a floating-point Cholesky proof that M - t_cert I is PSD.

    Margins below ``theta`` grow tenfold from ``1e-9 * scale`` until a factorisation succeeds;
    when the margin is not negligible, three geometric bisection steps sharpen it.
    """
    n = M.shape[0]
    diag0 = np.diag(M).copy()
    margin = max(1e-9 * scale, 1e-12)
    failed = None
    for attempt in range(12):
        _check_cancel(cancel, "between factorisations")
        lam = _cholesky_lambda(M, diag0, theta - margin)
        if lam is not None:
            attempts = attempt + 1
            # Refine only when the margin costs more than ~1e-4 of the scale (N * margin / 2).
            if failed is not None and n * margin > _REFINE_SHARE * scale:
                lo, hi = failed, margin
                for _ in range(3):
                    _check_cancel(cancel, "between factorisations")
                    mid = math.sqrt(lo * hi)
                    lam_mid = _cholesky_lambda(M, diag0, theta - mid)
                    attempts += 1
                    if lam_mid is None:
                        lo = mid
                    else:
                        hi, lam = mid, lam_mid
                margin = hi
            return lam, {"certificate": "cholesky", "margin": margin, "attempts": attempts}
        failed = margin
        margin *= 10.0
    offabs = np.abs(M).sum(axis=1) - np.abs(diag0)
    return _gershgorin(diag0, offabs), {"certificate": "gershgorin", "attempts": 12}


def _certify_sparse(M: sp.csr_matrix, theta: float, scale: float, cancel=None) -> tuple[float, dict]:
    """Like :func:`_certify_dense` with a symmetric-ordered sparse LU (SuperLU)."""
    n = M.shape[0]
    diag0 = M.diagonal()
    margin = max(1e-9 * scale, 1e-8 * abs(theta), 1e-12)
    eye = sp.identity(n, format="csc")
    for attempt in range(10):
        _check_cancel(cancel, "between factorisations")
        t = theta - margin
        B = (M - t * eye).tocsc()
        try:
            lu = spla.splu(B, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                           options=dict(SymmetricMode=True))
        except RuntimeError:  # exactly singular
            margin *= 10.0
            continue
        if not np.array_equal(lu.perm_r, lu.perm_c):
            break  # pivoting happened: the no-pivot argument does not apply
        d = lu.U.diagonal()
        if np.any(d <= 0):
            margin *= 10.0
            continue
        _check_cancel(cancel, "after a factorisation")
        L = lu.L.tocsr()
        # P B P^T where (P B P^T)[i, j] = B[p[i], p[j]] with p = argsort(perm_c).
        p = np.argsort(lu.perm_c)
        PBP = B.tocsr()[p][:, p]
        LD = L @ sp.diags(d)
        C = LD @ L.T.tocsr()
        E = (PBP - C).tocsr()
        absF = (abs(L) @ sp.diags(d) @ abs(L).T).tocsr()
        rows_E = np.asarray(abs(E).sum(axis=1)).ravel()
        rows_F = np.asarray(absF.sum(axis=1)).ravel()
        k = n + 2
        # ||E_true||_2 <= ||E_true||_inf <= max row sum of |E_computed| + rounding terms.
        err = float(np.max(rows_E + 3 * _gamma(k) * rows_F)) * (1 + _gamma(k)) \
            + _gamma(n + 1) * float(np.max(np.abs(np.abs(diag0) + abs(t)))) \
            + _U * float(np.max(np.abs(diag0 - t)))
        return float(t - err), {"certificate": "sparse_ldl", "margin": margin, "rounding_error": float(err),
                         "attempts": attempt + 1}
    absM = abs(M)
    offabs = np.asarray(absM.sum(axis=1)).ravel() - np.abs(diag0)
    return _gershgorin(diag0, offabs), {"certificate": "gershgorin"}


def spectral_bound(bqm: dimod.BinaryQuadraticModel, *, time_limit: float = 10.0, rank: int | None = None,
                   max_sweeps: int = 5000, tol: float = 1e-9, seed: int = 0, dense_max: int = DENSE_MAX,
                   sparse_max: int = 200_000, cancel=None) -> dict:
    """Certified SDP-dual (eigenvalue) lower bound on the minimum energy.

    See the module docstring for the mathematics and the certificate.

    Args:
        bqm: SPIN or BINARY model (BINARY is converted to spin form first).
        time_limit: seconds, wall clock, for the mixing-method iterations, checked after each
            sweep (0: one sweep); the certificate adds one or a few factorisations (about
            0.05 s at N = 800 dense, seconds for sparse N = 5000). The bound is valid whenever
            it stops; it is tighter the closer the iterations got to convergence.
        rank: columns of the low-rank factor; default ``ceil(sqrt(2 N)) + 1``, capped at 64 and
            at ``4e6 / N`` (at least 8) to bound memory.
        max_sweeps: maximum mixing-method sweeps; tol: relative stopping tolerance per sweep.
        seed: seed of the random initial factor (the bound is valid for every seed).
        dense_max: largest N certified with dense Cholesky; above it sparse LU is used.
        sparse_max: largest N certified with sparse LU (fill-in grows fast); above it the
            Gershgorin bound is used (rigorous but close to the trivial bound).
        cancel: None or an object with ``is_set()`` (:class:`threading.Event`), checked after
            the mixing iterations and between factorisations.

    Returns:
        dict with ``value`` (float, lower bound on ``min E`` in the units of ``bqm`` including
        its offset), ``method="spectral"``, ``seconds``, ``sdp_estimate`` (the relaxation's
        value at the last iterate: not a bound), ``lambda_certified``, ``sweeps``, ``certificate``
        and its details.

    Raises:
        ParameterError: a parameter is out of range.
        qopt.errors.Cancelled: ``cancel`` was set.
    """
    time_limit = check_float("time_limit", time_limit, minimum=0.0)
    max_sweeps = check_int("max_sweeps", max_sweeps, minimum=0)
    tol = check_float("tol", tol, minimum=0.0)
    seed = check_int("seed", seed, minimum=0)
    start = time.perf_counter()
    from qopt import _core

    if len(bqm) == 0:
        return {"value": float(bqm.offset), "method": "spectral", "seconds": 0.0}
    h, A, offset = ising_arrays(bqm)
    A = homogenise(h, A)
    N = A.shape[0]
    if A.nnz == 0:  # no interactions at all: E = offset exactly
        return {"value": certified_value(offset, bqm), "method": "spectral",
                "seconds": time.perf_counter() - start, "num_spins": N}
    if rank is None:
        # sqrt(2N) + 1 columns suffice for an SDP optimum (Barvinok 1995; Pataki 1998); capped
        # so the factor stays under ~32 MB (rank 8 at a million spins).
        rank = min(64, int(math.ceil(math.sqrt(2 * N))) + 1, max(8, 4_000_000 // N))
    rank = check_int("rank", rank, minimum=1)
    # The kernel reads time_limit <= 0 as "no limit"; here 0 means "stop after one sweep".
    y, primal, sweeps = _core.sdp_mixing(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data,
                                         rank, max_sweeps, tol, max(time_limit, 1e-9), seed)
    mixing_seconds = time.perf_counter() - start
    _check_cancel(cancel, "after the mixing iterations")
    scale = float(abs(A).sum()) + 1.0
    # At a mixing-method fixed point (A - diag y) V = 0, so lambda_min is (near) 0 from below:
    # the certificate starts a hair below 0 and widens the margin tenfold per failed
    # factorisation (no eigensolver needed: a Cholesky is ~10x cheaper than dsyevr and ARPACK
    # converges slowly on the highly multiple bottom eigenvalue the SDP optimum produces).
    if N <= dense_max:
        M = A.toarray()
        M[np.diag_indices(N)] = -y
        with _single_threaded_blas():
            theta = _shift(A, y, seed, cancel)
            lam, cert = _certify_dense(M, theta, scale, cancel)
    elif N <= sparse_max:
        M = (A - sp.diags(y)).tocsr()
        with _single_threaded_blas():  # fewer steps: full reorthogonalisation costs steps^2 N
            theta = _shift(A, y, seed, cancel, steps=60)
        lam, cert = _certify_sparse(M, theta, scale, cancel)
    else:  # too large to factorise: Gershgorin (rigorous, much weaker)
        M = (A - sp.diags(y)).tocsr()
        diag0 = M.diagonal()
        offabs = np.asarray(abs(M).sum(axis=1)).ravel() - np.abs(diag0)
        theta = 0.0
        lam, cert = _gershgorin(diag0, offabs), {"certificate": "gershgorin"}
    quad = 0.5 * (math.fsum(y) + N * lam)
    value = certified_value(offset + quad, bqm)
    return {"value": value, "method": "spectral", "seconds": time.perf_counter() - start,
            "sdp_estimate": offset + 0.5 * float(primal), "lambda_estimate": theta,
            "lambda_certified": lam, "sweeps": int(sweeps), "mixing_seconds": mixing_seconds, "rank": rank, "num_spins": N, **cert}


def lower_bound(bqm: dimod.BinaryQuadraticModel, *, time_limit: float = 10.0, method: str = "best",
                seed: int = 0, cancel=None) -> dict:
    """Certified lower bound on the minimum energy of ``bqm``.

    Args:
        bqm: SPIN or BINARY model; the bound is in its energy units, offset included.
        time_limit: seconds, wall clock, for the spectral bound's iterations.
        method: ``"best"`` (the larger of both), ``"roof_duality"`` or ``"spectral"``.
        seed: seed of the spectral bound's random start.
        cancel: None or an object with ``is_set()`` (:class:`threading.Event`), checked
            between the bounds and inside :func:`spectral_bound`.

    Returns:
        dict: ``value`` (float: ``value <= min_x E(x)``, guaranteed up to the documented
        certificate), ``method`` (which bound gave it), ``seconds``, and under ``details`` the
        result of each bound computed (see :func:`roof_duality_bound`, :func:`spectral_bound`).
        JSON-serialisable.

    Raises:
        ParameterError: ``method`` unknown or ``time_limit`` negative.
        qopt.errors.Cancelled: ``cancel`` was set.

    Examples:
        >>> import dimod
        >>> from qopt.presolve import lower_bound
        >>> bqm = dimod.BinaryQuadraticModel.from_ising({}, {(0, 1): 1, (1, 2): 1, (0, 2): 1})
        >>> lower_bound(bqm)["value"] <= -1.0   # the frustrated triangle: min energy is -1
        True
    """
    check_choice("method", method, ("best", "roof_duality", "spectral"))
    time_limit = check_float("time_limit", time_limit, minimum=0.0)
    start = time.perf_counter()
    details = {}
    if method in ("best", "roof_duality"):
        details["roof_duality"] = roof_duality_bound(bqm)
    if method in ("best", "spectral"):
        _check_cancel(cancel, "before the spectral bound")
        details["spectral"] = spectral_bound(bqm, time_limit=time_limit, seed=seed, cancel=cancel)
    best = max(details.values(), key=lambda d: d["value"])
    return {"value": best["value"], "method": best["method"], "seconds": time.perf_counter() - start,
            "details": details}
