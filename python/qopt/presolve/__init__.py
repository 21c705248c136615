"""Presolve (fixings, connected components) and certified lower bounds on the minimum energy.

* :func:`presolve` -> :class:`PresolveResult` (fixed variables, components, log, bound,
  :meth:`PresolveResult.expand`); :func:`solve_presolved` runs a sampler on each component.
* :func:`lower_bound`: the better of roof duality and a certified SDP-dual spectral bound.
"""
from qopt.presolve.bound import lower_bound, roof_duality_bound, spectral_bound
from qopt.presolve.presolve import PresolveResult, forced_sign_fixing, presolve, solve_presolved

__all__ = [
    "PresolveResult",
    "forced_sign_fixing",
    "lower_bound",
    "presolve",
    "roof_duality_bound",
    "solve_presolved",
    "spectral_bound",
]
