"""Provenance: what produced a result, in plain JSON-friendly data.

:func:`provenance_record` assembles the record both solve paths (BQM and constrained)
return in ``Result.provenance``; :func:`jsonable` turns numpy values and tuples into plain
JSON values; :func:`library_versions` names the installed libraries a result depends on.
"""
from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Mapping

import numpy as np

from qopt._version import __version__

__all__ = ["backend_timing", "jsonable", "library_versions", "provenance_record"]

_LIBRARIES = ("numpy", "scipy", "dimod", "dwave-samplers", "dwave-preprocessing")


def jsonable(value):
    """``value`` as plain JSON-friendly data.

    Mappings become dicts with string keys, lists and tuples become lists, numpy arrays
    lists, numpy scalars Python scalars; str, int, float, bool and None pass unchanged and
    anything else becomes its ``repr``. Never raises.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def backend_timing(timing: dict | None) -> dict:
    """A sampler's ``info["timing"]`` as provenance entries, each under the unit it is in.

    qopt's samplers time their own stages in nanoseconds under names ending ``_ns``
    (``sampling_ns``, ``embedding_ns``, ...); D-Wave's samplers add the solver's own timing
    under Ocean's names (``qpu_access_time``, ``charge_time``, ``run_time``, ...), which
    D-Wave reports in microseconds.

    Args:
        timing: ``{name: number}`` from ``SampleSet.info["timing"]``, or None.

    Returns:
        ``{"backend_timing_ns": {...}}`` with the ``*_ns`` entries and
        ``{"backend_timing_us": {...}}`` with the others (each key present only when it has
        entries); empty for no timing.
    """
    out: dict = {}
    for name, value in (timing or {}).items():
        out.setdefault("backend_timing_ns" if str(name).endswith("_ns") else "backend_timing_us", {})[name] = value
    return out


def library_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the libraries a result depends on.

    Args:
        extra: distribution names to report besides qopt, numpy, scipy, dimod,
            dwave-samplers and dwave-preprocessing (e.g. a backend's ``qiskit``).

    Returns:
        A new dict, distribution name -> version string; libraries not installed are left
        out. The look-ups are cached (package metadata is slow to read).
    """
    return dict(_versions(tuple(extra)))


@functools.lru_cache(maxsize=64)
def _versions(extra: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = {"qopt": __version__}
    for name in (*_LIBRARIES, *extra):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return tuple(out.items())


def provenance_record(*, backend: str, routed_backend: str, routing_reason: str, fallback_chain: list,
                      ignored_parameters: Mapping, parameters: Mapping, problem_sha256: str,
                      backend_info: Mapping, versions: Mapping[str, str] | None = None,
                      extra: Mapping | None = None, requested_backend: str | None = None,
                      defaults: Mapping | None = None) -> dict:
    """The provenance record of a result, as plain JSON-friendly data.

    Args:
        backend: the backend that produced the candidates (``"sa"`` after a quantum tier
            fell back, ``"cache (sa)"``, ``"exact"``, ...).
        routed_backend: the backend the routing chose (or the caller asked for).
        requested_backend: what the caller asked for (``"auto"`` when routed; None: the
            same as ``routed_backend``).
        defaults: parameters the pipeline chose because the caller gave none: name ->
            ``{"value": ..., "reason": str}`` (see :func:`qopt.solve.parameters.sa_defaults`).
        routing_reason: the routing decision in words.
        fallback_chain: the fallback tiers taken (dicts with ``tier``, ``backend``, ``outcome``).
        ignored_parameters: caller parameters set aside under ``"auto"`` routing (name -> value).
        parameters: the sampler parameters as applied, seed included, without the ones the
            pipeline supplies itself (see :func:`qopt.solve.parameters.public_parameters`).
        problem_sha256: SHA-256 of the canonical BQM (hex).
        backend_info: the backend's own ``info`` record.
        versions: library versions (default :func:`library_versions`).
        extra: path-specific keys added after the common ones (``model``,
            ``penalty_calibration``, ``presolve``, ...); converted with :func:`jsonable`.

    Returns:
        dict with ``qopt_version``, ``backend``, ``requested_backend``, ``routing``
        (``backend``, ``reason``), ``fallback_chain``, ``ignored_parameters``, ``parameters``,
        ``defaults``,
        ``problem_sha256``, ``versions``, ``backend_info`` and the ``extra`` keys.
    """
    record = {
        "qopt_version": __version__,
        "backend": backend,
        "requested_backend": routed_backend if requested_backend is None else requested_backend,
        "routing": {"backend": routed_backend, "reason": routing_reason},
        "fallback_chain": jsonable(fallback_chain),
        "ignored_parameters": jsonable(ignored_parameters),
        "parameters": jsonable(parameters),
        "defaults": jsonable(defaults or {}),
        "problem_sha256": problem_sha256,
        "versions": dict(library_versions() if versions is None else versions),
        "backend_info": jsonable(backend_info),
    }
    for key, value in (extra or {}).items():
        record[key] = jsonable(value)
    return record
