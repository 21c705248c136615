"""Python client for the qopt gRPC service.

Examples:
    >>> import dimod, qopt
    >>> with qopt.Client("127.0.0.1:50051") as client:          # doctest: +SKIP
    ...     result = client.solve(bqm, backend="sa", num_reads=100, seed=1, timeout=30)
    ...     print(result.best.energy, result.confidence["best_fraction"])

Jobs (asynchronous, durable on the server)::

    >>> job = client.submit(bqm, backend="sa", num_reads=100, request_id="run-42")  # doctest: +SKIP
    >>> for event in job.watch():                                                   # doctest: +SKIP
    ...     print(event.kind, event.state, event.best_energy)
    >>> result = job.result(timeout=600)                                            # doctest: +SKIP

With authentication and TLS::

    >>> client = qopt.Client("solver.example:443", token="...", root_certificates=open("ca.pem", "rb").read())
"""
from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Generator, Iterator
from typing import cast

import dimod
import grpc
from google.protobuf import struct_pb2
from grpc_status import rpc_status

from qopt.errors import ParameterError, QoptError, UnsupportedProblem
from qopt.provenance import jsonable
from qopt.results import Result
from qopt.service import convert
from qopt.service.executor_call import BatchItem, in_submission_order
from qopt.v1 import model_pb2, solver_service_pb2, solver_service_pb2_grpc

__all__ = ["Client", "SolveError", "JobHandle", "JobInfo", "JobEvent", "JobFailed"]

_TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


class SolveError(QoptError, RuntimeError):
    """The service refused or failed a call.

    Attributes:
        code: the :class:`grpc.StatusCode`.
        field: the request field named by the server (``INVALID_ARGUMENT``), or None.
        details: the server's message.
        fields: every request field named (``INVALID_ARGUMENT``).
        quota: the limit named by ``RESOURCE_EXHAUSTED``, or None.
        job_id: for ``DEADLINE_EXCEEDED`` from :meth:`Client.solve`: the job the request
            continues as on the server (the last fallback tier), or None. Follow it with
            ``client.job(err.job_id).wait()`` / ``.result()``.
        job: the same as a :class:`JobHandle` (set by :meth:`Client.solve`, which knows the
            model's labels, so ``err.job.result()`` keys samples by them), or None.
    """

    def __init__(self, code: grpc.StatusCode, details: str, field: str | None = None):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.field = field
        self.fields: list[str] = [field] if field else []
        self.quota: str | None = None
        self.job_id: str | None = None
        self.job: JobHandle | None = None

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> "SolveError":
        status = None
        try:
            status = rpc_status.from_call(err) if hasattr(err, "trailing_metadata") else None
        except ValueError:
            status = None
        out = cls.from_status(err.code(), err.details() or "", status)
        return out

    @classmethod
    def from_status(cls, code: grpc.StatusCode, details: str, status=None) -> "SolveError":
        """From a code, message and optional ``google.rpc.Status`` (whose details give
        ``.field`` / ``.fields`` for BadRequest and ``.quota`` for QuotaFailure)."""
        from google.rpc import error_details_pb2

        fields: list[str] = []
        quota: str | None = None
        job_id: str | None = None
        for detail in (status.details if status is not None else ()):
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                if info.reason == "PENDING_JOB" and info.metadata.get("job_id"):
                    job_id = info.metadata["job_id"]
            elif detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
                res = error_details_pb2.ResourceInfo()
                detail.Unpack(res)
                if res.resource_type == "qopt.v1.Job" and job_id is None:
                    job_id = res.resource_name or None
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                br = error_details_pb2.BadRequest()
                detail.Unpack(br)
                fields.extend(v.field for v in br.field_violations)
            elif detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
                qf = error_details_pb2.QuotaFailure()
                detail.Unpack(qf)
                if qf.violations:
                    quota = qf.violations[0].subject
        out = cls(code, details, fields[0] if fields else None)
        out.fields = fields
        out.quota = quota
        out.job_id = job_id
        return out


class JobFailed(SolveError):
    """A job ended FAILED (``.code``/``.field`` from its stored error) or CANCELLED."""


