"""Exceptions -> gRPC status codes, with ``google.rpc`` rich error details.

Invalid input becomes ``INVALID_ARGUMENT`` with a ``google.rpc.BadRequest`` whose field
violation names the request field (``parameters.num_reads``, ``problem.bqm.linear[3]``);
the message repeats it so clients without rich-status support still see it.
"""
from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from qopt._validation import ParameterError
from qopt.pipeline import NoResultInTime, ProblemError
from qopt.samplers.registry import UnknownBackendError
from qopt.service.convert import FieldError, InvalidRequest
from qopt.service.limits import LimitExceeded

__all__ = ["invalid_argument", "status_for_exception", "status_proto_for_exception", "ServiceError",
           "TransientError", "is_transient", "resource_exhausted", "PendingJob", "PENDING_JOB_REASON", "ERROR_DOMAIN"]

ERROR_DOMAIN = "qopt.v1"
PENDING_JOB_REASON = "PENDING_JOB"


class ServiceError(Exception):
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


class TransientError(RuntimeError):
    """A backend failure worth retrying (a lost connection, a busy remote solver).

    Any exception is treated as transient when it is a :class:`ConnectionError`, a
    :class:`TimeoutError`, an instance of this class, or has a true ``transient``
    attribute; structural errors (``ValueError``, ``TypeError``, ...) never are.
    """

    transient = True


def is_transient(exc: BaseException) -> bool:
    """Whether a failure should be retried (see :class:`TransientError`)."""
    if isinstance(exc, (ValueError, TypeError, KeyError, IndexError, AttributeError)):
        return bool(getattr(exc, "transient", False))
    return isinstance(exc, (ConnectionError, TimeoutError, TransientError)) or bool(getattr(exc, "transient", False))


def _pack(msg) -> any_pb2.Any:
    detail = any_pb2.Any()
    detail.Pack(msg)
    return detail


def invalid_argument_proto(violations: list[tuple[str, str]]) -> status_pb2.Status:
    """A ``google.rpc.Status`` INVALID_ARGUMENT with one field violation per (field, description)."""
    br = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations])
    field, description = violations[0]
    message = f"{field}: {description}"
    if len(violations) > 1:
        message += f" (and {len(violations) - 1} more: " + "; ".join(f for f, _ in violations[1:]) + ")"
    return status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[_pack(br)])


def invalid_argument(field: str, description: str) -> grpc.Status:
    """An ``INVALID_ARGUMENT`` status naming ``field``."""
    return rpc_status.to_status(invalid_argument_proto([(field, description)]))


def resource_exhausted_proto(subject: str, description: str) -> status_pb2.Status:
    qf = error_details_pb2.QuotaFailure(violations=[
        error_details_pb2.QuotaFailure.Violation(subject=subject, description=description)])
    return status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=f"{subject}: {description}",
                             details=[_pack(qf)])


def resource_exhausted(subject: str, description: str) -> grpc.Status:
    """A ``RESOURCE_EXHAUSTED`` status with a ``google.rpc.QuotaFailure`` naming the limit."""
    return rpc_status.to_status(resource_exhausted_proto(subject, description))


def plain(code: grpc.StatusCode, message: str) -> grpc.Status:
    status = status_pb2.Status(code=code.value[0], message=message)
    return rpc_status.to_status(status)


def status_proto_for_exception(exc: BaseException) -> status_pb2.Status | None:
    """The ``google.rpc.Status`` for a domain exception; None for an unexpected one."""
    if isinstance(exc, InvalidRequest):
        return invalid_argument_proto([(v.field, v.description) for v in exc.violations])
    if isinstance(exc, LimitExceeded):
        return resource_exhausted_proto(exc.subject, exc.description)
    if isinstance(exc, PendingJob):
        return pending_job_proto(exc)
    if isinstance(exc, ServiceError):
        return status_pb2.Status(code=exc.code.value[0], message=exc.message)
    if isinstance(exc, NoResultInTime):
        tiers = "; ".join(f"{step.get('tier')} ({step.get('backend')}): {step.get('outcome')}"
                          for step in exc.fallback_chain if isinstance(step, dict))
        return status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED,
                                 message=f"{exc}" + (f"; fallback chain: {tiers}" if tiers else ""))
    if isinstance(exc, FieldError):
        return invalid_argument_proto([(exc.field, exc.description)])
    if isinstance(exc, ParameterError):
        field = exc.name if exc.name == "max_candidates" else f"parameters.{exc.name}"
        return invalid_argument_proto([(field, str(exc))])
    if isinstance(exc, UnknownBackendError):
        return invalid_argument_proto([("backend", str(exc))])
    if isinstance(exc, ProblemError):
        return invalid_argument_proto([(f"problem.bqm.{exc.field}", str(exc))])
    from qopt.model import ModelError

    if isinstance(exc, ModelError):
        return invalid_argument_proto([(f"problem.{exc.path}", str(exc))])
    if isinstance(exc, TypeError) and str(exc).startswith("problem must be"):
        return status_pb2.Status(code=code_pb2.UNIMPLEMENTED,
                                 message=f"this server's pipeline cannot solve this kind of model yet: {exc}")
    if isinstance(exc, (ValueError, TypeError)):
        return invalid_argument_proto([("parameters", str(exc))])
    return None


def status_for_exception(exc: BaseException) -> grpc.Status | None:
    """The status to answer with for a domain exception; None for an unexpected one."""
    proto = status_proto_for_exception(exc)
    return None if proto is None else rpc_status.to_status(proto)

