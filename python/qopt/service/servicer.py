"""The ``qopt.v1.SolverService`` servicer: protobuf in, :func:`qopt.solve`, protobuf out.

It holds no solver logic: it validates and converts the request, calls the pipeline with
the time left before the client's deadline, and converts the result back.
"""
from __future__ import annotations

import logging
import time

import grpc

from qopt import pipeline
from qopt.service import convert, errors
from qopt.v1 import solver_service_pb2, solver_service_pb2_grpc

log = logging.getLogger("qopt.service")

# Seconds kept back from the client's deadline for conversion and transport.
DEADLINE_MARGIN = 0.25


class SolverServicer(solver_service_pb2_grpc.SolverServiceServicer):
    """Serves ``Solve``. ``max_variables`` bounds the accepted problem size."""

    def __init__(self, *, max_variables: int = 1_000_000):
        self.max_variables = max_variables

    def Solve(self, request: solver_service_pb2.SolveRequest, context: grpc.ServicerContext):
        t0 = time.perf_counter()
        try:
            if request.problem.WhichOneof("model") is None:
                raise convert.FieldError("problem", "a model is required (problem.bqm)")
            bqm = convert.bqm_from_proto(request.problem.bqm, max_variables=self.max_variables)
            parameters = convert.parameters_from_struct(request.parameters)
            remaining = context.time_remaining()
            budget = None
            if remaining is not None and remaining < 1e7:  # grpc reports ~2^63 s without a deadline
                budget = remaining - max(DEADLINE_MARGIN, 0.1 * remaining)
                if budget <= 0:
                    context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline too short to start solving")
            t_validate = time.perf_counter() - t0
            result = pipeline.solve(bqm, request.backend or "auto",
                                    max_candidates=request.max_candidates or pipeline.DEFAULT_MAX_CANDIDATES,
                                    time_budget=budget, **parameters)
        except Exception as exc:  # noqa: BLE001 - every failure gets a status
            status = errors.status_for_exception(exc)
            if status is None:
                if isinstance(exc, grpc.RpcError) or context.code() is not None:
                    raise
                log.exception("Solve failed", extra={"request_id": request.request_id})
                context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}")
            log.info("Solve rejected: %s", status.details, extra={"request_id": request.request_id})
            context.abort_with_status(status)
        result.timing["request_decode"] = t_validate
        result.provenance["request_id"] = request.request_id
        if request.problem.name:
            result.provenance["problem_name"] = request.problem.name
        result.provenance["versions"]["grpcio"] = grpc.__version__
        return convert.response_from_result(result, send_labels=bool(len(request.problem.bqm.labels)),
                                            request_id=request.request_id)