@dataclasses.dataclass
class JobEvent:
    """One event of :meth:`JobHandle.watch`.

    Attributes:
        kind: ``"snapshot"``, ``"state"``, ``"best"`` or ``"stage"``.
        job_id: the job.
        state: the job's state name (``QUEUED``, ``RUNNING``, ``SUCCEEDED``, ...).
        best_energy: for ``"best"``: the new best energy (BQM units); else None.
        stage: for ``"stage"``: the pipeline stage entered; else None.
        time: seconds since the epoch (UTC) of the event.
        job: the raw ``qopt.v1.Job`` message.
        source: for ``"best"``: the backend the job runs (``"hybrid"``, ``"sa"``, ...); else None.
        branch: for ``"best"``: the branch that made the improvement (``"quantum"`` or
            ``"classical"`` for the hybrid); None when the backend has no branches.
        backend: for ``"best"``: the backend inside that branch (``"qaoa"``, ``"exact"``,
            ``"sa"``); None when not reported.
    """

    kind: str
    job_id: str
    state: str
    best_energy: float | None
    stage: str | None
    time: float
    job: object
    source: str | None = None
    branch: str | None = None
    backend: str | None = None


def _state_name(value: int) -> str:
    return solver_service_pb2.JobState.Name(value).removeprefix("JOB_STATE_")


def _when(ts) -> datetime.datetime | None:
    """A protobuf Timestamp as an aware UTC datetime; None when unset."""
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=datetime.timezone.utc)


@dataclasses.dataclass(frozen=True)
class JobInfo:
    """A job as the server holds it now, in plain Python (what :meth:`JobHandle.get`,
    :meth:`JobHandle.wait`, :meth:`JobHandle.cancel` and :meth:`Client.list_jobs` return).

    Attributes:
        job_id: the server's id (32 hex characters).
        state: ``"QUEUED"``, ``"RUNNING"``, ``"SUCCEEDED"``, ``"FAILED"`` or ``"CANCELLED"``.
        backend: the backend requested (``"auto"`` when none was named); the backend that
            ran is in the result's ``provenance["backend"]``.
        problem_name: the request's problem name ("" when none).
        request_id: the client's idempotency key ("" when none).
        attempt: times a worker has started the job (retries and restarts included).
        cancel_requested: CancelJob was called while it ran (it stops at the next sweep boundary).
        create_time, start_time, end_time, update_time: UTC datetimes (None while unset).
        error_code: for a FAILED job, the gRPC status code name (``"INVALID_ARGUMENT"``, ...); else None.
        error_message: for a FAILED job, the reason; else None.
        has_result: whether the record holds the result (finished jobs from :meth:`JobHandle.get`;
            listings carry none).
        message: the ``qopt.v1.Job`` message itself.
    """

    job_id: str
    state: str
    backend: str
    problem_name: str
    request_id: str
    attempt: int
    cancel_requested: bool
    create_time: datetime.datetime | None
    start_time: datetime.datetime | None
    end_time: datetime.datetime | None
    update_time: datetime.datetime | None
    error_code: str | None
    error_message: str | None
    has_result: bool
    message: object = dataclasses.field(repr=False, compare=False)

    @classmethod
    def from_message(cls, job) -> "JobInfo":
        """The :class:`JobInfo` of a ``qopt.v1.Job`` message."""
        failed = job.HasField("error") and job.error.code != 0
        return cls(job_id=job.job_id, state=_state_name(job.state), backend=job.backend or "auto",
                   problem_name=job.problem_name, request_id=job.request_id, attempt=int(job.attempt),
                   cancel_requested=bool(job.cancel_requested), create_time=_when(job.create_time),
                   start_time=_when(job.start_time), end_time=_when(job.end_time), update_time=_when(job.update_time),
                   error_code=grpc.StatusCode(_code_tuple(job.error.code)).name if failed else None,
                   error_message=job.error.message if failed else None,
                   has_result=job.HasField("result") and len(job.result.candidates) > 0, message=job)

    @property
    def done(self) -> bool:
        """Whether the job has reached a terminal state."""
        return self.state in _TERMINAL

    @property
    def elapsed(self) -> float | None:
        """Seconds from start to end (to now while RUNNING); None before it starts."""
        if self.start_time is None:
            return None
        end = self.end_time or datetime.datetime.now(datetime.timezone.utc)
        return (end - self.start_time).total_seconds()


def _event(msg) -> JobEvent:
    kind = solver_service_pb2.JobEvent.Kind.Name(msg.kind).removeprefix("KIND_").lower()
    return JobEvent(kind=kind, job_id=msg.job.job_id, state=_state_name(msg.job.state),
                    best_energy=msg.best_energy if kind == "best" else None,
                    stage=msg.stage if kind == "stage" else None,
                    time=msg.time.ToNanoseconds() / 1e9, job=msg.job,
                    source=(msg.source or None) if kind == "best" else None,
                    branch=(msg.branch or None) if kind == "best" else None,
                    backend=(msg.backend or None) if kind == "best" else None)


