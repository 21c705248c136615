"""Start the qopt gRPC server: SolverService, health checking and reflection.

``qopt serve --address 127.0.0.1:0`` picks a free port and prints it. SIGTERM/SIGINT
shut the server down gracefully: health turns NOT_SERVING, in-flight calls get
``grace`` seconds to finish.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from qopt.service.servicer import SolverServicer
from qopt.v1 import solver_service_pb2, solver_service_pb2_grpc

__all__ = ["Server", "SERVICE_NAME", "MAX_MESSAGE_BYTES"]

SERVICE_NAME = solver_service_pb2.DESCRIPTOR.services_by_name["SolverService"].full_name
MAX_MESSAGE_BYTES = 256 * 1024 * 1024

log = logging.getLogger("qopt.service")


class Server:
    """A running qopt gRPC server.

    Args:
        address: ``HOST:PORT``; port 0 picks a free port (see :attr:`port`).
        max_workers: concurrent RPCs served (threads).
        max_variables: largest accepted problem (variables).
    """

    def __init__(self, address: str = "127.0.0.1:0", *, max_workers: int = 8, max_variables: int = 1_000_000,
                 max_message_bytes: int = MAX_MESSAGE_BYTES):
        options = [("grpc.max_receive_message_length", max_message_bytes),
                   ("grpc.max_send_message_length", max_message_bytes),
                   ("grpc.so_reuseport", 0)]
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="qopt-rpc"),
                                   options=options)
        solver_service_pb2_grpc.add_SolverServiceServicer_to_server(
            SolverServicer(max_variables=max_variables), self._server)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server)
        self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise RuntimeError(f"could not bind {address}")
        host = address.rsplit(":", 1)[0]
        self.address = f"{host}:{self.port}"

    def start(self) -> "Server":
        self._server.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self

    def stop(self, grace: float | None = 5.0) -> None:
        """Stop serving: health NOT_SERVING, then wait up to ``grace`` seconds for in-flight calls."""
        self.health.enter_graceful_shutdown()
        self._server.stop(grace).wait()

    def wait(self) -> None:
        self._server.wait_for_termination()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop(grace=1.0)


def serve(address: str, *, max_workers: int = 8, grace: float = 5.0) -> int:
    """Run a server until SIGTERM or SIGINT; prints ``qopt serving on HOST:PORT``."""
    server = Server(address, max_workers=max_workers).start()
    stopping = threading.Event()

    def _stop(signum, _frame):
        if not stopping.is_set():
            stopping.set()
            log.info("signal %s: shutting down", signum)
            threading.Thread(target=server.stop, args=(grace,), daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"qopt serving on {server.address}", flush=True)
    server.wait()
    print("qopt server stopped", file=sys.stderr, flush=True)
    return 0
