"""The BQM path of the pipeline: validate -> presolve -> route -> sample (with the
background lower bound and the fallback tiers) -> rank -> Result.

:func:`qopt.solve` sends every :class:`dimod.BinaryQuadraticModel` here. Presolve fixes
variables and splits the rest into connected components; under ``"auto"`` routing the
components of at most ``ENUMERATION_MAX_VARIABLES`` variables are enumerated and the others
go to the routed backend, sharing the time budget by size. A certified lower bound is
computed in a daemon thread, at a lower CPU priority (``BOUND_NICE`` steps), while the backend
samples, when its estimated work fits in ``BOUND_CPU_SHARE`` of the sampler's CPU time (else
roof duality stands, with a note); after sampling the answer waits for it at most
``BOUND_WAIT_SHARE`` of the sampling time, and the thread is then stopped and joined (it ends at
its next check: its mixing iterations are capped at
``provenance["defaults"]["bound_time_limit"]`` seconds, its certificate is one dense Cholesky),
so no bound thread outlives the call.
"""
from __future__ import annotations

import math
import os
import threading
import time

import dimod
import numpy as np

from qopt.errors import Cancelled, ParameterError, ProblemError, UnsupportedProblem
from qopt.problem_hash import bqm_sha256
from qopt.provenance import backend_timing, jsonable, library_versions, provenance_record
from qopt.results import Result, add_lower_bound, confidence_from_sampleset, rank_sampleset
from qopt.samplers.exact import BNB_SOLVER, ExactSampler
from qopt.samplers.limits import ENUMERATION_MAX_VARIABLES
from qopt.samplers.registry import SOLVER_TIMED_BACKENDS, get_sampler
from qopt.samplers.sa import available_cores
from qopt.solve.fallback import sample_with_fallback
from qopt.solve.parameters import INTERNAL_PARAMETERS, public_parameters, resolve_parameters, sa_defaults, sa_seconds
from qopt.solve.routing import route
from qopt.solve.stages import Stages, default_time_budget

__all__ = ["BOUND_TIME_LIMIT", "SAMPLE_SHARE", "SAMPLE_SHARE_SECONDS", "BOUND_CPU_SHARE", "BOUND_MIN_SECONDS", "BOUND_UNKNOWN_SHARE", "BOUND_WAIT_SHARE",
           "BOUND_START_DELAY", "BOUND_INLINE_STATES", "SA_ESTIMATE_MARGIN", "validate_bqm", "solve_bqm"]

