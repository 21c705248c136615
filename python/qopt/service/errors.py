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
from qopt.pipeline import ProblemError
from qopt.samplers.registry import UnknownBackendError
from qopt.service.convert import FieldError

__all__ = ["invalid_argument", "status_for_exception"]


def invalid_argument(field: str, description: str) -> grpc.Status:
    """An ``INVALID_ARGUMENT`` status naming ``field``."""
    violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=f"{field}: {description}", details=[detail])
    return rpc_status.to_status(status)


def plain(code: grpc.StatusCode, message: str) -> grpc.Status:
    status = status_pb2.Status(code=code.value[0], message=message)
    return rpc_status.to_status(status)


def status_for_exception(exc: BaseException) -> grpc.Status | None:
    """The status to answer with for a domain exception; None for an unexpected one."""
    if isinstance(exc, FieldError):
        return invalid_argument(exc.field, exc.description)
    if isinstance(exc, ParameterError):
        field = exc.name if exc.name == "max_candidates" else f"parameters.{exc.name}"
        return invalid_argument(field, str(exc))
    if isinstance(exc, UnknownBackendError):
        return invalid_argument("backend", str(exc))
    if isinstance(exc, ProblemError):
        return invalid_argument(f"problem.bqm.{exc.field}", str(exc))
    if isinstance(exc, (ValueError, TypeError)):
        # A sampler refused the problem or a parameter value it could not take.
        return invalid_argument("parameters", str(exc))
    return None
