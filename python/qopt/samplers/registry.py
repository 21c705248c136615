"""Backend registry: backend name -> dimod.Sampler class, imported lazily.

Every backend is a :class:`dimod.Sampler` with a ``parameter_spec``
(:class:`qopt.samplers.spec.ParameterSpec`): the keyword arguments ``sample`` accepts, with
their types and ranges, and the backend's size rule. Its dimod ``parameters`` mapping is
derived from it. The pipeline and the service validate requests against the specs.
Optional heavy dependencies (qiskit, dwave-system) are only imported when their backend
is used (the backend modules import them lazily, so reading a spec imports none).

A caller's own sampler object (any :class:`dimod.Sampler`, e.g. an Ocean sampler such as
``dwave.system.testing.MockDWaveSampler`` behind an ``EmbeddingComposite``) runs under a
backend name ``"custom:<label>"`` (the label defaults to its class name), reported as such in
provenance: for one call with :func:`using_sampler` (what ``qopt.solve(..., sampler=obj)``
does), or for the whole process with :func:`register_sampler` (so an in-process
:class:`qopt.service.Server` serves it to clients asking for that backend name).
"""
from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.util
import threading
from collections.abc import Iterator, Mapping
from typing import cast

import dimod

from qopt.errors import ParameterError, UnknownBackendError
from qopt.samplers.spec import ParameterSpec

__all__ = ["BACKENDS", "QUANTUM_BACKENDS", "SIMULATOR_BACKENDS", "HYBRID_BACKENDS", "SOLVER_TIMED_BACKENDS", "INSTALL_HINTS", "UnknownBackendError", "get_sampler_class", "backend_names", "parameters_of_all_backends",
           "parameter_spec", "parameter_specs", "CUSTOM_PREFIX", "custom_backend_name", "is_custom_backend",
           "is_dimod_sampler", "check_sampler", "register_sampler", "unregister_sampler", "registered_samplers", "using_sampler",
           "get_sampler"]

#: The prefix of a backend name that stands for a caller's sampler object.
CUSTOM_PREFIX = "custom:"

# name -> (module, class name, one-line description)
BACKENDS: dict[str, tuple[str, str, str]] = {
    "sa": ("qopt.samplers.sa", "SimulatedAnnealingSampler", "C++ simulated annealing (qopt core)"),
    "pt": ("qopt.samplers.pt", "ReplicaExchangeSampler", "C++ replica exchange / parallel tempering (qopt core)"),
    "steepest": ("qopt.samplers.steepest", "SteepestDescentSampler", "C++ steepest descent (qopt core)"),
    "exact": ("qopt.samplers.exact", "ExactSampler", "enumeration or branch and bound (proven optimum, small models)"),
    "qaoa": ("qopt.samplers.qaoa", "QAOASampler", "QAOA on Qiskit / qiskit-aer with the C++ statevector engine"),
    "dwave": ("qopt.samplers.dwave", "DWaveSampler", "D-Wave quantum annealer through dwave-system"),
    "highs": ("qopt.samplers.mip.highs", "HighsSampler", "HiGHS MIP over a McCormick linearisation (proven optimum)"),
    "cpsat": ("qopt.samplers.mip.cpsat", "CpSatSampler", "OR-Tools CP-SAT (proven optimum; TSP as a circuit)"),
    "scip": ("qopt.samplers.mip.scip", "ScipSampler", "SCIP with quadratic terms native (proven optimum)"),
    "dwave-hybrid": ("qopt.samplers.dwave_hybrid", "DWaveHybridSampler",
                     "D-Wave Leap hybrid solvers (BQM and CQM) through dwave-system"),
    "ibm": ("qopt.samplers.ibm", "IBMSampler", "QAOA on IBM Quantum devices (qiskit-ibm-runtime SamplerV2)"),
    "hybrid": ("qopt.hybrid.sampler", "HybridSampler", "decomposition with quantum subproblems and a classical race"),
    "race": ("qopt.samplers.race", "RaceSampler", "simulated annealing raced against exact backends (one deadline)"),
}

#: What kind of machine each backend stands for (read by ListBackends, the fallback tiers and routing):
#: quantum backends (hardware or its simulation), the simulators among them, and the hybrids.
QUANTUM_BACKENDS = frozenset({"qaoa", "dwave", "ibm", "dwave-hybrid"})
SIMULATOR_BACKENDS = frozenset({"qaoa"})
HYBRID_BACKENDS = frozenset({"hybrid", "dwave-hybrid"})
#: Remote solvers that run for a time limit of their own, at least a minimum the solver sets
#: per problem (Leap's hybrid solvers): without a caller's deadline the pipeline passes them no
#: ``time_limit`` (the solver's minimum applies) instead of qopt's default budget.
SOLVER_TIMED_BACKENDS = frozenset({"dwave-hybrid"})
#: How to install what a backend needs when its import fails.
INSTALL_HINTS = {
    "qaoa": "pip install 'qiskit>=2' qiskit-aer",
    "ibm": "pip install 'qopt[ibm]'",
    "dwave": "pip install dwave-system",
    "dwave-hybrid": "pip install dwave-system",
}

