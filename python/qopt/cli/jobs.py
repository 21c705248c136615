"""Commands that talk to a server: ``submit``, ``jobs``, ``watch``, ``cancel``, ``result``,
``backends``.

Each takes ``--server`` (default ``$QOPT_SERVER`` or 127.0.0.1:50051), ``--token``
(default ``$QOPT_TOKEN``) and ``--ca-cert PEM`` for TLS (:func:`qopt.cli.options.add_remote`).
Each writes its output to ``args.out`` (the real stdout, see
:func:`qopt.cli.output.clean_stdout`) and raises on failure: :func:`qopt.cli.main` prints
the message and exits with the code of :mod:`qopt.cli.exit_codes`.
"""
from __future__ import annotations

import dataclasses
import json
import sys

from qopt.cli.exit_codes import OK, exit_code
from qopt.cli.options import client_for, load_input, sampler_parameters
from qopt.cli.output import (
    format_result,
    job_dict,
    job_header,
    job_line,
    job_summary,
    origin,
    result_document,
    watch_line,
)

__all__ = ["watch", "cmd_submit", "cmd_jobs", "cmd_watch", "cmd_cancel", "cmd_result", "cmd_backends"]

_TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def cmd_submit(args) -> int:
    """Submit FILE (any format) as a job and print its id (or the job as JSON); with
    ``--watch``, follow it on stderr and exit with its outcome."""
    inp = load_input(args)
    with client_for(args) as client:
        job = client.submit(inp.model, backend=args.backend, request_id=args.request_id or "", name=inp.name,
                            time_budget=args.time_budget or 0.0, **sampler_parameters(args))
        if args.json:
            args.out.write(json.dumps(job_dict(job.get().message)) + "\n")
        else:
            args.out.write(job.job_id + "\n")
        args.out.flush()
        if args.watch:
            return watch(client, job.job_id, sys.stderr)
    return OK


def cmd_jobs(args) -> int:
    """List the caller's jobs, newest first: state, the backend that ran, elapsed, best
    objective and feasibility, best energy (a table with a header, or JSON)."""
    with client_for(args) as client:
        # listings carry no results: a finished job's own record says what ran and what it found
        jobs = [(client.job(j.job_id).get() if j.state in ("SUCCEEDED", "FAILED") else j).message
                for j in client.list_jobs(args.state, limit=args.limit)]
    if args.json:
        args.out.write(json.dumps([job_summary(j) for j in jobs]) + "\n")
        return OK
    args.out.write(job_header() + "\n")
    for job in jobs:
        args.out.write(job_line(job) + "\n")
    return OK


def _job_failure(job) -> BaseException:
    """The exception a FAILED or CANCELLED job stands for (its stored code)."""
    import grpc

    from qopt.client import JobFailed

    state = job_summary(job)["state"]
    if state == "CANCELLED":
        return JobFailed(grpc.StatusCode.CANCELLED, f"job {job.job_id} was cancelled")
    code = next((c for c in grpc.StatusCode if c.value[0] == job.error.code), grpc.StatusCode.UNKNOWN)
    return JobFailed(code, job.error.message)


