"""Sampler parameters on the solve path: which ones the pipeline supplies itself, and how the
caller's parameters are resolved against the routed backend."""
from __future__ import annotations

import secrets
from collections.abc import Mapping

from qopt.errors import ParameterError
from qopt.samplers.registry import parameters_of_all_backends
from qopt.samplers.spec import ParameterSpec

__all__ = ["INTERNAL_PARAMETERS", "public_parameters", "resolve_parameters", "sa_defaults", "sa_seconds",
           "SA_DEFAULT_NUM_READS", "SA_MIN_NUM_READS", "SA_DEFAULT_NUM_SWEEPS", "SA_MIN_NUM_SWEEPS",
           "SA_DEFAULT_SECONDS", "SA_DEADLINE_SHARE", "SA_VISITS_PER_SECOND", "SA_RUN_SIZE_PARAMETERS"]

#: Parameters the pipeline itself supplies (from ``cancel`` and ``on_progress``), never the caller.
INTERNAL_PARAMETERS = frozenset({"interrupt", "on_progress"})

#: ``num_reads`` :func:`qopt.solve` gives simulated annealing when the caller gives none and the
#: work fits (the demo's and the constrained path's population; four 16-read SIMD groups).
SA_DEFAULT_NUM_READS = 64
#: fewest reads the rule goes down to before it shortens the anneal (one 16-lane SIMD group).
SA_MIN_NUM_READS = 16
#: ``num_sweeps`` default (the sampler's own) and the fewest the rule goes down to.
SA_DEFAULT_NUM_SWEEPS = 1000
SA_MIN_NUM_SWEEPS = 100
#: seconds of annealing the defaults aim at without a deadline.
SA_DEFAULT_SECONDS = 1.0
#: share of the caller's deadline the defaults aim at (the rest: set-up, bound, postprocess).
SA_DEADLINE_SHARE = 0.5
#: a conservative annealing rate, in visits per second, one visit being one variable or one
#: direction of one interaction in one sweep of one read, so a read of ``s`` sweeps on ``n``
#: variables and ``m`` interactions costs ``s * (n + 2 m)`` visits. Measured: G1 (800
#: variables, 19 176 interactions), 64 reads x 1000 sweeps in 0.16 s on one thread of the
#: project's 2-core machine, 1.6e10 visits/s; a third of that is assumed.
SA_VISITS_PER_SECOND = 5e9


def sa_seconds(num_reads: int, num_sweeps: int, num_variables: int, num_interactions: int) -> float:
    """Estimated seconds of simulated annealing on one thread (:data:`SA_VISITS_PER_SECOND`)."""
    return num_reads * num_sweeps * (num_variables + 2 * num_interactions) / SA_VISITS_PER_SECOND


