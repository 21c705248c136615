"""The one call path every user goes through:

    problem -> validate -> preprocess -> route -> sample -> postprocess -> Result

:func:`solve` runs it in-process; the gRPC servicer and the CLI call the same function,
so ``qopt.solve``, ``Client.solve`` and ``qopt solve FILE`` return the same result.
"""
from __future__ import annotations

import functools
import importlib.metadata
import math
import secrets
import threading
import time
from collections.abc import Mapping

import dimod
import numpy as np

from qopt.errors import Cancelled, NoResultInTime, ParameterError, ProblemError, UnsupportedProblem
from qopt._version import __version__
from qopt.problem_hash import bqm_sha256
from qopt.hybrid.fallback import sample_with_fallback
from qopt.results import Result, confidence_from_sampleset, rank_sampleset
from qopt.samplers.registry import get_sampler_class, parameters_of_all_backends

__all__ = ["solve", "route", "ProblemError", "Cancelled", "NoResultInTime", "library_versions", "DEFAULT_MAX_CANDIDATES"]

DEFAULT_MAX_CANDIDATES = 100
BOUND_TIME_LIMIT = 2.0          # seconds for the certified lower bound
SAMPLE_SHARE = 0.9              # of the time left that a sampler's time_limit may use
EXACT_COMPONENT_MAX = 16        # presolved components this small are enumerated
# Parameters the pipeline itself supplies (from ``cancel`` and ``on_progress``), never the caller.
_INTERNAL_PARAMETERS = frozenset({"interrupt", "on_progress"})
_LIBRARIES = ("numpy", "scipy", "dimod", "dwave-samplers", "dwave-preprocessing")