BOUND_TIME_LIMIT = 2.0          # most seconds of the spectral bound's mixing iterations alongside sampling
#: A sampler's time_limit is the work time left (the answer's own reserve already taken out, see
#: qopt.solve.stages.answer_reserve) less 0.02 s and (1 - SAMPLE_SHARE) of at most
#: SAMPLE_SHARE_SECONDS of it, for the sampler's set-up and the postprocess stage (0.04-0.4 s on
#: 5000-20000 variables): a share of all of it left 6 s of a 60 s budget unused (G55).
SAMPLE_SHARE = 0.9
SAMPLE_SHARE_SECONDS = 5.0
#: The bound never delays the answer. On a machine whose cores the sampler fills, every CPU-second
#: the bound takes comes out of the sampler's (measured: the time to answer grows by the bound's
#: CPU time over the sampler's, benchmarks/BOUND.md), so the bound's whole estimated work, its
#: mixing iterations plus its certificate (:func:`qopt.presolve.bound.certificate_seconds`), gets
#: at most this share of the sampler's estimated CPU time (seconds x threads). When the
#: certificate alone leaves less than ``BOUND_MIN_SECONDS`` of iterations (G1 below ~4000 sweeps
#: of 64 reads), or needs a sparse LU (more than ``DENSE_MAX`` spins: seconds per factorisation),
#: the spectral bound is not run beside the sampler: roof duality (presolve's) stands, with a
#: note naming :func:`qopt.presolve.lower_bound` for the tighter bound.
BOUND_CPU_SHARE = 0.08
BOUND_MIN_SECONDS = 0.01
#: Beside a backend whose run length is unknown (exact, MIP, quantum: it may end long before its
#: budget), the bound's work gets this share of the budget, so that joining its thread (one mixing
#: run cannot be interrupted) delays such an answer by at most that much.
BOUND_UNKNOWN_SHARE = 0.02
#: A fixed-size annealing run's estimate (:func:`qopt.solve.parameters.sa_seconds`) assumes a
#: third of the measured visit rate: its CPU time is about this many times less.
SA_ESTIMATE_MARGIN = 3.0
#: Once sampling has ended, the answer waits for the bound at most ``BOUND_WAIT_SHARE`` of the
#: sampling time (5%); a bound not ready by then is stopped (and joined: it ends at its next
#: check, one capped step) and replaced by presolve's roof-duality bound, with a note saying so.
BOUND_WAIT_SHARE = 0.05
#: The bound thread starts its work this many seconds after sampling starts, so that its Python
#: steps (which hold the GIL, at a lower priority) do not meet the sampler's Python set-up.
BOUND_START_DELAY = 0.05
#: How much the bound thread's nice value is raised above the process's (Linux, per thread).
#: Nice 19 starved it: with the sampler's threads on every core it got ~1.5% of one and was never
#: ready; 5 steps lower it gets about a quarter of a core next to a busy sampler thread, so its
#: capped work ends about when sampling does.
BOUND_NICE = 5
#: A bound this cheap is computed before sampling, in the calling thread: every presolved
#: component enumerated, at most this many states in all (or a model of at most
#: ``ENUMERATION_MAX_VARIABLES`` variables without presolve); a few milliseconds.
BOUND_INLINE_STATES = 2**18


def validate_bqm(bqm) -> dimod.BinaryQuadraticModel:
    """Check that ``bqm`` is a non-empty BQM with finite biases; returns it.

    Raises:
        UnsupportedProblem (a TypeError): ``problem`` is not a dimod.BinaryQuadraticModel.
        ProblemError: no variables, or a non-finite bias (naming it).
    """
    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise UnsupportedProblem(f"problem must be a dimod.BinaryQuadraticModel, was {type(bqm).__name__}")
    if bqm.num_variables == 0:
        raise ProblemError("num_variables", "the model has no variables")
    vectors = bqm.to_numpy_vectors()
    linear, quad, offset = vectors[0], vectors[1][2], vectors[2]
    if not np.all(np.isfinite(linear)):
        i = int(np.flatnonzero(~np.isfinite(linear))[0])
        raise ProblemError(f"linear[{i}]", f"bias of variable {bqm.variables[i]!r} must be finite")
    if not np.all(np.isfinite(quad)):
        raise ProblemError("quadratic", "every quadratic bias must be finite")
    if not math.isfinite(offset):
        raise ProblemError("offset", "must be finite")
    return bqm


def _auto(backend: str | None) -> bool:
    return backend in (None, "", "auto")


