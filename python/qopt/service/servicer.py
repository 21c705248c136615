"""The ``qopt.v1.SolverService`` servicer: protobuf in, :func:`qopt.solve`, protobuf out.

It holds no solver logic: it checks requests (:mod:`.validation`), calls the pipeline
(synchronously for ``Solve``, through the :class:`JobManager` for jobs) and converts
results back (:mod:`.convert`). Every RPC answers a domain failure with a definite code:

=====================  ======================================================================
INVALID_ARGUMENT       malformed input; ``google.rpc.BadRequest`` names every bad field
RESOURCE_EXHAUSTED     over a configured limit (size, reads, queue, per-principal jobs,
                       concurrent solves); ``google.rpc.QuotaFailure`` names the limit
NOT_FOUND              unknown job, or a job of another principal
FAILED_PRECONDITION    cancelling a finished job; the result of a job that has not succeeded
ALREADY_EXISTS         a request_id reused for a different request
CANCELLED              the call ended (client gone, deadline passed) while solving
DEADLINE_EXCEEDED      the deadline passed before any candidate was found; the request goes on
                       as a *pending job* named in the status (``google.rpc.ErrorInfo`` reason
                       ``PENDING_JOB``, metadata ``job_id``; ``google.rpc.ResourceInfo``)
UNAVAILABLE            a transient backend failure persisted through every retry
UNAUTHENTICATED        missing or unknown token (from the interceptor, :mod:`.auth`)
UNIMPLEMENTED          a model kind the pipeline cannot solve yet
=====================  ======================================================================

Idempotency (``request_id``, per principal): ``SubmitJob`` with a seen request_id returns
the same job; ``Solve`` with a seen request_id returns the stored response (a concurrent
duplicate waits for the first). Reusing a request_id for a *different* request (another
problem, backend, parameters or max_candidates) is ``ALREADY_EXISTS``.

Last fallback tier (after quantum, classical and cached results in the pipeline): when
``Solve`` runs out of its deadline with nothing to return (the pipeline raises
:class:`qopt.errors.NoResultInTime`, finds no candidate, or the deadline is too short to
start), the same request is submitted as a job for the same principal (idempotency key
``pending-solve:<request_id>`` when the call had a request_id) and the answer is
``DEADLINE_EXCEEDED`` naming the job. A retried ``Solve`` with the same request_id waits
for that job within its deadline and returns its result.

Ownership: each ``Solve`` passes a cancel event to the pipeline, set when the call ends for
any reason (``context.add_callback``: the client disconnected or closed its channel, the
deadline passed, the server cancelled it) and by :meth:`SolverServicer.shutdown`; the
samplers stop at their next sweep or evaluation, so no work outlives its caller. A Solve
stopped by a shutdown answers ``UNAVAILABLE`` (retry elsewhere or later).
"""
from __future__ import annotations

import logging
import secrets
import threading
import time

import grpc
from google.rpc import status_pb2
from grpc_status import rpc_status

from qopt.errors import Cancelled, NoResultInTime
from qopt.service import convert, errors, validation
from qopt.service.auth import ANONYMOUS
from qopt.service.backends import list_backends
from qopt.service.executor import run_batch
from qopt.service.executor_call import SolveCall
from qopt.service.jobs import (
    JobManager,
    backoff_delay,
    finish_response,
    job_to_proto,
    pipeline_budget,
    request_hash,
    solve_call,
)
from qopt.service.limits import LimitExceeded, ServiceConfig
from qopt.service.observe import Metrics
from qopt.service.store import FAILED, SUCCEEDED, TERMINAL, JobStore, PageTokens
from qopt.v1 import solver_service_pb2 as pb
from qopt.v1 import solver_service_pb2_grpc

log = logging.getLogger("qopt.service")

# Seconds kept back from the client's deadline for conversion and transport.
DEADLINE_MARGIN = 0.25
_NO_DEADLINE = 1e7  # grpc reports ~2^63 s when the client set no deadline


PENDING_PREFIX = "pending-solve:"  # request_id of the job a timed-out Solve continues as


def _principal(context) -> str:
    return getattr(context, "principal", ANONYMOUS) or ANONYMOUS


class _Inflight:
    """Solve calls in flight by (principal, request_id), so a concurrent duplicate waits
    for the first instead of solving twice."""

    def __init__(self):
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], threading.Event] = {}

    def claim(self, key) -> threading.Event | None:
        """None when the caller owns the key now; else the event to wait on."""
        with self._lock:
            ev = self._calls.get(key)
            if ev is None:
                self._calls[key] = threading.Event()
            return ev

    def release(self, key) -> None:
        with self._lock:
            ev = self._calls.pop(key, None)
        if ev is not None:
            ev.set()