def _problem(model, name: str = "") -> tuple[model_pb2.Problem, list]:
    """The Problem message for a BQM, CQM, qopt Problem, QuadraticProgram or LP text, and the
    model's variable labels (empty for LP text: the response names them)."""
    if isinstance(model, dimod.BinaryQuadraticModel):
        return model_pb2.Problem(bqm=convert.bqm_to_proto(model), name=name), list(model.variables)
    if isinstance(model, dimod.ConstrainedQuadraticModel):
        return model_pb2.Problem(cqm=convert.cqm_to_proto(model), name=name), list(model.variables)
    if isinstance(model, str):
        return model_pb2.Problem(lp=model, name=name), []
    if type(model).__name__ in ("Problem", "QuadraticProgram"):
        # a qopt.model.Problem (or a qiskit QuadraticProgram) travels as LP text, which keeps its sense
        from qopt.model import as_problem
        from qopt.model.formats.lp import to_lp

        problem = as_problem(model)
        message = model_pb2.Problem(lp=to_lp(problem), name=name or problem.name)
        if problem.structure is not None:  # what the template declares travels with it
            message.structure.update(jsonable(dict(problem.structure)))
        return message, []
    raise UnsupportedProblem(f"model must be a dimod.BinaryQuadraticModel, a dimod.ConstrainedQuadraticModel, a "
                             f"qopt.model.Problem, a QuadraticProgram or LP text, was {type(model).__name__}",
                             field="model")


def _wire_value(name: str, value):
    """``value`` as the parameters Struct holds it (tuples as lists), or ParameterError naming
    ``name`` when it is not plain data (None, bool, number, str, or lists / dicts of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_wire_value(f"{name}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _wire_value(f"{name}.{k}", v) for k, v in value.items()}
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return _wire_value(name, value.tolist())
    raise ParameterError(name, f"cannot be sent to a server: a {type(value).__name__} object is not plain data "
                               "(numbers, strings, lists, dicts); name a backend instead (e.g. "
                               "quantum_sampler=\"exact\"), or pass the object to qopt.solve in-process")


def _struct(parameters: dict) -> struct_pb2.Struct:
    params = struct_pb2.Struct()
    params.update({k: _wire_value(k, v) for k, v in parameters.items()})
    return params


class JobHandle:
    """A job on the server. Cheap to create (:meth:`Client.job`); every method is one RPC.

    Attributes:
        job_id: the server's id for the job.
    """

    def __init__(self, client: "Client", job_id: str, variables: list | None = None):
        self._client = client
        self.job_id = job_id
        self._variables = variables

    def __repr__(self) -> str:
        return f"JobHandle({self.job_id!r})"

    def _message(self, timeout: float | None = 30.0):
        return self._client._call("GetJob", solver_service_pb2.GetJobRequest(job_id=self.job_id), timeout).job

    def get(self, timeout: float | None = 30.0) -> JobInfo:
        """The job now: a :class:`JobInfo` (state, timestamps, attempt, error; the
        ``qopt.v1.Job`` message, result included once finished, in ``.message``).

        Raises:
            SolveError: NOT_FOUND for an unknown job (or one of another principal).
        """
        return JobInfo.from_message(self._message(timeout))

    @property
    def state(self) -> str:
        """The job's state name now (``QUEUED``, ``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``CANCELLED``)."""
        return self.get().state

    def cancel(self, timeout: float | None = 30.0) -> JobInfo:
        """Cancel the job; returns its :class:`JobInfo` (CANCELLED, or RUNNING with
        ``cancel_requested`` while it stops).

        Raises:
            SolveError: FAILED_PRECONDITION when it has already finished; NOT_FOUND.
        """
        job = self._client._call("CancelJob", solver_service_pb2.CancelJobRequest(job_id=self.job_id), timeout).job
        return JobInfo.from_message(job)

    def watch(self, timeout: float | None = None):
        """Iterate over :class:`JobEvent` s: a snapshot, then each state change, stage and
        new best candidate, ending after the terminal state.

        Raises:
            SolveError: NOT_FOUND; DEADLINE_EXCEEDED after ``timeout`` seconds.
        """
        stream = self._client._stub.WatchJob(solver_service_pb2.WatchJobRequest(job_id=self.job_id), timeout=timeout,
                                             metadata=self._client._metadata)
        try:
            for msg in stream:
                yield _event(msg)
        except grpc.RpcError as err:
            raise SolveError.from_rpc_error(err) from None
        finally:
            stream.cancel()

    def wait(self, timeout: float | None = None, poll: float = 0.05):
        """Block until the job reaches a terminal state; returns its final :class:`JobInfo`.

        Follows :meth:`watch` (no polling) and falls back to polling ``GetJob`` if the
        stream breaks or the server has no stream to spare (RESOURCE_EXHAUSTED).

        Raises:
            TimeoutError: not finished after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            for event in self.watch(timeout=timeout):
                if event.state in _TERMINAL:
                    return JobInfo.from_message(self._message())
        except SolveError as err:
            if err.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise TimeoutError(f"job {self.job_id} not finished after {timeout} s") from None
            if err.code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED,
                                grpc.StatusCode.RESOURCE_EXHAUSTED):
                raise
        while True:
            job = self._message()
            if _state_name(job.state) in _TERMINAL:
                return JobInfo.from_message(job)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {self.job_id} not finished after {timeout} s")
            time.sleep(poll)
            poll = min(poll * 2, 1.0)

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the job and return its :class:`Result`.

        Raises:
            JobFailed: the job FAILED (code and field from its error) or was CANCELLED.
            TimeoutError: not finished after ``timeout`` seconds.
        """
        job = cast("solver_service_pb2.Job", self.wait(timeout).message)
        state = _state_name(job.state)
        if state == "FAILED":
            err = job.error
            raise JobFailed.from_status(grpc.StatusCode(_code_tuple(err.code)), err.message, err)
        if state == "CANCELLED":
            raise JobFailed(grpc.StatusCode.CANCELLED, f"job {self.job_id} was cancelled")
        variables = self._variables
        if variables is None:
            variables = list(job.result.variables) or list(range(len(job.result.candidates[0].sample)
                                                                 if job.result.candidates else 0))
        return convert.result_from_response(job.result, variables)


