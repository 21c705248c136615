"""``qopt.solve_many``: many problems through the one pipeline, in parallel, in-process
on threads or on a Ray cluster."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator

from qopt.errors import ParameterError
from qopt.service.executor import EXECUTORS, Executor, make_executor, run_batch
from qopt.service.executor_call import BatchItem, SolveCall, in_submission_order

__all__ = ["solve_many", "BatchItem"]


def solve_many(problems: Iterable, backend: str = "auto", *, executor: str | Executor = "thread",
               ordered: bool = True, max_parallel: int | None = None, max_attempts: int = 3,
               ray_address: str | None = None, cancel: threading.Event | None = None,
               **options) -> Iterator[BatchItem]:
    """Solve each of ``problems`` with :func:`qopt.solve` and stream the answers.

    Each problem gets the same ``backend`` and ``options`` (sampler parameters such as
    ``num_reads``, ``seed``; ``time_budget`` in seconds per problem; ``max_candidates``), so
    the same seed gives the same result on either executor. Every problem is answered
    exactly once: a run lost with its Ray worker is run again (up to ``max_attempts`` runs),
    and a problem that fails carries its exception in :attr:`BatchItem.error` (the other
    problems go on).

    Args:
        problems: what :func:`qopt.solve` takes, one per problem (BQMs, CQMs, files ...).
        backend: backend name for every problem, or ``"auto"``.
        executor: ``"thread"`` (this process, ``max_parallel`` threads), ``"ray"`` (Ray tasks on
            the cluster at ``ray_address``; ``pip install "qopt[ray]"``), or an executor object
            (:class:`qopt.service.executor.InProcessExecutor`, :class:`~qopt.service.executor_ray.RayExecutor`).
        ordered: True: yield in submission order (item ``k`` as soon as items ``0..k`` are
            done); False: yield each as it finishes (completion order; ``item.index`` says which).
        max_parallel: most problems solving at once (default: the CPU count, at least 1; on
            Ray, the cluster's CPUs schedule the tasks and this bounds those in flight).
        max_attempts: runs of one problem at most (transient failures: a lost worker).
        ray_address: with ``executor="ray"``: ``"local"``/None starts a local instance (shut
            down when the iterator ends), ``"auto"`` or ``HOST:PORT`` connects.
        cancel: set it to stop the problems still running (they end with a
            :class:`~qopt.errors.Cancelled` error).
        **options: passed to :func:`qopt.solve` for every problem.

    Yields:
        :class:`BatchItem`: ``index`` (0-based, submission order), ``result``
        (:class:`~qopt.results.Result`, its own provenance) or ``error``, and ``attempts``.

    Raises:
        ParameterError: an unknown ``executor`` or ``max_parallel``/``max_attempts`` below 1.
        ImportError: ``executor="ray"`` without Ray (the message says ``pip install "qopt[ray]"``).

    Examples:
        >>> import dimod, qopt
        >>> bqms = [dimod.BinaryQuadraticModel({0: 1.0, 1: -1.0}, {(0, 1): 2.0}, 0.0, "SPIN")] * 2
        >>> [item.result.best.energy for item in qopt.solve_many(bqms, "exact")]
        [-4.0, -4.0]
    """
    for key in ("on_progress", "sampler"):
        if key in options:
            raise ParameterError(key, "is not supported by solve_many (one call per problem: use qopt.solve)")
    if isinstance(executor, str) and executor not in EXECUTORS:
        raise ParameterError("executor", f"must be one of {', '.join(EXECUTORS)} or an executor, was {executor!r}")
    calls = [SolveCall(problem, backend or "auto", dict(options)) for problem in problems]
    if max_parallel is None:
        max_parallel = max(1, min(len(calls), os.cpu_count() or 1))
    for name, value in (("max_parallel", max_parallel), ("max_attempts", max_attempts)):
        if value < 1:
            raise ParameterError(name, f"must be >= 1, was {value}")
    return _stream(calls, executor, ordered=ordered, max_parallel=max_parallel, max_attempts=max_attempts,
                   ray_address=ray_address, cancel=cancel)


def _stream(calls: list[SolveCall], executor: str | Executor, *, ordered: bool, max_parallel: int,
            max_attempts: int, ray_address: str | None, cancel: threading.Event | None) -> Iterator[BatchItem]:
    """The answers of :func:`solve_many`; an executor made here (a local Ray instance) is
    started at the first answer asked for and closed when the iterator ends or is closed."""
    owned = isinstance(executor, str)
    runner = make_executor(executor, ray_address=ray_address) if isinstance(executor, str) else executor
    try:
        items = run_batch(runner, calls, max_parallel=max_parallel, max_attempts=max_attempts, cancel=cancel)
        try:
            yield from (in_submission_order(items) if ordered else items)
        finally:
            items.close()
    finally:
        if owned:
            runner.close()
