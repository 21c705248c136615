"""Asynchronous jobs: a bounded worker pool over the durable :class:`JobStore`.

Life of a job::

    SubmitJob -> validate -> limits (queue length, per-principal) -> persist QUEUED -> return
    worker: QUEUED -> RUNNING (attempt + 1) -> qopt.solve(..., on_progress, cancel)
            -> SUCCEEDED (result stored) | FAILED (error stored) | CANCELLED
    transient failure (ConnectionError, TimeoutError, TransientError): back to QUEUED after
            an exponential backoff, until max_attempts starts; then FAILED (UNAVAILABLE)
    server restart: QUEUED jobs run again; RUNNING jobs go back to QUEUED (or FAILED once
            started max_attempts times)

Watchers (``WatchJob``) get every state change and each new best candidate reported by
the pipeline's ``on_progress`` events; their streams end when the manager stops.

A job whose stored request cannot be parsed ends FAILED (``DATA_LOSS``, the reason in the
message) instead of staying RUNNING.
"""
from __future__ import annotations

import hashlib
import logging
import queue
import secrets
import threading
import time
from collections import defaultdict
from typing import Callable, cast

import dimod
import grpc
from google.protobuf import message as pb_message
from google.protobuf import timestamp_pb2
from google.rpc import code_pb2, status_pb2

from qopt.errors import Cancelled
from qopt.service import convert, errors, validation
from qopt.service.admission import Admission, FairQueue
from qopt.service.cost import Estimate
from qopt.service.executor import Executor, InProcessExecutor, SolveCall
from qopt.service.limits import LimitExceeded, ServiceConfig
from qopt.service.observe import Metrics
from qopt.service.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL, JobRecord, JobStore
from qopt.solve import DEFAULT_MAX_CANDIDATES
from qopt.solve.stages import DEFAULT_BUDGET_MAX
from qopt.v1 import solver_service_pb2 as pb

__all__ = ["JobManager", "request_hash", "job_to_proto", "solve_call", "backoff_delay", "pipeline_budget"]

log = logging.getLogger("qopt.service.jobs")


def request_hash(request) -> str:
    """SHA-256 of a request's deterministic serialization, request_id excluded: two
    requests hash the same exactly when they ask for the same work."""
    copy = type(request)()
    copy.CopyFrom(request)
    copy.request_id = ""
    return hashlib.sha256(type(request).__name__.encode() + b"\0" +
                          copy.SerializeToString(deterministic=True)).hexdigest()


def backoff_delay(retry: int, base: float, cap: float) -> float:
    """Seconds to wait before retry number ``retry`` (1, 2, ...): ``base * 2**(retry-1)``
    capped at ``cap``, with up to 25% random jitter added."""
    delay = min(cap, base * (2 ** max(retry - 1, 0)))
    return delay * (1.0 + 0.25 * secrets.randbelow(1000) / 1000)


def _ts(seconds: float | None):
    if seconds is None:
        return None
    t = timestamp_pb2.Timestamp()
    t.FromNanoseconds(int(round(seconds * 1e9)))
    return t


def _job_state(state: int) -> pb.JobState:
    """The store's integer state as the ``qopt.v1.JobState`` it is (the store keeps the enum's numbers)."""
    return cast("pb.JobState", state)


def job_to_proto(rec: JobRecord, *, with_result: bool = True) -> pb.Job:
    """The ``qopt.v1.Job`` for a store record (result body only when ``with_result``)."""
    job = pb.Job(job_id=rec.job_id, state=_job_state(rec.state), attempt=rec.attempt, request_id=rec.request_id,
                 backend=rec.backend, cancel_requested=rec.cancel_requested, problem_name=rec.problem_name)
    for name in ("create_time", "start_time", "end_time", "update_time"):
        ts = _ts(getattr(rec, name))
        if ts is not None:
            getattr(job, name).CopyFrom(ts)
    if with_result and rec.result is not None and rec.state == SUCCEEDED:
        job.result.ParseFromString(rec.result)
    if rec.error is not None:
        job.error.ParseFromString(rec.error)
    return job


