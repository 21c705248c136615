"""A circuit breaker for the hybrid's quantum backend (after Nygard, *Release It!*, 2007,
chapter 5, "Circuit Breaker"; the states of pybreaker and resilience4j).

States:

* ``closed``: subproblems go to the quantum backend; each failure or time-out counts, a
  success resets the count; ``failure_threshold`` consecutive ones open the breaker.
* ``open``: subproblems go to the classical tier; after ``cool_down`` seconds the breaker
  turns ``half_open``.
* ``half_open``: one trial subproblem goes to the quantum backend (the others to the classical
  tier); its success closes the breaker, its failure opens it again for another cool-down.

Every transition is recorded (:attr:`CircuitBreaker.transitions`), with the time since the
breaker was made (seconds) and the reason, for the run's provenance. The clock is a
parameter, so tests drive the cool-down with a fake clock.
"""
from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["CircuitBreaker", "CLOSED", "OPEN", "HALF_OPEN"]

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed -> open after ``failure_threshold`` consecutive failures -> half-open after
    ``cool_down`` seconds -> closed on the trial's success (open again on its failure).

    Args:
        failure_threshold: consecutive failures (errors or time-outs) that open it (>= 1).
        cool_down: seconds the breaker stays open before a half-open trial (>= 0).
        clock: a function returning seconds (default :func:`time.monotonic`).

    Attributes:
        state: ``"closed"``, ``"open"`` or ``"half_open"``.
        failures: consecutive failures counted while closed.
        transitions: list of ``{"from", "to", "at" (seconds since creation), "reason"}``.
    """

    def __init__(self, failure_threshold: int, cool_down: float, clock: Callable[[], float] = time.monotonic):
        self.failure_threshold = int(failure_threshold)
        self.cool_down = float(cool_down)
        self._clock = clock
        self._t0 = clock()
        self.state = CLOSED
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_in_flight = False
        self.transitions: list[dict] = []

    def _move(self, to: str, reason: str) -> None:
        self.transitions.append({"from": self.state, "to": to, "at": round(self._clock() - self._t0, 6),
                                 "reason": reason})
        self.state = to

    def allow(self) -> bool:
        """Whether the next subproblem may go to the quantum backend. An open breaker whose
        cool-down has passed turns half-open and allows one trial (until it is reported)."""
        if self.state == CLOSED:
            return True
        if self.state == OPEN and self.opened_at is not None \
                and self._clock() - self.opened_at >= self.cool_down:
            self._move(HALF_OPEN, f"cool-down of {self.cool_down:g} s passed: one trial subproblem")
        if self.state == HALF_OPEN and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        """A quantum call answered: the failure count resets; a half-open breaker closes."""
        self.failures = 0
        if self.state == HALF_OPEN:
            self.trial_in_flight = False
            self._move(CLOSED, "the trial subproblem succeeded")

    def record_failure(self, reason: str) -> None:
        """A quantum call failed or timed out (``reason`` says how)."""
        if self.state == HALF_OPEN:
            self.trial_in_flight = False
            self._open(f"the trial subproblem failed: {reason}")
        elif self.state == CLOSED:
            self.failures += 1
            if self.failures >= self.failure_threshold:
                self._open(f"{self.failures} consecutive failure(s), the last: {reason}")

    def close(self, reason: str) -> None:
        """Close now (e.g. a slow warm-up has answered after all)."""
        self.trial_in_flight = False
        self.failures = 0
        if self.state != CLOSED:
            self._move(CLOSED, reason)

    def trip(self, reason: str) -> None:
        """Open now, whatever the count (e.g. the warm-up timed out); the cool-down applies."""
        self.trial_in_flight = False
        if self.state != OPEN:
            self._open(reason)

    def force_open(self, reason: str) -> None:
        """Open for good (no half-open trial): the backend cannot run here at all."""
        self.cool_down = float("inf")
        if self.state != OPEN:
            self._open(reason)

    def _open(self, reason: str) -> None:
        self._move(OPEN, reason)
        self.opened_at = self._clock()
        self.failures = 0
