"""The cost model: what a request will cost, per backend, before anything runs.

One estimate serves the dry run and admission alike: ``ValidateProblem`` reports it
(:func:`qopt.service.validation.inspect_problem`) and ``Solve`` / ``SubmitJob`` admit or
refuse by it (:mod:`qopt.service.admission`), so a dry run states the very numbers a
refusal names. Each estimate is coarse (within a small factor on the reference machine)
and reads only sizes and parameters, never the model's values:

========  ==============================================================================
sa        ``num_reads x num_sweeps x (n + 2 m) x SA_SECONDS_PER_SPIN_UPDATE`` CPU-seconds
          (wall: that / ``num_threads``), reads and sweeps not given as the pipeline chooses
          them (:func:`qopt.solve.parameters.sa_defaults`); capped by its ``time_limit``
          parameter. A planned (anytime) run, a ``time_limit`` and no run size given, fills
          it: time_limit x threads CPU-seconds (``num_threads``, default the cores); one
          planned from the request's deadline is charged up to it (:meth:`Estimate.charged`)
steepest  as sa with ``STEEPEST_SWEEPS_PER_READ`` sweeps per read (one descent)
exact     enumeration: ``2^n x n x EXACT_SECONDS_PER_STATE_VARIABLE`` s; ``2^n x (n + 16)``
          bytes (the states and their energies); branch and bound: its ``time_limit``
qaoa      the statevector engine's bytes (:func:`qopt.statevector.memory_bytes`) plus one
          more statevector (16 x 2^n) for sampling; time from the preflight model
          (:func:`qopt.preflight.qaoa_seconds`: evaluations x one pass + shots)
hybrid    its ``time_limit`` (default 10 s; at most the time budget) x (``num_workers`` + the
          classical branch);
          bytes: a QAOA subproblem statevector per worker plus the annealer's
dwave     minorminer's ``embedding_timeout`` on this host (the QPU time is not ours)
auto      the backend :func:`qopt.solve.routing.choose_backend` would pick for these sizes
========  ==============================================================================

Every backend adds the model itself (``MODEL_BYTES_PER_TERM`` per variable and per
interaction end). A constrained model is estimated from its variable count before
compiling (slack variables add more): a lower bound.

The request's time budget does not lower the estimate of counted work (reads, sweeps,
evaluations): it is a deadline on the answer, not a request for less work (a caller who
accepts less work says so with ``time_limit``); only the hybrid, whose work is its time,
is capped by it. The estimate is what ``max_request_cpu_seconds`` refuses by (work asked
for); what a principal is *charged* against ``max_principal_cpu_seconds`` is what the run
can use before its deadline stops it (:meth:`Estimate.charged`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping

__all__ = ["Estimate", "estimate", "SA_SECONDS_PER_SPIN_UPDATE",
           "STEEPEST_SWEEPS_PER_READ", "EXACT_SECONDS_PER_STATE_VARIABLE", "MODEL_BYTES_PER_TERM",
           "HYBRID_DEFAULT_TIME_LIMIT"]

#: Seconds per spin-flip attempt of the C++ annealer, per variable visit plus per neighbour.
#: Measured on the 2-core development machine with Gset G1 (800 variables, 19176 edges,
#: 64 reads x 4000 sweeps): ~1.3 s per thread -> ~3e-9 s per update (a random 2000-variable
#: graph measures ~0.8e-9: the constant errs on the side of refusing).
SA_SECONDS_PER_SPIN_UPDATE = 3e-9
#: One steepest descent from a random state costs about this many annealing sweeps
#: (measured: 4e-8 s per read per (n + 2 m) on a random 2000-variable graph, ~14 sweeps).
STEEPEST_SWEEPS_PER_READ = 16
#: Seconds per state and variable of exact enumeration (dimod.ExactSolver; measured 7e-8
#: on 18 variables).
EXACT_SECONDS_PER_STATE_VARIABLE = 7e-8
#: Bytes held per variable and per interaction end of the model (adjacency and biases).
MODEL_BYTES_PER_TERM = 32
#: ``hybrid``'s ``time_limit`` when not given (its spec's default).
HYBRID_DEFAULT_TIME_LIMIT = 10.0


@dataclasses.dataclass(frozen=True)
class Estimate:
    """What one request costs.

    Attributes:
        backend: the backend estimated (the routed one for ``"auto"``).
        cpu_seconds: CPU time on this host (seconds, all threads together).
        wall_seconds: elapsed time (seconds).
        memory_bytes: peak memory of the run (bytes).
        model: how the numbers were made (one line, for notes and refusals).
        threads: threads the run keeps busy (what a deadline multiplies).
    """

    backend: str
    cpu_seconds: float
    wall_seconds: float
    memory_bytes: int
    model: str
    threads: int = 1

    def charged(self, time_budget: float | None) -> float:
        """CPU-seconds the run can use within ``time_budget`` seconds of wall clock (the
        pipeline stops the samplers at it): ``min(cpu_seconds, time_budget x threads)``."""
        if time_budget is None or time_budget <= 0:
            return self.cpu_seconds
        return min(self.cpu_seconds, time_budget * self.threads)

    def describe(self) -> str:
        """``estimated 1.8e+07 CPU-seconds, 12 MB for sa (...)``."""
        return (f"estimated {self.cpu_seconds:.3g} CPU-seconds ({self.wall_seconds:.3g} s wall), "
                f"{self.memory_bytes / 1e6:.3g} MB for {self.backend} ({self.model})")


def _int(parameters: Mapping, key: str, default: int) -> int:
    value = parameters.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _float(parameters: Mapping, key: str, default: float | None) -> float | None:
    value = parameters.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


def _model_bytes(n: int, m: int) -> int:
    return MODEL_BYTES_PER_TERM * (n + 2 * m)


def _anneal(backend: str, n: int, m: int, parameters: Mapping) -> Estimate:
    threads = max(_int(parameters, "num_threads", 1), 1)
    if backend == "sa":
        from qopt.solve.parameters import sa_defaults

        given = {k: v for k, v in parameters.items() if v is not None}
        chosen = sa_defaults(given, n, m, None)  # the request's deadline is charged by Estimate.charged
        if any(d["value"] is None for d in chosen.values()):  # a planned run fills its time_limit
            return _planned_anneal(n, m, parameters)
        reads = max(_int(parameters, "num_reads", chosen.get("num_reads", {}).get("value", 1)), 1)
        sweeps = _int(parameters, "num_sweeps", chosen.get("num_sweeps", {}).get("value", 0))
        how = f"{reads} reads x {sweeps} sweeps"
    else:
        reads = max(_int(parameters, "num_reads", 1), 1)
        sweeps = STEEPEST_SWEEPS_PER_READ
        how = f"{reads} descents x ~{sweeps} sweeps"
    cpu = float(reads) * sweeps * (n + 2 * m) * SA_SECONDS_PER_SPIN_UPDATE
    wall = cpu / min(threads, reads)
    limit = _float(parameters, "time_limit", None) if backend == "sa" else None
    note = f"{how} x (variables + 2 x interactions) x {SA_SECONDS_PER_SPIN_UPDATE:g} s / num_threads"
    if limit is not None and wall > limit:
        wall, cpu = limit, limit * min(threads, reads)
        note += f", capped by time_limit={limit:g} s"
    memory = _model_bytes(n, m) + reads * (n + 16)
    return Estimate(backend, cpu, wall, memory, note, min(threads, reads))


def _planned_anneal(n: int, m: int, parameters: Mapping) -> Estimate:
    """An anytime ``sa`` run (a ``time_limit``, no run size): it fills its time limit on every
    thread it has."""
    from qopt.samplers.sa import available_cores

    wall = float(parameters["time_limit"])
    threads = max(_int(parameters, "num_threads", 0), 0) or available_cores()
    # the plan anneals one 16-read SIMD lane group per thread
    return Estimate("sa", wall * threads, wall, _model_bytes(n, m) + 16 * threads * (n + 16),
                    f"a planned run fills its time_limit={wall:g} s on {threads} threads", threads)


def _exact(n: int, m: int, params: Mapping, time_budget: float | None) -> Estimate:
    from qopt.samplers.exact import uses_enumeration

    reads = params.get("num_reads")
    reads = reads if isinstance(reads, int) and reads >= 1 else None
    if not uses_enumeration(n, reads):  # branch and bound: an n x n matrix, until its time limit
        limit = params.get("time_limit")
        seconds = float(limit) if isinstance(limit, (int, float)) and limit > 0 else (time_budget or 1.0)
        memory = 8 * n * n + (reads or 1) * (n + 16) + _model_bytes(n, m)
        return Estimate("exact", seconds, seconds, memory, "branch and bound: at most its time_limit "
                        "(else the time budget, else 1 s); an n x n matrix")
    states = 2.0 ** n
    seconds = states * max(n, 1) * EXACT_SECONDS_PER_STATE_VARIABLE
    memory = int(states * (n + 16)) + _model_bytes(n, m)
    return Estimate("exact", seconds, seconds, memory,
                    f"2^{n} states x {n} variables x {EXACT_SECONDS_PER_STATE_VARIABLE:g} s; 2^{n} x (n + 16) bytes")


def _qaoa_bytes(n: int, gradient: bool) -> int:
    from qopt import statevector

    return statevector.memory_bytes(n, gradient=gradient, sampling=True) + 16 * (1 << n)


def _qaoa(n: int, m: int, parameters: Mapping) -> Estimate:
    from qopt.preflight import qaoa_seconds
    from qopt.samplers.qaoa import GRADIENT_METHODS

    if n > 62:  # over any qubit budget: the size rule refuses it; say so in the numbers
        return Estimate("qaoa", float("inf"), float("inf"), 2 ** 62, f"{n} qubits: no statevector fits")
    reps = max(_int(parameters, "reps", 1), 1)
    maxiter = _int(parameters, "maxiter", 100)
    shots = max(_int(parameters, "shots", 1024), 1)
    gradient = parameters.get("optimizer", "COBYLA") in GRADIENT_METHODS
    seconds, how = qaoa_seconds(n, reps=reps, maxiter=maxiter, shots=shots, gradient=gradient)
    memory = _qaoa_bytes(n, gradient) + _model_bytes(n, m)
    return Estimate("qaoa", seconds, seconds, memory, f"{how}; statevector {16 * (1 << n)} bytes per state")


def _hybrid(n: int, m: int, parameters: Mapping, time_budget: float | None) -> Estimate:
    limit = _float(parameters, "time_limit", HYBRID_DEFAULT_TIME_LIMIT) or HYBRID_DEFAULT_TIME_LIMIT
    if time_budget is not None and time_budget > 0:  # the pipeline cuts its time_limit to the budget
        limit = min(limit, time_budget)
    workers = max(_int(parameters, "num_workers", 2), 1)
    classical = parameters.get("classical_branch", True) is not False
    size = min(max(_int(parameters, "subproblem_size", 12), 1), 62)
    memory = _model_bytes(n, m) * 2 + n * 64
    if parameters.get("quantum_backend", "qaoa") == "qaoa":
        memory += workers * _qaoa_bytes(size, False)
    threads = workers + (1 if classical else 0)
    return Estimate("hybrid", limit * threads, limit, memory,
                    f"time_limit {limit:g} s x {threads} threads ({workers} workers"
                    f"{' + the classical branch' if classical else ''})", threads)


def _dwave(n: int, m: int, parameters: Mapping) -> Estimate:
    timeout = _float(parameters, "embedding_timeout", 60.0) or 60.0
    return Estimate("dwave", timeout, timeout, _model_bytes(n, m) * 4,
                    f"minorminer embedding up to embedding_timeout={timeout:g} s here; QPU time not counted")


def estimate(backend: str, num_variables: int, num_interactions: int, parameters: Mapping, *,
             time_budget: float | None = None) -> Estimate:
    """The cost of running ``backend`` on a model of these sizes with ``parameters``.

    Args:
        backend: a registry name, or ``""`` / ``"auto"`` (the backend the router would choose
            for these sizes and ``time_budget``; the caller's parameters for it apply).
        num_variables: variables (n).
        num_interactions: quadratic terms (m).
        parameters: the request's decoded parameters (values of the wrong type are read as
            their defaults: validation reports those).
        time_budget: the request's deadline in seconds: it routes ``"auto"`` (the router
            sends a large model with a deadline to the hybrid) and caps the hybrid's
            ``time_limit`` (the pipeline does the same); it does not lower the work of the
            other backends (see the module notes).

    Returns:
        :class:`Estimate`.
    """
    n, m = max(int(num_variables), 0), max(int(num_interactions), 0)
    name = backend or "auto"
    params = dict(parameters)
    if name == "auto":
        from qopt.solve.routing import choose_backend

        decision = choose_backend(n, m, time_limit=time_budget, presolved=False)
        name = decision.backend
        params = {**decision.parameters, **params}
    if name in ("sa", "steepest"):
        return _anneal(name, n, m, params)
    if name == "exact":
        return _exact(n, m, params, time_budget)
    if name == "qaoa":
        return _qaoa(n, m, params)
    if name == "hybrid":
        return _hybrid(n, m, params, time_budget)
    if name == "dwave":
        return _dwave(n, m, params)
    return Estimate(name, 0.0, 0.0, _model_bytes(n, m), "no cost model for this backend")