def solve_bqm(problem, backend: str | None, *, stages: Stages, max_candidates: int, time_budget: float | None,
              fallback: bool | str, presolve: bool, lower_bound: bool, parameters: dict) -> Result:
    """Run the BQM path; see :func:`qopt.solve` for the arguments.

    Returns:
        :class:`qopt.results.Result` in the BQM's variables and vartype.

    Raises:
        UnsupportedProblem, ProblemError: ``problem`` is not a valid BQM.
        ParameterError: ``max_candidates`` or a sampler parameter is invalid (named).
        qopt.errors.Cancelled: ``stages.cancel`` was set.
        qopt.errors.NoResultInTime: every fallback tier failed before the deadline.
    """
    with stages.stage("validate"):
        bqm = validate_bqm(problem)
        if not isinstance(max_candidates, int) or max_candidates < 1:
            raise ParameterError("max_candidates", f"must be an integer >= 1, was {max_candidates!r}")

    with stages.stage("preprocess"):
        problem_sha256 = bqm_sha256(bqm)
        use_presolve = presolve and "initial_states" not in parameters
        presolved = _presolve(bqm) if use_presolve else None
        if presolved is not None:
            largest = max((c for c in presolved.components), key=len, default=None)
            decision = route(bqm, backend, time_budget=time_budget, num_variables=presolved.num_free,
                             num_interactions=sum(c.num_interactions for c in presolved.components))
            if largest is not None and len(largest) < presolved.num_free and decision.backend == "exact" \
                    and _auto(backend):
                decision = route(bqm, backend, time_budget=time_budget, num_variables=len(largest),
                                 num_interactions=largest.num_interactions)
        else:
            decision = route(bqm, backend, time_budget=time_budget)
        name = decision.backend
        sampler = get_sampler(name)
        params, ignored = resolve_parameters(sampler, decision, backend, parameters)
        accepted = set(sampler.parameters) - INTERNAL_PARAMETERS
        defaults: dict = {}
        estimate = None  # seconds of sampling, where known
        sa_cpu = None  # estimated CPU seconds of a fixed-size annealing run (all threads)
        n_s, m_s = bqm.num_variables, bqm.num_interactions
        if presolved is not None and presolved.num_free:
            n_s, m_s = presolved.num_free, sum(c.num_interactions for c in presolved.components)
        if name == "race" and decision.racers and params.get("racers") is None:
            params["racers"] = list(decision.racers)  # the router's race
        if name in ("sa", "race"):  # the race's annealing branch takes the same defaults
            defaults = sa_defaults(params, n_s, m_s, time_budget)
            params.update({k: d["value"] for k, d in defaults.items()})
            if params.get("num_reads") is not None and params.get("num_sweeps") is not None:
                threads = max(1, int(params.get("num_threads") or 1))
                sa_cpu = sa_seconds(int(params["num_reads"]), int(params["num_sweeps"]), n_s, m_s)
                estimate = sa_cpu / threads
        if time_budget is None:  # a wall-clock stop that grows with the model's size
            defaults["time_budget"] = default_time_budget(n_s, m_s, estimate)
        budget = float(time_budget if time_budget is not None else defaults["time_budget"]["value"])
        stages.set_budget(budget, bqm.num_variables + bqm.num_interactions)
        bound_task = None
        if lower_bound:  # computed in the background while the backend samples, if it fits
            bound_task = _BoundTask(bqm, presolved, *_bound_plan(bqm, presolved, name, params, sa_cpu, budget,
                                                                 defaults))
    try:
        return _sample_and_rank(bqm, backend, stages, max_candidates=max_candidates, time_budget=time_budget,
                                fallback=fallback, presolved=presolved, problem_sha256=problem_sha256,
                                decision=decision, sampler=sampler, params=params, ignored=ignored,
                                accepted=accepted, bound_task=bound_task, defaults=defaults)
    finally:
        if bound_task is not None:  # returned, cancelled or failed: the bound stops with the solve
            bound_task.stop(None)  # and is joined: it ends at its next check (one capped step)