class SolverServicer(solver_service_pb2_grpc.SolverServiceServicer):
    """Serves ``Solve``, jobs and ``ValidateProblem``.

    Args:
        config: limits and settings (:class:`ServiceConfig`).
        store: the job store (a private in-memory one when None).
        metrics: where to count (a private :class:`Metrics` when None).
        jobs: the job manager (created and started from ``store`` when None).
        max_variables: when given, overrides ``config.max_variables``.
        solve_fn: the solving function (default :func:`qopt.solve.solve`).
    """

    def __init__(self, *, config: ServiceConfig | None = None, store: JobStore | None = None,
                 metrics: Metrics | None = None, jobs: JobManager | None = None, max_variables: int | None = None,
                 solve_fn=None):
        config = config or ServiceConfig()
        if max_variables is not None:
            config = config.replace(max_variables=max_variables)
        self.config = config
        self.metrics = metrics or Metrics()
        self.store = store or JobStore(":memory:")
        self.solve_fn = solve_fn
        self.jobs = jobs or JobManager(self.store, config, self.metrics, solve_fn=solve_fn).start()
        self._inflight = _Inflight()
        self._watching = 0
        self._solving_lock = threading.Lock()
        self._page_tokens = PageTokens()  # ListJobs paging: opaque, per-server secret
        # the cancel events of the Solve calls in flight, set by shutdown()
        self._solve_cancels: set[threading.Event] = set()
        self._stopping = threading.Event()

    # -- ownership: cancel events of Solve calls, shutdown --------------------------------
    def _solve_cancel(self, context) -> threading.Event:
        """A cancel event for one Solve: set when the call ends (client gone, deadline, server
        cancel) and by :meth:`shutdown`; :meth:`_release_cancel` forgets it."""
        cancel = threading.Event()
        with self._solving_lock:
            self._solve_cancels.add(cancel)
        if self._stopping.is_set():
            cancel.set()
        add_callback = getattr(context, "add_callback", None)
        if add_callback is not None and not add_callback(cancel.set):
            cancel.set()  # the call has already ended
        return cancel

    def _release_cancel(self, cancel: threading.Event) -> None:
        with self._solving_lock:
            self._solve_cancels.discard(cancel)

    def shutdown(self) -> None:
        """Start stopping: every Solve in flight is cancelled (its samplers stop at the next
        sweep or evaluation and it answers UNAVAILABLE), new Solves are refused, and the job
        manager's running jobs are interrupted (back to QUEUED) and its watch streams end.
        Returns at once; :meth:`close` waits for the job workers."""
        self._stopping.set()
        with self._solving_lock:
            cancels = list(self._solve_cancels)
        for cancel in cancels:
            cancel.set()
        self.jobs.begin_stop()

    # -- helpers -----------------------------------------------------------------------
    def _fail(self, context, exc: BaseException, method: str):
        """Abort the call with the status for ``exc`` (INTERNAL for an unexpected one)."""
        code = getattr(context, "code", None)
        if callable(code):
            code = code()
        if isinstance(exc, grpc.RpcError) or code not in (None, grpc.StatusCode.OK):
            raise exc  # the call was already aborted with its status
        status = errors.status_proto_for_exception(exc)
        if status is None:
            status = errors.internal_status(exc, method, log)
        context.abort_with_status(rpc_status.to_status(status))

    def _remaining(self, context) -> float:
        """Seconds left of the call's deadline, at most ``max_time_budget`` (no deadline: that)."""
        remaining = context.time_remaining()
        if remaining is None or remaining >= _NO_DEADLINE:
            return self.config.max_time_budget
        return min(remaining, self.config.max_time_budget)

    @staticmethod
    def _has_deadline(context) -> bool:
        remaining = context.time_remaining()
        return remaining is not None and remaining < _NO_DEADLINE

    def _budget(self, context) -> float:
        """Seconds the pipeline may use: the deadline (capped by ``max_time_budget``) less the
        transport margin."""
        remaining = self._remaining(context)
        return remaining - max(DEADLINE_MARGIN, 0.1 * remaining)

    def _admit_solve(self, principal: str, request, decoded, parameters, context):
        """Admit a Solve by cost: per-request limits, the principal's CPU-seconds, then a solve
        slot and its memory, waiting up to min(``max_solve_wait``, 25% of the remaining
        deadline). Returns ``(key, estimate)``: the key to give to ``admission.release_solve``
        and the cost model's :class:`~qopt.service.cost.Estimate` (the executor's resource
        requests).

        Raises:
            LimitExceeded: over a limit (named; the message states the estimate).
        """
        admission = self.jobs.admission
        budget = self._budget(context)
        est = validation.request_estimate(request, parameters, decoded=decoded, time_budget=budget)
        admission.check_request(est)
        key = f"solve:{secrets.token_hex(8)}"
        admission.charge(principal, key, est, budget)
        try:
            wait = min(self.config.max_solve_wait, 0.25 * self._remaining(context))
            admission.acquire_solve(principal, key, est.memory_bytes, timeout=wait)
        except BaseException:
            admission.release(key)
            raise
        return key, est

    # -- Solve -------------------------------------------------------------------------
    def Solve(self, request: pb.SolveRequest, context):
        t0 = time.perf_counter()
        principal = _principal(context)
        if hasattr(context, "request_id"):
            context.request_id = request.request_id
        key = (principal, request.request_id)
        owned = False
        try:
            validation.check_identifiers(request, self.config)  # bounded, before the request_id is used
            if request.request_id:
                digest = request_hash(request)
                while True:
                    stored = self.store.get_solve(principal, request.request_id)
                    if stored is not None:
                        if stored[0] != digest:
                            raise errors.ServiceError(
                                grpc.StatusCode.ALREADY_EXISTS,
                                f"request_id {request.request_id!r} was already used for a different Solve request; "
                                f"use a new request_id for new work")
                        response = pb.SolveResponse()
                        response.ParseFromString(stored[1])
                        return response
                    wait = self._inflight.claim(key)
                    if wait is None:
                        owned = True
                        break
                    budget = self._budget(context)
                    if not wait.wait(timeout=max(budget, 0.0)):
                        raise errors.ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED,
                                                  "deadline passed waiting for the earlier call with this request_id")
                    if self.store.get_solve(principal, request.request_id) is None:
                        # the first call failed: this one solves (loop claims the key)
                        continue
            if request.request_id:
                done = self._pending_result(principal, request, context)
                if done is not None:
                    return done
            decoded, parameters = validation.check_request(request, self.config)
            budget = self._budget(context)
            if budget <= self.config.min_solve_seconds:
                raise self._pending(principal, request, f"the deadline leaves {max(budget, 0.0):.3g} s for solving, "
                                                        f"too short to start")
            if self._stopping.is_set():
                raise errors.ServiceError(grpc.StatusCode.UNAVAILABLE, "the server is shutting down; retry later")
            slot, est = self._admit_solve(principal, request, decoded, parameters, context)
            late: NoResultInTime | None = None
            cancel = self._solve_cancel(context)
            try:
                t_validate = time.perf_counter() - t0
                result = self._solve_with_retries(request, decoded, parameters, context, cancel, est)
            except NoResultInTime as exc:
                late = exc
            except Cancelled:
                if self._stopping.is_set():
                    raise errors.ServiceError(grpc.StatusCode.UNAVAILABLE,
                                              "the server is shutting down: the Solve was stopped; retry") from None
                raise
            finally:
                self._release_cancel(cancel)
                self.jobs.admission.release_solve(principal, slot)
            if late is not None:  # the slot and its charge are free before the work continues as a job
                raise self._pending(principal, request, f"no result before the deadline ({late})",
                                    late.fallback_chain) from None
            if not result.candidates:
                raise self._pending(principal, request, "the deadline passed before any candidate was found")
            response = finish_response(result, request, decoded, extra_timing={"request_decode": t_validate})
            self.metrics.observe_result(dict(result.timing), result.provenance)
            if request.request_id:
                self.store.put_solve(principal, request.request_id, digest, response.SerializeToString())
            return response
        except Exception as exc:  # noqa: BLE001 - every failure gets a status
            self._fail(context, exc, "Solve")
        finally:
            if owned:
                self._inflight.release(key)

    # -- last fallback tier: a pending job -----------------------------------------------
    def _pending_request(self, request: pb.SolveRequest) -> pb.SubmitJobRequest:
        """The job a timed-out Solve continues as (deterministic, so a retry finds it)."""
        job = pb.SubmitJobRequest(problem=request.problem, backend=request.backend,
                                  request_id=f"{PENDING_PREFIX}{request.request_id}" if request.request_id else "",
                                  max_candidates=request.max_candidates,
                                  time_budget=self.config.pending_job_time_budget)
        job.parameters.CopyFrom(request.parameters)
        return job

    def _pending(self, principal: str, request: pb.SolveRequest, why: str, chain=None, *,
                 validated: bool = True) -> Exception:
        """Submit ``request`` as a job and return the :class:`errors.PendingJob` to raise; a
        plain DEADLINE_EXCEEDED ServiceError when pending jobs are off or the job is refused."""
        if not self.config.pending_jobs:
            return errors.ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED, why)
        try:
            rec, created = self.jobs.submit(principal, self._pending_request(request), validated=validated)
        except Exception as exc:  # noqa: BLE001 - the deadline is the answer; say why no job
            log.warning("could not queue the timed-out Solve as a job: %s", exc,
                        extra={"request_id": request.request_id, "method": "Solve"})
            return errors.ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED,
                                       f"{why}; it could not continue as a job: {exc}")
        self.metrics.fallbacks.inc()
        log.info("Solve continues as a pending job", extra={"request_id": request.request_id, "method": "Solve",
                                                            "job_id": rec.job_id})
        return errors.PendingJob(rec.job_id, f"{why}; the request continues as job {rec.job_id} "
                                             f"({'queued' if created else 'already submitted'}): follow it with "
                                             f"WatchJob or client.job({rec.job_id!r}).wait()", chain)

    def _pending_result(self, principal: str, request: pb.SolveRequest, context):
        """For a retried Solve whose earlier call became a pending job: the job's response
        once it has SUCCEEDED (waiting for it within the deadline); None when there is no
        such job or it failed (the call then solves anew). Raises PendingJob when the job
        is still running at the deadline."""
        rec = self.store.job_by_request_id(principal, f"{PENDING_PREFIX}{request.request_id}")
        if rec is None or rec.request_hash != request_hash(self._pending_request(request)):
            return None
        poll = 0.02
        while rec is not None and rec.state not in TERMINAL:
            budget = self._budget(context)
            if budget <= poll:
                raise errors.PendingJob(rec.job_id, f"job {rec.job_id}, which this request_id continues as, is "
                                                    f"still running; follow it with WatchJob or "
                                                    f"client.job({rec.job_id!r}).wait()")
            time.sleep(poll)
            poll = min(2 * poll, 0.5)
            rec = self.store.get_job(rec.job_id, with_result=False)
        if rec is None or rec.state != SUCCEEDED:
            return None
        full = self.store.get_job(rec.job_id)
        if full is None:  # purged meanwhile: as when there is no such job
            return None
        response = pb.SolveResponse()
        response.ParseFromString(full.result)
        response.request_id = request.request_id
        return response

    def _solve_with_retries(self, request, decoded, parameters, context, cancel, estimate):
        """Run the Solve on the job manager's executor (:attr:`JobManager.executor`: this
        thread by default, a Ray task under ``--executor ray``), the same pipeline call as
        in-process, so the same request and seed give the same answer on either. ``cancel``
        is set when the call ends (client gone, deadline passed) or the server stops: the
        executor then stops the run (on Ray, it cancels the task). A transient failure (a lost
        Ray worker) is run again within ``max_attempts`` while the deadline allows."""
        retry = 0
        while True:
            budget = self._budget(context)
            try:
                call = solve_call(request, decoded, parameters, own_sense=self.solve_fn is None,
                                  time_budget=pipeline_budget(budget, self._has_deadline(context)))
                return self.jobs.executor.run(call, cancel=cancel, estimate=estimate)
            except Exception as exc:
                retry += 1
                if not errors.is_transient(exc) or retry >= self.config.max_attempts or \
                        (cancel is not None and cancel.is_set()):
                    raise
                delay = backoff_delay(retry, self.config.retry_base_delay, self.config.retry_max_delay)
                budget = self._budget(context)
                if budget - delay <= 0:
                    raise
                self.metrics.retries.labels("solve").inc()
                log.warning("Solve attempt %d failed transiently (%s); retrying in %.2f s", retry, exc, delay,
                            extra={"request_id": request.request_id, "method": "Solve"})
                if cancel is not None and cancel.wait(delay):
                    raise Cancelled("the call ended while waiting to retry") from exc

    # -- jobs --------------------------------------------------------------------------
    def SubmitJob(self, request: pb.SubmitJobRequest, context):
        if hasattr(context, "request_id"):
            context.request_id = request.request_id
        try:
            rec, created = self.jobs.submit(_principal(context), request)
            if hasattr(context, "job_id"):
                context.job_id = rec.job_id
            return pb.SubmitJobResponse(job=job_to_proto(rec, with_result=False), existing=not created)
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc, "SubmitJob")

    def GetJob(self, request: pb.GetJobRequest, context):
        if hasattr(context, "job_id"):
            context.job_id = request.job_id
        try:
            return pb.GetJobResponse(job=job_to_proto(self.jobs.get(_principal(context), request.job_id)))
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc, "GetJob")

    def ListJobs(self, request: pb.ListJobsRequest, context):
        try:
            size = request.page_size or 50
            size = min(size, 1000)
            principal = _principal(context)
            if request.state not in pb.JobState.values():
                raise convert.InvalidRequest([convert.FieldError("state", f"unknown job state {request.state}")])
            before = None
            if request.page_token:
                validation.check_identifier("page_token", request.page_token, "max_page_token_length", self.config)
                after_job = self._page_tokens.decode(request.page_token, principal, request.state)
                if after_job is None:
                    raise convert.InvalidRequest([convert.FieldError(
                        "page_token", "not a page token this server issued for this caller and state filter (tokens "
                                      "are opaque and do not survive a restart): list again without one")])
                before = self.store.job_seq(after_job, principal)
                if before is None:
                    raise convert.InvalidRequest([convert.FieldError(
                        "page_token", "the job this page continues after no longer exists (retention); list again "
                                      "without a page_token")])
            recs = self.store.list_jobs(principal, state=request.state, before_seq=before, limit=size + 1)
            resp = pb.ListJobsResponse(jobs=[job_to_proto(r, with_result=False) for r in recs[:size]])
            if len(recs) > size:
                resp.next_page_token = self._page_tokens.encode(principal, request.state, recs[size - 1].job_id)
            return resp
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc, "ListJobs")

    def CancelJob(self, request: pb.CancelJobRequest, context):
        if hasattr(context, "job_id"):
            context.job_id = request.job_id
        try:
            return pb.CancelJobResponse(job=job_to_proto(self.jobs.cancel(_principal(context), request.job_id),
                                                         with_result=False))
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc, "CancelJob")

    def WatchJob(self, request: pb.WatchJobRequest, context):
        if hasattr(context, "job_id"):
            context.job_id = request.job_id
        with self._solving_lock:
            full = self._watching >= self.config.max_watch_streams
            if not full:
                self._watching += 1
        if full:
            self._fail(context, LimitExceeded("max_watch_streams", f"{self._watching} WatchJob streams are open "
                                                                   f"(limit {self.config.max_watch_streams}); poll "
                                                                   f"GetJob instead"), "WatchJob")
            return
        try:
            try:
                events = self.jobs.watch(_principal(context), request.job_id, is_active=context.is_active)
                first = next(events)
            except Exception as exc:  # noqa: BLE001
                self._fail(context, exc, "WatchJob")
                return
            yield first
            yield from events
        finally:
            with self._solving_lock:
                self._watching -= 1

    def GetJobResult(self, request: pb.GetJobResultRequest, context):
        if hasattr(context, "job_id"):
            context.job_id = request.job_id
        try:
            rec = self.jobs.get(_principal(context), request.job_id)
            if rec.state == SUCCEEDED:
                response = pb.SolveResponse()
                response.ParseFromString(rec.result)
                return response
            if rec.state == FAILED and rec.error:
                status = status_pb2.Status()
                status.ParseFromString(rec.error)
                context.abort_with_status(rpc_status.to_status(status))
            raise errors.ServiceError(grpc.StatusCode.FAILED_PRECONDITION,
                                      f"job {rec.job_id} has no result: it is {pb.JobState.Name(rec.state)}")
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc, "GetJobResult")

    # -- dry run -----------------------------------------------------------------------
    def ValidateProblem(self, request: pb.ValidateProblemRequest, context):
        try:
            report = validation.inspect_problem(request, self.config)
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc, "ValidateProblem")
            return
        return convert.validate_response_from_report(report)

    # -- backends ----------------------------------------------------------------------
    def ListBackends(self, request: pb.ListBackendsRequest, context):
        try:
            return convert.list_backends_response(list_backends(available_only=request.available_only), self.config)
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc, "ListBackends")

    # -- SolveBatch -----------------------------------------------------------------------
    def SolveBatch(self, request: pb.SolveBatchRequest, context):
        """Stream one ``SolveBatchResponse`` per problem as it finishes (completion order).

        Each problem is checked like a ``Solve`` (an invalid one answers with its own error at
        once) and admitted by cost like one (its CPU-seconds against the principal, a solve
        slot and its memory) while it runs; at most ``max_batch_parallel`` run at once, on the
        server's executor (:attr:`JobManager.executor`: threads, or Ray tasks). A problem lost
        with its Ray worker runs again within ``max_attempts``. The call's deadline is every
        problem's time budget; the client leaving cancels the problems still running."""
        principal = _principal(context)
        try:
            validation.check_identifier("request_id", request.request_id, "max_request_id_length", self.config)
            if not request.problems:
                raise convert.FieldError("problems", "must hold at least one problem")
            if len(request.problems) > self.config.max_batch_size:
                raise LimitExceeded("max_batch_size", f"the batch has {len(request.problems)} problems; at most "
                                                      f"{self.config.max_batch_size} are accepted in one SolveBatch")
            if self._stopping.is_set():
                raise errors.ServiceError(grpc.StatusCode.UNAVAILABLE, "the server is shutting down; retry later")
        except Exception as exc:  # noqa: BLE001 - every failure gets a status
            self._fail(context, exc, "SolveBatch")
        cancel = self._solve_cancel(context)
        try:
            yield from self._batch_responses(principal, request, context, cancel)
        finally:
            cancel.set()
            self._release_cancel(cancel)

    def _batch_responses(self, principal: str, request: pb.SolveBatchRequest, context, cancel):
        """The responses of :meth:`SolveBatch`: invalid problems first, then the others as they finish."""
        items = list(request.problems)
        checked: dict[int, tuple] = {}
        for index, item in enumerate(items):
            try:
                validation.check_identifiers(item, self.config)
                checked[index] = validation.check_request(item, self.config)
            except Exception as exc:  # noqa: BLE001 - the item's own error
                yield self._batch_error(index, exc, 1)
        order = sorted(checked)
        calls = [SolveCall(index, "", {}) for index in order]  # the problem travels as its index
        admitted = _AdmittedRun(self, principal, request, items, checked, context)
        for item in run_batch(admitted, calls, max_parallel=self.config.max_batch_parallel,
                              max_attempts=self.config.max_attempts, cancel=cancel):
            index = order[item.index]
            if item.error is not None:
                yield self._batch_error(index, item.error, item.attempts)
                continue
            assert item.result is not None, "an item without an error has a result"
            response = finish_response(item.result, items[index], checked[index][0])
            self.metrics.observe_result(dict(item.result.timing), item.result.provenance)
            yield pb.SolveBatchResponse(index=index, response=response, attempts=item.attempts)

    def _batch_error(self, index: int, exc: BaseException, attempts: int) -> pb.SolveBatchResponse:
        status = errors.status_proto_for_exception(exc)
        if status is None:
            status = errors.internal_status(exc, "SolveBatch", log, {"index": index})
        return pb.SolveBatchResponse(index=index, error=status, attempts=attempts)

    def close(self) -> None:
        self.shutdown()
        self.jobs.stop()


