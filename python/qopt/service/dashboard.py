"""The job dashboard: HTML pages and their JSON, served beside ``/metrics``.

``qopt serve --http-port PORT`` (the same port as ``--metrics-port``) serves:

=====================  ===================================================================
path                   what
=====================  ===================================================================
``/jobs``              the caller's jobs, newest first: state, the backend requested and
                       the one that ran, the routing reason, elapsed seconds, best objective
                       (energy for a BQM), gap; refreshed every second
``/jobs/<id>``         one job: a live plot (Plotly) of the best energy against seconds since
                       the job started, one line per branch, and the certified lower bound
                       when known; the ranked candidates with feasibility and violations;
                       the fallback chain; the provenance; a failed job's error
``/api/jobs``          the list as JSON (``{"jobs": [summary, ...]}``)
``/api/jobs/<id>``     one job as JSON (summary, ``trace``, ``candidates``, ``provenance``,
                       ``fallback_chain``, ``error``); the page polls it every second
``/static/<file>``     the page's script and ``plotly.min.js`` from the ``plotly`` package
                       (no CDN: the pages work offline)
=====================  ===================================================================

Authentication: the same bearer tokens as the gRPC service. With tokens configured every
path answers ``401`` unless the request sends ``Authorization: Bearer <token>`` or, for a
browser, ``?token=<token>`` in the query (the pages pass it on to their links and their
JSON requests); a principal sees only its own jobs (another's answers ``404``, as
``GetJob`` does). A token in a URL shows in the browser's history: use it on loopback or
behind TLS termination, and prefer the header for scripts.

The plot's points come from the job manager's BEST events (``JobManager.add_listener``),
kept in memory for the ``dashboard_traced_jobs`` most recent jobs, at most
``dashboard_trace_points`` points each (settings of :class:`~qopt.service.limits.ServiceConfig`,
like the number of jobs listed and candidates shown); a job that finished before this server
started shows its final best only.
"""
from __future__ import annotations

import json
import math
import pathlib
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from google.protobuf import json_format
from google.rpc import code_pb2

from qopt.service.auth import principal_for_header
from qopt.service.jobs import JobManager
from qopt.service.limits import ServiceConfig
from qopt.service.store import TERMINAL, JobRecord, JobStore
from qopt.v1 import solver_service_pb2 as pb

__all__ = ["Dashboard"]

_STATIC = pathlib.Path(__file__).with_name("static")
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_STATE_NAMES = {1: "QUEUED", 2: "RUNNING", 3: "SUCCEEDED", 4: "FAILED", 5: "CANCELLED"}
_SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # keeps a ?token= out of Referer headers
    ("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:"),
]

StartResponse = Callable[..., Any]


def _plotly_js() -> pathlib.Path | None:
    try:
        import plotly
    except ImportError:
        return None
    path = pathlib.Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
    return path if path.is_file() else None


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(float(x)) else None


class _Recorder:
    """Best-energy points per job, from the job manager's events (bounded, thread-safe)."""

    def __init__(self, trace_points: int, traced_jobs: int) -> None:
        self._trace_points = trace_points
        self._traced_jobs = traced_jobs
        self._lock = threading.Lock()
        self._points: OrderedDict[str, list[dict]] = OrderedDict()
        self._summaries: OrderedDict[str, dict] = OrderedDict()  # finished jobs: parsed once

    def on_event(self, job_id: str, event: pb.JobEvent) -> None:
        if event.kind != pb.JobEvent.KIND_BEST:
            return
        point = {"time": event.time.ToNanoseconds() / 1e9 if event.HasField("time") else time.time(),
                 "energy": _finite(event.best_energy), "branch": event.branch or event.source or "best",
                 "backend": event.backend or event.source}
        with self._lock:
            points = self._points.setdefault(job_id, [])
            self._points.move_to_end(job_id)
            if len(points) >= self._trace_points:
                del points[1]
            points.append(point)
            while len(self._points) > self._traced_jobs:
                self._points.popitem(last=False)

    def points(self, job_id: str) -> list[dict]:
        with self._lock:
            return list(self._points.get(job_id, ()))

    def cached(self, job_id: str) -> dict | None:
        with self._lock:
            return self._summaries.get(job_id)

    def cache(self, job_id: str, detail: dict) -> None:
        with self._lock:
            self._summaries[job_id] = detail
            while len(self._summaries) > self._traced_jobs:
                self._summaries.popitem(last=False)


def _struct(msg) -> dict:
    return json_format.MessageToDict(msg)


