"""QAOA angles: initial points, parametrisations and the one angle optimisation.

Angle vector convention: ``[gamma_0 .. gamma_{p-1}, beta_0 .. beta_{p-1}]``, gamma in
1/energy units of the BQM, beta in radians (see :mod:`qopt.statevector`).

* :func:`linear_ramp`: the linear-ramp start (Zhou et al., PRX 10, 021067, 2020);
* :func:`fixed_angles`: the published fixed angles for MaxCut on 3-regular graphs
  (Wurtz & Lykov, "Fixed-angle conjectures for the quantum approximate optimization
  algorithm on regular MaxCut graphs", PRA 104, 052419, 2021, Table I; expected cut
  fraction on large-girth graphs 0.6925, 0.7559, 0.7924 at p = 1, 2, 3);
* :func:`interp`: INTERP, the layer-by-layer initialisation of Zhou et al. (2020), eq. (B1);
* :func:`fourier_matrix`: the FOURIER parametrisation of Zhou et al. (2020), eq. (8):
  ``gamma_i = sum_k u_k sin((k - 1/2)(i - 1/2) pi / p)``, ``beta_i = sum_k v_k cos(...)``;
* :func:`optimize_angles`: :func:`scipy.optimize.minimize` over a linear parametrisation of
  the angles with an evaluation trace, shared by every QAOA path (standard, variants, ``ibm``).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qopt.errors import Cancelled
from qopt.samplers.qaoa.model import regular_maxcut_weight

__all__ = ["OPTIMIZERS", "GRADIENT_METHODS", "FIXED_ANGLES_3_REGULAR", "FIXED_ANGLE_CUT_FRACTION", "linear_ramp",
           "fixed_angles", "interp", "fourier_matrix", "optimize_angles"]

#: Optimisers accepted by ``optimizer`` (scipy.optimize.minimize methods).
OPTIMIZERS = ("COBYLA", "L-BFGS-B", "Nelder-Mead", "Powell", "BFGS", "CG", "SLSQP", "TNC", "COBYQA",
              "trust-constr")
#: The optimisers that use a gradient (the C++ adjoint gradient with ``evaluator="core"``).
GRADIENT_METHODS = frozenset({"L-BFGS-B", "BFGS", "CG", "SLSQP", "TNC", "trust-constr"})

#: Wurtz & Lykov (2021), Table I: p -> (gammas, betas) for MaxCut on 3-regular graphs in their
#: convention (cost = number of cut edges, maximised; mixer exp(-i beta sum X)).
FIXED_ANGLES_3_REGULAR: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {
    1: ((0.616,), (0.393,)),
    2: ((0.488, 0.898), (0.555, 0.293)),
    3: ((0.422, 0.798, 0.937), (0.609, 0.459, 0.235)),
}
#: Their expected cut fraction <cut>/|E| at those angles on graphs of large girth (a lower
#: bound of the approximation ratio).
FIXED_ANGLE_CUT_FRACTION = {1: 0.6925, 2: 0.7559, 3: 0.7924}


def linear_ramp(reps: int, scale: float = 1.0, dt: float = 0.75) -> np.ndarray:
    """Linear-ramp angles ``[gammas, betas]``: gamma_l = t_l dt / scale, beta_l = -(1 - t_l) dt,
    t_l = (l + 1/2) / reps (Zhou et al. 2020); ``scale`` is the energy scale of the model.

    The Trotterised anneal from ``|+>^n``, the ground state of ``-sum X``, to the ground state
    of C: ``exp(+i (1 - s) dt sum X) exp(-i s dt C)``, i.e. beta < 0 in qopt's
    ``exp(-i beta sum X)`` (with beta > 0 the ramp starts in the basin of the maximum).
    """
    t = (np.arange(reps) + 0.5) / reps
    return np.concatenate([t * dt / scale, -(1.0 - t) * dt])


def fixed_angles(bqm, reps: int) -> np.ndarray | None:
    """The Wurtz-Lykov fixed angles in qopt's convention when ``bqm`` is unweighted MaxCut on a
    3-regular graph (Ising couplings all ``J > 0``, no fields) and ``reps`` <= 3; else None.

    Their cost is the cut ``sum (1 - Z_i Z_j)/2`` maximised; qopt minimises ``J sum Z_i Z_j``,
    so ``gamma_qopt = -gamma_WL / (2 J)`` and ``beta_qopt = beta_WL``.
    """
    if reps not in FIXED_ANGLES_3_REGULAR:
        return None
    j = regular_maxcut_weight(bqm, 3)
    if j is None:
        return None
    gammas, betas = FIXED_ANGLES_3_REGULAR[reps]
    return np.concatenate([-np.asarray(gammas) / (2.0 * j), np.asarray(betas)])


def interp(angles: np.ndarray) -> np.ndarray:
    """INTERP (Zhou et al. 2020, eq. B1): optimised ``[gammas, betas]`` at p layers -> the
    initial point at p + 1 layers, ``x'_i = (i-1)/p x_{i-1} + (p-i+1)/p x_i`` (i = 1..p+1,
    ``x_0 = x_{p+1} = 0``), for gammas and betas alike."""
    p = len(angles) // 2

    def grow(x):
        padded = np.concatenate([[0.0], x, [0.0]])
        i = np.arange(1, p + 2)
        return (i - 1) / p * padded[i - 1] + (p - i + 1) / p * padded[i]

    return np.concatenate([grow(angles[:p]), grow(angles[p:])])


def fourier_matrix(reps: int, q: int | None = None) -> np.ndarray:
    """M, float64 (2 reps, 2 q): ``[gammas, betas] = M @ [u, v]`` (Zhou et al. 2020, eq. 8);
    ``q`` frequencies, default ``reps`` (then M is invertible)."""
    q = reps if q is None else q
    i = np.arange(1, reps + 1)[:, None] - 0.5
    k = np.arange(1, q + 1)[None, :] - 0.5
    arg = k * i * np.pi / reps
    m = np.zeros((2 * reps, 2 * q))
    m[:reps, :q] = np.sin(arg)
    m[reps:, q:] = np.cos(arg)
    return m


def optimize_angles(objective: Callable[[np.ndarray], float], x0: np.ndarray, *, optimizer: str, maxiter: int,
                    gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
                    basis: np.ndarray | None = None, interrupt=None, trace: list | None = None) -> dict:
    """Minimise a QAOA objective over the angles (or a linear parametrisation of them).

    Args:
        objective: angles float64 (2p,) ``[gammas, betas]`` -> value (energy units).
        x0: the initial parameters, float64 (2p,) or (cols of ``basis``,).
        optimizer: a :func:`scipy.optimize.minimize` method; with ``gradient`` and a method in
            :data:`GRADIENT_METHODS` the exact gradient is used.
        maxiter: ``options={"maxiter": ...}``; 0 evaluates ``x0`` once.
        gradient: angles -> (value, d value / d angles float64 (2p,)), or None.
        basis: M with ``angles = M @ params`` (the Fourier parametrisation), None: identity.
        interrupt: None or an object with ``is_set()``; checked before each evaluation.
        trace: list the evaluations are appended to (one dict per evaluation: ``gamma``,
            ``beta``, ``energy``); a new one when None.

    Returns:
        dict: ``params`` (the best evaluated parameters), ``angles`` (float64 (2p,)), ``value``,
        ``info`` (``name``, ``maxiter``, ``nfev``, ``nit``, ``success``, ``message``), ``trace``.

    Raises:
        qopt.errors.Cancelled: ``interrupt`` was set.
    """
    trace = [] if trace is None else trace
    start = len(trace)
    m = basis

    def angles_of(params):
        return params if m is None else m @ params

    def check():
        if interrupt is not None and interrupt.is_set():
            raise Cancelled("QAOA interrupted between evaluations")

    def record(angles, value, params):
        p = len(angles) // 2
        trace.append({"gamma": [float(v) for v in angles[:p]], "beta": [float(v) for v in angles[p:]],
                      "energy": float(value), "_params": np.array(params, dtype=np.float64)})

    def fun(params):
        check()
        a = angles_of(params)
        value = float(objective(a))
        record(a, value, params)
        return value

    def fun_grad(params):
        check()
        a = angles_of(params)
        assert gradient is not None  # only called when a gradient is given
        value, grad = gradient(a)
        record(a, value, params)
        return value, (grad if m is None else m.T @ grad)

    x0 = np.asarray(x0, dtype=np.float64)
    info: dict = {"name": optimizer, "maxiter": maxiter}
    if maxiter == 0:
        fun(x0)
        info.update({"nfev": 1, "nit": 0, "success": True, "message": "maxiter=0: initial point kept"})
    else:
        from scipy.optimize import minimize

        if optimizer in GRADIENT_METHODS and gradient is not None:
            res = minimize(fun_grad, x0, jac=True, method=optimizer, options={"maxiter": maxiter})
        else:
            res = minimize(fun, x0, method=optimizer, options={"maxiter": maxiter})
        info.update({"nfev": len(trace) - start, "nit": int(getattr(res, "nit", 0) or 0),
                     "success": bool(res.success), "message": str(res.message)})
    best = min(trace[start:], key=lambda r: r["energy"])  # the optimiser's answer may not be its best point
    params = best["_params"]
    for r in trace[start:]:
        del r["_params"]
    return {"params": params, "angles": angles_of(params), "value": best["energy"], "info": info, "trace": trace}