class _AdmittedRun:
    """The executor :meth:`SolverServicer.SolveBatch` hands to :func:`run_batch`: each run is
    admitted by cost (:meth:`SolverServicer._admit_solve`), runs on the job manager's executor
    and releases its slot. A :class:`SolveCall`'s ``problem`` is the item's index."""

    name = "admitted"

    def __init__(self, servicer: "SolverServicer", principal: str, request, items, checked, context):
        self.servicer = servicer
        self.principal = principal
        self.items = items
        self.checked = checked
        self.context = context

    def run(self, call: SolveCall, *, cancel=None, on_progress=None, estimate=None):
        servicer = self.servicer
        index = int(call.problem)  # type: ignore[call-overload]
        item = self.items[index]
        decoded, parameters = self.checked[index]
        slot, est = servicer._admit_solve(self.principal, item, decoded, parameters, self.context)
        try:
            budget = servicer._budget(self.context)
            real = solve_call(item, decoded, parameters, own_sense=servicer.solve_fn is None,
                              time_budget=pipeline_budget(budget, servicer._has_deadline(self.context)))
            return servicer.jobs.executor.run(real, cancel=cancel, estimate=est)
        finally:
            servicer.jobs.admission.release_solve(self.principal, slot)

    def close(self) -> None:
        return None
