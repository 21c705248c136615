"""Backend registry: backend name -> dimod.Sampler class, imported lazily.

Every backend is a :class:`dimod.Sampler` with a ``parameter_spec``
(:class:`qopt.samplers.spec.ParameterSpec`): the keyword arguments ``sample`` accepts, with
their types and ranges, and the backend's size rule. Its dimod ``parameters`` mapping is
derived from it. The pipeline and the service validate requests against the specs.
Optional heavy dependencies (qiskit, dwave-system) are only imported when their backend
is used (the backend modules import them lazily, so reading a spec imports none).
"""
from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import cast

import dimod

from qopt.errors import UnknownBackendError
from qopt.samplers.spec import ParameterSpec

__all__ = ["BACKENDS", "UnknownBackendError", "get_sampler_class", "backend_names", "parameters_of_all_backends",
           "parameter_spec", "parameter_specs"]

# name -> (module, class name, one-line description)
BACKENDS: dict[str, tuple[str, str, str]] = {
    "sa": ("qopt.samplers.sa", "SimulatedAnnealingSampler", "C++ simulated annealing (qopt core)"),
    "steepest": ("qopt.samplers.steepest", "SteepestDescentSampler", "C++ steepest descent (qopt core)"),
    "exact": ("qopt.samplers.exact", "ExactSampler", "brute-force enumeration (small models)"),
    "qaoa": ("qopt.samplers.qaoa", "QAOASampler", "QAOA on Qiskit / qiskit-aer with the C++ statevector engine"),
    "dwave": ("qopt.samplers.dwave", "DWaveSampler", "D-Wave quantum annealer through dwave-system"),
    "hybrid": ("qopt.hybrid.sampler", "HybridSampler", "decomposition with quantum subproblems and a classical race"),
}


def backend_names() -> list[str]:
    """Names of the backends whose modules are importable in this installation."""
    names = []
    for name, (module, _, _) in BACKENDS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is absent
            found = False
        if found:
            names.append(name)
    return names


def get_sampler_class(name: str) -> type[dimod.Sampler]:
    """Return the sampler class for backend ``name``.

    Raises:
        UnknownBackendError: ``name`` is not a known backend.
    """
    try:
        module, cls, _ = BACKENDS[name]
    except KeyError:
        raise UnknownBackendError(f"backend must be one of {backend_names()}, was {name!r}") from None
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise UnknownBackendError(f"backend {name!r} is not available in this installation") from None
        raise
    return getattr(mod, cls)


def parameter_spec(name: str) -> ParameterSpec:
    """The :class:`~qopt.samplers.spec.ParameterSpec` of backend ``name`` (for a dimod
    sampler registered without one, :meth:`~qopt.samplers.spec.ParameterSpec.from_dimod`
    of its ``parameters``).

    Raises:
        UnknownBackendError: ``name`` is not a known backend.
        ImportError: its module needs a dependency that is not installed.
    """
    cls = get_sampler_class(name)
    spec = getattr(cls, "parameter_spec", None)
    return spec if isinstance(spec, ParameterSpec) else ParameterSpec.from_dimod(cast(Mapping, cls.parameters))


def parameter_specs() -> dict[str, ParameterSpec]:
    """backend name -> spec, for every backend whose module imports here (registry order)."""
    out: dict[str, ParameterSpec] = {}
    for name in BACKENDS:
        try:
            out[name] = parameter_spec(name)
        except (UnknownBackendError, ImportError):
            continue
    return out


def parameters_of_all_backends() -> set[str]:
    """Every parameter name some backend installed here accepts (what ``"auto"`` may pass on)."""
    names: set[str] = set()
    for spec in parameter_specs().values():
        names |= set(spec)
    return names
