"""The Ray executor: each pipeline call runs as a Ray task on a Ray cluster.

Only the execution moves: the caller (the job manager, a batch) keeps the state. A task is
submitted with ``max_retries=0`` (Ray does not retry it behind the store's back): a lost
worker or node (``WorkerCrashedError``, ``NodeDiedError``, ``ObjectLostError``, ...) is raised
as :class:`~qopt.errors.BackendUnavailable`, which the job manager retries within the job's
``max_attempts`` and then fails with that reason. A task's own exception (an
:class:`~qopt.errors.InvalidInput`, a :class:`~qopt.errors.NoResultInTime`) is re-raised as
itself, so errors map to the same gRPC codes as in-process.

Resources (:func:`ray_options`): each task asks Ray for ``num_cpus`` = the threads the cost
model says it keeps busy (:attr:`qopt.service.cost.Estimate.threads`: annealing threads,
hybrid workers) and ``memory`` = its estimated peak bytes (a QAOA statevector), so Ray places
it only on a node with that much memory free; a task no node of the cluster can hold is
refused at once (:class:`~qopt.errors.MemoryLimitError`) instead of waiting forever.

Cancel: ``ray.cancel(ref)`` (a ``KeyboardInterrupt`` in the task, which sets the pipeline's
cancel event: :func:`_solve_task`), then, when the task has not ended ``cancel_grace`` seconds
later, ``ray.cancel(ref, force=True)`` (its worker process is killed); the call raises
:class:`~qopt.errors.Cancelled` once the task is gone. Jobs, batches and the unary ``Solve``
(its deadline or its client leaving) all cancel this way.

Workers are Ray's own worker processes, reused between tasks, so the C++ core and the
imports stay loaded after a worker's first task. The workers must be able to import qopt
(install qopt on every node; a local instance started here inherits this process's
``sys.path`` through ``PYTHONPATH``).

Hybrid subproblems (:class:`SubproblemDispatch`): a ``hybrid`` run inside a Ray task sends
each quantum subproblem (plain arrays) to the cluster as a Ray task of its own; the
incumbent, the splice, the circuit breaker and the classical tiers stay with the run, so a
lost or slow subproblem task opens the breaker exactly as an in-process one does.

Progress events (``on_progress``) are not streamed back from Ray tasks: a job run on Ray
reports its state changes, not its intermediate best energies.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

from qopt.errors import BackendUnavailable, Cancelled, MemoryLimitError
from qopt.results import Result
from qopt.service.cost import Estimate
from qopt.service.executor_call import SolveCall

__all__ = ["RayExecutor", "SubproblemDispatch", "task_result", "ray_options", "pack_problem", "unpack_problem", "import_ray", "INSTALL_HINT", "LOST_TASK_ERRORS"]

INSTALL_HINT = 'the Ray executor needs Ray: pip install "qopt[ray]"'

#: Ray exceptions that mean the task's worker, node or result was lost (not the task's fault)
LOST_TASK_ERRORS = ("WorkerCrashedError", "NodeDiedError", "ObjectLostError", "LocalRayletDiedError",
                    "RaySystemError", "OutOfMemoryError", "TaskCancelledError")


def import_ray():
    """The ``ray`` module. Raises ImportError with :data:`INSTALL_HINT` when it is missing."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return ray


def pack_problem(problem) -> tuple:
    """``problem`` as plain bytes for the trip to a worker (dimod's models do not survive
    cloudpickle): a BQM or CQM as its dimod file (``to_file()``), a :class:`qopt.model.Problem`
    as its CQM's file and its sense, name and metadata; anything else as itself."""
    import dimod

    from qopt.model import Problem

    if isinstance(problem, dimod.BinaryQuadraticModel):
        return ("bqm", problem.to_file().read())
    if isinstance(problem, dimod.ConstrainedQuadraticModel):
        return ("cqm", problem.to_file().read())
    if isinstance(problem, Problem):
        return ("problem", problem.cqm.to_file().read(), problem.sense, problem.name, dict(problem.metadata))
    return ("object", problem)


