"""Exceptions -> gRPC status codes, with ``google.rpc`` rich error details.

Invalid input becomes ``INVALID_ARGUMENT`` with a ``google.rpc.BadRequest`` whose field
violation names the request field (``parameters.num_reads``, ``problem.bqm.linear[3]``);
the message repeats it so clients without rich-status support still see it.
"""
from __future__ import annotations

import uuid

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from qopt.errors import (
    BackendConfigurationError,
    BackendUnavailable,
    Cancelled,
    InvalidInput,
    NoResultInTime,
    QoptError,
    ResourceLimitError,
    UnsupportedProblem,
    is_transient,
)
from qopt.service.convert import InvalidRequest

__all__ = ["bounded", "MAX_DESCRIPTION_CHARS", "MAX_FIELD_VIOLATIONS", "invalid_argument", "status_proto_for_exception", "internal_status", "ServiceError",
           "TransientError", "is_transient", "resource_exhausted", "PendingJob", "PENDING_JOB_REASON", "ERROR_DOMAIN"]

ERROR_DOMAIN = "qopt.v1"
PENDING_JOB_REASON = "PENDING_JOB"


class ServiceError(QoptError):
    """An error with a definite gRPC code (NOT_FOUND, FAILED_PRECONDITION, ...)."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class PendingJob(ServiceError):
    """``Solve`` ran out of its deadline and the work continues as a job (the last fallback
    tier). Answered as ``DEADLINE_EXCEEDED`` with a ``google.rpc.ErrorInfo`` (reason
    ``PENDING_JOB``, metadata ``job_id``) and a ``google.rpc.ResourceInfo`` naming the job.

    Attributes:
        job_id: the job that carries on the work.
        fallback_chain: the pipeline's fallback chain when it gave up (may be empty).
    """

    def __init__(self, job_id: str, message: str, fallback_chain: list | None = None):
        super().__init__(grpc.StatusCode.DEADLINE_EXCEEDED, message)
        self.job_id = job_id
        self.fallback_chain = list(fallback_chain or [])


def pending_job_proto(exc: PendingJob) -> status_pb2.Status:
    """The ``DEADLINE_EXCEEDED`` status of a :class:`PendingJob`, with its rich details."""
    info = error_details_pb2.ErrorInfo(reason=PENDING_JOB_REASON, domain=ERROR_DOMAIN,
                                       metadata={"job_id": exc.job_id})
    tiers = [str(step.get("tier", "")) + ":" + str(step.get("outcome", "")) for step in exc.fallback_chain
             if isinstance(step, dict)]
    if tiers:
        info.metadata["fallback_chain"] = "; ".join(tiers)[:1000]
    resource = error_details_pb2.ResourceInfo(
        resource_type="qopt.v1.Job", resource_name=exc.job_id,
        description="the request continues as this job: follow it with WatchJob, fetch it with GetJobResult")
    return status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED, message=exc.message,
                             details=[_pack(info), _pack(resource)])


#: The transient backend failure (an alias of :class:`qopt.errors.BackendUnavailable`).
TransientError = BackendUnavailable


def _pack(msg) -> any_pb2.Any:
    detail = any_pb2.Any()
    detail.Pack(msg)
    return detail


#: Longest description or message sent in a status (characters): a status travels in
#: gRPC trailing metadata, which clients cap at 16 KiB, so an unbounded message (one that
#: quotes a 1 MiB job id, say) would reach the client as RESOURCE_EXHAUSTED "Stream removed".
MAX_DESCRIPTION_CHARS = 1024
#: Most field violations sent in one ``google.rpc.BadRequest`` (the message counts the rest).
MAX_FIELD_VIOLATIONS = 16


def bounded(text: str, limit: int = MAX_DESCRIPTION_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters (a cut one ends with ``... (N more
    characters)``), for every description and message a status carries.

    Args:
        text: any description (it may quote the caller's input).
        limit: most characters returned (>= 40).

    Returns:
        ``text`` itself when short enough, else its head and how much was cut.
    """
    text = str(text)
    if len(text) <= limit:
        return text
    head = max(limit - 40, 0)  # the marker below takes at most 40 characters
    return text[:head] + f"... ({len(text) - head} more characters)"


