"""The stages of one solve: timing per stage, the cancel check at each stage boundary, the
progress events and the solve's one deadline, shared by the BQM and the constrained path.

**The deadline rule** (defined here once). A solve answers within ``max(5%, 100 ms)`` of its
deadline: the caller's ``time_budget`` (or the gRPC deadline the servicer turns into one), or,
when the caller gives none, :func:`default_time_budget` of the model's size, stated in
``provenance["defaults"]["time_budget"]``. Every piece of work of the solve (penalty-calibration
rounds, polish, sampling, the race's branches, the bound) stops by :meth:`Stages.work_end`, the
deadline less :func:`answer_reserve` (time kept for decoding, ranking and the provenance record).
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from qopt.errors import Cancelled

__all__ = ["Stages", "AnyEvent", "default_time_budget", "answer_reserve", "DEFAULT_BUDGET_BASE",
           "DEFAULT_BUDGET_PER_VARIABLE", "DEFAULT_BUDGET_PER_INTERACTION", "DEFAULT_BUDGET_MAX",
           "DEFAULT_BUDGET_WORK_FACTOR",
           "ANSWER_RESERVE_SHARE", "ANSWER_RESERVE_MIN", "ANSWER_RESERVE_PER_TERM", "ANSWER_RESERVE_PER_MODEL_TERM"]

#: The default budget without a deadline: ``BASE + PER_VARIABLE * n + PER_INTERACTION * m``
#: seconds for a model (the BQM sampled, after compilation) of ``n`` variables and ``m``
#: interactions, at most ``DEFAULT_BUDGET_MAX``. 2 s + 2 ms per variable + 20 us per
#: interaction: Gset G1 (800, 19 176) gets 4.0 s, a 200-item knapsack (200, 19 900) 2.8 s,
#: G55 (5000, 12 498) 12.2 s; the default annealing (:func:`qopt.solve.parameters.sa_defaults`, about 1 s)
#: fits in each, so the budget is a wall-clock stop, not a change of the defaults.
DEFAULT_BUDGET_BASE = 2.0
DEFAULT_BUDGET_PER_VARIABLE = 2e-3
DEFAULT_BUDGET_PER_INTERACTION = 2e-5
DEFAULT_BUDGET_MAX = 60.0
#: Time kept back from the deadline for the answer itself (decode, rank, provenance):
#: ``ANSWER_RESERVE_SHARE`` of the budget, at least ``ANSWER_RESERVE_MIN`` seconds plus
#: ``ANSWER_RESERVE_PER_TERM`` per term (variable or interaction) of the model sampled, at most
#: half of the budget. The per-term cost is measured: decoding, evaluating and ranking the
#: candidates of dantzig42 (1 681 variables, 65 600 interactions after compilation) took 0.08-0.12 s
#: after the work ended (2026-12-02, 2 loaded cores), about 1.5 us per term.
ANSWER_RESERVE_SHARE = 0.03
ANSWER_RESERVE_MIN = 0.03
ANSWER_RESERVE_PER_TERM = 1.5e-6
#: The per-term cost of an answer an exact backend gives (its solutions evaluated on the
#: constrained model, no QUBO reads to decode), per variable, product and constraint term of the
#: model: dantzig42's 70 643 terms took 0.03-0.05 s from the racers' join to the result
#: (2026-12-02, 2 cores at load 5), about 0.6 us per term.
ANSWER_RESERVE_PER_MODEL_TERM = 0.6e-6


#: With sampling work the caller set explicitly (e.g. ``num_reads`` x ``num_sweeps``), the
#: default budget is at least this many times its estimated seconds, so a long run that was
#: asked for is not cut by a rule meant for the defaults.
DEFAULT_BUDGET_WORK_FACTOR = 3.0


def default_time_budget(num_variables: int, num_interactions: int, work_seconds: float | None = None) -> dict:
    """The wall-clock budget of a solve given no deadline (the rule in the module docstring).

    Args:
        num_variables, num_interactions: the size of the model sampled (a BQM; for a
            constrained model, its compiled BQM).
        work_seconds: the estimated seconds of sampling the parameters as applied ask for
            (None: not known); the budget is at least ``DEFAULT_BUDGET_WORK_FACTOR`` times it.

    Returns:
        ``{"value": seconds, "reason": str}``, the shape of a ``provenance["defaults"]`` entry.
    """
    value = min(DEFAULT_BUDGET_MAX, DEFAULT_BUDGET_BASE + DEFAULT_BUDGET_PER_VARIABLE * num_variables
                + DEFAULT_BUDGET_PER_INTERACTION * num_interactions)
    reason = (f"no deadline given: {DEFAULT_BUDGET_BASE:g} s + {DEFAULT_BUDGET_PER_VARIABLE * 1e3:g} ms "
              f"per variable + {DEFAULT_BUDGET_PER_INTERACTION * 1e6:g} us per interaction for "
              f"{num_variables} variables and {num_interactions} interactions (at most {DEFAULT_BUDGET_MAX:g} s)")
    if work_seconds is not None and DEFAULT_BUDGET_WORK_FACTOR * work_seconds > value:
        value = DEFAULT_BUDGET_WORK_FACTOR * work_seconds
        reason = (f"no deadline given: {DEFAULT_BUDGET_WORK_FACTOR:g} x the {work_seconds:.3g} s of sampling "
                  f"the parameters as applied are estimated to take")
    return {"value": float(value), "reason": reason}


def answer_reserve(time_budget: float, num_terms: int = 0, per_term: float = ANSWER_RESERVE_PER_TERM) -> float:
    """Seconds of ``time_budget`` kept back for the answer (decode, rank, provenance) of a
    model of ``num_terms`` variables and interactions, ``per_term`` seconds each (the rule
    above; :data:`ANSWER_RESERVE_PER_MODEL_TERM` for an exact backend's answer)."""
    floor = ANSWER_RESERVE_MIN + per_term * max(0, int(num_terms))
    return min(0.5 * time_budget, max(floor, ANSWER_RESERVE_SHARE * time_budget))


class AnyEvent:
    """An event-like view (``is_set()``) that is set when any of ``events`` is set (None entries
    are skipped): one sampler call's interrupt that fires on the solve's cancel or on the
    call's own stop (its time-out).

    Args:
        *events: :class:`threading.Event` or other objects with ``is_set()``, or None.
    """

    def __init__(self, *events):
        self._events = tuple(e for e in events if e is not None)

    def is_set(self) -> bool:
        """Whether any of the events is set."""
        return any(e.is_set() for e in self._events)


class Stages:
    """Runs the stages of one solve (``validate``, ``preprocess``, ``sample``, ``postprocess``).

    Args:
        on_progress: optional callable receiving plain-dict events; it is called from the
            solving thread and must not block.
        cancel: optional :class:`threading.Event`; when set, the next stage boundary raises
            :class:`qopt.errors.Cancelled`.

    Attributes:
        timing: stage name -> seconds (wall clock) of the stages finished so far.
        cancel: the cancel event (None when the solve cannot be cancelled).
        time_budget: seconds of wall clock the whole solve may take (None until
            :meth:`set_budget`), from its start.
    """

    def __init__(self, on_progress: Callable[[dict], None] | None = None,
                 cancel: threading.Event | None = None):
        self._on_progress = on_progress
        self.cancel = cancel
        self.timing: dict[str, float] = {}
        self._t_start = time.perf_counter()
        self._t0_monotonic = time.monotonic()
        self.time_budget: float | None = None
        self.num_terms = 0
        self.per_term = ANSWER_RESERVE_PER_TERM

    def set_budget(self, seconds: float, num_terms: int = 0, per_term: float = ANSWER_RESERVE_PER_TERM) -> None:
        """Set the solve's deadline: ``seconds`` of wall clock from its start, for a model of
        ``num_terms`` variables and interactions (which, at ``per_term`` seconds each, size
        :func:`answer_reserve`)."""
        self.time_budget = float(seconds)
        self.num_terms = int(num_terms)
        self.per_term = float(per_term)

    @property
    def deadline(self) -> float | None:
        """The deadline on the :func:`time.monotonic` clock (None without a budget)."""
        return None if self.time_budget is None else self._t0_monotonic + self.time_budget

    @property
    def work_end(self) -> float | None:
        """When work must stop (:func:`time.monotonic` clock): the deadline less
        :func:`answer_reserve`; None without a budget."""
        if self.time_budget is None:
            return None
        return self._t0_monotonic + self.time_budget - answer_reserve(self.time_budget, self.num_terms,
                                                                     self.per_term)

    def work_left(self) -> float | None:
        """Seconds until :attr:`work_end` (at least 0), or None without a budget."""
        end = self.work_end
        return None if end is None else max(0.0, end - time.monotonic())

    @property
    def reports_progress(self) -> bool:
        """Whether progress events go anywhere."""
        return self._on_progress is not None

    def emit(self, event: dict) -> None:
        """Send ``event`` (a plain dict with an ``"event"`` key) to ``on_progress``, if any."""
        if self._on_progress is not None:
            self._on_progress(event)

    def check_cancel(self, message: str) -> None:
        """Raise :class:`qopt.errors.Cancelled` (with ``message``) when ``cancel`` is set."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled(message)

    def elapsed(self) -> float:
        """Seconds since this solve started."""
        return time.perf_counter() - self._t_start

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[float]:
        """Run one stage: check for cancellation, emit ``{"event": "stage", "stage": name}``,
        and record its duration in :attr:`timing` when the block finishes without error.

        Yields:
            the stage's start time (``time.perf_counter()`` seconds).

        Raises:
            qopt.errors.Cancelled: ``cancel`` was set before the stage began.
        """
        self.check_cancel(f"cancelled before stage {name!r}")
        self.emit({"event": "stage", "stage": name})
        t0 = time.perf_counter()
        yield t0
        self.timing[name] = time.perf_counter() - t0

    def record(self, name: str, seconds: float) -> None:
        """Record the duration of work done outside a stage (e.g. the lower bound)."""
        self.timing[name] = seconds

    def finish(self) -> dict[str, float]:
        """The timing record with ``total`` (seconds since the start) added."""
        self.timing["total"] = self.elapsed()
        return dict(self.timing)