def unpack_problem(packed: tuple):
    """The inverse of :func:`pack_problem`."""
    import dimod

    kind = packed[0]
    if kind == "bqm":
        return dimod.BinaryQuadraticModel.from_file(packed[1])
    if kind == "cqm":
        return dimod.ConstrainedQuadraticModel.from_file(packed[1])
    if kind == "problem":
        from qopt.model import Problem

        return Problem(dimod.ConstrainedQuadraticModel.from_file(packed[1]), packed[2], packed[3], packed[4])
    return packed[1]


def task_result(ray, ref, what: str, backend: str):
    """``ray.get(ref)``, with a task's own exception re-raised as itself, and a lost task
    (its worker or node died: :data:`LOST_TASK_ERRORS`) or Ray's own failure as
    :class:`~qopt.errors.BackendUnavailable` (transient) naming ``what`` and the Ray error."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BaseException) and not isinstance(cause, ray.exceptions.RayError):
            raise cause from None
        raise BackendUnavailable(f"{what} failed: {exc}"[:500], backend=backend) from exc
    except ray.exceptions.RayError as exc:
        if type(exc).__name__ in LOST_TASK_ERRORS or isinstance(exc, ray.exceptions.ObjectLostError):
            raise BackendUnavailable(f"{what} was lost ({type(exc).__name__}: {exc})"[:500], backend=backend) from exc
        raise


def _sample_subproblem(backend: str, h, rows, cols, vals, params: dict) -> tuple:
    """What a Ray worker runs for one hybrid subproblem: the registry's ``backend`` on the
    SPIN model ``(h, (rows, cols, vals))``; returns the sample set as plain arrays
    ``(samples int8 (reads, k), energies float (reads,), num_occurrences int (reads,))``."""
    import dimod

    from qopt.samplers.registry import get_sampler

    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(h, (rows, cols, vals), 0.0, dimod.SPIN)
    ss = get_sampler(backend).sample(bqm, **params)
    ss.resolve()
    if ss.vartype is dimod.BINARY:
        ss = ss.change_vartype(dimod.SPIN, inplace=False)
    order = [ss.variables.index(v) for v in range(len(h))]
    return (np.asarray(ss.record.sample[:, order], dtype=np.int8), np.asarray(ss.record.energy, dtype=float),
            np.asarray(ss.record.num_occurrences, dtype=np.int64))


class SubproblemDispatch:
    """The hybrid's :data:`qopt.hybrid.sampler.SUBPROBLEM_DISPATCH` inside a Ray worker: each
    quantum subproblem runs as a Ray task of its own (1 CPU) and comes back as plain arrays;
    the call's ``interrupt`` (its time-out, the run's end, the caller's cancel) cancels the task."""

    def __init__(self, poll: float = 0.05):
        ray = import_ray()
        self._ray = ray
        self._remote = ray.remote(max_retries=0, num_cpus=1)(_sample_subproblem)
        self.poll = poll

    def __call__(self, backend: str, h, rows, cols, vals, params: dict, interrupt: threading.Event):
        import dimod

        ray = self._ray
        ref = self._remote.remote(backend, h, rows, cols, vals, params)
        while not ray.wait([ref], timeout=self.poll)[0]:
            if interrupt.is_set():
                ray.cancel(ref, force=True)
                raise Cancelled("the subproblem was stopped; its Ray task was cancelled")
        samples, energies, occurrences = task_result(ray, ref, "the subproblem's Ray task", backend)
        return dimod.SampleSet.from_samples((samples, list(range(len(h)))), dimod.SPIN, energy=energies,
                                            num_occurrences=occurrences)