def invalid_argument_proto(violations: list[tuple[str, str]]) -> status_pb2.Status:
    """A ``google.rpc.Status`` INVALID_ARGUMENT with one field violation per (field,
    description), at most :data:`MAX_FIELD_VIOLATIONS` of them, each field and description
    (and the message) :func:`bounded`."""
    kept = [(bounded(f, 256), bounded(d)) for f, d in violations[:MAX_FIELD_VIOLATIONS]]
    br = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in kept])
    field, description = kept[0]
    message = bounded(f"{field}: {description}", MAX_DESCRIPTION_CHARS * 2 // 3)
    if len(violations) > 1:  # the count survives the cut; the other fields' names may not
        others = bounded("; ".join(f for f, _ in kept[1:]), MAX_DESCRIPTION_CHARS // 4)
        message += f" (and {len(violations) - 1} more: {others})"
    return status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=bounded(message), details=[_pack(br)])


def invalid_argument(field: str, description: str) -> grpc.Status:
    """An ``INVALID_ARGUMENT`` status naming ``field``."""
    return rpc_status.to_status(invalid_argument_proto([(field, description)]))


def resource_exhausted_proto(subject: str, description: str) -> status_pb2.Status:
    """A ``google.rpc.Status`` RESOURCE_EXHAUSTED with a ``QuotaFailure`` naming the limit
    ``subject`` (subject, description and message :func:`bounded`)."""
    subject, description = bounded(subject, 256), bounded(description)
    qf = error_details_pb2.QuotaFailure(violations=[
        error_details_pb2.QuotaFailure.Violation(subject=subject, description=description)])
    return status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=bounded(f"{subject}: {description}"),
                             details=[_pack(qf)])


def resource_exhausted(subject: str, description: str) -> grpc.Status:
    """A ``RESOURCE_EXHAUSTED`` status with a ``google.rpc.QuotaFailure`` naming the limit."""
    return rpc_status.to_status(resource_exhausted_proto(subject, description))


def plain(code: grpc.StatusCode, message: str) -> grpc.Status:
    status = status_pb2.Status(code=code.value[0], message=bounded(message))
    return rpc_status.to_status(status)


def status_proto_for_exception(exc: BaseException) -> status_pb2.Status | None:
    """The ``google.rpc.Status`` for ``exc``, chosen by its class (:mod:`qopt.errors`);
    None for an exception that is not a :class:`~qopt.errors.QoptError` (a defect: the
    caller answers ``INTERNAL`` with a correlation id). Every message is :func:`bounded`."""
    status = _status_for(exc)
    if status is not None:
        status.message = bounded(status.message)
    return status


def _status_for(exc: BaseException) -> status_pb2.Status | None:
    if isinstance(exc, InvalidRequest):
        return invalid_argument_proto([(v.field, v.description) for v in exc.violations])
    if isinstance(exc, UnsupportedProblem):
        return status_pb2.Status(code=code_pb2.UNIMPLEMENTED,
                                 message=f"this server's pipeline cannot solve this kind of model yet: {exc}")
    if isinstance(exc, InvalidInput):
        return invalid_argument_proto([(exc.request_field, str(exc))])
    if isinstance(exc, ResourceLimitError):
        return resource_exhausted_proto(exc.field, exc.description)
    if isinstance(exc, PendingJob):
        return pending_job_proto(exc)
    if isinstance(exc, ServiceError):
        return status_pb2.Status(code=exc.code.value[0], message=exc.message)
    if isinstance(exc, NoResultInTime):
        tiers = "; ".join(f"{step.get('tier')} ({step.get('backend')}): {step.get('outcome')}"
                          for step in exc.fallback_chain if isinstance(step, dict))
        return status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED,
                                 message=f"{exc}" + (f"; fallback chain: {tiers}" if tiers else ""))
    if isinstance(exc, Cancelled):
        return status_pb2.Status(code=code_pb2.CANCELLED, message=str(exc))
    if isinstance(exc, BackendConfigurationError):
        return status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=f"{type(exc).__name__}: {exc}")
    if isinstance(exc, QoptError) and is_transient(exc):
        return status_pb2.Status(code=code_pb2.UNAVAILABLE,
                                 message=f"transient backend failure: {type(exc).__name__}: {exc}")
    if isinstance(exc, QoptError):
        return status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=f"{type(exc).__name__}: {exc}")
    if is_transient(exc):  # ConnectionError, TimeoutError, a library's transient error
        return status_pb2.Status(code=code_pb2.UNAVAILABLE,
                                 message=f"transient backend failure: {type(exc).__name__}: {exc}")
    return None


def internal_status(exc: BaseException, method: str, log, extra: dict | None = None) -> status_pb2.Status:
    """``INTERNAL`` for an unexpected exception (a defect in qopt): logged with its traceback
    and a correlation id, which is also in the message the client sees (the exception's
    own text is not sent: it may hold internals)."""
    correlation_id = uuid.uuid4().hex[:16]
    log.error("%s failed (correlation id %s)", method, correlation_id, exc_info=exc,
              extra={**(extra or {}), "method": method, "correlation_id": correlation_id})
    return status_pb2.Status(code=code_pb2.INTERNAL,
                             message=f"internal error ({type(exc).__name__}); correlation id {correlation_id} "
                                     f"(in the server log)")
