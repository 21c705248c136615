"""The one call path every user goes through:

    problem -> validate -> preprocess -> route -> sample -> postprocess -> Result

:func:`solve` runs it in-process; the gRPC servicer and the CLI call the same function,
so ``qopt.solve``, ``Client.solve`` and ``qopt solve FILE`` return the same result.

Modules:
    * :mod:`qopt.solve.stages`: timing, cancellation and progress events per stage.
    * :mod:`qopt.solve.bqm`: the BQM path (presolve, components, lower bound, sampling).
    * :mod:`qopt.solve.constrained`: the constrained path (compile, penalty calibration, decode).
    * :mod:`qopt.solve.routing`: the routing policy for ``backend="auto"``.
    * :mod:`qopt.solve.fallback`: the fallback tiers of quantum backends and the result cache.
    * :mod:`qopt.solve.parameters`: resolution of the caller's sampler parameters.
    * :mod:`qopt.solve.workers`: the daemon worker pool for backend calls that may hang.

Provenance records are assembled by :mod:`qopt.provenance`.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from qopt.errors import ParameterError
from qopt.provenance import library_versions
from qopt.results import Result
from qopt.samplers.registry import is_dimod_sampler, using_sampler
from qopt.solve.bqm import BOUND_TIME_LIMIT, solve_bqm, validate_bqm
from qopt.solve.constrained import CONSTRAINED_OPTIONS, is_constrained, solve_constrained_model
from qopt.solve.fallback import DEFAULT_FALLBACK, FALLBACK_MODES, fallback_mode
from qopt.solve.parameters import INTERNAL_PARAMETERS, resolve_parameters
from qopt.solve.routing import QUANTUM_CHOICES, ROUTING_OPTIONS, RoutingDecision, choose_backend, route, routing_options
from qopt.solve.stages import Stages

__all__ = ["solve", "route", "RoutingDecision", "choose_backend", "resolve_parameters", "validate_bqm",
           "library_versions", "is_constrained", "DEFAULT_MAX_CANDIDATES", "BOUND_TIME_LIMIT",
           "CONSTRAINED_OPTIONS", "INTERNAL_PARAMETERS", "FALLBACK_MODES", "Stages", "solve_bqm", "solve_constrained_model",
           "QUANTUM_CHOICES", "ROUTING_OPTIONS"]

DEFAULT_MAX_CANDIDATES = 100


def solve(problem, backend: str | None = "auto", *, max_candidates: int = DEFAULT_MAX_CANDIDATES,
          time_budget: float | None = None, on_progress: Callable[[dict], None] | None = None,
          cancel: threading.Event | None = None, fallback: str | bool = DEFAULT_FALLBACK, presolve: bool = True,
          lower_bound: bool = True, sampler=None, quantum: str = "auto", routing_profile=None,
          **parameters) -> Result:
    """Solve ``problem`` in-process and return ranked candidates.

    Args:
        problem: a :class:`dimod.BinaryQuadraticModel`, or a constrained model (a
            :class:`dimod.ConstrainedQuadraticModel`, :class:`qopt.model.Problem`, qiskit
            ``QuadraticProgram``, spec dict, or a path / LP / MPS text), which is compiled to a
            BQM with tuned penalties and decoded back (:mod:`qopt.solve.constrained`); its
            options ``penalty``, ``max_rounds``, ``target_feasible_fraction``, ``polish`` and
            ``inequality`` are passed with the sampler parameters.
        backend: backend name (``"sa"``, ``"exact"``, ``"qaoa"``, ``"highs"``, ``"cpsat"``,
            ``"scip"``, ``"race"`` (annealing raced against exact backends), ...), or ``"auto"`` / None
            to let qopt choose from the measured routing profile (:mod:`qopt.solve.routing`,
            :mod:`qopt.solve.profile`); the choice and its reason (which names the
            measurement) are in ``provenance["routing"]``. An explicit backend is always used.
        quantum: how ``"auto"`` treats the quantum backends (QAOA, D-Wave, the quantum
            hybrid): ``"auto"`` (default) chooses one only where the routing profile measured
            it competitive; ``"avoid"`` never; ``"prefer"`` whenever the model fits it (D-Wave
            within its embedding sizes, QAOA within the 24-qubit budget, else the hybrid with
            quantum subproblems). No effect on an explicit backend.
        routing_profile: path of a routing profile for ``"auto"`` (default:
            ``$QOPT_ROUTING_PROFILE``, else the one shipped with qopt); regenerate one on this
            machine with ``qopt profile --write PATH``.
        sampler: a caller's sampler object (any :class:`dimod.Sampler`, e.g.
            ``dimod.ExactSolver()`` or ``EmbeddingComposite(MockDWaveSampler())``) to run the
            pipeline on instead of a registered backend; ``backend`` must then be ``"auto"``
            or None. It is named ``"custom:<class name>"`` in ``provenance["backend"]``; the
            parameters are checked against its ``parameters`` mapping, and it has no fallback
            tiers. (A server in this process can serve one too:
            :func:`qopt.samplers.registry.register_sampler`.) Anything else given as
            ``sampler`` (a Qiskit ``SamplerV2``, ``"core"``) is the QAOA backend's own
            ``sampler`` parameter, passed on as before.
        max_candidates: most distinct candidates returned (default 100).
        time_budget: seconds of wall clock the caller can wait (e.g. the remaining gRPC
            deadline); passed as ``time_limit`` to samplers that support it, capped by any
            ``time_limit`` given explicitly. Without one, a default budget that grows with the
            model's size (:func:`qopt.solve.stages.default_time_budget`) stops the work, as
            stated in ``provenance["defaults"]["time_budget"]``; routing still sees no deadline.
        **parameters: sampler parameters under their Python names (``num_reads``,
            ``num_sweeps``, ``seed``, ...). A seed is drawn when the backend takes one and
            none is given, and reported in ``provenance["parameters"]["seed"]``.
        on_progress: optional callable receiving plain-dict events: ``{"event": "stage",
            "stage": name}`` when a stage starts, ``{"event": "best", "energy": e,
            "sample": {...}, "source": backend}`` when a new best candidate is known, and
            ``{"event": "bound", "lower_bound": value, "method": name}`` (energy units) when
            the certified lower bound is known. Called from the solving thread; it must not block.
        fallback: when a quantum backend (``qaoa``, ``dwave``; the hybrid's subproblems) may
            fall back to classical annealing and then to a cached result for the same problem
            (:mod:`qopt.solve.fallback`): ``"transient"`` (default) on transient failures
            (:class:`qopt.errors.BackendUnavailable`, connection errors, no answer within 70%
            of ``time_budget``) only, so a backend that cannot run here (no credentials, no
            embedding) raises its :class:`qopt.errors.BackendConfigurationError` at once;
            ``"always"`` on structural failures too; ``"never"``: errors propagate. ``True``
            and ``False`` are aliases of ``"always"`` and ``"never"``. The chain taken is in
            ``provenance["fallback_chain"]`` and ``provenance["backend"]`` names the backend
            that actually produced the candidates.
        presolve: fix variables (forced signs, roof-duality persistencies) and split into
            connected components before sampling (default True; off when ``initial_states``
            is given). Components of at most ``qopt.samplers.limits.ENUMERATION_MAX_VARIABLES``
            (16) variables are solved exactly; the others go to the backend, sharing the time
            budget by size. The presolve log is in ``provenance["presolve"]``.
        lower_bound: compute a certified lower bound on the minimum energy (roof duality and
            the SDP-dual spectral bound, :func:`qopt.presolve.lower_bound`, beside sampling when
            its estimated work (iterations and certificate) fits in ``BOUND_CPU_SHARE`` (8%) of
            the sampler's estimated CPU time (iterations at most ``BOUND_TIME_LIMIT`` seconds and
            20% of the budget; otherwise, and above 3000 spins, roof duality with a note); the
            answer waits for it at most 5% of the sampling time; an exact backend's dual bound
            where one ran) and report
            ``confidence["lower_bound"]`` (also ``objective_bound``), ``lower_bound_method``
            (also ``bound_method``), ``gap`` = (best - bound) / max(1, |best|) and
            ``proven_optimal``. Constrained models always get a bound in their own sense
            (:mod:`qopt.solve.race`).
        cancel: optional :class:`threading.Event`; when set, samplers that support
            interruption stop between sweeps, and the pipeline raises
            :class:`qopt.errors.Cancelled` at the next stage boundary.

    Returns:
        :class:`qopt.results.Result`.

    Raises:
        qopt.errors.UnsupportedProblem: ``problem`` is not a supported model (a TypeError).
        qopt.errors.ProblemError: the BQM is invalid (empty, non-finite biases).
        qopt.errors.ModelError: the constrained model is invalid.
        qopt.errors.UnknownBackendError: ``backend`` is not known.
        qopt.errors.ParameterError: an unknown parameter name or a value out of range (names it);
            a dimod ``sampler`` is given with an explicit ``backend``; ``fallback`` is not one of
            the modes; ``quantum`` is not one of ``"avoid"``, ``"auto"``, ``"prefer"``; the
            routing profile is missing or malformed (field ``routing_profile``, naming the file
            and the field).
        qopt.errors.BackendConfigurationError: the backend cannot run here (e.g. ``dwave``
            without credentials: ``DWaveConfigurationError``; ``EmbeddingError``), unless
            ``fallback="always"``.
        qopt.errors.Cancelled: ``cancel`` was set.
        qopt.errors.NoResultInTime: every fallback tier failed before the deadline.
    """
    fallback = fallback_mode(fallback)
    if sampler is not None and not is_dimod_sampler(sampler):
        parameters["sampler"] = sampler  # QAOA's own ``sampler`` (a Qiskit SamplerV2 or "core")
    elif sampler is not None:
        if backend not in (None, "", "auto"):
            raise ParameterError("backend", f"must be 'auto' or None when sampler is given, was {backend!r}")
        with using_sampler(sampler) as name:
            return solve(problem, name, max_candidates=max_candidates, time_budget=time_budget,
                         on_progress=on_progress, cancel=cancel, fallback=fallback, presolve=presolve,
                         lower_bound=lower_bound, quantum=quantum, routing_profile=routing_profile, **parameters)
    stages = Stages(on_progress=on_progress, cancel=cancel)
    with routing_options(quantum=quantum, routing_profile=routing_profile):
        if is_constrained(problem):
            return solve_constrained_model(problem, backend, stages=stages, max_candidates=max_candidates,
                                           time_budget=time_budget, fallback=fallback, parameters=parameters)
        return solve_bqm(problem, backend, stages=stages, max_candidates=max_candidates, time_budget=time_budget,
                         fallback=fallback, presolve=presolve, lower_bound=lower_bound, parameters=parameters)