def _solve_task(packed: tuple, backend: str, options: dict, stop_grace: float = 2.0) -> Result:
    """What a Ray worker runs: the one pipeline, :func:`qopt.solve.solve`; the result's
    ``provenance["executor"]`` says where it ran (Ray node id and address, worker pid).

    The pipeline runs on a thread of its own with a cancel event, the task's main thread
    waiting for it: ``ray.cancel`` raises ``KeyboardInterrupt`` in the main thread, wherever it
    is, which alone would unwind that thread only; the event is what the pipeline, its
    samplers and the threads it starts (the background bound, backend calls on its worker
    pool) watch, as in-process. On that interrupt the event is set, and the task ends once the
    pipeline has stopped (annealing stops at its next sweep); a pipeline still
    running ``stop_grace`` seconds later (a sampler that does not watch the event, such as
    the exact enumeration) takes the worker process with it (``os._exit``, what a forced
    ``ray.cancel`` does), so no solve outlives its task."""
    import ray
    from qopt.hybrid.sampler import SUBPROBLEM_DISPATCH, set_subproblem_dispatch
    from qopt.solve import solve

    if not isinstance(SUBPROBLEM_DISPATCH, SubproblemDispatch):  # hybrid subproblems fan out to the cluster
        set_subproblem_dispatch(SubproblemDispatch())
    problem = unpack_problem(packed)
    stop = threading.Event()
    answer: dict = {}

    def body() -> None:
        try:
            answer["result"] = solve(problem, backend, cancel=stop, **options)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the task's thread
            answer["error"] = exc

    pipeline = threading.Thread(target=body, name="qopt-ray-solve", daemon=True)
    pipeline.start()
    try:
        while pipeline.is_alive():
            pipeline.join(0.05)
    except KeyboardInterrupt:  # ray.cancel
        stop.set()
        pipeline.join(stop_grace)
        if pipeline.is_alive():
            os._exit(1)
        raise
    if "error" in answer:
        raise answer["error"]
    result = answer["result"]
    context = ray.get_runtime_context()
    result.provenance["executor"] = {"name": "ray", "node_id": context.get_node_id(),
                                     "node_ip": ray.util.get_node_ip_address(), "pid": os.getpid()}
    return result


def ray_options(estimate: Estimate | None, *, max_cpus: float, max_memory: float) -> dict:
    """Ray resource requests for a task with ``estimate``.

    Args:
        estimate: the cost model's estimate (None: 1 CPU, no memory request).
        max_cpus: most CPUs of any node (a request is capped to it: threads are a wish,
            memory is a need).
        max_memory: most ``memory`` resource (bytes) of any node.

    Returns:
        ``{"num_cpus": ..., "memory": ...}`` for ``.options(...)`` (memory in bytes, omitted
        when 0).

    Raises:
        MemoryLimitError: no node has ``estimate.memory_bytes`` (the message names both).
    """
    if estimate is None:
        return {"num_cpus": 1}
    options: dict = {"num_cpus": max(1, min(int(estimate.threads), int(max_cpus) or 1))}
    if estimate.memory_bytes > 0:
        if max_memory and estimate.memory_bytes > max_memory:
            raise MemoryLimitError(
                f"the run needs an estimated {estimate.memory_bytes / 1e9:.3g} GB ({estimate.model}); the largest "
                f"Ray node offers {max_memory / 1e9:.3g} GB of memory", estimate.memory_bytes, int(max_memory))
        options["memory"] = int(estimate.memory_bytes)
    return options


