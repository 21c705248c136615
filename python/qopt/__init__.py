"""qopt: hybrid quantum-classical optimisation solver service.

Public entry points:
    :func:`qopt.solve` runs the pipeline in-process; :func:`qopt.solve_many` runs many
    problems through it in parallel (threads or a Ray cluster), streaming the answers;
    :class:`qopt.Client` calls a qopt gRPC server;
    :class:`qopt.SimulatedAnnealingSampler` is the C++ simulated annealing sampler;
    the ``qopt`` command line (``qopt serve``, ``qopt solve FILE``).
"""
from qopt._version import __version__
from qopt.results import Candidate, Result
from qopt.samplers import ExactSampler, SimulatedAnnealingSampler, SteepestDescentSampler
from qopt.solve import solve

__all__ = ["__version__", "solve", "solve_many", "compile", "Client", "Candidate", "Result", "SimulatedAnnealingSampler",
           "SteepestDescentSampler", "ExactSampler", "QAOASampler", "DWaveSampler", "HybridSampler"]


_LAZY = {  # imported on first use: grpc, qiskit and dwave-system are heavy
    "Client": ("qopt.client", "Client"),
    "solve_many": ("qopt.batch", "solve_many"),
    "QAOASampler": ("qopt.samplers.qaoa", "QAOASampler"),
    "DWaveSampler": ("qopt.samplers.dwave", "DWaveSampler"),
    "HybridSampler": ("qopt.hybrid.sampler", "HybridSampler"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name == "compile":  # the package qopt.compile is callable: qopt.compile(model, ...)
        import qopt.compile as compile_package

        return compile_package
    raise AttributeError(f"module 'qopt' has no attribute {name!r}")