def _detail(rec: JobRecord, points: list[dict], candidates_shown: int) -> dict:
    """Everything the pages show about one job, JSON-ready."""
    now = time.time()
    out: dict[str, Any] = {
        "job_id": rec.job_id, "problem_name": rec.problem_name, "state": _STATE_NAMES.get(rec.state, str(rec.state)),
        "requested_backend": rec.backend or "auto", "attempt": rec.attempt, "create_time": rec.create_time,
        "start_time": rec.start_time, "end_time": rec.end_time, "cancel_requested": bool(rec.cancel_requested),
        "elapsed": None if rec.start_time is None else (rec.end_time or now) - rec.start_time,
        "backend": points[-1]["backend"] if points else None, "routing_reason": None, "best_energy": None,
        "best_objective": None, "feasible": None, "gap": None, "lower_bound": None, "lower_bound_method": None,
        "candidates": [], "fallback_chain": [], "provenance": {}, "error": None, "num_candidates": 0,
    }
    start = rec.start_time or rec.create_time
    trace = [{"t": max(0.0, p["time"] - start), "energy": p["energy"], "branch": p["branch"],
              "backend": p["backend"]} for p in points]
    if trace:
        out["best_energy"] = min((p["energy"] for p in trace if p["energy"] is not None), default=None)
        out["best_objective"] = out["best_energy"]
    if rec.error is not None:
        from google.rpc import status_pb2

        status = status_pb2.Status()
        status.ParseFromString(rec.error)
        out["error"] = {"code": code_pb2.Code.Name(status.code), "message": status.message}
    if rec.result is not None:
        response = pb.SolveResponse()
        response.ParseFromString(rec.result)
        provenance = _struct(response.provenance)
        confidence = _struct(response.confidence)
        out["provenance"] = provenance
        out["backend"] = provenance.get("backend") or out["backend"]
        out["routing_reason"] = (provenance.get("routing") or {}).get("reason")
        out["fallback_chain"] = provenance.get("fallback_chain") or []
        out["gap"] = _finite(confidence.get("gap"))
        out["lower_bound"] = _finite(confidence.get("lower_bound"))
        out["lower_bound_method"] = confidence.get("lower_bound_method")
        out["num_candidates"] = len(response.candidates)
        for rank, c in enumerate(response.candidates[:candidates_shown], 1):
            out["candidates"].append({
                "rank": rank, "energy": c.energy, "num_occurrences": c.num_occurrences,
                "objective": c.objective if c.HasField("objective") else None,
                "feasible": c.feasible if c.HasField("feasible") else None,
                "violations": {k: v for k, v in sorted(c.violations.items()) if v},
                "info": dict(sorted(c.info.items()))})
        if response.candidates:
            best = response.candidates[0]
            out["best_energy"] = best.energy
            out["best_objective"] = best.objective if best.HasField("objective") else best.energy
            out["feasible"] = best.feasible if best.HasField("feasible") else None
            if not trace:  # finished before this server recorded it: its final best only
                trace = [{"t": out["elapsed"] or 0.0, "energy": best.energy, "branch": "final",
                          "backend": out["backend"]}]
    out["trace"] = trace
    return out


def _summary(detail: dict) -> dict:
    keys = ("job_id", "problem_name", "state", "requested_backend", "backend", "routing_reason", "elapsed",
            "best_objective", "best_energy", "feasible", "gap", "create_time", "error")
    return {k: detail[k] for k in keys}


