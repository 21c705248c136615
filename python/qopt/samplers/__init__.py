"""dimod samplers, one file per backend, sharing the dimod.Sampler interface.

Quantum backends (``qopt.samplers.qaoa``, ``qopt.samplers.dwave``) import Qiskit and
dwave-system, so they are imported from their modules, not here.
"""
from qopt.samplers.exact import ExactSampler
from qopt.samplers.sa import SimulatedAnnealingSampler
from qopt.samplers.steepest import SteepestDescentSampler

__all__ = ["ExactSampler", "SimulatedAnnealingSampler", "SteepestDescentSampler"]
