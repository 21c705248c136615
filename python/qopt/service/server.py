"""Start the qopt gRPC server: SolverService (Solve, jobs, ValidateProblem), health
checking, reflection, the job store, authentication, TLS and metrics.

``qopt serve --address 127.0.0.1:0`` picks a free port and prints it. SIGTERM/SIGINT
shut the server down: health turns NOT_SERVING, in-flight ``Solve`` calls are cancelled
(their samplers stop at the next sweep or evaluation; they answer UNAVAILABLE), running
jobs are interrupted and put back to QUEUED for the next start, WatchJob streams end, and
the process exits (status 0) within ``grace`` seconds (``ServiceConfig.grace``).

Threads: the RPC pool has ``config.rpc_threads`` threads, one per Solve slot, waiting Solve, watch
stream and public stream plus ``rpc_workers`` for short calls, and the interceptor keeps
long calls within their share, so health checks, ``GetJob``, ``ListJobs`` and
``CancelJob`` find a thread when every slot is busy.

Start-up refuses a non-loopback address with authentication off unless
``config.insecure`` (``qopt serve --insecure``).
"""
from __future__ import annotations

import ipaddress
import logging
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from qopt.errors import ParameterError
from qopt.service.auth import AuthInterceptor, principal_for_header
from qopt.service.dashboard import Dashboard
from qopt.service.executor import Executor, make_executor
from qopt.service.jobs import JobManager
from qopt.service.limits import ServiceConfig, default_store_path
from qopt.service.observe import Metrics
from qopt.service.servicer import SolverServicer
from qopt.service.store import JobStore, StoreError
from qopt.v1 import solver_service_pb2, solver_service_pb2_grpc

__all__ = ["Server", "SERVICE_NAME", "MAX_MESSAGE_BYTES", "serve", "is_loopback", "check_exposure"]

SERVICE_NAME = solver_service_pb2.DESCRIPTOR.services_by_name["SolverService"].full_name
MAX_MESSAGE_BYTES = ServiceConfig.max_message_bytes

log = logging.getLogger("qopt.service")