def _sample_and_rank(bqm, backend, stages: Stages, *, max_candidates, time_budget, fallback, presolved,
                     problem_sha256, decision, sampler, params, ignored, accepted, bound_task,
                     defaults) -> Result:
    """The ``sample`` and ``postprocess`` stages of :func:`solve_bqm` (its caller stops ``bound_task``)."""
    name = decision.backend
    with stages.stage("sample"):
        if stages.cancel is not None and "interrupt" in sampler.parameters:
            params["interrupt"] = stages.cancel
        if stages.reports_progress and "on_progress" in sampler.parameters:
            params["on_progress"] = lambda event: stages.emit({**event, "source": name})
        # the caller's deadline drives the fallback tiers; any budget (the default included) is a stop
        left = None if time_budget is None else max(stages.work_left() or 0.0, 1e-3)
        if "time_limit" in accepted and not (time_budget is None and name in SOLVER_TIMED_BACKENDS):
            # keep back time for the sampler's own set-up and the postprocess stage
            work = stages.work_left() or 0.0
            room = max(1e-3, work - (1.0 - SAMPLE_SHARE) * min(work, SAMPLE_SHARE_SECONDS) - 0.02)
            limit = params.get("time_limit")
            params["time_limit"] = room if limit is None else min(float(limit), room)
        if presolved is None:
            sampleset, produced_by, chain = sample_with_fallback(
                bqm, name, sampler, params, time_budget=left, problem_sha256=problem_sha256, enabled=fallback,
                cancel=stages.cancel)
        else:
            sampleset, produced_by, chain = _sample_components(
                presolved, name, sampler, params, time_budget=left, problem_sha256=problem_sha256,
                fallback=fallback, per_component=_auto(backend), cancel=stages.cancel)

    stages.check_cancel("cancelled while sampling")  # before waiting for the bound
    bound: dict | None = None
    if bound_task is not None and produced_by == "exact" and len(sampleset) \
            and sampleset.info.get("status", "optimal") == "optimal":
        # proven optimal by enumeration or branch and bound (the exact backend, or every
        # component under auto): the best energy is the minimum itself
        method = "branch and bound" if sampleset.info.get("solver") == BNB_SOLVER else "exact enumeration"
        bound = {"value": float(sampleset.first.energy), "method": method, "scope": "whole model"}
        bound_task.stop(0.0)
        stages.record("bound", 0.0)
    elif bound_task is not None:  # the answer does not wait for it: 5% of the sampling time at most
        wait = min(BOUND_WAIT_SHARE * stages.timing.get("sample", 0.0), stages.work_left() or 0.0)
        bound = bound_task.result(wait, presolved)
        stages.record("bound", bound_task.seconds)
    bound = _better_bound(bound, _backend_dual_bound(sampleset, produced_by, presolved, per_component=_auto(backend)))
    if bound is not None:
        stages.emit({"event": "bound", "lower_bound": float(bound["value"]), "method": bound.get("method")})
    stages.check_cancel("cancelled while sampling")
    with stages.stage("postprocess"):
        candidates = rank_sampleset(sampleset, max_candidates=max_candidates)
        if candidates:
            stages.emit({"event": "best", "energy": candidates[0].energy, "sample": dict(candidates[0].sample),
                         "source": produced_by, **dict(candidates[0].info or {})})
        confidence = confidence_from_sampleset(sampleset)
        info = dict(sampleset.info)
        sampler_timing = info.pop("timing", None)
        versions = library_versions(tuple(info.pop("library_versions", {}) or ()))
        chain = chain + list(info.pop("fallback_chain", []) or [])
        for key in ("branch_agreement", "quantum_value_added"):  # the hybrid's race, in confidence terms
            if key in info:
                confidence[key] = jsonable(info[key])
        add_lower_bound(confidence, bound)
        info.pop("presolve", None)  # summarised under provenance["presolve"]
        extra: dict = {"num_variables": bqm.num_variables, "num_interactions": bqm.num_interactions,
                       "vartype": bqm.vartype.name}
        if presolved is not None:
            extra["presolve"] = {
                "num_fixed": len(presolved.fixed), "num_free": presolved.num_free,
                "num_components": len(presolved.components),
                "component_sizes": sorted((len(c) for c in presolved.components), reverse=True)[:20],
                "log": presolved.log,
            }
        if bound is not None:
            extra["lower_bound"] = bound
        extra.update(backend_timing(sampler_timing))
        provenance = provenance_record(
            backend=produced_by, routed_backend=name, requested_backend=backend or "auto",
            routing_reason=decision.reason, fallback_chain=chain,
            ignored_parameters=ignored, parameters=public_parameters(params), problem_sha256=problem_sha256,
            versions=versions, backend_info=info, extra=extra, defaults=defaults)
    return Result(candidates=candidates, variables=list(bqm.variables), vartype=bqm.vartype,
                  confidence=confidence, provenance=provenance, timing=stages.finish())


