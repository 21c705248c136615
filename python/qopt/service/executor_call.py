"""The plain data that crosses the line between the control plane and an executor: one
pipeline call (:class:`SolveCall`) and one answer of a batch (:class:`BatchItem`)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from qopt.results import Result

__all__ = ["SolveCall", "BatchItem", "in_submission_order"]


@dataclasses.dataclass(frozen=True)
class SolveCall:
    """One pipeline call, as plain data that can travel to another process.

    Attributes:
        problem: what :func:`qopt.solve.solve` takes (a BQM, a CQM, a :class:`qopt.model.Problem`,
            ...); it is pickled to reach a Ray worker.
        backend: a registry name or ``"auto"``.
        options: the other keyword arguments of :func:`qopt.solve.solve` (``max_candidates``,
            ``time_budget`` in seconds, sampler parameters such as ``num_reads``, ``seed``).
    """

    problem: object
    backend: str = "auto"
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class BatchItem:
    """One answer of a batch: ``result`` or ``error`` for the problem at ``index``
    (0-based, in submission order); ``attempts`` counts the runs it took (a lost worker
    adds one)."""

    index: int
    result: Result | None
    error: BaseException | None = None
    attempts: int = 1


def in_submission_order(items: Iterable[BatchItem]) -> Iterator[BatchItem]:
    """Reorder a stream of :class:`BatchItem` (completion order) into submission order:
    item ``k`` is yielded as soon as items ``0 .. k`` have all arrived (later ones wait in a
    buffer)."""
    waiting: dict[int, BatchItem] = {}
    following = 0
    for item in items:
        waiting[item.index] = item
        while following in waiting:
            yield waiting.pop(following)
            following += 1
    for index in sorted(waiting):  # a stream that skipped an index: the rest, in order
        yield waiting[index]
