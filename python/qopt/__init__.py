"""qopt: hybrid quantum-classical optimisation solver service.

Public entry points:
    :func:`qopt.solve` runs the pipeline in-process;
    :class:`qopt.Client` calls a qopt gRPC server;
    :class:`qopt.SimulatedAnnealingSampler` is the C++ simulated annealing sampler;
    the ``qopt`` command line (``qopt serve``, ``qopt solve FILE``).
"""
from qopt._version import __version__
from qopt.pipeline import solve
from qopt.results import Candidate, Result
from qopt.samplers.sa import SimulatedAnnealingSampler

__all__ = ["__version__", "solve", "Client", "Candidate", "Result", "SimulatedAnnealingSampler"]


def __getattr__(name):  # lazy: importing qopt does not load grpc
    if name == "Client":
        from qopt.client import Client

        return Client
    raise AttributeError(f"module 'qopt' has no attribute {name!r}")
