"""Hybrid orchestration: decomposition into subproblems a quantum backend can take, and the
:class:`HybridSampler` (imported lazily) that dispatches them, behind a circuit breaker
(:mod:`qopt.hybrid.breaker`), and recombines the answers.

Routing of whole problems and the fallback tiers are pipeline policy: :mod:`qopt.solve`."""
from qopt.hybrid.decompose import IsingState, select_subproblem

__all__ = ["IsingState", "select_subproblem", "HybridSampler"]


def __getattr__(name):
    if name == "HybridSampler":
        from qopt.hybrid.sampler import HybridSampler

        return HybridSampler
    raise AttributeError(name)
