"""Where a solve runs: the execution plane behind the job manager and the batches.

The control plane (the gRPC front end, authentication, admission limits, the durable job
store: :mod:`qopt.service.jobs`) decides *what* runs and records every state; an
:class:`Executor` only runs one pipeline call (:func:`qopt.solve.solve`) and hands back
its :class:`~qopt.results.Result` or raises. Two implementations:

=============  ==========================================================================
``thread``     :class:`InProcessExecutor`, the default: the call runs on the caller's
               thread (a job worker, a batch thread) in this process
``ray``        :class:`qopt.service.executor_ray.RayExecutor`: the call runs as a Ray task
               on a Ray cluster (``pip install "qopt[ray]"``), imported lazily
=============  ==========================================================================

The executor never retries on its own: a lost Ray worker surfaces as
:class:`~qopt.errors.BackendUnavailable` (transient), and the job manager retries it within
the job's ``max_attempts`` (the store stays the source of truth), as batches do within
theirs (:func:`run_batch`).
"""
from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Generator, Sequence
from typing import Protocol

from qopt.errors import Cancelled, ParameterError, is_transient
from qopt.results import Result
from qopt.service.cost import Estimate
from qopt.service.executor_call import BatchItem, SolveCall

__all__ = ["SolveCall", "Executor", "InProcessExecutor", "EXECUTORS", "make_executor", "run_batch", "BatchItem"]

#: executor names accepted by ``qopt serve --executor`` and ``qopt.solve_many(executor=...)``
EXECUTORS = ("thread", "ray")


class Executor(Protocol):
    """Runs pipeline calls. ``name`` is the executor's name in :data:`EXECUTORS`."""

    name: str

    def run(self, call: SolveCall, *, cancel: threading.Event | None = None,
            on_progress: Callable[[dict], None] | None = None, estimate: Estimate | None = None) -> Result:
        """Run ``call`` and return its result.

        Args:
            call: the pipeline call.
            cancel: set to stop the run (it raises :class:`~qopt.errors.Cancelled`).
            on_progress: the pipeline's progress events, where the executor can deliver them.
            estimate: the cost model's estimate (placement and resource requests).

        Raises:
            Whatever the pipeline raises; BackendUnavailable when the run was lost (transient).
        """
        ...

    def close(self) -> None:
        """Release what the executor started (a local Ray instance)."""
        ...


class InProcessExecutor:
    """Runs each call on the calling thread (the default: no cluster needed).

    Args:
        solve_fn: the solving function (default :func:`qopt.solve.solve`; tests inject others).
    """

    name = "thread"

    def __init__(self, solve_fn: Callable[..., Result] | None = None):
        self.solve_fn = solve_fn

    def run(self, call: SolveCall, *, cancel: threading.Event | None = None,
            on_progress: Callable[[dict], None] | None = None, estimate: Estimate | None = None) -> Result:
        from qopt.solve import solve

        solve_fn = self.solve_fn or solve
        return solve_fn(call.problem, call.backend, on_progress=on_progress, cancel=cancel, **call.options)

    def close(self) -> None:
        return None


def make_executor(name: str = "thread", *, ray_address: str | None = None, solve_fn=None,
                  num_cpus: int | None = None) -> Executor:
    """The executor called ``name``.

    Args:
        name: ``"thread"`` (in-process) or ``"ray"``.
        ray_address: for ``"ray"``: ``"local"`` or None starts a local Ray instance in this
            process; ``"auto"`` or ``HOST:PORT`` (``ray://HOST:PORT`` for Ray Client)
            connects to a running cluster.
        solve_fn: the solving function of the in-process executor (tests).
        num_cpus: CPUs of a local Ray instance (None: Ray's default, every core).

    Raises:
        ParameterError: an unknown ``name`` (``.field`` = ``executor``), or ``solve_fn``
            with ``"ray"`` (a function cannot be shipped to the cluster's workers).
        ImportError: ``"ray"`` without Ray installed; the message says ``pip install "qopt[ray]"``.
    """
    if name == "thread":
        return InProcessExecutor(solve_fn)
    if name == "ray":
        if solve_fn is not None:
            raise ParameterError("executor", "ray runs qopt.solve on the cluster; a custom solve_fn runs only "
                                             "in-process (executor='thread')")
        from qopt.service.executor_ray import RayExecutor

        return RayExecutor(ray_address, num_cpus=num_cpus)
    raise ParameterError("executor", f"must be one of {', '.join(EXECUTORS)}, was {name!r}")


def run_batch(executor: Executor, calls: Sequence[SolveCall], *, max_parallel: int, max_attempts: int = 1,
              cancel: threading.Event | None = None,
              estimates: Sequence[Estimate | None] | None = None) -> Generator[BatchItem, None, None]:
    """Run ``calls`` on ``executor``, at most ``max_parallel`` at once, and yield one
    :class:`BatchItem` per call as each finishes (completion order, not submission order).

    A run that fails transiently (a lost Ray worker: :class:`~qopt.errors.BackendUnavailable`)
    is run again, up to ``max_attempts`` runs in all; any other failure is that item's
    ``error``. Every call is answered exactly once. Closing the generator early (or
    ``cancel``) cancels the runs still going, and returns only once their threads ended.

    Raises:
        ParameterError: ``max_parallel`` or ``max_attempts`` below 1.
    """
    if max_parallel < 1:
        raise ParameterError("max_parallel", f"must be >= 1, was {max_parallel}")
    if max_attempts < 1:
        raise ParameterError("max_attempts", f"must be >= 1, was {max_attempts}")
    stop = threading.Event()
    if cancel is not None and cancel.is_set():
        stop.set()
    watcher = None
    if cancel is not None:
        def _watch() -> None:
            while not stop.is_set():
                if cancel.wait(0.05):
                    stop.set()
        watcher = threading.Thread(target=_watch, name="qopt-batch-cancel", daemon=True)
        watcher.start()

    def one(index: int) -> BatchItem:
        est = estimates[index] if estimates is not None else None
        for attempt in range(1, max_attempts + 1):
            try:
                return BatchItem(index, executor.run(calls[index], cancel=stop, estimate=est), None, attempt)
            except Cancelled as exc:
                return BatchItem(index, None, exc, attempt)
            except Exception as exc:  # noqa: BLE001 - a failure is the item's answer
                if not is_transient(exc) or attempt == max_attempts or stop.is_set():
                    return BatchItem(index, None, exc, attempt)
        raise AssertionError("unreachable")

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(max_parallel, max(len(calls), 1)),
                                                 thread_name_prefix="qopt-batch")
    try:
        futures = [pool.submit(one, i) for i in range(len(calls))]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        if watcher is not None:
            watcher.join()
