"""Admission by cost and fair sharing across principals.

:class:`Admission` is the one ledger a server's ``Solve`` calls and jobs share:

* per request: the estimate (:mod:`qopt.service.cost`) must fit ``max_request_cpu_seconds``
  and ``max_memory_bytes``;
* per principal: the CPU-seconds of its queued and running work together (each request
  charged what it can use within its time budget) must fit ``max_principal_cpu_seconds``
  (a job is charged from ``SubmitJob`` until it ends, a ``Solve`` while it runs);
* memory: the estimated bytes of every *running* request together (statevectors and dense
  enumerations included) must fit ``max_memory_bytes``;
* solve slots: at most ``max_concurrent_solves`` ``Solve`` calls solve at once, at most
  ``max_concurrent_solves_per_principal`` of one principal. A call that finds no slot (or no
  memory) waits a bounded time; when a slot frees, the waiting principal with the fewest
  running calls gets it (first come first served among equals).

Refusals are :class:`~qopt.service.limits.LimitExceeded` (``RESOURCE_EXHAUSTED`` with a
``QuotaFailure`` whose subject is the limit) and the message states the estimate.

:class:`FairQueue` is the job queue: principals are served round-robin, so one principal's
hundred queued jobs do not starve another's one.
"""
from __future__ import annotations

import collections
import threading
import time

from qopt.service.cost import Estimate
from qopt.service.limits import LimitExceeded, ServiceConfig

__all__ = ["Admission", "FairQueue", "check_estimate"]


def check_estimate(est: Estimate, config: ServiceConfig) -> None:
    """Raises LimitExceeded (``max_request_cpu_seconds`` or ``max_memory_bytes``) when one
    request alone is over a limit, whatever else runs; the message states the estimate."""
    if config.max_request_cpu_seconds and est.cpu_seconds > config.max_request_cpu_seconds:
        raise LimitExceeded("max_request_cpu_seconds", f"the request is {est.describe()}; this server accepts at "
                                                       f"most {config.max_request_cpu_seconds:g} CPU-seconds per "
                                                       f"request (max_request_cpu_seconds): ask for fewer reads "
                                                       f"or sweeps, or set time_limit")
    if config.max_memory_bytes and est.memory_bytes > config.max_memory_bytes:
        raise LimitExceeded("max_memory_bytes", f"the request is {est.describe()}; this server has "
                                                f"{config.max_memory_bytes} bytes for running requests "
                                                f"(max_memory_bytes)")


