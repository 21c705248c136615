"""Sampler parameters on the solve path: which ones the pipeline supplies itself, and how the
caller's parameters are resolved against the routed backend."""
from __future__ import annotations

import secrets
from collections.abc import Mapping

from qopt.errors import ParameterError
from qopt.samplers.registry import parameters_of_all_backends
from qopt.samplers.spec import ParameterSpec

__all__ = ["INTERNAL_PARAMETERS", "public_parameters", "resolve_parameters"]

#: Parameters the pipeline itself supplies (from ``cancel`` and ``on_progress``), never the caller.
INTERNAL_PARAMETERS = frozenset({"interrupt", "on_progress"})


def public_parameters(params: Mapping) -> dict:
    """``params`` without :data:`INTERNAL_PARAMETERS` (what provenance reports)."""
    return {k: v for k, v in params.items() if k not in INTERNAL_PARAMETERS}


def resolve_parameters(sampler, decision, backend: str | None, parameters: Mapping,
                       extra_accepted: frozenset = frozenset()) -> tuple[dict, dict]:
    """Parameters for ``sampler`` as routed by ``decision``.

    Args:
        sampler: the routed backend's sampler (its ``parameters`` mapping names what it accepts).
        decision: the :class:`qopt.solve.routing.RoutingDecision` (its ``parameters`` are the base).
        backend: the backend the caller asked for (None, ``""`` or ``"auto"``: routed).
        parameters: the caller's sampler parameters (name -> value).
        extra_accepted: further names accepted besides the sampler's.

    Returns:
        ``(params, ignored)``: the router's parameters overlaid with the caller's, a seed
        drawn when the backend takes one and none was given (below 2**53, so it is exact as
        a protobuf double); and, under ``"auto"``, the caller's parameters meant for another
        backend, set aside and reported (name -> value).

    Raises:
        ParameterError: a name no backend (or, with an explicit backend, that one) accepts.
    """
    accepted = (set(sampler.parameters) - INTERNAL_PARAMETERS) | extra_accepted
    unknown = sorted(set(parameters) - accepted)
    ignored = {}
    if unknown and (not backend or backend == "auto"):
        known_anywhere = parameters_of_all_backends() - INTERNAL_PARAMETERS
        ignored = {k: parameters[k] for k in unknown if k in known_anywhere}
        unknown = [k for k in unknown if k not in known_anywhere]
    if unknown:
        raise ParameterError(unknown[0], f"is not a parameter of backend {decision.backend!r} "
                                         f"(accepted: {', '.join(sorted(accepted))})")
    params = {**decision.parameters, **{k: v for k, v in parameters.items() if k not in ignored}}
    if "seed" in sampler.parameters and params.get("seed") is None:
        spec = getattr(sampler, "parameter_spec", None)
        # within the backend's own seed range (steepest takes 32 bits), below 2**52 either way
        params["seed"] = spec.random_seed() if isinstance(spec, ParameterSpec) else secrets.randbits(52)
    return params, ignored