def sa_defaults(params: Mapping, num_variables: int, num_interactions: int,
                time_budget: float | None) -> dict:
    """``num_reads`` and ``num_sweeps`` for simulated annealing where the caller gave none.

    With a deadline (``time_budget``, or a ``time_limit`` among ``params``) and none of
    ``num_reads``, ``num_sweeps``, ``num_restarts``, ``restart_sweeps``, ``beta_schedule``,
    ``initial_states`` given, both are left to the sampler (value None): it plans an anytime
    run that fills its ``time_limit`` (calibrated reads x sweeps plus elite restarts, see
    :class:`qopt.samplers.sa.SimulatedAnnealingSampler`), and the plan it used is reported
    in ``provenance["backend_info"]["plan"]``; passing that plan's ``num_reads``,
    ``num_sweeps``, ``num_restarts``, ``restart_sweeps`` and ``polish`` back with the same
    seed reproduces the run when the deadline did not bind.

    Otherwise (no deadline, or part of the run's size given: a run of fixed size, so the
    answer is the seed's alone) the default budget comes from the model's size: aim at ``T``
    seconds of annealing, ``T`` = :data:`SA_DEFAULT_SECONDS` (1 s),
    or :data:`SA_DEADLINE_SHARE` (half) of ``time_budget`` when that is less, estimated with
    :func:`sa_seconds`. ``num_sweeps`` (when not given) is :data:`SA_DEFAULT_NUM_SWEEPS`
    (1000); ``num_reads`` (when not given) is :data:`SA_DEFAULT_NUM_READS` (64), fewer (down
    to :data:`SA_MIN_NUM_READS`, 16) when 64 reads would exceed ``T``; if even 16 reads
    would, the sweeps (when not given) are cut to fit, down to :data:`SA_MIN_NUM_SWEEPS` (100).
    There a deadline changes the defaults only when it would bind them.

    Args:
        params: the parameters resolved so far (a value that is not None is the caller's).
        num_variables, num_interactions: the size of what is sampled (after presolve).
        time_budget: seconds the caller can wait, or None.

    Returns:
        name -> ``{"value": chosen value, "reason": str}`` for each parameter chosen (empty
        when the caller gave both); the caller applies the values. A ``beta_schedule`` sets
        the sweeps and ``initial_states`` the reads, as in the sampler.
    """
    planned = _sa_planned(params, time_budget)
    if planned:
        return planned
    target = SA_DEFAULT_SECONDS
    why = f"{SA_DEFAULT_SECONDS:g} s of annealing"
    if time_budget is not None and SA_DEADLINE_SHARE * time_budget < target:
        target = max(1e-3, SA_DEADLINE_SHARE * time_budget)
        why = f"{SA_DEADLINE_SHARE:.0%} of the {time_budget:.3g} s deadline"
    n, m = num_variables, num_interactions
    size = f"{n} variables and {m} interactions"
    out: dict = {}
    sweeps = params.get("num_sweeps")
    schedule = params.get("beta_schedule")
    if sweeps is None and schedule is not None:  # a custom schedule sets the sweeps
        sweeps = len(schedule)
    if sweeps is None:
        sweeps = SA_DEFAULT_NUM_SWEEPS
        out["num_sweeps"] = {"value": sweeps, "reason": "the sampler's default"}
    if params.get("num_reads") is None and params.get("initial_states") is None:
        per_read = sa_seconds(1, sweeps, n, m)
        fit = int(target / per_read) if per_read > 0 else SA_DEFAULT_NUM_READS
        reads = max(SA_MIN_NUM_READS, min(SA_DEFAULT_NUM_READS, fit))
        if reads == SA_DEFAULT_NUM_READS:
            reason = f"{reads} reads of {sweeps} sweeps on {size} fit in {why}"
        else:
            reason = f"{reads} reads of {sweeps} sweeps on {size} fit in {why} (the default is " \
                     f"{SA_DEFAULT_NUM_READS}; at least {SA_MIN_NUM_READS})"
        out["num_reads"] = {"value": reads, "reason": reason}
        if "num_sweeps" in out and fit < SA_MIN_NUM_READS and per_read > 0:
            per_sweep = sa_seconds(reads, 1, n, m)
            cut = max(SA_MIN_NUM_SWEEPS, min(SA_DEFAULT_NUM_SWEEPS, int(target / per_sweep)))
            out["num_sweeps"] = {"value": cut, "reason": f"{SA_MIN_NUM_READS} reads of {SA_DEFAULT_NUM_SWEEPS} "
                                                          f"sweeps on {size} exceed {why}: {cut} sweeps (at least "
                                                          f"{SA_MIN_NUM_SWEEPS})"}
            out["num_reads"]["reason"] = f"the fewest reads the rule uses ({SA_MIN_NUM_READS}) on {size}"
    return out


#: what, given with a deadline, sizes a simulated-annealing run (so the sampler does not plan it).
SA_RUN_SIZE_PARAMETERS = ("num_reads", "num_sweeps", "num_restarts", "restart_sweeps", "beta_schedule",
                          "initial_states")


def _sa_planned(params: Mapping, time_budget: float | None) -> dict:
    """The anytime case of :func:`sa_defaults` (empty when it does not apply)."""
    deadline = params.get("time_limit") if time_budget is None else time_budget
    if deadline is None or any(params.get(k) is not None for k in SA_RUN_SIZE_PARAMETERS):
        return {}
    reason = (f"a deadline ({float(deadline):.3g} s) and no run size given: the sampler calibrates its sweep "
              f"cost and plans reads, sweeps and elite restarts to fill its time_limit (the plan used: "
              f"provenance['backend_info']['plan'])")
    return {"num_reads": {"value": None, "reason": reason}, "num_sweeps": {"value": None, "reason": reason}}


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
        if not backend or backend == "auto":  # the caller chose no backend: say none takes it
            raise ParameterError(unknown[0], f"is not a parameter of any backend (backend 'auto' chose "
                                             f"{decision.backend!r}, which accepts: {', '.join(sorted(accepted))})")
        raise ParameterError(unknown[0], f"is not a parameter of backend {decision.backend!r} "
                                         f"(accepted: {', '.join(sorted(accepted))})")
    params = {**decision.parameters, **{k: v for k, v in parameters.items() if k not in ignored}}
    if "seed" in sampler.parameters and params.get("seed") is None:
        spec = getattr(sampler, "parameter_spec", None)
        # within the backend's own seed range (steepest takes 32 bits), below 2**52 either way
        params["seed"] = spec.random_seed() if isinstance(spec, ParameterSpec) else secrets.randbits(52)
    return params, ignored