def _backend_dual_bound(sampleset: dimod.SampleSet, produced_by: str, presolved, *, per_component: bool):
    """The proven lower bound an exact backend (or a race with one) reported in ``info["dual_bound"]``,
    on the original model's energy; None when there is none or it does not cover the whole model
    (several components sampled separately)."""
    value = sampleset.info.get("dual_bound")
    if value is None or not math.isfinite(float(value)):
        return None
    value = float(value)
    if presolved is not None:
        if per_component and len([c for c in presolved.components if len(c) > ENUMERATION_MAX_VARIABLES]) != 1:
            return None
        if presolved.reduced.num_variables:  # the backend saw the reduced model, offset 0
            value += presolved.offset
            if per_component:  # plus the enumerated components' exact minima
                value += sum(_component_minimum(c) for c in presolved.components
                             if len(c) <= ENUMERATION_MAX_VARIABLES)
    solver = sampleset.info.get("solver") or produced_by
    name = solver.get("name", produced_by) if isinstance(solver, dict) else str(solver)
    return {"value": value, "method": f"dual bound of {name}", "scope": "whole model"}


def _component_minimum(comp: dimod.BinaryQuadraticModel) -> float:
    """The proven minimum energy of a small component (the exact backend's branch and bound:
    11-28x faster than enumeration at 16 variables, benchmarks/EXACT.md)."""
    return float(ExactSampler().sample(comp, num_reads=1).first.energy)


def _better_bound(a: dict | None, b: dict | None) -> dict | None:
    """The higher of two certified lower bounds (either may be None)."""
    if a is None or b is None:
        return a if b is None else b
    return b if b["value"] > a["value"] else a


def _presolve(bqm: dimod.BinaryQuadraticModel):
    from qopt.presolve import presolve as run_presolve

    return run_presolve(bqm)


def _bound_plan(bqm, presolved, name: str, params: dict, sa_cpu: float | None, budget: float,
                defaults: dict) -> tuple[float | None, str | None]:
    """``(time_limit, skipped)`` of the spectral bound beside the sampler: the seconds its mixing
    iterations get, or None with the reason it is not run (see :data:`BOUND_CPU_SHARE`); the
    decision is recorded in ``defaults["bound_time_limit"]``."""
    from qopt.presolve.bound import certificate_seconds

    annealing = name in ("sa", "race", "pt")
    threads = int(params.get("num_threads") or available_cores()) if annealing else 1  # annealing fills its cores
    if sa_cpu is not None:  # a fixed-size annealing run
        sampler_cpu = sa_cpu / SA_ESTIMATE_MARGIN
    elif annealing:  # an anytime run fills its time limit
        sampler_cpu = SAMPLE_SHARE * budget * threads
    else:  # a backend that may end long before its budget (and reports its own dual bound, if exact)
        sampler_cpu = BOUND_UNKNOWN_SHARE * budget / BOUND_CPU_SHARE
    sizes = [bqm.num_variables] if presolved is None else [len(c) for c in presolved.components
                                                            if len(c) > ENUMERATION_MAX_VARIABLES]
    certificate = sum(certificate_seconds(k + 1) for k in sizes)
    allowance = BOUND_CPU_SHARE * sampler_cpu
    limit = min(BOUND_TIME_LIMIT, 0.2 * budget, allowance - certificate)
    skipped = None
    if not math.isfinite(certificate):
        skipped = ("the spectral bound was not run beside sampling: its sparse certificate takes seconds per "
                   "factorisation (call qopt.presolve.lower_bound for it)")
    elif limit < BOUND_MIN_SECONDS and not _cheap_bound(bqm, presolved):
        skipped = (f"the spectral bound was not run beside sampling: its certificate (~{certificate:.2g} CPU-s) "
                   f"leaves under {BOUND_MIN_SECONDS:g} s of its {BOUND_CPU_SHARE:.0%} share of the sampler's "
                   f"estimated {sampler_cpu:.2g} CPU-s (call qopt.presolve.lower_bound for it)")
    limit = max(BOUND_MIN_SECONDS, limit)
    reason = (f"the spectral bound's work beside sampling is at most {BOUND_CPU_SHARE:.0%} of the sampler's "
              f"estimated CPU time ({sampler_cpu:.3g} s on {threads} thread(s)) less its certificate "
              f"(~{certificate:.2g} s), 20% of the budget and {BOUND_TIME_LIMIT:g} s")
    defaults["bound_time_limit"] = {"value": None if skipped else limit, "reason": skipped or reason}
    return (None if skipped else limit), skipped


