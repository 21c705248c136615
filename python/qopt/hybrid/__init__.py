"""Hybrid orchestration: decomposition into subproblems a quantum backend can take,
dispatch with fallback tiers, recombination, and routing of whole problems to backends."""
from qopt.hybrid.decompose import IsingState, select_subproblem
from qopt.hybrid.routing import RoutingDecision, choose_backend

__all__ = ["IsingState", "select_subproblem", "RoutingDecision", "choose_backend", "HybridSampler"]


def __getattr__(name):
    if name == "HybridSampler":
        from qopt.hybrid.sampler import HybridSampler

        return HybridSampler
    raise AttributeError(name)
