"""Fallback tiers for whole problems sent to a quantum backend.

Tiers, in order: the quantum backend; a classical approximation (simulated annealing on
the C++ core with the time left); a cached result for the same problem (by SHA-256 of
its canonical form); and finally :class:`qopt.errors.NoResultInTime`, which the service turns into a
pending job the client can watch. Each tier has a trigger: a backend error classified
transient (retried once with backoff), or no answer within the tier's share of the
deadline. The chain actually taken is returned, so a classical or cached answer never
passes as a quantum one.

The caller chooses when the tiers apply, once, as ``qopt.solve(..., fallback=MODE)``
(:data:`FALLBACK_MODES`, checked by :func:`fallback_mode`; over gRPC the request parameter
``fallback``, on the command line ``--param fallback=MODE``):

* ``"transient"`` (default): transient failures (:class:`qopt.errors.BackendUnavailable`,
  connection errors, time-outs) fall back; a structural one (no D-Wave credentials, no
  embedding: :class:`qopt.errors.BackendConfigurationError`) is raised, so an explicit
  quantum backend that cannot run fails at once with its documented error;
* ``"always"``: structural failures fall back too (the error stays in the chain);
* ``"never"``: no tier runs and every error propagates.

Invalid input (:class:`qopt.errors.InvalidInput`, e.g. a ``PreflightError``: over the qubit
budget) and cancellation are raised in every mode. A backend that takes a ``fallback``
parameter itself (the hybrid, whose subproblems have tiers of their own) is given the mode.

Ownership: a quantum call runs on the :data:`qopt.solve.workers.WORKERS` pool with its own
interrupt (:class:`qopt.solve.stages.AnyEvent` of the solve's ``cancel`` and the call's stop
event); when the call times out its stop event is set, so a sampler that takes ``interrupt``
(QAOA, SA, the hybrid) stops at its next evaluation or sweep instead of running on. When
``cancel`` is set, :func:`sample_with_fallback` raises :class:`qopt.errors.Cancelled` at once and
never moves on to another tier.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any

import dimod

from qopt.errors import TRANSIENT, Cancelled, InvalidInput, NoResultInTime, ParameterError, classify_error
from qopt.results import aggregate_samples
from qopt.samplers.registry import QUANTUM_BACKENDS
from qopt.solve.stages import AnyEvent
from qopt.solve.workers import WORKERS

__all__ = ["QUANTUM_BACKENDS", "ResultCache", "sample_with_fallback", "RESULT_CACHE", "FALLBACK_MODES",
           "DEFAULT_FALLBACK", "fallback_mode", "falls_back"]

#: The caller's choices of fallback (``qopt.solve``'s ``fallback`` argument); see the module docstring.
FALLBACK_MODES = ("transient", "always", "never")
DEFAULT_FALLBACK = "transient"
QUANTUM_SHARE = 0.7          # fraction of the deadline the quantum tier may use
CLASSICAL_MIN_SECONDS = 0.05
CANCEL_POLL_SECONDS = 0.02   # how often a caller waiting on a pooled call looks at its cancel event


class ResultCache:
    """Thread-safe LRU of recent sample sets by problem hash (``maxsize`` entries)."""

    def __init__(self, maxsize: int = 64):
        self.maxsize = maxsize
        self._data: collections.OrderedDict[str, tuple[dimod.SampleSet, str]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, sampleset: dimod.SampleSet, backend: str, keep: int = 100) -> None:
        agg = aggregate_samples(sampleset)
        if len(agg) > keep:
            agg = agg.truncate(keep)
        with self._lock:
            self._data[key] = (agg, backend)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get(self, key: str):
        """``(sampleset, backend)`` or None."""
        with self._lock:
            item = self._data.get(key)
            if item is not None:
                self._data.move_to_end(key)
            return item


RESULT_CACHE = ResultCache()


def fallback_mode(value) -> str:
    """The caller's fallback choice as one of :data:`FALLBACK_MODES`.

    Args:
        value: ``"transient"`` (the default: fall back on transient failures and time-outs
            only), ``"always"`` (also on structural ones: no credentials, no embedding), or
            ``"never"`` (errors propagate, no tier runs); ``True`` and ``False`` are aliases
            of ``"always"`` and ``"never"``.

    Raises:
        ParameterError: any other value (field ``fallback``).
    """
    if isinstance(value, bool):
        return "always" if value else "never"
    if isinstance(value, str) and value in FALLBACK_MODES:
        return value
    raise ParameterError("fallback", f"must be one of {', '.join(map(repr, FALLBACK_MODES))} "
                                     f"(or True / False), was {value!r}")


def falls_back(mode: str, classification: str) -> bool:
    """Whether a failure classified ``classification`` (:func:`qopt.errors.classify_error`;
    a time-out is ``"transient"``) moves on to the next tier under fallback ``mode``."""
    return mode == "always" or (mode == "transient" and classification == TRANSIENT)


def _run_with_timeout(sampler, bqm, params, timeout: float | None, cancel=None):
    """Run ``sampler.sample`` on the worker pool; returns (sampleset, error, timed_out).

    The call gets ``interrupt`` (when the sampler takes it) set by ``cancel`` or by its own time-out;
    on either the wait ends at once (within ``CANCEL_POLL_SECONDS``).

    Raises:
        qopt.errors.Cancelled: ``cancel`` was set before the call answered.
    """
    takes_interrupt = "interrupt" in getattr(sampler, "parameters", {})
    own = params.get("interrupt")

    def call(interrupt):
        kwargs = {**params, "interrupt": AnyEvent(interrupt, own)} if takes_interrupt else params
        ss = sampler.sample(bqm, **kwargs)
        ss.resolve()
        return ss

    task = WORKERS.run(call, interrupt=cancel)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        step = CANCEL_POLL_SECONDS if cancel is not None else left
        if left is not None and step is not None:
            step = min(step, max(0.0, left))
        if task.wait(step):
            break
        if cancel is not None and cancel.is_set():
            task.cancel()
            raise Cancelled("cancelled while the backend was sampling")
        if left is not None and left <= 0:
            task.cancel()  # the call timed out: it stops at its next evaluation / sweep
            return None, None, True
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled while the backend was sampling")
    return task.result, task.error, False


def sample_with_fallback(bqm: dimod.BinaryQuadraticModel, backend: str, sampler: dimod.Sampler, params: dict, *,
                         time_budget: float | None, problem_sha256: str, enabled: bool | str = DEFAULT_FALLBACK,
                         cache: ResultCache = RESULT_CACHE,
                         cancel=None) -> tuple[dimod.SampleSet, str, list[dict]]:
    """Sample with ``sampler``, falling back through the tiers when it is a quantum backend.

    Args:
        bqm: the model.
        backend: the backend's name; only ``"qaoa"`` and ``"dwave"`` have fallback tiers.
        sampler: the backend's sampler; params: its parameters.
        time_budget: seconds of wall clock left (None: no deadline).
        problem_sha256: the cache key.
        enabled: the caller's fallback mode (:data:`FALLBACK_MODES`; True / False are
            aliases of ``"always"`` / ``"never"``, which disables the tiers).
        cancel: None or the solve's :class:`threading.Event`; when set, the quantum call is
            interrupted and no further tier runs.

    Returns:
        (sample set, name of the backend that produced it, fallback chain: list of dicts with
        ``tier``, ``backend``, ``outcome`` and, for failures, ``classification`` and ``error``).

    Raises:
        ParameterError: a caller error (never a fallback trigger), or ``enabled`` is not a mode.
        qopt.errors.BackendConfigurationError: (mode ``"transient"``) the quantum backend cannot
            run here (e.g. ``DWaveConfigurationError``, ``EmbeddingError``); raised at once.
        NoResultInTime: every tier failed or ran out of time.
        qopt.errors.Cancelled: ``cancel`` was set (never a fallback trigger).
    """
    t0 = time.monotonic()
    mode = fallback_mode(enabled)
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled before sampling")
    if "fallback" in getattr(sampler, "parameters", {}) and "fallback" not in params:
        params = {**params, "fallback": mode}  # the hybrid applies the mode to its subproblems
    if backend not in QUANTUM_BACKENDS or mode == "never":
        ss = sampler.sample(bqm, **params)
        ss.resolve()
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled while sampling")
        cache.put(problem_sha256, ss, backend)
        return ss, backend, []

    chain: list[dict] = []
    share = None if time_budget is None else QUANTUM_SHARE * time_budget
    attempt = 0
    while True:
        left_share = None if share is None else share - (time.monotonic() - t0)
        ss, err, timed_out = _run_with_timeout(sampler, bqm, params, left_share, cancel)
        if ss is not None:
            chain.append({"tier": "quantum", "backend": backend, "outcome": "ok"})
            cache.put(problem_sha256, ss, backend)
            return ss, backend, chain
        if err is not None and isinstance(err, (InvalidInput, Cancelled)):
            raise err
        if timed_out:
            chain.append({"tier": "quantum", "backend": backend, "classification": "transient",
                          "outcome": f"no answer within {left_share:.3g} s ({QUANTUM_SHARE:.0%} of the deadline)"})
            break
        assert err is not None  # neither a sample set nor a time-out: the call raised
        kind = classify_error(err)
        if not falls_back(mode, kind):
            raise err  # e.g. no credentials: the caller asked for this backend and it cannot run
        chain.append({"tier": "quantum", "backend": backend, "outcome": "failed", "classification": kind,
                      "error": f"{type(err).__name__}: {err}"[:300]})
        retry_wait = 0.05 * 2 ** attempt
        if kind == "transient" and attempt < 1 and (left_share is None or left_share > 2 * retry_wait):
            attempt += 1
            time.sleep(retry_wait)
            continue
        break

    # tier 2: classical approximation with the time left
    remaining = None if time_budget is None else time_budget - (time.monotonic() - t0)
    if remaining is None or remaining > CLASSICAL_MIN_SECONDS:
        from qopt.samplers.sa import SimulatedAnnealingSampler

        sa_params: dict[str, Any] = {"num_reads": 16, "num_sweeps": 1000}
        if "seed" in params:
            sa_params["seed"] = params["seed"]
        if remaining is not None:
            sa_params["time_limit"] = remaining
        if cancel is not None:
            sa_params["interrupt"] = cancel
        try:
            ss = SimulatedAnnealingSampler().sample(bqm, **sa_params)
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled while sampling")
            chain.append({"tier": "classical", "backend": "sa", "outcome": "ok"})
            cache.put(problem_sha256, ss, "sa")
            return ss, "sa", chain
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - next tier
            chain.append({"tier": "classical", "backend": "sa", "outcome": "failed",
                          "error": f"{type(exc).__name__}: {exc}"[:300]})
    else:
        chain.append({"tier": "classical", "backend": "sa", "outcome": "skipped: no time left"})

    # tier 3: a cached result for the same problem
    cached = cache.get(problem_sha256)
    if cached is not None:
        ss, produced_by = cached
        chain.append({"tier": "cache", "backend": produced_by, "outcome": "ok"})
        return ss, f"cache ({produced_by})", chain
    chain.append({"tier": "cache", "backend": None, "outcome": "miss"})
    raise NoResultInTime("no tier produced a result before the deadline", chain)