def solve_call(request, decoded: validation.DecodedProblem, parameters: dict, *, time_budget: float | None = None,
               own_sense: bool = True) -> SolveCall:
    """The pipeline call for a validated request (plain data an executor can ship).
    ``own_sense``: a maximisation is passed as a ``Problem(model, "max")`` so the pipeline
    reports objectives in the model's own sense (False: the decoded model as it is, for an
    injected ``solve_fn``)."""
    model: object = decoded.model
    if own_sense and (decoded.objective_sign < 0 or decoded.structure is not None):
        # a maximisation, negated into minimisation form by the decoder: let the pipeline
        # report objectives (and its messages) in the model's own sense; a declared structure
        # goes with the model, as in-process
        from qopt.model import Problem

        assert isinstance(decoded.model, dimod.ConstrainedQuadraticModel), "only a CQM or LP is a maximisation"
        model = Problem(decoded.model, "max" if decoded.objective_sign < 0 else "min", structure=decoded.structure)
    return SolveCall(model, request.backend or "auto",
                     {"max_candidates": request.max_candidates or DEFAULT_MAX_CANDIDATES,
                      "time_budget": time_budget, **parameters})


def pipeline_budget(budget: float, caller_set: bool) -> float | None:
    """The ``time_budget`` the pipeline gets: the caller's ``budget`` (seconds) when the caller
    set one. When the caller set none, ``None`` (as for an in-process call without a deadline:
    the pipeline applies its own default budget for the model's size, at most
    :data:`qopt.solve.stages.DEFAULT_BUDGET_MAX`, and routes and plans exactly as ``qopt.solve``
    does, so the same request and seed give the same answer here and in-process), unless the
    server's ``budget`` (``max_time_budget``) is below that default's maximum: then ``budget``,
    so the run is planned to end before the job is stopped at it (:class:`JobManager`).
    Every backend is treated alike."""
    if caller_set or budget < DEFAULT_BUDGET_MAX:
        return budget
    return None


def finish_response(result, request, decoded: validation.DecodedProblem, *, extra_timing: dict | None = None):
    """The SolveResponse for a pipeline result, with service provenance added."""
    if extra_timing:
        result.timing.update(extra_timing)
    result.provenance["request_id"] = request.request_id
    if request.problem.name:
        result.provenance["problem_name"] = request.problem.name
    result.provenance.setdefault("versions", {})["grpcio"] = grpc.__version__
    if decoded.kind != "bqm":
        result.provenance["model_kind"] = decoded.kind
        if decoded.objective_sign < 0:
            result.provenance["objective_sense"] = "maximize"
    reported_in_own_sense = result.provenance.get("model", {}).get("sense") == "max"
    return convert.response_from_result(result, send_labels=decoded.send_labels, request_id=request.request_id,
                                        objective_sign=1 if reported_in_own_sense else decoded.objective_sign)


class _Watchers:
    """Per-job subscriber queues for WatchJob."""

    def __init__(self):
        self._lock = threading.Lock()
        self._subs: dict[str, list[queue.SimpleQueue]] = defaultdict(list)
        self._listeners: list[Callable[[str, pb.JobEvent], None]] = []

    def add_listener(self, fn: Callable[[str, pb.JobEvent], None]) -> None:
        with self._lock:
            self._listeners.append(fn)

    def subscribe(self, job_id: str) -> queue.SimpleQueue:
        q: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            self._subs[job_id].append(q)
        return q

    def unsubscribe(self, job_id: str, q) -> None:
        with self._lock:
            subs = self._subs.get(job_id)
            if subs and q in subs:
                subs.remove(q)
                if not subs:
                    del self._subs[job_id]

    def publish(self, job_id: str, event: pb.JobEvent) -> None:
        with self._lock:
            subs = list(self._subs.get(job_id, ()))
            listeners = list(self._listeners)
        for q in subs:
            q.put(event)
        for fn in listeners:
            try:
                fn(job_id, event)
            except Exception:  # a listener's bug must not stop the job (logged)
                log.exception("job event listener failed", extra={"job_id": job_id})

    def close_all(self) -> None:
        """Wake every subscriber with ``None`` (the end of its stream)."""
        with self._lock:
            subs = [q for qs in self._subs.values() for q in qs]
        for q in subs:
            q.put(None)