class RayExecutor:
    """Runs each call as a Ray task.

    Args:
        address: ``"local"`` or None: start a Ray instance in this process (stopped by
            :meth:`close`); ``"auto"``, ``HOST:PORT`` or ``ray://HOST:PORT``: connect to a running
            cluster (left running by :meth:`close`). When Ray is already initialised in this
            process, that connection is used.
        num_cpus: CPUs of a local instance (None: all).
        node_ip_address: the address a local instance binds (default ``$QOPT_RAY_NODE_IP`` or Ray's
            choice; tests use ``127.0.0.2``: Ray replaces 127.0.0.1 with the external address).
        poll: seconds between checks of the cancel event while a task runs.
        cancel_grace: seconds a cancelled task gets to stop before its worker is killed.

    Raises:
        ImportError: Ray is not installed (:data:`INSTALL_HINT`).
    """

    name = "ray"

    def __init__(self, address: str | None = "local", *, num_cpus: int | None = None,
                 node_ip_address: str | None = None, poll: float = 0.05, cancel_grace: float = 1.0):
        ray = import_ray()
        self._ray = ray
        self.poll = poll
        self.cancel_grace = cancel_grace
        self._owns = False
        if not ray.is_initialized():
            node_ip = node_ip_address or os.environ.get("QOPT_RAY_NODE_IP") or None
            if address in (None, "", "local"):
                _export_sys_path()
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                         _node_ip_address=node_ip)
                self._owns = True
            else:
                ray.init(address=address, log_to_driver=False, _node_ip_address=node_ip)
        self._remote = ray.remote(max_retries=0)(_solve_task)
        self._lock = threading.Lock()
        self._capacity: tuple[float, float, float] = (0.0, 0.0, 0.0)  # (when, max CPUs, max memory)

    def capacity(self) -> tuple[float, float]:
        """``(max CPUs, max memory bytes)`` over the cluster's live nodes (re-read every 5 s)."""
        with self._lock:
            when, cpus, memory = self._capacity
            if time.monotonic() - when > 5.0:
                nodes = [n for n in self._ray.nodes() if n.get("Alive")]
                cpus = max((n["Resources"].get("CPU", 0.0) for n in nodes), default=0.0)
                memory = max((n["Resources"].get("memory", 0.0) for n in nodes), default=0.0)
                self._capacity = (time.monotonic(), cpus, memory)
            return cpus, memory

    def submit(self, call: SolveCall, estimate: Estimate | None = None):
        """Start ``call`` as a Ray task; returns its ``ObjectRef``.

        Raises:
            MemoryLimitError: no node can hold it (:func:`ray_options`).
        """
        cpus, memory = self.capacity()
        options = ray_options(estimate, max_cpus=cpus, max_memory=memory)
        return self._remote.options(**options).remote(pack_problem(call.problem), call.backend, call.options)

    def run(self, call: SolveCall, *, cancel: threading.Event | None = None,
            on_progress: Callable[[dict], None] | None = None, estimate: Estimate | None = None) -> Result:
        """Run ``call`` as a Ray task and wait for it (see the module notes for cancel and
        lost workers). ``on_progress`` is not called (no events come back from a task).

        Raises:
            Cancelled: ``cancel`` was set (the task has been cancelled).
            BackendUnavailable: the task was lost (its worker or node died); transient.
            MemoryLimitError: no node can hold the run.
            Any exception the pipeline raised in the task, as itself.
        """
        ray = self._ray
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled before the Ray task started")
        ref = self.submit(call, estimate)
        while True:
            done, _ = ray.wait([ref], timeout=self.poll)
            if done:
                return self._result(ref)
            if cancel is not None and cancel.is_set():
                self._cancel(ref)
                raise Cancelled("cancelled; the Ray task was cancelled")

    def _cancel(self, ref) -> None:
        ray = self._ray
        ray.cancel(ref)
        done, _ = ray.wait([ref], timeout=self.cancel_grace)
        if not done:
            ray.cancel(ref, force=True)
            ray.wait([ref], timeout=self.cancel_grace)

    def _result(self, ref) -> Result:
        return task_result(self._ray, ref, "the Ray task", "ray")

    def close(self) -> None:
        """Shut down the local Ray instance this executor started (a cluster it connected to
        keeps running)."""
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns = False


def _export_sys_path() -> None:
    """Put this process's import path in ``PYTHONPATH`` so the workers of a local Ray
    instance import the same qopt."""
    paths = [os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)]
    current = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    merged = list(dict.fromkeys([os.path.abspath(p) for p in current] + paths))
    os.environ["PYTHONPATH"] = os.pathsep.join(merged)