def watch(client, job_id: str, stream) -> int:
    """Follow a job, one line per event: its state changes, the stages it enters and each
    improvement of its best energy (WatchJob events of kind BEST)::

        state        t=0.00s  job 5f0c... RUNNING
        stage        t=0.01s  sample
        improvement  t=0.35s  best energy -11  branch classical  backend sa
        state        t=1.20s  SUCCEEDED  best energy -12 by classical/sa  backend hybrid

    ``t`` is seconds since the job started (since the first event while it is queued).

    Args:
        client: a connected :class:`qopt.Client`.
        job_id: the job to follow.
        stream: where to write.

    Returns:
        0 when the job succeeded, else the exit code of its failure (6 when cancelled).

    Raises:
        qopt.client.SolveError: NOT_FOUND, UNAUTHENTICATED, the server unreachable.
    """
    first = None
    best = None

    def write(kind, event, text):
        nonlocal first
        first = event.time if first is None else first
        start = event.job.start_time
        base = start.ToNanoseconds() / 1e9 if (start.seconds or start.nanos) else first
        stream.write(watch_line(kind, max(0.0, event.time - base), text) + "\n")
        stream.flush()

    for event in client.job(job_id).watch():
        if event.kind == "snapshot" and event.state not in _TERMINAL:
            write("state", event, f"job {job_id} {event.state}")
        elif event.kind == "stage":
            write("stage", event, event.stage or "")
        elif event.kind == "best":
            if best is None or event.best_energy < best:
                best = event.best_energy
                write("improvement", event, f"best energy {best:.6g}  branch {event.branch or '-'}  "
                                            f"backend {event.backend or event.source or '-'}")
        elif event.state not in _TERMINAL:
            write("state", event, event.state)
        if event.state in _TERMINAL:
            job = event.job if event.job.result.candidates or event.state != "SUCCEEDED" else client.job(job_id).get().message
            text = event.state if event.kind != "snapshot" else f"job {job_id} {event.state}"
            summary = job_summary(job)
            if summary["best_energy"] is not None:
                text += f"  best energy {summary['best_energy']:.6g}"
                who = origin(job.result.candidates[0]).split(" ")[0]
                text += f" by {who}" if who != "-" else ""
            if summary["best_objective"] is not None:
                text += f"  objective {summary['best_objective']:.6g}"
            if event.state == "SUCCEEDED":
                text += f"  backend {summary['backend']}"
            write("state", event, text)
            if event.state == "FAILED":
                stream.write(f"error: {job.error.message}\n")
            return OK if event.state == "SUCCEEDED" else exit_code(_job_failure(job))
    return exit_code(TimeoutError(f"job {job_id}: the watch stream ended before the job finished"))


def cmd_watch(args) -> int:
    """Follow a job live on stdout (:func:`watch`); 0 when it succeeded."""
    with client_for(args) as client:
        return watch(client, args.job, args.out)


def cmd_cancel(args) -> int:
    """Cancel a job and print its state."""
    with client_for(args) as client:
        job = client.job(args.job).cancel()
    args.out.write(f"{job.job_id} {job.state}{' (stopping)' if job.cancel_requested and job.state == 'RUNNING' else ''}\n")
    return OK


def cmd_result(args) -> int:
    """Wait for a job and print its top candidates (a table, or JSON); with ``--file``, in
    the terms of the job's input (cut value, objective, the decoded answer)."""
    inp = load_input(args) if args.file else None
    with client_for(args) as client:
        handle = client.job(args.job)
        result = handle.result(timeout=args.timeout)
    if inp is not None and list(result.variables) != inp.variables:
        by_name = {str(v): v for v in inp.variables}  # the file's own labels (ints for instances)
        result = dataclasses.replace(result, candidates=[
            dataclasses.replace(c, sample={by_name.get(str(k), k): v for k, v in c.sample.items()})
            for c in result.candidates])
    if args.json:
        args.out.write(json.dumps(result_document(result, args.top, inp, job=args.job)) + "\n")
        return OK
    args.out.write(format_result(result, args.top, inp) + "\n")
    return OK


def cmd_backends(args) -> int:
    """The server's backends: availability, kind, size limit, parameters (a table, or JSON)."""
    with client_for(args) as client:
        backends = client.list_backends(available_only=args.available)
    if args.json:
        args.out.write(json.dumps(backends) + "\n")
        return OK
    out = args.out
    out.write(f"{'name':<9}  {'available':<9}  {'kind':<18}  {'max vars':>8}  description\n")
    for b in backends:
        kind = ("hybrid" if b["hybrid"] else "quantum (simulated)" if b["simulator"] else
                "quantum" if b["quantum"] else "classical")
        limit = str(b["max_variables"]) if b["max_variables"] else "-"
        out.write(f"{b['name']:<9}  {'yes' if b['available'] else 'no':<9}  {kind:<18}  {limit:>8}  "
                  f"{b['description']}\n")
        if b["parameters"]:
            out.write(f"{'':<9}  parameters: {', '.join(b['parameters'])}\n")
        if not b["available"]:
            out.write(f"{'':<9}  unavailable: {b['unavailable_reason']}\n")
    return OK