class JobManager:
    """Runs jobs on ``config.job_workers`` threads; every change goes through ``store``.

    Args:
        store: the durable job store.
        config: limits, attempts, backoff and retention.
        metrics: where transitions, retries and stage timings are counted.
        solve_fn: the solving function (default :func:`qopt.solve.solve`; tests inject
            failing ones).
        executor: where each job's solve runs (default: in-process, on the worker thread;
            :class:`qopt.service.executor_ray.RayExecutor` runs it as a Ray task). The store
            stays the source of truth either way: a lost Ray task is a transient failure,
            retried within ``max_attempts``.
    """

    def __init__(self, store: JobStore, config: ServiceConfig, metrics: Metrics, *, solve_fn=None,
                 executor: Executor | None = None):
        self.store = store
        self.config = config
        self.metrics = metrics
        self.solve_fn = solve_fn
        self.executor: Executor = executor or InProcessExecutor(solve_fn)
        self._queue = FairQueue()  # principals served round-robin
        self.admission = Admission(config)  # cost ledger shared with the servicer's Solve calls
        self._costs: dict[str, Estimate] = {}  # job_id -> estimate, QUEUED and RUNNING jobs
        self._overran: set[str] = set()  # jobs stopped for running past their time budget
        self._queued = 0  # jobs QUEUED (in the queue or waiting out a backoff)
        self._count_lock = threading.Lock()
        self._submit_lock = threading.Lock()
        self._cancel: dict[str, threading.Event] = {}
        self._watchers = _Watchers()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._timers: set[threading.Timer] = set()
        metrics.queue_length.set_function(lambda: self._queued)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "JobManager":
        """Recover the store (re-queue interrupted jobs), clean up, start the workers."""
        fail = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=(
            f"the server stopped while the job was running, {self.config.max_attempts} times "
            f"(max_attempts); not retried again"))
        requeued, failed = self.store.recover(self.config.max_attempts, fail.SerializeToString())
        if requeued or failed:
            log.warning("recovered job store: %d interrupted jobs re-queued, %d failed or cancelled",
                        requeued, failed)
        self.cleanup()
        for job_id in self.store.queued_job_ids():
            self._recover_cost_and_enqueue(job_id)
        for i in range(self.config.job_workers):
            t = threading.Thread(target=self._worker, name=f"qopt-job-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._cleaner, name="qopt-job-cleanup", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def begin_stop(self) -> None:
        """Start stopping without waiting: running jobs are interrupted (their cancel events
        set; they go back to QUEUED), retry timers cancelled, and every WatchJob stream ends."""
        self._stop.set()
        for timer in list(self._timers):
            timer.cancel()
        for ev in list(self._cancel.values()):
            ev.set()
        self._watchers.close_all()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the workers: running jobs are interrupted (their cancel events set) and
        put back to QUEUED, so the next start runs them again (attempt counts the starts).
        A job whose sampler cannot be interrupted within ``timeout`` stays RUNNING and is
        recovered like after a crash."""
        first = not self._stop.is_set()
        self.begin_stop()
        if not first and not any(t.is_alive() for t in self._threads):
            return
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def cleanup(self) -> int:
        n = self.store.cleanup(self.config.retention_days * 86400.0)
        if n:
            log.info("retention: deleted %d finished jobs and stored results older than %g days", n,
                     self.config.retention_days)
        return n

    def _cleaner(self) -> None:
        while not self._stop.wait(self.config.cleanup_interval):
            try:
                self.cleanup()
            except Exception:
                log.exception("retention cleanup failed")

    def _enqueue(self, job_id: str, principal: str = "") -> None:
        with self._count_lock:
            self._queued += 1
        self._queue.put(job_id, principal)

    def _recover_cost_and_enqueue(self, job_id: str) -> None:
        """Charge a job found QUEUED at start (estimated from its declared sizes) and queue it."""
        rec = self.store.get_job(job_id, with_result=False)
        if rec is None:
            return
        try:
            request = pb.SubmitJobRequest()
            request.ParseFromString(rec.request)
            est = validation.request_estimate(request, convert.parameters_from_struct(request.parameters))
            self._costs[job_id] = est
            self.admission.charge(rec.principal, job_id, est, validation.time_budget_of(request, self.config),
                                  force=True)
        except Exception:  # noqa: BLE001 - an unreadable request fails when it runs, with the reason
            log.warning("could not estimate the cost of queued job %s", job_id, extra={"job_id": job_id})
        self._enqueue(job_id, rec.principal)

    # -- API ---------------------------------------------------------------------------
    def submit(self, principal: str, request: pb.SubmitJobRequest, *,
               validated: bool = False) -> tuple[JobRecord, bool]:
        """Validate and persist a job. Returns ``(record, created)``. ``validated=True``
        skips the request check (the caller has just made it: a timed-out Solve turned into
        a pending job must be answered before the client's deadline).

        Raises:
            InvalidRequest, LimitExceeded: as :func:`validation.check_request`, and
                LimitExceeded for a full queue or a principal at its concurrent-job limit.
            ServiceError(ALREADY_EXISTS): the request_id was used for a different request.
        """
        if not validated:
            validation.check_identifiers(request, self.config)  # bounded, before the request_id is used
        digest = request_hash(request)
        if request.request_id:
            existing = self.store.job_by_request_id(principal, request.request_id)
            if existing is not None:
                return self._same_or_conflict(existing, digest, request.request_id), False
        if not validated:
            decoded, parameters = validation.check_request(request, self.config)
            est = validation.request_estimate(request, parameters, decoded=decoded,
                                              time_budget=validation.time_budget_of(request, self.config))
        else:  # from declared sizes (the caller decoded it for its own call)
            est = validation.request_estimate(request, convert.parameters_from_struct(request.parameters),
                                              time_budget=validation.time_budget_of(request, self.config))
        self.admission.check_request(est)
        job_id = secrets.token_hex(16)
        with self._submit_lock:  # limits and insert as one step
            if self._queued >= self.config.max_queue_length:
                raise LimitExceeded("max_queue_length", f"the job queue is full ({self.config.max_queue_length} "
                                                        f"jobs waiting); retry later")
            active = self.store.count_active(principal)
            if active >= self.config.max_jobs_per_principal:
                raise LimitExceeded("max_jobs_per_principal", f"{principal!r} already has {active} queued or running "
                                                              f"jobs (limit {self.config.max_jobs_per_principal})")
            self.admission.charge(principal, job_id, est,  # max_principal_cpu_seconds
                                  validation.time_budget_of(request, self.config))
            try:
                rec, created = self.store.insert_job(
                    job_id=job_id, principal=principal, request_id=request.request_id, request_hash=digest,
                    request=request.SerializeToString(), backend=request.backend or "auto",
                    problem_name=request.problem.name)
            except BaseException:
                self.admission.release(job_id)
                raise
            if created:
                self._costs[job_id] = est
            else:
                self.admission.release(job_id)
        if not created:
            return self._same_or_conflict(rec, digest, request.request_id), False
        self.metrics.transition(QUEUED)
        self._enqueue(rec.job_id, principal)
        log.info("job accepted", extra={"job_id": rec.job_id, "request_id": request.request_id,
                                        "principal": principal, "state": "QUEUED"})
        return rec, True

    @staticmethod
    def _same_or_conflict(rec: JobRecord, digest: str, request_id: str) -> JobRecord:
        if rec.request_hash != digest:
            raise errors.ServiceError(
                grpc.StatusCode.ALREADY_EXISTS,
                f"request_id {request_id!r} was already used for a different request (job {rec.job_id}); "
                f"use a new request_id for new work")
        return rec

    def get(self, principal: str, job_id: str, *, with_result: bool = True) -> JobRecord:
        """Raises ServiceError(NOT_FOUND) for an unknown job or another principal's, and
        InvalidRequest (``job_id``) for an id longer than ``max_job_id_length``."""
        validation.check_identifier("job_id", job_id, "max_job_id_length", self.config)
        rec = self.store.get_job(job_id, principal=principal, with_result=with_result) if job_id else None
        if rec is None:
            raise errors.ServiceError(grpc.StatusCode.NOT_FOUND, f"job {job_id!r} not found")
        return rec

    def _existing(self, job_id: str, *, with_result: bool = True) -> JobRecord:
        """The record of a job known to exist (it was read or run a moment ago, and only
        finished jobs are purged); raises ServiceError(NOT_FOUND) should it be gone."""
        rec = self.store.get_job(job_id, with_result=with_result)
        if rec is None:
            raise errors.ServiceError(grpc.StatusCode.NOT_FOUND, f"job {job_id!r} not found")
        return rec

    def cancel(self, principal: str, job_id: str) -> JobRecord:
        """Cancel a QUEUED job at once, or ask a RUNNING one to stop.

        Raises:
            ServiceError: NOT_FOUND (unknown job), FAILED_PRECONDITION (already finished).
        """
        rec = self.get(principal, job_id, with_result=False)
        if rec.state in TERMINAL:
            raise errors.ServiceError(grpc.StatusCode.FAILED_PRECONDITION,
                                      f"job {job_id} has already finished ({pb.JobState.Name(rec.state)})")
        if self.store.finish(job_id, CANCELLED, from_states=(QUEUED,)):
            self._transitioned(job_id, CANCELLED)
        else:
            self.store.request_cancel(job_id)
            ev = self._cancel.get(job_id)
            if ev is not None:
                ev.set()
            rec = self._existing(job_id, with_result=False)
            if rec.state == QUEUED:  # between a transient failure and its retry
                if self.store.finish(job_id, CANCELLED, from_states=(QUEUED,)):
                    self._transitioned(job_id, CANCELLED)
        log.info("job cancel requested", extra={"job_id": job_id, "principal": principal})
        return self._existing(job_id, with_result=False)

    def watch(self, principal: str, job_id: str, is_active=lambda: True, poll: float = 1.0):
        """Yield ``JobEvent``: a snapshot, then state changes and best-candidate events,
        ending after a terminal state, when ``is_active()`` turns false, or when the manager
        stops (never raising on a store closed by the stop)."""
        rec = self.get(principal, job_id, with_result=False)
        q = self._watchers.subscribe(job_id)
        try:
            now = _ts(time.time())
            final = rec.state in TERMINAL
            rec_full = self._existing(job_id) if final else rec
            yield pb.JobEvent(kind=pb.JobEvent.KIND_SNAPSHOT, job=job_to_proto(rec_full, with_result=final), time=now)
            if final:
                return
            while is_active() and not self._stop.is_set():
                try:
                    event = q.get(timeout=poll)
                except queue.Empty:
                    try:
                        latest = self.store.get_job(job_id, with_result=False)  # missed nothing? re-check
                        full = self.store.get_job(job_id) if latest is not None and latest.state in TERMINAL \
                            else None
                    except Exception:
                        if self._stop.is_set():  # the store closed under a stopping server: end the stream
                            return
                        raise
                    if latest is None:
                        return
                    if latest.state in TERMINAL:
                        if full is None:  # purged meanwhile: ends the stream, as just above
                            return
                        yield pb.JobEvent(kind=pb.JobEvent.KIND_STATE, job=job_to_proto(full), time=_ts(time.time()))
                        return
                    continue
                if event is None:  # the manager is stopping
                    return
                yield event
                if event.kind == pb.JobEvent.KIND_STATE and event.job.state in TERMINAL:
                    return
        finally:
            self._watchers.unsubscribe(job_id, q)

    def add_listener(self, fn: Callable[[str, pb.JobEvent], None]) -> None:
        """Call ``fn(job_id, event)`` for every event published to watchers (state changes,
        best candidates, stages), of every job, on the thread that publishes it: ``fn`` must
        be quick and must not raise (an exception is logged and ignored)."""
        self._watchers.add_listener(fn)

    # -- workers -----------------------------------------------------------------------
    def _transitioned(self, job_id: str, state: int) -> None:
        self.metrics.transition(state)
        if state in TERMINAL:  # its work no longer counts against the principal
            self.admission.release(job_id)
            self._costs.pop(job_id, None)
        rec = self.store.get_job(job_id, with_result=state in TERMINAL)
        if rec is not None:
            self._watchers.publish(job_id, pb.JobEvent(kind=pb.JobEvent.KIND_STATE,
                                                       job=job_to_proto(rec, with_result=state in TERMINAL),
                                                       time=_ts(time.time())))

    def _worker(self) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._count_lock:
                self._queued -= 1
            if self._stop.is_set():
                return
            try:
                self._admit_and_run(job_id)
            except Exception:
                log.exception("job worker error", extra={"job_id": job_id})

    def _admit_and_run(self, job_id: str) -> None:
        """Run the job once its estimated memory fits ``max_memory_bytes`` beside the running
        requests (it stays QUEUED while it waits; a stop leaves it QUEUED)."""
        est = self._costs.get(job_id)
        need = est.memory_bytes if est is not None else 0
        if self.config.max_memory_bytes:  # a job recovered under a smaller limit runs alone
            need = min(need, self.config.max_memory_bytes)
        if not self.admission.acquire_memory(job_id, need, timeout=float("inf"), stop=self._stop):
            return
        try:
            self._run(job_id)
        finally:
            self.admission.release_memory(job_id)

    def _past_budget(self, job_id: str, cancel: threading.Event) -> None:
        """The job ran past its time budget (and a grace): stop it; it ends FAILED (DEADLINE_EXCEEDED)."""
        self._overran.add(job_id)
        cancel.set()

    def _run(self, job_id: str) -> None:
        rec = self.store.mark_running(job_id)
        if rec is None:  # cancelled (or finished) while queued
            return
        cancel = threading.Event()
        self._cancel[job_id] = cancel
        if rec.cancel_requested:
            cancel.set()
        self._transitioned(job_id, RUNNING)
        extra = {"job_id": job_id, "request_id": rec.request_id, "principal": rec.principal, "attempt": rec.attempt}
        log.info("job started", extra={**extra, "state": "RUNNING"})
        full = self._existing(job_id)
        request = pb.SubmitJobRequest()
        try:
            request.ParseFromString(full.request)
        except pb_message.DecodeError as exc:
            self._cancel.pop(job_id, None)
            self._fail_unreadable(job_id, exc, extra)
            return
        assert rec.start_time is not None, "mark_running sets start_time"
        queue_wait = rec.start_time - rec.create_time

        def on_progress(event: dict) -> None:
            kind = event.get("event")
            if kind == "best":
                ev = pb.JobEvent(kind=pb.JobEvent.KIND_BEST, best_energy=float(event.get("energy", 0.0)),
                                 source=str(event.get("source") or ""), branch=str(event.get("branch") or ""),
                                 backend=str(event.get("backend") or ""), time=_ts(time.time()))
            elif kind == "stage":
                ev = pb.JobEvent(kind=pb.JobEvent.KIND_STAGE, stage=str(event.get("stage", "")), time=_ts(time.time()))
            else:
                return
            ev.job.job_id = job_id
            ev.job.state = _job_state(RUNNING)
            self._watchers.publish(job_id, ev)

        budget = validation.time_budget_of(request, self.config)  # never unlimited: max_time_budget
        hard_stop = threading.Timer(budget * 1.25 + 1.0, self._past_budget, args=(job_id, cancel))
        hard_stop.daemon = True
        hard_stop.start()
        try:
            decoded, parameters = validation.check_request(request, self.config)
            call = solve_call(request, decoded, parameters, own_sense=self.solve_fn is None,
                              time_budget=pipeline_budget(budget, request.time_budget > 0))
            result = self.executor.run(call, cancel=cancel, on_progress=on_progress, estimate=self._costs.get(job_id))
            response = finish_response(result, request, decoded, extra_timing={"queue_wait": queue_wait})
            self.metrics.observe_result(dict(result.timing), result.provenance)
        except Cancelled:
            if self._stop.is_set() and not self._existing(job_id, with_result=False).cancel_requested:
                # a graceful stop is not the job's fault: back to QUEUED (so recovery does not count it
                # as a crash against max_attempts); it runs again at the next start
                self.store.requeue(job_id)
                log.info("job interrupted by shutdown; re-queued for the next start", extra=extra)
                return
            if job_id in self._overran:
                status = status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED, message=(
                    f"the job ran past its time budget of {budget:g} s (time_budget, or max_time_budget when 0) "
                    f"and was stopped"))
                if self.store.finish(job_id, FAILED, error=status.SerializeToString()):
                    self._transitioned(job_id, FAILED)
                log.info("job stopped at its time budget", extra={**extra, "state": "FAILED"})
                return
            if self.store.finish(job_id, CANCELLED):
                self._transitioned(job_id, CANCELLED)
            log.info("job cancelled", extra={**extra, "state": "CANCELLED"})
            return
        except Exception as exc:  # noqa: BLE001 - every failure ends in a state
            if errors.is_transient(exc) and rec.attempt < self.config.max_attempts and not cancel.is_set():
                delay = backoff_delay(rec.attempt, self.config.retry_base_delay, self.config.retry_max_delay)
                self.metrics.retries.labels("job").inc()
                log.warning("job attempt %d failed transiently (%s: %s); retrying in %.2f s", rec.attempt,
                            type(exc).__name__, exc, delay, extra=extra)
                if self.store.requeue(job_id):
                    self._transitioned(job_id, QUEUED)
                    with self._count_lock:
                        self._queued += 1
                    timer = threading.Timer(delay, self._retry_now, args=(job_id,))
                    timer.daemon = True
                    self._timers.add(timer)
                    timer.start()
                return
            status = errors.status_proto_for_exception(exc)
            if status is None:
                status = errors.internal_status(exc, "job", log, extra)
            if self.store.finish(job_id, FAILED, error=status.SerializeToString()):
                self._transitioned(job_id, FAILED)
            log.info("job failed: %s", status.message, extra={**extra, "state": "FAILED",
                                                              "code": code_pb2.Code.Name(status.code)})
            return
        finally:
            hard_stop.cancel()
            self._overran.discard(job_id)
            self._cancel.pop(job_id, None)
        if self.store.finish(job_id, SUCCEEDED, result=response.SerializeToString()):
            self._transitioned(job_id, SUCCEEDED)
            log.info("job succeeded", extra={**extra, "state": "SUCCEEDED"})
        elif cancel.is_set() and self.store.finish(job_id, CANCELLED):
            self._transitioned(job_id, CANCELLED)

    def _fail_unreadable(self, job_id: str, exc: Exception, extra: dict) -> None:
        """End a job whose stored request cannot be parsed: FAILED with ``DATA_LOSS`` and the reason."""
        status = status_pb2.Status(code=code_pb2.DATA_LOSS, message=(
            f"the stored request of job {job_id} cannot be read ({type(exc).__name__}: {exc})"[:500]
            + "; submit the job again"))
        if self.store.finish(job_id, FAILED, error=status.SerializeToString()):
            self._transitioned(job_id, FAILED)
        log.error("job failed: its stored request cannot be parsed: %s", exc,
                  extra={**extra, "state": "FAILED", "code": "DATA_LOSS"})

    def _retry_now(self, job_id: str) -> None:
        self._timers = {t for t in self._timers if t.is_alive()}
        if not self._stop.is_set():
            rec = self.store.get_job(job_id, with_result=False)
            self._queue.put(job_id, rec.principal if rec is not None else "")