def _code_tuple(code: int):
    for c in grpc.StatusCode:
        if c.value[0] == code:
            return c.value
    return grpc.StatusCode.UNKNOWN.value


class Client:
    """A connection to a qopt server.

    Args:
        address: ``HOST:PORT`` of the server.
        credentials: optional :class:`grpc.ChannelCredentials` (overrides ``root_certificates``).
        token: API token sent as ``authorization: Bearer <token>`` metadata on every call.
        root_certificates: PEM bytes of the CA that signed the server's certificate: the
            channel uses TLS (``grpc.ssl_channel_credentials``).
        tls: use TLS with the system's root certificates (when ``root_certificates`` is None).
        server_name: override of the TLS host name checked against the certificate.
        max_message_bytes: largest message sent or received.
    """

    def __init__(self, address: str, *, credentials: grpc.ChannelCredentials | None = None, token: str | None = None,
                 root_certificates: bytes | None = None, tls: bool = False, server_name: str | None = None,
                 max_message_bytes: int = 256 * 1024 * 1024):
        options: list[tuple[str, int | str]] = [("grpc.max_receive_message_length", max_message_bytes),
                                                ("grpc.max_send_message_length", max_message_bytes)]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        if credentials is None and (root_certificates is not None or tls):
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            self._channel = grpc.secure_channel(address, credentials, options=options)
        self._stub = solver_service_pb2_grpc.SolverServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self.address = address

    def _call(self, method: str, request, timeout: float | None):
        try:
            return getattr(self._stub, method)(request, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise SolveError.from_rpc_error(err) from None

    def solve(self, model, backend: str = "auto", *, timeout: float | None = None, request_id: str = "",
              max_candidates: int = 0, name: str = "", quantum: str | None = None, **parameters) -> Result:
        """Solve ``model`` on the server and wait for the result.

        Args:
            model: a :class:`dimod.BinaryQuadraticModel`, a
                :class:`dimod.ConstrainedQuadraticModel`, or CPLEX LP text (str).
            backend: backend name, or ``"auto"``.
            timeout: seconds; the gRPC deadline. The server gives the sampler the time left
                and answers with the best candidates found by then.
            request_id: optional idempotency key: the server returns the stored response
                for a request_id it has answered before (ALREADY_EXISTS if the request differs).
            max_candidates: most distinct candidates returned (0: server default, 100).
            name: optional problem name recorded in provenance.
            quantum: how ``backend="auto"`` treats the quantum backends: ``"auto"`` (the
                server's default: only where its routing profile measured them competitive),
                ``"avoid"`` or ``"prefer"`` (see :func:`qopt.solve`); sent as the ``quantum``
                solve option in ``parameters`` (None: not sent).
            **parameters: sampler parameters (``num_reads``, ``num_sweeps``, ``seed``, ...).

        Returns:
            :class:`qopt.results.Result`, with samples keyed by the model's own labels.

        Raises:
            SolveError: the server refused the request (``INVALID_ARGUMENT`` naming the
                field, ``RESOURCE_EXHAUSTED`` naming the limit in ``.quota``), the deadline
                passed, or the server is unreachable. When the deadline passed with no
                result, the server usually goes on with the request as a job:
                ``DEADLINE_EXCEEDED`` with ``.job_id`` set; ``client.job(err.job_id).result()``
                waits for it (a retry of the same ``request_id`` also returns its result).
        """
        if quantum is not None:
            from qopt.solve.routing import check_quantum  # the one list of choices; raises ParameterError

            parameters["quantum"] = check_quantum(quantum)
        problem, variables = _problem(model, name)
        request = solver_service_pb2.SolveRequest(problem=problem, backend=backend, request_id=request_id,
                                                  max_candidates=max_candidates)
        request.parameters.CopyFrom(_struct(parameters))
        try:
            response = self._call("Solve", request, timeout)
        except SolveError as err:
            if err.job_id:
                err.job = JobHandle(self, err.job_id, variables or None)
            raise
        if not variables:
            variables = list(response.variables)
        return convert.result_from_response(response, variables)

    def solve_many(self, models, backend: str = "auto", *, ordered: bool = True, timeout: float | None = None,
                   request_id: str = "", max_candidates: int = 0, **parameters) -> Iterator[BatchItem]:
        """Solve many models in one ``SolveBatch`` call; the server runs them in parallel (on
        its threads, or its Ray cluster with ``qopt serve --executor ray``) and streams each
        answer as it finishes.

        Args:
            models: BQMs, CQMs or LP texts (as :meth:`solve`), at most the server's
                ``max_batch_size``.
            backend: backend name for every model, or ``"auto"``.
            ordered: True: yield in submission order (item ``k`` once items ``0..k`` have
                arrived); False: as they arrive (completion order; ``item.index`` says which).
            timeout: seconds; the gRPC deadline of the whole batch (every model's time budget).
            request_id: optional id of the batch, echoed in the server's logs.
            max_candidates: most distinct candidates per model (0: server default).
            **parameters: sampler parameters for every model (``num_reads``, ``seed``, ...).

        Yields:
            :class:`qopt.service.executor_call.BatchItem`: ``index`` (0-based), ``result`` (a
            :class:`~qopt.results.Result` keyed by the model's labels, its own provenance) or
            ``error`` (a :class:`SolveError` with the model's own code), ``attempts``.

        Raises:
            SolveError: the whole call failed (RESOURCE_EXHAUSTED over ``max_batch_size``,
                INVALID_ARGUMENT for no models, UNAVAILABLE, DEADLINE_EXCEEDED, UNAUTHENTICATED).
        """
        requests, labels = [], []
        for model in models:
            problem, variables = _problem(model)
            item = solver_service_pb2.SolveRequest(problem=problem, backend=backend, max_candidates=max_candidates)
            item.parameters.CopyFrom(_struct(parameters))
            requests.append(item)
            labels.append(variables)
        stream = self._stub.SolveBatch(solver_service_pb2.SolveBatchRequest(problems=requests, request_id=request_id),
                                       timeout=timeout, metadata=self._metadata)

        def arrivals() -> Generator[BatchItem, None, None]:
            try:
                for msg in stream:
                    if msg.HasField("error"):
                        err = SolveError.from_status(grpc.StatusCode(_code_tuple(msg.error.code)), msg.error.message,
                                                     msg.error)
                        yield BatchItem(msg.index, None, err, msg.attempts)
                    else:
                        variables = labels[msg.index] or list(msg.response.variables)
                        yield BatchItem(msg.index, convert.result_from_response(msg.response, variables), None,
                                        msg.attempts)
            except grpc.RpcError as err:
                raise SolveError.from_rpc_error(err) from None
            finally:
                stream.cancel()

        def answers() -> Iterator[BatchItem]:
            inner = arrivals()
            try:
                yield from (in_submission_order(inner) if ordered else inner)
            finally:
                inner.close()

        return answers()

    def submit(self, model, backend: str = "auto", *, request_id: str = "", max_candidates: int = 0, name: str = "",
               time_budget: float = 0.0, timeout: float | None = 30.0, **parameters) -> JobHandle:
        """Submit ``model`` as a job; returns at once with a :class:`JobHandle`.

        Args:
            model: BQM, CQM or LP text (as :meth:`solve`).
            request_id: idempotency key: submitting the same request_id again returns the
                same job (never a second run).
            time_budget: seconds of wall clock for solving once the job starts (0: none).
            timeout: seconds to wait for the server to accept the job.
            backend, max_candidates, name, **parameters: as :meth:`solve`.

        Raises:
            SolveError: INVALID_ARGUMENT (field named), RESOURCE_EXHAUSTED (queue full or
                too many jobs of this principal; ``.quota`` names the limit), ALREADY_EXISTS
                (request_id reused for a different request), UNAUTHENTICATED.
        """
        problem, variables = _problem(model, name)
        request = solver_service_pb2.SubmitJobRequest(problem=problem, backend=backend, request_id=request_id,
                                                      max_candidates=max_candidates, time_budget=time_budget)
        request.parameters.CopyFrom(_struct(parameters))
        response = self._call("SubmitJob", request, timeout)
        return JobHandle(self, response.job.job_id, variables or None)

    def list_backends(self, *, available_only: bool = False, timeout: float | None = 30.0) -> list[dict]:
        """The server's backends, in registry order.

        Args:
            available_only: only those that can run on the server now.

        Returns:
            list of dicts: ``name``, ``description``, ``available``, ``unavailable_reason``
            ("" when available), ``parameters`` (accepted names), ``max_variables`` (most
            variables or qubits one call takes; 0: no fixed limit), ``quantum``,
            ``simulator`` and ``hybrid`` (bools).
        """
        resp = self._call("ListBackends", solver_service_pb2.ListBackendsRequest(available_only=available_only),
                          timeout)
        return [{"name": b.name, "description": b.description, "available": b.available,
                 "unavailable_reason": b.unavailable_reason, "parameters": list(b.parameters),
                 "max_variables": b.max_variables, "quantum": b.quantum, "simulator": b.simulator,
                 "hybrid": b.hybrid} for b in resp.backends]

    def job(self, job_id: str) -> JobHandle:
        """A handle on an existing job (no call is made)."""
        return JobHandle(self, job_id)

    def list_jobs(self, state: str | None = None, *, page_size: int = 0, limit: int | None = None,
                  timeout: float | None = 30.0) -> list[JobInfo]:
        """The caller's jobs as :class:`JobInfo` s (listings carry no result bodies:
        ``has_result`` is False; :meth:`JobHandle.get` fetches one), newest first.

        Args:
            state: only jobs in this state (``"QUEUED"``, ``"RUNNING"``, ...); all when None.
            page_size: jobs per call (0: server default).
            limit: stop after this many jobs (all when None); pages are followed.
        """
        value = (solver_service_pb2.JOB_STATE_UNSPECIFIED if state is None
                 else cast("solver_service_pb2.JobState", solver_service_pb2.JobState.Value(f"JOB_STATE_{state.upper()}")))
        out: list[JobInfo] = []
        token = ""
        while True:
            resp = self._call("ListJobs", solver_service_pb2.ListJobsRequest(page_size=page_size, page_token=token,
                                                                             state=value), timeout)
            out.extend(JobInfo.from_message(j) for j in resp.jobs)
            token = resp.next_page_token
            if not token or (limit is not None and len(out) >= limit):
                return out if limit is None else out[:limit]

    def validate(self, model, backend: str = "auto", *, timeout: float | None = 30.0, **parameters):
        """Dry run: the ``qopt.v1.ValidateProblemResponse`` (sizes, variables after presolve,
        qubits per backend, estimated seconds, every violation) without solving.

        A malformed model does not raise: its problems are in ``.violations``.
        """
        problem, _ = _problem(model)
        request = solver_service_pb2.ValidateProblemRequest(problem=problem, backend=backend)
        request.parameters.CopyFrom(_struct(parameters))
        return self._call("ValidateProblem", request, timeout)

    def wait_until_ready(self, timeout: float = 10.0) -> None:
        """Block until the channel is connected. Raises grpc.FutureTimeoutError after ``timeout`` s."""
        grpc.channel_ready_future(self._channel).result(timeout=timeout)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
