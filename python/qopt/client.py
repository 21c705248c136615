"""Python client for the qopt gRPC service.

Examples:
    >>> import dimod, qopt
    >>> with qopt.Client("127.0.0.1:50051") as client:          # doctest: +SKIP
    ...     result = client.solve(bqm, backend="sa", num_reads=100, seed=1, timeout=30)
    ...     print(result.best.energy, result.confidence["best_fraction"])
"""
from __future__ import annotations

import grpc
from google.protobuf import struct_pb2
from grpc_status import rpc_status

from qopt.results import Result
from qopt.service import convert
from qopt.v1 import model_pb2, solver_service_pb2, solver_service_pb2_grpc

__all__ = ["Client", "SolveError"]


class SolveError(RuntimeError):
    """The service refused or failed a call.

    Attributes:
        code: the :class:`grpc.StatusCode`.
        field: the request field named by the server (``INVALID_ARGUMENT``), or None.
        details: the server's message.
    """

    def __init__(self, code: grpc.StatusCode, details: str, field: str | None = None):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.field = field

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> "SolveError":
        field = None
        status = rpc_status.from_call(err) if hasattr(err, "trailing_metadata") else None
        if status is not None:
            from google.rpc import error_details_pb2

            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    br = error_details_pb2.BadRequest()
                    detail.Unpack(br)
                    if br.field_violations:
                        field = br.field_violations[0].field
        return cls(err.code(), err.details() or "", field)


class Client:
    """A connection to a qopt server.

    Args:
        address: ``HOST:PORT`` of the server.
        credentials: optional :class:`grpc.ChannelCredentials` for TLS (insecure when None).
        max_message_bytes: largest message sent or received.
    """

    def __init__(self, address: str, *, credentials: grpc.ChannelCredentials | None = None,
                 max_message_bytes: int = 256 * 1024 * 1024):
        options = [("grpc.max_receive_message_length", max_message_bytes),
                   ("grpc.max_send_message_length", max_message_bytes)]
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            self._channel = grpc.secure_channel(address, credentials, options=options)
        self._stub = solver_service_pb2_grpc.SolverServiceStub(self._channel)
        self.address = address

    def solve(self, bqm, backend: str = "auto", *, timeout: float | None = None, request_id: str = "",
              max_candidates: int = 0, name: str = "", **parameters) -> Result:
        """Solve ``bqm`` on the server and wait for the result.

        Args:
            bqm: a :class:`dimod.BinaryQuadraticModel`.
            backend: backend name, or ``"auto"``.
            timeout: seconds; the gRPC deadline. The server gives the sampler the time left
                and answers with the best candidates found by then.
            request_id: optional id echoed in the server's logs and the result's provenance.
            max_candidates: most distinct candidates returned (0: server default, 100).
            name: optional problem name recorded in provenance.
            **parameters: sampler parameters (``num_reads``, ``num_sweeps``, ``seed``, ...).

        Returns:
            :class:`qopt.results.Result`, with samples keyed by ``bqm``'s own labels.

        Raises:
            SolveError: the server refused the request (``INVALID_ARGUMENT`` naming the
                field), the deadline passed, or the server is unreachable.
        """
        request = solver_service_pb2.SolveRequest(
            problem=model_pb2.Problem(bqm=convert.bqm_to_proto(bqm), name=name), backend=backend,
            request_id=request_id, max_candidates=max_candidates)
        params = struct_pb2.Struct()
        params.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in parameters.items()})
        request.parameters.CopyFrom(params)
        try:
            response = self._stub.Solve(request, timeout=timeout)
        except grpc.RpcError as err:
            raise SolveError.from_rpc_error(err) from None
        return convert.result_from_response(response, list(bqm.variables))

    def wait_until_ready(self, timeout: float = 10.0) -> None:
        """Block until the channel is connected. Raises grpc.FutureTimeoutError after ``timeout`` s."""
        grpc.channel_ready_future(self._channel).result(timeout=timeout)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