def is_loopback(address: str) -> bool:
    """Whether ``HOST:PORT`` binds only the loopback interface."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(address: str, config: ServiceConfig) -> None:
    """Refuse to serve a non-loopback ``address`` with authentication off, unless
    ``config.insecure``.

    Raises:
        ParameterError: the message says what to do (``.field`` = ``insecure``).
    """
    if config.auth_enabled or config.insecure or is_loopback(address):
        return
    raise ParameterError("insecure", f"is not set: refusing to serve {address}, which is not a loopback address, "
                                     f"without authentication. Configure tokens (--tokens-file PATH, "
                                     f"$QOPT_TOKENS_SHA256 or [tokens] in --config; see docs/service.md), bind "
                                     f"127.0.0.1, or pass --insecure (config: insecure = true) to serve "
                                     f"everyone who can reach it")


class Server:
    """A running qopt gRPC server.

    Args:
        address: ``HOST:PORT``; port 0 picks a free port (see :attr:`port`).
        config: limits and settings; defaults from :class:`ServiceConfig`.
        store_path: SQLite job store file; None uses ``config.store``, and when that is
            empty a private in-memory store (not durable; ``qopt serve`` always passes a file).
        max_workers: RPC threads reserved for short calls (overrides ``config.rpc_workers``);
            the pool has ``config.rpc_threads`` threads in all.
        max_variables: largest accepted problem (overrides ``config.max_variables``).
        max_message_bytes: largest message (overrides ``config.max_message_bytes``).
        tls_cert, tls_key: PEM bytes of the server certificate chain and private key;
            both given -> TLS (``grpc.ssl_server_credentials``), else plaintext.
        solve_fn: the solving function (default :func:`qopt.solve.solve`).
        executor: where jobs and batches run (default: made from ``config.executor`` and
            ``config.ray_address`` by :func:`qopt.service.executor.make_executor`, and closed
            by :meth:`stop`; one passed in is left open).

    Raises:
        ParameterError: ``address`` is not loopback, authentication is off (no tokens) and
            ``config.insecure`` is not set (``.field`` = ``insecure``).
        StoreError: the job store cannot be used (corrupted, locked): message names the path.
        RuntimeError: the address cannot be bound.
    """

    def __init__(self, address: str = "127.0.0.1:0", *, config: ServiceConfig | None = None,
                 store_path: str | None = None, max_workers: int | None = None, max_variables: int | None = None,
                 max_message_bytes: int | None = None, tls_cert: bytes | None = None, tls_key: bytes | None = None,
                 solve_fn=None, executor: Executor | None = None):
        config = (config or ServiceConfig()).replace(max_variables=max_variables, max_message_bytes=max_message_bytes,
                                                     rpc_workers=max_workers)
        self.config = config
        check_exposure(address, config)
        self.metrics = Metrics()
        path = store_path or config.store or ":memory:"
        self._owns_executor = executor is None
        self.executor = executor or make_executor(config.executor, ray_address=config.ray_address or None,
                                                  solve_fn=solve_fn if config.executor == "thread" else None)
        try:
            self.store = JobStore(path)
        except BaseException:
            self._close_executor()
            raise
        try:
            self.metrics.watch_store(self.store.count_by_state)
            self.jobs = JobManager(self.store, config, self.metrics, solve_fn=solve_fn, executor=self.executor)
            self.servicer = SolverServicer(config=config, store=self.store, metrics=self.metrics, jobs=self.jobs,
                                           solve_fn=solve_fn)
            options = [("grpc.max_receive_message_length", config.max_message_bytes),
                       ("grpc.max_send_message_length", config.max_message_bytes),
                       ("grpc.so_reuseport", 0)]
            self._server = grpc.server(
                futures.ThreadPoolExecutor(max_workers=config.rpc_threads, thread_name_prefix="qopt-rpc"),
                options=options, interceptors=[AuthInterceptor(config.tokens, self.metrics, config=config)],
                maximum_concurrent_rpcs=config.rpc_threads * 8)
            solver_service_pb2_grpc.add_SolverServiceServicer_to_server(self.servicer, self._server)
            self.health = health.HealthServicer()
            health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
            reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME),
                                                self._server)
            if tls_cert and tls_key:
                creds = grpc.ssl_server_credentials([(tls_key, tls_cert)])
                self.port = self._server.add_secure_port(address, creds)
                self.tls = True
            else:
                self.port = self._server.add_insecure_port(address)
                self.tls = False
            if self.port == 0:
                raise RuntimeError(f"could not bind {address}")
        except BaseException:
            self.store.close()
            self._close_executor()
            raise
        host = address.rsplit(":", 1)[0]
        self.address = f"{host}:{self.port}"
        self.metrics_port: int | None = None
        self.dashboard: Dashboard | None = None
        if not config.auth_enabled and not is_loopback(address):
            log.warning("authentication is off on a non-loopback address %s (--insecure): anyone who can reach it "
                        "can submit jobs; configure tokens (see docs/service.md)", address)
        if not self.tls and config.auth_enabled and not is_loopback(address):
            log.warning("tokens are sent in plaintext: serve with --tls-cert/--tls-key on %s", address)

    def start(self) -> "Server":
        if self.config.metrics_port:  # the job dashboard shares the metrics port; it records from the first job
            self.dashboard = Dashboard(self.store, self.jobs, self.config)
        self.jobs.start()
        self._server.start()
        if self.config.metrics_port:
            authorize = None
            if self.config.auth_enabled:
                tokens = dict(self.config.tokens)

                def authorize(header: str | None) -> bool:
                    return principal_for_header(header, tokens) is not None

            self.metrics_port = self.metrics.serve(self.config.metrics_port, self.config.metrics_address,
                                                   authorize=authorize, pages=self.dashboard)
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self

    def stop(self, grace: float | None = 5.0) -> None:
        """Stop serving within about ``grace`` seconds: health NOT_SERVING; in-flight Solves
        cancelled, running jobs interrupted (back to QUEUED) and WatchJob streams ended at
        once; then up to ``grace`` seconds for the calls to answer (the rest are cancelled by
        gRPC), the job workers joined in the time left (at least 0.5 s), the store closed."""
        t0 = time.monotonic()
        self.health.enter_graceful_shutdown()
        self.servicer.shutdown()
        self._server.stop(grace).wait()
        left = None if grace is None else grace - (time.monotonic() - t0)
        self.jobs.stop(timeout=5.0 if left is None else max(0.5, left))
        self.metrics.stop()
        self.store.close()
        self._close_executor()

    def _close_executor(self) -> None:
        if self._owns_executor:
            self.executor.close()

    def wait(self) -> None:
        self._server.wait_for_termination()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop(grace=1.0)


def serve(address: str, *, config: ServiceConfig | None = None, max_workers: int | None = None,
          grace: float | None = None, tls_cert: str | None = None, tls_key: str | None = None) -> int:
    """Run a server until SIGTERM or SIGINT; prints ``qopt serving on HOST:PORT``.

    The store is ``config.store`` or the per-user default (:func:`default_store_path`).
    Returns the exit status: 0 after a clean stop, 2 when the store or TLS files cannot
    be used or the executor cannot start (``--executor ray`` without Ray: the message says
    ``pip install "qopt[ray]"``) (the message says why on stderr).
    """
    config = config or ServiceConfig()
    store = config.store or str(default_store_path())
    grace = config.grace if grace is None else grace
    try:
        cert = key = None
        if tls_cert or tls_key:
            if not (tls_cert and tls_key):
                raise ValueError("TLS needs both --tls-cert and --tls-key")
            with open(tls_cert, "rb") as f:
                cert = f.read()
            with open(tls_key, "rb") as f:
                key = f.read()
        server = Server(address, config=config, store_path=store, max_workers=max_workers, tls_cert=cert,
                        tls_key=key).start()
    except StoreError as exc:
        print(f"qopt serve: {exc}", file=sys.stderr, flush=True)
        return 2
    except (OSError, ValueError, RuntimeError, ImportError) as exc:  # ImportError: --executor ray, no Ray (hint)
        print(f"qopt serve: {exc}", file=sys.stderr, flush=True)
        return 2
    stopping = threading.Event()

    def _stop(signum, _frame):
        if not stopping.is_set():
            log.info("signal %s: shutting down", signum)
            stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    extra = (f" (metrics on http://{config.metrics_address}:{server.metrics_port}/metrics, job dashboard on "
             f"http://{config.metrics_address}:{server.metrics_port}/jobs)" if server.metrics_port else "")
    print(f"qopt serving on {server.address}{'' if not server.tls else ' (TLS)'}", flush=True)
    log.info("serving on %s, store %s%s, auth %s", server.address, store, extra,
             "on" if config.auth_enabled else "off")
    stopping.wait()
    server.stop(grace)
    print("qopt server stopped", file=sys.stderr, flush=True)
    return 0
