"""qopt: hybrid quantum-classical optimisation solver service.

Public entry points: :func:`qopt.solve` (in-process), :class:`qopt.Client` (gRPC),
:class:`qopt.SimulatedAnnealingSampler` (C++ core), and the ``qopt`` command line.
"""
from qopt._version import __version__
from qopt.samplers.sa import SimulatedAnnealingSampler

__all__ = ["__version__", "SimulatedAnnealingSampler"]