class Admission:
    """The cost ledger and the solve slots of one server (thread-safe).

    Args:
        config: the limits (``max_request_cpu_seconds``, ``max_principal_cpu_seconds``,
            ``max_memory_bytes``, ``max_concurrent_solves``,
            ``max_concurrent_solves_per_principal``).
    """

    def __init__(self, config: ServiceConfig):
        self.config = config
        self._cond = threading.Condition()
        self._charges: dict[str, tuple[str, float]] = {}      # key -> (principal, CPU-seconds)
        self._principal_cpu: dict[str, float] = collections.defaultdict(float)
        self._memory: dict[str, int] = {}                     # key -> bytes, running requests
        self._solves: dict[str, int] = collections.defaultdict(int)
        self._solving = 0
        self._waiting: list[tuple[str, object]] = []          # (principal, ticket), arrival order

    # -- per request ------------------------------------------------------------------------
    def check_request(self, est: Estimate) -> None:
        """:func:`check_estimate` with this server's configuration."""
        check_estimate(est, self.config)

    # -- per principal ----------------------------------------------------------------------
    def charge(self, principal: str, key: str, est: Estimate, time_budget: float | None, *,
               force: bool = False) -> None:
        """Add ``est.charged(time_budget)`` CPU-seconds to ``principal``'s queued and running
        work under ``key``.

        Args:
            time_budget: the request's wall-clock budget (seconds), which bounds what it can use.
            force: charge even over the limit (jobs recovered from the store at start).

        Raises:
            LimitExceeded: ``max_principal_cpu_seconds`` would be exceeded (nothing charged).
        """
        limit = self.config.max_principal_cpu_seconds
        cpu = est.charged(time_budget)
        with self._cond:
            used = self._principal_cpu[principal]
            if not force and limit and used + cpu > limit:
                raise LimitExceeded("max_principal_cpu_seconds",
                                    f"the request is {est.describe()}, {cpu:.3g} CPU-seconds within its time "
                                    f"budget; {principal!r} already has {used:.3g} CPU-seconds of queued and "
                                    f"running work and may have at most {limit:g} (max_principal_cpu_seconds); "
                                    f"retry when some finishes")
            self._charges[key] = (principal, cpu)
            self._principal_cpu[principal] = used + cpu

    def release(self, key: str) -> None:
        """Drop ``key``'s charge and memory (idempotent)."""
        with self._cond:
            charged = self._charges.pop(key, None)
            if charged is not None:
                principal, cpu = charged
                left = self._principal_cpu[principal] - cpu
                if left <= 1e-9:
                    del self._principal_cpu[principal]
                else:
                    self._principal_cpu[principal] = left
            if self._memory.pop(key, None) is not None:
                self._cond.notify_all()

    def release_memory(self, key: str) -> None:
        """Give back ``key``'s memory, keeping its charge (a job going back to the queue)."""
        with self._cond:
            if self._memory.pop(key, None) is not None:
                self._cond.notify_all()

    def principal_cpu_seconds(self, principal: str) -> float:
        """CPU-seconds of ``principal``'s queued and running work now."""
        with self._cond:
            return self._principal_cpu.get(principal, 0.0)

    def memory_in_use(self) -> int:
        """Estimated bytes of the running requests now."""
        with self._cond:
            return sum(self._memory.values())

    # -- running: memory (jobs and solves) and solve slots ----------------------------------------
    def _memory_blocker(self, need: int) -> str | None:
        limit = self.config.max_memory_bytes
        if limit and sum(self._memory.values()) + need > limit:
            return "max_memory_bytes"
        return None

    def acquire_memory(self, key: str, need: int, *, timeout: float, stop: threading.Event | None = None) -> bool:
        """Reserve ``need`` bytes for a running job under ``key``, waiting up to ``timeout``
        seconds (or until ``stop`` is set) for them to fit. True when reserved."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._memory_blocker(need) is not None:
                left = end - time.monotonic()
                if left <= 0 or (stop is not None and stop.is_set()):
                    return False
                self._cond.wait(min(left, 0.5))
            self._memory[key] = need
            return True

    def _slot_blocker(self, principal: str, ticket: object, need: int) -> str | None:
        cfg = self.config
        if self._solving >= cfg.max_concurrent_solves:
            return "max_concurrent_solves"
        per = cfg.max_concurrent_solves_per_principal
        if per and self._solves[principal] >= per:
            return "max_concurrent_solves_per_principal"
        # fairness: among the waiters that could run now, the principal with the fewest
        # running solves goes first (arrival order among equals)
        best = None
        for p, t in self._waiting:
            if per and self._solves[p] >= per:
                continue
            if best is None or self._solves[p] < self._solves[best[0]]:
                best = (p, t)
        if best is not None and best[1] is not ticket:
            return "max_concurrent_solves"
        return self._memory_blocker(need)

    def acquire_solve(self, principal: str, key: str, need: int, *, timeout: float) -> None:
        """Take a solve slot and ``need`` bytes under ``key``, waiting up to ``timeout``
        seconds.

        Raises:
            LimitExceeded: still no slot (``max_concurrent_solves``,
                ``max_concurrent_solves_per_principal``) or no memory (``max_memory_bytes``)
                after the wait; the message says what was running.
        """
        end = time.monotonic() + max(timeout, 0.0)
        ticket = object()
        with self._cond:
            self._waiting.append((principal, ticket))
            try:
                while True:
                    blocker = self._slot_blocker(principal, ticket, need)
                    if blocker is None:
                        self._solving += 1
                        self._solves[principal] += 1
                        self._memory[key] = need
                        return
                    left = end - time.monotonic()
                    if left <= 0:
                        raise self._refusal(blocker, principal, need, timeout)
                    self._cond.wait(left)
            finally:
                self._waiting.remove((principal, ticket))
                self._cond.notify_all()

    def _refusal(self, blocker: str, principal: str, need: int, waited: float) -> LimitExceeded:
        cfg = self.config
        if blocker == "max_memory_bytes":
            what = (f"the running requests hold an estimated {sum(self._memory.values())} bytes; this one needs "
                    f"{need} more and the server has {cfg.max_memory_bytes} (max_memory_bytes)")
        elif blocker == "max_concurrent_solves_per_principal":
            what = (f"{principal!r} has {self._solves[principal]} Solve calls running (limit "
                    f"{cfg.max_concurrent_solves_per_principal}, max_concurrent_solves_per_principal)")
        else:
            what = f"{self._solving} Solve calls are running (limit {cfg.max_concurrent_solves}, max_concurrent_solves)"
        return LimitExceeded(blocker, f"{what}; waited {waited:.3g} s for room; retry later or use SubmitJob")

    def release_solve(self, principal: str, key: str) -> None:
        """Give back the slot and memory taken by :meth:`acquire_solve` (and ``key``'s charge)."""
        with self._cond:
            self._solving -= 1
            self._solves[principal] -= 1
            if self._solves[principal] <= 0:
                del self._solves[principal]
            self._cond.notify_all()
        self.release(key)


class FairQueue:
    """A blocking queue of items per principal: :meth:`get` serves the principal served
    least recently (never served first, then arrival order), so principals take turns.

    ``put(None)`` enqueues a stop marker that :meth:`get` returns before any item.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._items: dict[str, collections.deque] = {}
        self._served: dict[str, int] = {}  # principal -> turn it was last served
        self._turn = 0
        self._stops = 0

    def put(self, item, principal: str = "") -> None:
        with self._cond:
            if item is None:
                self._stops += 1
            else:
                self._items.setdefault(principal, collections.deque()).append(item)
            self._cond.notify()

    def get(self):
        """The next item (of the principal whose turn it is), blocking until there is one."""
        with self._cond:
            while not self._stops and not self._items:
                self._cond.wait()
            if self._stops:
                self._stops -= 1
                return None
            principal = min(self._items, key=lambda p: self._served.get(p, -1))  # dict order breaks ties
            items = self._items[principal]
            item = items.popleft()
            if not items:
                del self._items[principal]
            self._served[principal] = self._turn
            self._turn += 1
            return item

    def __len__(self) -> int:
        with self._cond:
            return sum(len(d) for d in self._items.values())
