"""A process-wide pool of daemon threads for backend calls that may hang.

Backend calls (QAOA subproblems, quantum tiers) run in daemon threads so that a hung
backend never blocks a deadline or interpreter exit. The threads are kept and reused
rather than started per call: Qiskit 2.6 crashed with a segmentation fault after a few
hundred short-lived threads had each built a circuit. A thread stuck in a hung call is
simply not reused; a new one is started when no idle thread is left.
"""
from __future__ import annotations

import queue
import threading

__all__ = ["WorkerPool", "WORKERS"]


class WorkerPool:
    """Daemon worker threads fed from one task queue; grows only when none is idle."""

    def __init__(self, name: str = "qopt-worker"):
        self._name = name
        self._tasks: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._idle = 0
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

    def _loop(self) -> None:
        while True:
            fn = self._tasks.get()
            try:
                fn()
            finally:
                with self._lock:
                    self._idle += 1


WORKERS = WorkerPool()
