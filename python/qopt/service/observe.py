"""Observability: structured JSON logs and Prometheus metrics.

Logs: :class:`JsonFormatter` writes one JSON object per line with ``time`` (UTC,
ISO 8601), ``level``, ``logger``, ``message`` and, when known, ``request_id``,
``job_id``, ``method``, ``code``, ``principal`` and ``duration_s`` (pass them with
``log.info(..., extra={...})``).

Metrics (:class:`Metrics`, one private :class:`prometheus_client.CollectorRegistry` per
server, served by ``qopt serve --metrics-port PORT``):

==================================  =========  =========================================
name                                type       labels / meaning
==================================  =========  =========================================
qopt_requests_total                 counter    method, code: RPCs answered
qopt_request_errors_total           counter    method, code: RPCs answered with code != OK
qopt_request_latency_seconds        histogram  method: RPC wall time
qopt_stage_seconds                  histogram  stage: pipeline stage time (validate,
                                               preprocess, sample, postprocess, queue_wait)
qopt_queue_length                   gauge      jobs waiting for a worker
qopt_jobs                           gauge      state: jobs in the store by state
qopt_job_transitions_total          counter    state: transitions into each state
qopt_retries_total                  counter    kind (job, solve): transient-failure retries
qopt_fallbacks_total                counter    results whose provenance records a fallback
==================================  =========  =========================================

The same HTTP server serves the job dashboard (:mod:`qopt.service.dashboard`) on every
other path. With authentication on, the endpoint answers ``401`` unless the scrape sends
``Authorization: Bearer <token>`` with a configured token (Prometheus: the scrape
config's ``authorization: {credentials: ...}``).
"""
from __future__ import annotations

import datetime
import json
import logging
import socket
import threading
from socketserver import ThreadingMixIn
from typing import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily

__all__ = ["JsonFormatter", "Metrics", "configure_logging"]

_EXTRA_KEYS = ("request_id", "job_id", "method", "code", "principal", "duration_s", "state", "attempt", "peer")


class JsonFormatter(logging.Formatter):
    """One JSON object per log line (see the module docstring for the keys)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _EXTRA_KEYS:
            value = getattr(record, key, None)
            if value is not None and value != "":
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str = "info", fmt: str = "json", stream=None) -> None:
    """Send the root logger's records to ``stream`` (stderr) as JSON lines (``fmt="json"``)
    or plain text (``fmt="text"``)."""
    import sys

    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))


_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
_STATE_NAMES = {1: "QUEUED", 2: "RUNNING", 3: "SUCCEEDED", 4: "FAILED", 5: "CANCELLED"}


class _JobsByState:
    def __init__(self, count_fn):
        self._count = count_fn

    def collect(self):
        g = GaugeMetricFamily("qopt_jobs", "Jobs in the store by state", labels=["state"])
        try:
            counts = self._count()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the store is closing
            counts = {}
        for value, name in _STATE_NAMES.items():
            g.add_metric([name], counts.get(value, 0))
        yield g


class _MetricsHTTPServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _MetricsHTTPServer6(_MetricsHTTPServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def _guarded_app(app, authorize: Callable[[str | None], bool] | None):
    """``app`` answering ``401`` when ``authorize(Authorization header)`` is False."""
    if authorize is None:
        return app

    def guarded(environ, start_response):
        if not authorize(environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("Content-Type", "text/plain; charset=utf-8"),
                                                ("WWW-Authenticate", 'Bearer realm="qopt"')])
            return [b"missing or invalid token: send 'Authorization: Bearer <token>'\n"]
        return app(environ, start_response)

    return guarded


def _routed_app(metrics_app, pages):
    """``/metrics`` to ``metrics_app``; every other path to ``pages`` (``404`` when None)."""

    def routed(environ, start_response):
        if environ.get("PATH_INFO", "") in ("/metrics", "/metrics/"):
            return metrics_app(environ, start_response)
        if pages is not None:
            return pages(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: metrics are at /metrics\n"]

    return routed


class Metrics:
    """The server's Prometheus metrics, in their own registry (see the module docstring)."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("qopt_requests", "RPCs answered", ["method", "code"], registry=r)
        self.errors = Counter("qopt_request_errors", "RPCs answered with an error", ["method", "code"], registry=r)
        self.latency = Histogram("qopt_request_latency_seconds", "RPC wall time", ["method"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.stages = Histogram("qopt_stage_seconds", "Pipeline stage time", ["stage"], buckets=_LATENCY_BUCKETS,
                                registry=r)
        self.queue_length = Gauge("qopt_queue_length", "Jobs waiting for a worker", registry=r)
        self.transitions = Counter("qopt_job_transitions", "Job transitions into each state", ["state"], registry=r)
        self.retries = Counter("qopt_retries", "Retries after transient failures", ["kind"], registry=r)
        self.fallbacks = Counter("qopt_fallbacks", "Results whose provenance records a fallback", registry=r)
        self._http = None

    def watch_store(self, count_fn) -> None:
        """Report ``qopt_jobs{state}`` from ``count_fn()`` (state value -> count) at each scrape."""
        self.registry.register(_JobsByState(count_fn))

    def observe_request(self, method: str, code: str, seconds: float) -> None:
        self.requests.labels(method, code).inc()
        if code != "OK":
            self.errors.labels(method, code).inc()
        self.latency.labels(method).observe(seconds)

    def observe_result(self, timing: dict, provenance: dict) -> None:
        for stage, seconds in timing.items():
            if stage != "total" and isinstance(seconds, (int, float)):
                self.stages.labels(stage).observe(float(seconds))
        chain = provenance.get("fallback_chain") or provenance.get("fallbacks")
        if chain and (not isinstance(chain, list) or len(chain) > 1):
            self.fallbacks.inc()

    def transition(self, state: int) -> None:
        self.transitions.labels(_STATE_NAMES.get(state, str(state))).inc()

    def serve(self, port: int, address: str = "127.0.0.1",
              authorize: Callable[[str | None], bool] | None = None, pages=None) -> int:
        """Serve ``/metrics`` over HTTP on ``address:port`` in a daemon thread.

        Args:
            port: TCP port (0 < port).
            address: address to bind (IPv4, or IPv6 such as ``::1``).
            authorize: called with the ``Authorization`` header value (None when absent);
                False answers ``/metrics`` with ``401``. None: the endpoint is open.
            pages: a WSGI application for every other path (the job dashboard, which does
                its own authentication); None: other paths answer ``404``.

        Returns:
            The bound port.

        Raises:
            OSError: the address cannot be bound.
        """
        app = _routed_app(_guarded_app(make_wsgi_app(self.registry), authorize), pages)
        server_class = _MetricsHTTPServer6 if ":" in address else _MetricsHTTPServer
        server = make_server(address.strip("[]"), port, app, server_class, handler_class=_QuietHandler)
        threading.Thread(target=server.serve_forever, name="qopt-metrics", daemon=True).start()
        self._http = server
        return server.server_address[1]

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
