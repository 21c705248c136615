"""Presolve (fixings, components) and certified lower bounds."""
from qopt.presolve.bound import lower_bound, roof_duality_bound, spectral_bound

__all__ = ["lower_bound", "roof_duality_bound", "spectral_bound"]