# custom backend name -> sampler object: process-wide (register_sampler) and per call (using_sampler)
_REGISTERED: dict[str, dimod.Sampler] = {}
_REGISTERED_LOCK = threading.Lock()
_CALL_SAMPLERS: contextvars.ContextVar[Mapping[str, dimod.Sampler] | None] = contextvars.ContextVar(
    "qopt_call_samplers", default=None)


def is_custom_backend(name: str | None) -> bool:
    """Whether backend ``name`` stands for a caller's sampler object (``"custom:..."``)."""
    return isinstance(name, str) and name.startswith(CUSTOM_PREFIX)


def custom_backend_name(sampler, label: str | None = None) -> str:
    """``"custom:<label>"``; ``label`` defaults to the sampler's class name."""
    return CUSTOM_PREFIX + (label or type(sampler).__name__)


def is_dimod_sampler(sampler) -> bool:
    """Whether ``sampler`` is a :class:`dimod.Sampler` or has dimod's sampler interface (a
    ``sample(bqm, **kwargs)`` method and a ``parameters`` mapping)."""
    return isinstance(sampler, dimod.Sampler) or (
        callable(getattr(sampler, "sample", None)) and isinstance(getattr(sampler, "parameters", None), Mapping))


def check_sampler(sampler) -> dimod.Sampler:
    """``sampler`` if it can serve as a backend: a :class:`dimod.Sampler`, or an object with a
    ``sample(bqm, **kwargs)`` method and a ``parameters`` mapping (dimod's sampler interface).

    Raises:
        ParameterError: (field ``sampler``) it is neither.
    """
    if is_dimod_sampler(sampler):
        return cast(dimod.Sampler, sampler)
    raise ParameterError("sampler", f"must be a dimod.Sampler (a sample(bqm, **kwargs) method and a parameters "
                                    f"mapping), was {type(sampler).__name__}")


def register_sampler(sampler, label: str | None = None) -> str:
    """Make ``sampler`` a backend of this process under ``"custom:<label>"`` (replacing one
    registered under that name); returns the name. A server started in this process then runs
    requests for that backend on it.

    Args:
        sampler: any :class:`dimod.Sampler` (see :func:`check_sampler`); it must be safe to
            call from several threads if the server runs jobs concurrently.
        label: the name after ``"custom:"`` (default: the sampler's class name).

    Raises:
        ParameterError: ``sampler`` is not a sampler, or ``label`` is empty or not a string.
    """
    check_sampler(sampler)
    if label is not None and (not isinstance(label, str) or not label):
        raise ParameterError("label", f"must be None or a non-empty string, was {label!r}")
    name = custom_backend_name(sampler, label)
    with _REGISTERED_LOCK:
        _REGISTERED[name] = sampler
    return name


def unregister_sampler(name: str) -> None:
    """Remove the sampler :func:`register_sampler` registered as ``name`` (no error when absent)."""
    with _REGISTERED_LOCK:
        _REGISTERED.pop(name, None)


def registered_samplers() -> dict[str, dimod.Sampler]:
    """A copy of the process-wide custom backends, name -> sampler."""
    with _REGISTERED_LOCK:
        return dict(_REGISTERED)


@contextlib.contextmanager
def using_sampler(sampler, label: str | None = None) -> Iterator[str]:
    """Within the ``with`` block (this thread / context only), ``"custom:<label>"`` names
    ``sampler``; yields that name.

    Raises:
        ParameterError: ``sampler`` is not a sampler (see :func:`check_sampler`).
    """
    check_sampler(sampler)
    name = custom_backend_name(sampler, label)
    token = _CALL_SAMPLERS.set({**(_CALL_SAMPLERS.get() or {}), name: sampler})
    try:
        yield name
    finally:
        _CALL_SAMPLERS.reset(token)


def _custom_sampler(name: str) -> dimod.Sampler:
    found = (_CALL_SAMPLERS.get() or {}).get(name)
    if found is None:
        with _REGISTERED_LOCK:
            found = _REGISTERED.get(name)
    if found is None:
        raise UnknownBackendError(f"backend {name!r} names no sampler object here: pass sampler=... to "
                                  "qopt.solve, or register one with qopt.samplers.registry.register_sampler")
    return found


def get_sampler(name: str) -> dimod.Sampler:
    """A sampler for backend ``name``: the caller's object for a ``"custom:..."`` name, else a
    new instance of the registered class.

    Raises:
        UnknownBackendError: ``name`` is not a known backend.
    """
    if is_custom_backend(name):
        return _custom_sampler(name)
    return get_sampler_class(name)()


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
    """Return the sampler class for backend ``name`` (for a ``"custom:..."`` name, the class
    of the caller's object; use :func:`get_sampler` for an instance).

    Raises:
        UnknownBackendError: ``name`` is not a known backend.
    """
    if is_custom_backend(name):
        return type(_custom_sampler(name))
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
    source = _custom_sampler(name) if is_custom_backend(name) else get_sampler_class(name)
    spec = getattr(source, "parameter_spec", None)
    return spec if isinstance(spec, ParameterSpec) else ParameterSpec.from_dimod(cast(Mapping, source.parameters))


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