def library_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the libraries a result depends on (name -> version); a new dict
    each call (the lookups are cached: package metadata is slow to read)."""
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


def validate_bqm(bqm) -> dimod.BinaryQuadraticModel:
    """Check that ``bqm`` is a non-empty BQM with finite biases.

    Raises:
        UnsupportedProblem (a TypeError): ``problem`` is not a dimod.BinaryQuadraticModel.
        ProblemError: no variables, or a non-finite bias (naming it).
    """
    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise UnsupportedProblem(f"problem must be a dimod.BinaryQuadraticModel, was {type(bqm).__name__}")
    if bqm.num_variables == 0:
        raise ProblemError("num_variables", "the model has no variables")
    linear, (_, _, quad), offset = bqm.to_numpy_vectors()
    if not np.all(np.isfinite(linear)):
        i = int(np.flatnonzero(~np.isfinite(linear))[0])
        raise ProblemError(f"linear[{i}]", f"bias of variable {bqm.variables[i]!r} must be finite")
    if not np.all(np.isfinite(quad)):
        raise ProblemError("quadratic", "every quadratic bias must be finite")
    if not math.isfinite(offset):
        raise ProblemError("offset", "must be finite")
    return bqm


def route(bqm: dimod.BinaryQuadraticModel, backend: str | None, *, time_budget: float | None = None,
          num_variables: int | None = None, num_interactions: int | None = None):
    """Choose the backend. Returns a :class:`qopt.hybrid.routing.RoutingDecision`.

    An explicit backend is used as asked; ``"auto"`` (or empty) applies the routing policy
    (:func:`qopt.hybrid.routing.choose_backend`) to the model's size after presolve
    (``num_variables``/``num_interactions`` when given), density, deadline and the
    backends available here.
    """
    from qopt.hybrid.routing import RoutingDecision, choose_backend

    if backend and backend != "auto":
        return RoutingDecision(backend, f"backend {backend!r} requested")
    n = bqm.num_variables if num_variables is None else num_variables
    m = bqm.num_interactions if num_interactions is None else num_interactions
    return choose_backend(n, m, time_limit=time_budget, presolved=num_variables is not None)


def solve(problem, backend: str | None = "auto", *, max_candidates: int = DEFAULT_MAX_CANDIDATES,
          time_budget: float | None = None, on_progress=None, cancel=None, fallback: bool = True,
          presolve: bool = True, lower_bound: bool = True, **parameters) -> Result:
    """Solve ``problem`` in-process and return ranked candidates.

    Args:
        problem: a :class:`dimod.BinaryQuadraticModel`, or a constrained model (a
            :class:`dimod.ConstrainedQuadraticModel`, :class:`qopt.model.Problem`, qiskit
            ``QuadraticProgram``, spec dict, or a path / LP / MPS text), which is compiled to a
            BQM with tuned penalties and decoded back (:mod:`qopt.constrained`); its options
            ``penalty``, ``max_rounds``, ``target_feasible_fraction``, ``polish`` and
            ``inequality`` are passed with the sampler parameters.
        backend: backend name (``"sa"``, ``"exact"``, ``"qaoa"``, ...), or ``"auto"`` / None
            to let qopt choose; the choice and its reason are in ``provenance["routing"]``.
        max_candidates: most distinct candidates returned (default 100).
        time_budget: seconds of wall clock the caller can wait (e.g. the remaining gRPC
            deadline); passed as ``time_limit`` to samplers that support it, capped by any
            ``time_limit`` given explicitly.
        **parameters: sampler parameters under their Python names (``num_reads``,
            ``num_sweeps``, ``seed``, ...). A seed is drawn when the backend takes one and
            none is given, and reported in ``provenance["parameters"]["seed"]``.
        on_progress: optional callable receiving plain-dict events: ``{"event": "stage",
            "stage": name}`` when a stage starts, ``{"event": "best", "energy": e,
            "sample": {...}, "source": backend}`` when a new best candidate is known.
            Called from the solving thread; it must not block.
        fallback: for quantum backends (``qaoa``, ``dwave``), fall back to classical annealing
            and then to a cached result for the same problem when the backend fails or does
            not answer within 70% of ``time_budget`` (:mod:`qopt.hybrid.fallback`); the chain
            taken is in ``provenance["fallback_chain"]`` and ``provenance["backend"]`` names
            the backend that actually produced the candidates.
        presolve: fix variables (forced signs, roof-duality persistencies) and split into
            connected components before sampling (default True; off when ``initial_states``
            is given). Components of at most 16 variables are solved exactly; the others go to
            the backend, sharing the time budget by size. The presolve log is in
            ``provenance["presolve"]``.
        lower_bound: compute a certified lower bound on the minimum energy (roof duality and
            the SDP-dual spectral bound, :func:`qopt.presolve.lower_bound`; at most
            ``BOUND_TIME_LIMIT`` seconds, or 20% of ``time_budget``) and report
            ``confidence["lower_bound"]``, ``lower_bound_method``, ``gap`` =
            (best - bound) / max(1, |best|) and ``proven_optimal``.
        cancel: optional :class:`threading.Event`; when set, samplers that support
            interruption stop between sweeps, and the pipeline raises :class:`Cancelled`
            at the next stage boundary.

    Returns:
        :class:`qopt.results.Result`.

    Raises:
        TypeError: ``problem`` is not a supported model.
        ProblemError: the model is invalid (empty, non-finite biases).
        UnknownBackendError: ``backend`` is not known.
        ParameterError: an unknown parameter name or a value out of range (names it).
        Cancelled: ``cancel`` was set.
        NoResultInTime: every fallback tier failed before the deadline.
    """
    def emit(event: dict) -> None:
        if on_progress is not None:
            on_progress(event)

    def stage(name: str) -> float:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"cancelled before stage {name!r}")
        emit({"event": "stage", "stage": name})
        return time.perf_counter()

    from qopt.constrained import is_constrained, solve_constrained_model

    if is_constrained(problem):
        return solve_constrained_model(problem, backend, max_candidates=max_candidates, time_budget=time_budget,
                                       fallback=fallback, emit=emit, stage=stage, parameters=parameters)

    t_start = time.perf_counter()
    timing: dict[str, float] = {}

    t0 = stage("validate")
    bqm = validate_bqm(problem)
    if not isinstance(max_candidates, int) or max_candidates < 1:
        raise ParameterError("max_candidates", f"must be an integer >= 1, was {max_candidates!r}")
    timing["validate"] = time.perf_counter() - t0

    t0 = stage("preprocess")
    problem_sha256 = bqm_sha256(bqm)
    use_presolve = presolve and "initial_states" not in parameters
    presolved = _presolve(bqm) if use_presolve else None
    if presolved is not None:
        largest = max((c for c in presolved.components), key=len, default=None)
        decision = route(bqm, backend, time_budget=time_budget, num_variables=presolved.num_free,
                         num_interactions=sum(c.num_interactions for c in presolved.components))
        if largest is not None and len(largest) < presolved.num_free and decision.backend == "exact" \
                and backend in (None, "", "auto"):
            decision = route(bqm, backend, time_budget=time_budget, num_variables=len(largest),
                             num_interactions=largest.num_interactions)
    else:
        decision = route(bqm, backend, time_budget=time_budget)
    name, reason = decision.backend, decision.reason
    sampler = get_sampler_class(name)()
    params, ignored = resolve_parameters(sampler, decision, backend, parameters)
    accepted = set(sampler.parameters) - _INTERNAL_PARAMETERS
    bound_task = None
    if lower_bound:  # computed in the background while the backend samples
        bound_limit = BOUND_TIME_LIMIT if time_budget is None else min(BOUND_TIME_LIMIT, 0.2 * time_budget)
        bound_task = _BoundTask(bqm, presolved, bound_limit)
    timing["preprocess"] = time.perf_counter() - t0

    t0 = stage("sample")
    if cancel is not None and "interrupt" in sampler.parameters:
        params["interrupt"] = cancel
    if on_progress is not None and "on_progress" in sampler.parameters:
        params["on_progress"] = lambda event: emit({**event, "source": name})
    left = None if time_budget is None else max(time_budget - (t0 - t_start), 1e-3)
    if left is not None and "time_limit" in accepted:
        # keep back time for the sampler's own set-up and the postprocess stage
        room = max(1e-3, SAMPLE_SHARE * left - 0.05)
        limit = params.get("time_limit")
        params["time_limit"] = room if limit is None else min(float(limit), room)
    if presolved is None:
        sampleset, produced_by, chain = sample_with_fallback(
            bqm, name, sampler, params, time_budget=left, problem_sha256=problem_sha256, enabled=fallback)
    else:
        sampleset, produced_by, chain = _sample_components(
            presolved, name, sampler, params, time_budget=left, problem_sha256=problem_sha256, fallback=fallback,
            per_component=backend in (None, "", "auto"))
    timing["sample"] = time.perf_counter() - t0

    bound = None
    if bound_task is not None:
        wait = 2 * BOUND_TIME_LIMIT
        if time_budget is not None:
            wait = min(wait, max(0.0, 0.95 * time_budget - (time.perf_counter() - t_start) - 0.05))
        bound = bound_task.result(wait, presolved)
        timing["bound"] = bound_task.seconds
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled while sampling")
    t0 = stage("postprocess")
    candidates = rank_sampleset(sampleset, max_candidates=max_candidates)
    if candidates:
        emit({"event": "best", "energy": candidates[0].energy, "sample": dict(candidates[0].sample),
              "source": produced_by, **dict(candidates[0].info or {})})
    confidence = confidence_from_sampleset(sampleset)
    info = dict(sampleset.info)
    backend_timing = info.pop("timing", None)
    versions = library_versions(tuple(info.pop("library_versions", {}) or ()))
    chain = chain + list(info.pop("fallback_chain", []) or [])
    for key in ("branch_agreement", "quantum_value_added"):  # the hybrid's race, in confidence terms
        if key in info:
            confidence[key] = _jsonable(info[key])
    if bound is not None:
        best = confidence["best_energy"]
        confidence["lower_bound"] = bound["value"]
        confidence["lower_bound_method"] = bound["method"]
        if best is not None:
            confidence["gap"] = max(0.0, (best - bound["value"]) / max(1.0, abs(best)))
            confidence["proven_optimal"] = bool(best - bound["value"] <= 1e-9 * max(1.0, abs(best)))
    info.pop("presolve", None)  # summarised under provenance["presolve"]
    provenance = {
        "qopt_version": __version__,
        "backend": produced_by,
        "requested_backend": name,
        "routing": {"backend": name, "reason": reason},
        "fallback_chain": _jsonable(chain),
        "ignored_parameters": _jsonable(ignored),
        "parameters": _jsonable({k: v for k, v in params.items() if k not in _INTERNAL_PARAMETERS}),
        "problem_sha256": problem_sha256,
        "num_variables": bqm.num_variables,
        "num_interactions": bqm.num_interactions,
        "vartype": bqm.vartype.name,
        "versions": versions,
        "backend_info": _jsonable(info),
    }
    if presolved is not None:
        provenance["presolve"] = _jsonable({
            "num_fixed": len(presolved.fixed), "num_free": presolved.num_free,
            "num_components": len(presolved.components),
            "component_sizes": sorted((len(c) for c in presolved.components), reverse=True)[:20],
            "log": presolved.log,
        })
    if bound is not None:
        provenance["lower_bound"] = _jsonable(bound)
    if backend_timing:
        provenance["backend_timing_ns"] = _jsonable(backend_timing)
    timing["postprocess"] = time.perf_counter() - t0
    timing["total"] = time.perf_counter() - t_start
    return Result(candidates=candidates, variables=list(bqm.variables), vartype=bqm.vartype,
                  confidence=confidence, provenance=provenance, timing=timing)


def _presolve(bqm: dimod.BinaryQuadraticModel):
    from qopt.presolve import presolve as run_presolve

    return run_presolve(bqm)


class _BoundTask:
    """The certified lower bound, computed in a daemon thread alongside sampling."""

    def __init__(self, bqm, presolved, time_limit: float):
        self._box: dict = {}
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, args=(bqm, presolved, time_limit), daemon=True,
                                        name="qopt-bound")
        self._thread.start()

    def _run(self, bqm, presolved, time_limit):
        try:
            self._box["bound"] = _lower_bound(bqm, presolved, time_limit)
        except Exception as exc:  # noqa: BLE001 - a bound is optional; its failure is reported
            self._box["error"] = f"{type(exc).__name__}: {exc}"
        self.seconds = time.perf_counter() - self._t0

    def result(self, wait: float, presolved) -> dict | None:
        """The bound, or the roof-duality bound from presolve if it is not ready in ``wait`` s."""
        self._thread.join(max(0.0, wait))
        if "bound" in self._box:
            return self._box["bound"]
        self.seconds = time.perf_counter() - self._t0
        rd = None if presolved is None else presolved.lower_bound
        if rd is None:
            return None
        note = self._box.get("error", "the spectral bound did not finish in time")
        return {**rd, "note": note}


def _lower_bound(bqm, presolved, time_limit: float) -> dict:
    """Certified lower bound: on the presolved components (summed, plus the fixed part's
    energy) when presolve ran, else on the whole model; the better of that and roof duality."""
    from qopt.presolve import lower_bound as bound_of

    if presolved is None:
        return bound_of(bqm, time_limit=time_limit)
    total = presolved.offset
    methods = set()
    for comp in presolved.components:
        if len(comp) <= EXACT_COMPONENT_MAX:
            total += float(dimod.ExactSolver().sample(comp).first.energy)
            methods.add("exact enumeration")
        else:
            part = bound_of(comp, time_limit=time_limit * len(comp) / max(1, presolved.num_free))
            total += part["value"]
            methods.add(part["method"])
    out = {"value": float(total), "method": " + ".join(sorted(methods)) or "presolve (all fixed)",
           "scope": "presolved components"}
    rd = presolved.lower_bound
    if rd is not None and rd["value"] > out["value"]:
        out = dict(rd)
    return out


def _sample_components(presolved, name, sampler, params, *, time_budget, problem_sha256, fallback,
                       per_component: bool):
    """Sample the presolved model and expand to the original one.

    Under ``"auto"`` routing (``per_component``) each connected component is sampled on its
    own, components of at most ``EXACT_COMPONENT_MAX`` variables by enumeration; with an
    explicit backend the reduced model (all components) goes to that backend in one call.
    """
    if not per_component:
        reduced = presolved.reduced
        if reduced.num_variables == 0:
            # Presolve solved it; the requested backend still runs (on the whole model), so its
            # parameters are checked and its answer is what the caller asked for.
            return sample_with_fallback(presolved.bqm, name, sampler, params, time_budget=time_budget,
                                        problem_sha256=problem_sha256, enabled=fallback)
        reduced.offset = 0.0
        ss, produced, chain = sample_with_fallback(reduced, name, sampler, params, time_budget=time_budget,
                                                   problem_sha256=problem_sha256, enabled=fallback)
        out = _with_vectors_of(presolved.expand(ss), ss)
        out.info.update({k: v for k, v in ss.info.items() if k != "presolve"})
        return out, produced, chain
    parts = []
    produced = name
    chain: list[dict] = []
    info: dict = {}
    big = [c for c in presolved.components if len(c) > EXACT_COMPONENT_MAX]
    big_total = sum(len(c) for c in big)
    t0 = time.perf_counter()
    for comp in presolved.components:
        if len(comp) <= EXACT_COMPONENT_MAX:
            parts.append(dimod.ExactSolver().sample(comp).truncate(1))
            continue
        p = dict(params)
        budget = None
        if time_budget is not None:
            used = time.perf_counter() - t0
            budget = max(1e-3, (time_budget - used) * len(comp) / max(1, big_total))
            big_total -= len(comp)
            if "time_limit" in p:
                p["time_limit"] = min(float(p["time_limit"]), budget)
        ss, produced, sub_chain = sample_with_fallback(comp, name, sampler, p, time_budget=budget,
                                                       problem_sha256=f"{problem_sha256}:{len(parts)}",
                                                       enabled=fallback)
        chain.extend(sub_chain)
        if not info:
            info = dict(ss.info)
        parts.append(ss)
    if not big:
        produced = "exact" if presolved.components else "presolve"
    out = presolved.expand(parts) if presolved.components else presolved.expand([])
    if len(big) == 1:  # one sampled component: its per-sample vectors (branch, backend) still apply
        out = _with_vectors_of(out, parts[presolved.components.index(big[0])])
    out.info.update({k: v for k, v in info.items() if k != "presolve"})
    return out, produced, chain


def _with_vectors_of(expanded: dimod.SampleSet, source: dimod.SampleSet) -> dimod.SampleSet:
    """Copy ``source``'s per-sample vectors (e.g. ``branch``, ``backend``) onto the expanded
    sample set; read ``r`` of ``expanded`` came from read ``r mod len(source)``."""
    names = [n for n in source.record.dtype.names if n not in ("sample", "energy", "num_occurrences")]
    if not names or len(source) == 0:
        return expanded
    rows = np.arange(len(expanded)) % len(source)
    vectors = {n: source.record[n][rows] for n in names}
    rec = expanded.record
    return dimod.SampleSet.from_samples((rec.sample, expanded.variables), expanded.vartype, rec.energy,
                                        info=expanded.info, num_occurrences=rec.num_occurrences, **vectors)


def resolve_parameters(sampler, decision, backend: str | None, parameters: dict,
                       extra_accepted: frozenset = frozenset()) -> tuple[dict, dict]:
    """Parameters for ``sampler`` as routed by ``decision``.

    Returns ``(params, ignored)``: the router's parameters overlaid with the caller's, a
    seed drawn when the backend takes one and none was given (below 2**53, so it is exact
    as a protobuf double); and, under ``"auto"``, the caller's parameters meant for another
    backend, set aside and reported.

    Raises:
        ParameterError: a name no backend (or, with an explicit backend, that one) accepts.
    """
    accepted = (set(sampler.parameters) - _INTERNAL_PARAMETERS) | extra_accepted
    unknown = sorted(set(parameters) - accepted)
    ignored = {}
    if unknown and (not backend or backend == "auto"):
        known_anywhere = parameters_of_all_backends() - _INTERNAL_PARAMETERS
        ignored = {k: parameters[k] for k in unknown if k in known_anywhere}
        unknown = [k for k in unknown if k not in known_anywhere]
    if unknown:
        raise ParameterError(unknown[0], f"is not a parameter of backend {decision.backend!r} "
                                         f"(accepted: {', '.join(sorted(accepted))})")
    params = {**decision.parameters, **{k: v for k, v in parameters.items() if k not in ignored}}
    if "seed" in sampler.parameters and params.get("seed") is None:
        params["seed"] = secrets.randbits(52)
    return params, ignored


def _jsonable(value):
    """Convert numpy scalars/arrays and tuples into plain JSON-friendly values."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)
