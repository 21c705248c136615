"""What ``ListBackends`` reports: every registered backend, whether it can run here and why
not, the parameters it accepts over the wire (each with its type, range, default, unit and
doc, read from the sampler class's ``parameter_spec``), its size limit and its capabilities.

Availability is probed locally and cheaply: the backend's module must import (optional
dependencies such as qiskit and dwave-system are imported lazily, here, and an import
failure makes the backend unavailable with the reason); ``dwave`` also needs a configured
API token (:func:`qopt.solve.routing.dwave_credentials_configured`; the network is never
touched).
"""
from __future__ import annotations

import dataclasses
import importlib

from qopt.samplers.registry import (
    BACKENDS,
    HYBRID_BACKENDS,
    INSTALL_HINTS,
    QUANTUM_BACKENDS,
    SIMULATOR_BACKENDS,
    parameter_spec,
)
from qopt.solve.parameters import INTERNAL_PARAMETERS

__all__ = ["BackendInfo", "list_backends", "WIRE_EXCLUDED_PARAMETERS", "INTERNAL_PARAMETERS"]

# Parameters that take Python objects, so cannot travel in a google.protobuf.Struct, with what to send instead.
WIRE_EXCLUDED_PARAMETERS = {
    "quantum_sampler": "takes a dimod.Sampler object, which cannot be sent over the wire; "
                       "name a registered backend with quantum_backend instead",
}



@dataclasses.dataclass(frozen=True)
class BackendInfo:
    """One backend as ``ListBackends`` reports it.

    Attributes:
        name: registry name (``SolveRequest.backend``).
        description: one line.
        available: it can run here now.
        unavailable_reason: why not (with an install or configuration hint); "" when available.
        parameters: accepted parameter names, sorted (internal and object-valued ones left out).
        max_variables: most variables (qubits for qaoa) one call accepts; 0 when there is no fixed limit
            (the spec's size rule).
        quantum: a quantum device or a quantum-circuit simulator (qaoa, dwave).
        simulator: a quantum backend simulated classically (qaoa).
        hybrid: decomposes and dispatches subproblems to a quantum backend (hybrid).
    """

    name: str
    description: str
    available: bool
    unavailable_reason: str
    parameters: tuple[str, ...]
    max_variables: int
    quantum: bool
    simulator: bool
    hybrid: bool
    parameter_specs: tuple[dict, ...] = ()
    """one :meth:`qopt.samplers.spec.Param.to_dict` per entry of ``parameters``, same order."""


def _describe(name: str) -> BackendInfo:
    module_name, cls_name, description = BACKENDS[name]
    reason = ""
    parameters: tuple[str, ...] = ()
    specs: tuple[dict, ...] = ()
    max_variables = 0
    try:
        importlib.import_module(module_name)
        spec = parameter_spec(name)
        parameters = tuple(sorted(set(spec.wire_names()) - INTERNAL_PARAMETERS - set(WIRE_EXCLUDED_PARAMETERS)))
        specs = tuple(spec.to_dicts(parameters))
        max_variables = spec.max_variables
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            reason = f"not part of this qopt installation ({module_name} is absent)"
        else:
            hint = INSTALL_HINTS.get(name)
            reason = f"cannot import {module_name}: missing module {exc.name!r}"
            if hint:
                reason += f" (install with: {hint})"
    except Exception as exc:  # noqa: BLE001 - any import failure makes the backend unavailable
        reason = f"cannot import {module_name}.{cls_name}: {type(exc).__name__}: {exc}"
    if not reason and name in ("qaoa", "dwave", "dwave-hybrid"):
        from qopt.solve.routing import available_backends, dwave_credentials_configured

        if name in ("dwave", "dwave-hybrid") and not dwave_credentials_configured():
            reason = ("no D-Wave API token configured (set DWAVE_API_TOKEN or run `dwave config create`); "
                      "the network was not contacted")
        elif name == "qaoa" and not available_backends().get(name, False):
            reason = f"its dependencies are missing (install with: {INSTALL_HINTS[name]})"
    elif not reason and name == "ibm":
        from qopt.samplers.ibm import TOKEN_ENV, has_credentials

        if not has_credentials():
            reason = (f"no IBM Quantum account configured (set {TOKEN_ENV} or save a QiskitRuntimeService "
                      "account); the network was not contacted")
    return BackendInfo(name=name, description=description, available=not reason, unavailable_reason=reason,
                       parameters=parameters, max_variables=max_variables,
                       quantum=name in QUANTUM_BACKENDS, simulator=name in SIMULATOR_BACKENDS, hybrid=name in HYBRID_BACKENDS,
                       parameter_specs=specs)


def list_backends(*, available_only: bool = False) -> list[BackendInfo]:
    """Every registered backend (registry order), probed now.

    Args:
        available_only: leave out the backends that cannot run here.

    Returns:
        list of :class:`BackendInfo`.
    """
    out = [_describe(name) for name in BACKENDS]
    return [b for b in out if b.available] if available_only else out
