"""dimod samplers, one file per backend, sharing the dimod.Sampler interface."""
from qopt.samplers.sa import SimulatedAnnealingSampler

__all__ = ["SimulatedAnnealingSampler"]