class _BoundTask:
    """The certified lower bound, computed in a daemon thread (``qopt-bound``) alongside
    sampling, inline when it is cheap (:func:`_cheap_bound`), or not at all beside the sampler
    (``time_limit`` None: roof duality stands, with the ``skipped`` note); :meth:`stop` tells
    the thread to stop at its next step and joins it."""

    def __init__(self, bqm, presolved, time_limit: float | None, skipped: str | None = None):
        self._box: dict = {}
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        self.cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(bqm, presolved, time_limit, False), daemon=True,
                                        name="qopt-bound")
        if _cheap_bound(bqm, presolved):
            self._run(bqm, presolved, time_limit or BOUND_MIN_SECONDS, True)
        elif time_limit is None:
            self._box["error"] = skipped or "the spectral bound was not run beside sampling"
            if presolved is None:  # presolve did not compute roof duality: a max-flow, milliseconds
                from qopt.presolve import roof_duality_bound

                self._box["roof_duality"] = roof_duality_bound(bqm)
        else:
            self._thread.start()

    def _run(self, bqm, presolved, time_limit, inline: bool):
        if not inline:
            # the sampler's threads go first (the certificate is dense: the plan skips sparse ones)
            _lower_priority(BOUND_NICE)
            # let the sampler's own Python set-up (which needs the GIL) pass before the bound's
            if self.cancel.wait(BOUND_START_DELAY):
                self._box["error"] = "the spectral bound was not started: sampling ended first"
                self.seconds = time.perf_counter() - self._t0
                return
        try:
            self._box["bound"] = _lower_bound(bqm, presolved, time_limit, self.cancel)
        except Cancelled:
            self._box["error"] = "the spectral bound was not ready when sampling ended (stopped)"
        except Exception as exc:  # noqa: BLE001 - a bound is optional; its failure is reported
            self._box["error"] = f"{type(exc).__name__}: {exc}"
        self.seconds = time.perf_counter() - self._t0

    def stop(self, wait: float | None) -> bool:
        """Tell the bound to stop at its next step and wait at most ``wait`` seconds (None: until
        it ends, one capped step) for the thread. Returns whether it has ended."""
        self.cancel.set()
        if self._thread.ident is None:  # computed inline (or never started)
            return True
        if self._thread.is_alive() and self._thread.native_id is not None:
            _priority_of_process(self._thread.native_id)  # stopped: let it reach its next check soon
        self._thread.join(None if wait is None else max(0.0, wait))
        return not self._thread.is_alive()

    def result(self, wait: float, presolved) -> dict | None:
        """The bound, or the roof-duality bound from presolve if it is not ready in ``wait`` s
        (the thread is then stopped: see :meth:`stop`)."""
        if self._thread.ident is not None:
            self._thread.join(max(0.0, wait))
        if "bound" not in self._box:
            self.stop(0.0)
        if "bound" in self._box:
            return self._box["bound"]
        if self._thread.ident is not None:  # it ran (and was stopped); one not run beside sampling took no time
            self.seconds = time.perf_counter() - self._t0
        rd = self._box.get("roof_duality") if presolved is None else presolved.lower_bound
        if rd is None:
            return None
        note = self._box.get("error", "the spectral bound was not ready when sampling ended")
        return {**rd, "note": note}


