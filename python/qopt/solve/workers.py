"""A process-wide pool of daemon threads for backend calls that may hang.

Backend calls (QAOA subproblems, quantum tiers) run in daemon threads so that a hung
backend never blocks a deadline or interpreter exit. The threads are kept and reused
rather than started per call: Qiskit 2.6 crashed with a segmentation fault after a few
hundred short-lived threads had each built a circuit. A thread stuck in a hung call is
simply not reused; a new one is started when no idle thread is left.

Ownership: every call is a :class:`Task` with its own stop event. The caller that gives up
on a call (its deadline passed, its request was cancelled) calls :meth:`Task.cancel`; the
call's ``interrupt`` (an event-like view of the task's stop event and the caller's own)
is then set, so a sampler that polls ``interrupt`` (simulated annealing between sweeps,
QAOA between evaluations, the hybrid between subproblems) returns within one step. A
sampler that takes no ``interrupt`` (exact enumeration, a D-Wave QPU call, a caller's own
sampler) cannot be stopped from outside a thread; its task stays in
:meth:`WorkerPool.abandoned` until it returns, so callers can report it.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from qopt.solve.stages import AnyEvent

__all__ = ["WorkerPool", "WORKERS", "Task"]


class Task:
    """One function run on the pool.

    Attributes:
        stop: the task's own stop event (set by :meth:`cancel`).
        interrupt: an event-like object (``is_set()``) set when ``stop`` or the ``interrupt``
            given at submission is set: what the function should poll.
        done: set when the function has returned or raised.
        result: what the function returned (None until ``done``).
        error: the exception it raised, or None.
        started, finished: ``time.monotonic()`` at submission and at the end (None until then).
    """

    def __init__(self, fn: Callable[[Any], Any], interrupt=None):
        self._fn = fn
        self.stop = threading.Event()
        self.interrupt = AnyEvent(self.stop, interrupt)
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self.finished: float | None = None

    def _run(self) -> None:
        try:
            self.result = self._fn(self.interrupt)
        except BaseException as exc:  # noqa: BLE001 - kept for the caller
            self.error = exc
        finally:
            self.finished = time.monotonic()
            self.done.set()

    def cancel(self) -> None:
        """Ask the function to stop (sets :attr:`stop`); it stops at its next poll of ``interrupt``."""
        self.stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait at most ``timeout`` seconds (None: for ever) for the end; returns whether it ended."""
        return self.done.wait(timeout)

    @property
    def seconds(self) -> float:
        """Seconds from submission to the end (or to now, while it runs)."""
        return (self.finished if self.finished is not None else time.monotonic()) - self.started


class WorkerPool:
    """Daemon worker threads fed from one task queue; grows only when none is idle."""

    def __init__(self, name: str = "qopt-worker"):
        self._name = name
        self._tasks: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._idle = 0
        self._live: set[Task] = set()
        self.num_threads = 0

    def submit(self, fn) -> None:
        """Run ``fn()`` (no arguments, exceptions are the caller's to catch) on a worker."""
        with self._lock:
            if self._idle == 0:
                self.num_threads += 1
                self._idle += 1
                threading.Thread(target=self._loop, daemon=True, name=f"{self._name}-{self.num_threads}").start()
            self._idle -= 1
        self._tasks.put(fn)

    def run(self, fn: Callable[[Any], Any], *, interrupt=None) -> Task:
        """Run ``fn(interrupt)`` on a worker and return its :class:`Task` at once.

        Args:
            fn: called with the task's ``interrupt`` (``is_set()``), which it should poll or
                pass on to a sampler's ``interrupt`` parameter.
            interrupt: None or an event-like object of the caller (e.g. the solve's cancel
                token) that also stops the task.
        """
        task = Task(fn, interrupt)
        with self._lock:
            self._live.add(task)

        def body():
            try:
                task._run()
            finally:
                with self._lock:
                    self._live.discard(task)
        self.submit(body)
        return task

    def abandoned(self) -> list[Task]:
        """Tasks told to stop (:meth:`Task.cancel`) that are still running: calls into samplers
        that cannot be interrupted."""
        with self._lock:
            return [t for t in self._live if t.stop.is_set() and not t.done.is_set()]

    def _loop(self) -> None:
        while True:
            fn = self._tasks.get()
            try:
                fn()
            finally:
                with self._lock:
                    self._idle += 1


WORKERS = WorkerPool()