class Dashboard:
    """The dashboard's WSGI application (see the module docstring).

    Args:
        store: the job store the pages read.
        jobs: the job manager whose events feed the live plot.
        config: the service's settings: ``tokens`` (``sha256(token)`` hex digest -> principal,
            as the gRPC service's; empty: authentication off, every caller is ``anonymous``)
            and the ``dashboard_*`` limits (plot points per job, jobs traced in memory, jobs
            listed, candidates shown).
    """

    def __init__(self, store: JobStore, jobs: JobManager, config: ServiceConfig):
        self.store = store
        self.tokens = dict(config.tokens)
        self._listed_jobs = config.dashboard_listed_jobs
        self._candidates_shown = config.dashboard_candidates_shown
        self._recorder = _Recorder(config.dashboard_trace_points, config.dashboard_traced_jobs)
        jobs.add_listener(self._recorder.on_event)
        self._plotly = _plotly_js()

    # -- data --------------------------------------------------------------------------
    def principal(self, environ: dict) -> str | None:
        """The caller's principal from ``Authorization: Bearer`` or ``?token=``; None when
        neither names a configured token."""
        found = principal_for_header(environ.get("HTTP_AUTHORIZATION"), self.tokens)
        if found is None:
            token = parse_qs(environ.get("QUERY_STRING", "")).get("token", [""])[0]
            if token:
                found = principal_for_header(f"Bearer {token}", self.tokens)
        return found

    def job_detail(self, principal: str, job_id: str) -> dict | None:
        """One job of ``principal`` as shown on its page; None when unknown or another's."""
        cached = self._recorder.cached(job_id)
        if cached is not None and cached["principal"] == principal:
            return cached["detail"]
        rec = self.store.get_job(job_id, principal=principal)
        if rec is None:
            return None
        detail = _detail(rec, self._recorder.points(job_id), self._candidates_shown)
        if rec.state in TERMINAL:
            self._recorder.cache(job_id, {"principal": principal, "detail": detail})
        return detail

    def job_list(self, principal: str) -> list[dict]:
        """Summaries of ``principal``'s ``dashboard_listed_jobs`` newest jobs."""
        out = []
        for rec in self.store.list_jobs(principal, limit=self._listed_jobs):
            if rec.state in TERMINAL:
                detail = self.job_detail(principal, rec.job_id)
                if detail is not None:
                    out.append(_summary(detail))
                    continue
            out.append(_summary(_detail(rec, self._recorder.points(rec.job_id), self._candidates_shown)))
        return out

    # -- WSGI --------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "only GET is served here\n")
        if path == "/favicon.ico":
            start_response("204 No Content", [("Cache-Control", "max-age=86400"), *_SECURITY_HEADERS])
            return []
        if path.startswith("/static/"):
            return self._static(path[len("/static/"):], start_response)
        principal = self.principal(environ)
        if principal is None:
            return _text(start_response, "401 Unauthorized",
                         "missing or invalid token: send 'Authorization: Bearer <token>', or open the page "
                         "with ?token=<token>\n", [("WWW-Authenticate", 'Bearer realm="qopt"')])
        if path in ("/", "/jobs", "/jobs/"):
            return _page(start_response, "qopt jobs", '<body data-page="list">')
        if path == "/api/jobs":
            return _json(start_response, {"jobs": self.job_list(principal)})
        for prefix, page in (("/api/jobs/", False), ("/jobs/", True)):
            if path.startswith(prefix):
                job_id = path[len(prefix):]
                if not _JOB_ID.match(job_id):
                    break
                detail = self.job_detail(principal, job_id)
                if detail is None:
                    return _text(start_response, "404 Not Found", f"job {job_id} not found\n")
                if page:
                    return _page(start_response, f"qopt job {job_id}",
                                 f'<body data-page="job" data-job-id="{job_id}">')
                return _json(start_response, detail)
        return _text(start_response, "404 Not Found", "not found: see /jobs\n")

    def _static(self, name: str, start_response: StartResponse) -> Iterable[bytes]:
        if name == "plotly.min.js":
            path = self._plotly
        elif name in ("dashboard.js", "dashboard.css"):
            path = _STATIC / name
        else:
            path = None
        if path is None:
            return _text(start_response, "404 Not Found", f"no static file {name!r}\n")
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        body = path.read_bytes()
        start_response("200 OK", [("Content-Type", f"{kind}; charset=utf-8"), ("Content-Length", str(len(body))),
                                  ("Cache-Control", "max-age=3600"), *_SECURITY_HEADERS])
        return [body]


def _text(start_response: StartResponse, status: str, text: str, extra=()) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store"), *_SECURITY_HEADERS, *extra])
    return [body]


def _json(start_response: StartResponse, value: Any) -> list[bytes]:
    body = json.dumps(value, allow_nan=False, default=str).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                              ("Cache-Control", "no-store"), *_SECURITY_HEADERS])
    return [body]


def _page(start_response: StartResponse, title: str, body_tag: str) -> list[bytes]:
    """The HTML shell; ``static/dashboard.js`` fills it from the JSON endpoints (no inline
    script: the Content-Security-Policy allows only this server's files)."""
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<link rel="stylesheet" href="/static/dashboard.css">'
            f'<script src="/static/plotly.min.js"></script><script src="/static/dashboard.js" defer></script>'
            f'</head>{body_tag}<header><a id="home" href="/jobs">qopt jobs</a></header>'
            f'<main id="main"><p id="loading">loading...</p></main></body></html>')
    return _text_html(start_response, html)


def _text_html(start_response: StartResponse, html: str) -> list[bytes]:
    body = html.encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                              ("Cache-Control", "no-store"), *_SECURITY_HEADERS])
    return [body]