def _lower_priority(step: int) -> None:
    """Raise the calling thread's nice value by ``step`` (at most to 19; Linux: per thread), so
    that it stays below the sampler's threads whatever the process's own nice value (setting an
    absolute value would raise its priority in a process started with ``nice -n 10``, where
    permitted); elsewhere, or when not permitted, nothing changes."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except (AttributeError, OSError):  # not Linux, or not permitted: the bound still runs
        pass


def _cheap_bound(bqm, presolved) -> bool:
    """Whether the bound is cheap enough to compute inline (:data:`BOUND_INLINE_STATES`)."""
    if presolved is None:
        return bqm.num_variables <= ENUMERATION_MAX_VARIABLES
    comps = presolved.components
    return all(len(c) <= ENUMERATION_MAX_VARIABLES for c in comps) and sum(2 ** len(c) for c in comps) \
        <= BOUND_INLINE_STATES


def _priority_of_process(native_id: int) -> None:
    """Give thread ``native_id`` back the process's CPU priority, where permitted (Linux, with
    CAP_SYS_NICE or a nice limit that allows it); elsewhere nothing changes."""
    try:
        os.setpriority(os.PRIO_PROCESS, native_id, os.getpriority(os.PRIO_PROCESS, os.getpid()))
    except (AttributeError, OSError):
        pass


def _lower_bound(bqm, presolved, time_limit: float, cancel: threading.Event | None = None) -> dict:
    """Certified lower bound: on the presolved components (summed, plus the fixed part's
    energy) when presolve ran, else on the whole model; the better of that and roof duality.

    Raises:
        qopt.errors.Cancelled: ``cancel`` was set (checked between components and inside the bound).
    """
    from qopt.presolve import lower_bound as bound_of

    if presolved is None:
        return bound_of(bqm, time_limit=time_limit, cancel=cancel)
    # one component: presolve's roof duality on the whole model (compared below) stands for its
    # own, and a second max-flow (which holds the GIL) is saved; several: the best of both per part
    method = "spectral" if presolved.lower_bound is not None and len(presolved.components) == 1 else "best"
    total = presolved.offset
    methods = set()
    for comp in presolved.components:
        if cancel is not None and cancel.is_set():
            raise Cancelled("lower bound cancelled between components")
        if len(comp) <= ENUMERATION_MAX_VARIABLES:
            total += _component_minimum(comp)
            methods.add("branch and bound")
        else:
            part = bound_of(comp, time_limit=time_limit * len(comp) / max(1, presolved.num_free), method=method,
                            cancel=cancel)
            total += part["value"]
            methods.add(part["method"])
    out = {"value": float(total), "method": " + ".join(sorted(methods)) or "presolve (all fixed)",
           "scope": "presolved components"}
    rd = presolved.lower_bound
    if rd is not None and rd["value"] > out["value"]:
        out = dict(rd)
    return out


def _sample_components(presolved, name, sampler, params, *, time_budget, problem_sha256, fallback,
                       per_component: bool, cancel=None):
    """Sample the presolved model and expand to the original one.

    Under ``"auto"`` routing (``per_component``) each connected component is sampled on its
    own, components of at most ``ENUMERATION_MAX_VARIABLES`` variables by enumeration (first);
    with an explicit backend the reduced model (all components) goes to that backend in one call.
    A sampler's ``on_progress`` events get energies of the original model (the fixed part's and
    the enumerated components' energies added); with several sampled components, whose reads
    are combined only at the end, the sampler sends none.
    """
    if not per_component:
        reduced = presolved.reduced
        if reduced.num_variables == 0:
            # Presolve solved it; the requested backend still runs (on the whole model), so its
            # parameters are checked and its answer is what the caller asked for.
            return sample_with_fallback(presolved.bqm, name, sampler, params, time_budget=time_budget,
                                        problem_sha256=problem_sha256, enabled=fallback, cancel=cancel)
        reduced.offset = 0.0
        params = _progress_shifted(params, presolved.offset)
        ss, produced, reduced_chain = sample_with_fallback(reduced, name, sampler, params, time_budget=time_budget,
                                                           problem_sha256=problem_sha256, enabled=fallback,
                                                           cancel=cancel)
        out = _with_vectors_of(presolved.expand(ss), ss)
        out.info.update({k: v for k, v in ss.info.items() if k != "presolve"})
        return out, produced, reduced_chain
    parts: list = [None] * len(presolved.components)
    produced = name
    chain: list[dict] = []
    info: dict = {}
    big = [c for c in presolved.components if len(c) > ENUMERATION_MAX_VARIABLES]
    big_total = sum(len(c) for c in big)
    t0 = time.perf_counter()
    for index, comp in enumerate(presolved.components):
        if len(comp) <= ENUMERATION_MAX_VARIABLES:
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled between components")
            # proven minimum by branch and bound: 11-28x faster than enumeration at 16 variables
            # (benchmarks/EXACT.md)
            parts[index] = ExactSampler().sample(comp, num_reads=1)
    if len(big) == 1:  # the original model's energy = the fixed part + the enumerated parts + this one's
        params = _progress_shifted(params, presolved.offset + sum(float(ss.first.energy) for ss in parts if ss is not None))
    else:
        params = {k: v for k, v in params.items() if k != "on_progress"}
    for index, comp in enumerate(presolved.components):
        if len(comp) <= ENUMERATION_MAX_VARIABLES:
            continue
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled between components")
        p = dict(params)
        budget = None
        if time_budget is not None:
            used = time.perf_counter() - t0
            budget = max(1e-3, (time_budget - used) * len(comp) / max(1, big_total))
            big_total -= len(comp)
            if "time_limit" in p:
                p["time_limit"] = min(float(p["time_limit"]), budget)
        ss, produced, sub_chain = sample_with_fallback(comp, name, sampler, p, time_budget=budget,
                                                       problem_sha256=f"{problem_sha256}:{index}",
                                                       enabled=fallback, cancel=cancel)
        chain.extend(sub_chain)
        chain.extend(ss.info.get("fallback_chain") or [])  # the sampler's own tiers (the hybrid's), per component
        if not info:
            info = {k: v for k, v in ss.info.items() if k != "fallback_chain"}
        elif ss.info.get("status", "optimal") != "optimal":  # one unproven part: the whole is unproven
            info["status"] = ss.info["status"]
        parts[index] = ss
    if not big:
        produced = "exact" if presolved.components else "presolve"
    out = presolved.expand(parts) if presolved.components else presolved.expand([])
    if len(big) == 1:  # one sampled component: its per-sample vectors (branch, backend) still apply
        out = _with_vectors_of(out, parts[presolved.components.index(big[0])])
    out.info.update({k: v for k, v in info.items() if k != "presolve"})
    return out, produced, chain


def _progress_shifted(params: dict, shift: float) -> dict:
    """``params`` with its ``on_progress`` (if any) adding ``shift`` to each event's energy."""
    callback = params.get("on_progress")
    if callback is None or shift == 0.0:
        return params

    def shifted(event: dict) -> None:
        callback({**event, "energy": float(event["energy"]) + shift} if "energy" in event else event)
    return {**params, "on_progress": shifted}


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
