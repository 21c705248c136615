"""The stages of one solve: timing per stage, the cancel check at each stage boundary and
the progress events, shared by the BQM and the constrained path."""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from qopt.errors import Cancelled

__all__ = ["Stages", "AnyEvent"]


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
    """

    def __init__(self, on_progress: Callable[[dict], None] | None = None,
                 cancel: threading.Event | None = None):
        self._on_progress = on_progress
        self.cancel = cancel
        self.timing: dict[str, float] = {}
        self._t_start = time.perf_counter()

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
