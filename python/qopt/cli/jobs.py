"""Commands that talk to a server: ``submit``, ``jobs``, ``watch``, ``cancel``, ``result``,
``backends``.

Each takes ``--server`` (default ``$QOPT_SERVER`` or 127.0.0.1:50051), ``--token``
(default ``$QOPT_TOKEN``) and ``--ca-cert PEM`` for TLS.
"""
from __future__ import annotations

import json
import os
import pathlib
import sys
import time

from qopt.cli.options import file_format, sampler_parameters
from qopt.cli.output import improver, job_dict, job_line, origin
from qopt.model.formats.detect import MODEL_FORMATS

__all__ = ["client_for", "load_submission", "watch", "cmd_submit", "cmd_jobs", "cmd_watch", "cmd_cancel",
           "cmd_result", "cmd_backends"]


def client_for(args):
    """A :class:`qopt.Client` for the command's ``--server``, ``--token`` and ``--ca-cert``."""
    from qopt.client import Client

    token = args.token if args.token is not None else os.environ.get("QOPT_TOKEN")
    ca = None
    if args.ca_cert:
        with open(args.ca_cert, "rb") as f:
            ca = f.read()
    return Client(args.server or os.environ.get("QOPT_SERVER", "127.0.0.1:50051"), token=token, root_certificates=ca)


def load_submission(args):
    """What ``qopt submit`` sends: ``(model, name, instance or None)``.

    An LP file travels as its text, another model file as a :class:`qopt.model.Problem`
    (sent as LP text, keeping its sense), an instance file as its BQM.

    Raises:
        InvalidInput, OSError: the file cannot be read (the reader's message).
    """
    fmt = file_format(args.file, args.format)
    if fmt == "lp":
        path = pathlib.Path(args.file)
        return path.read_text(), path.stem, None
    if fmt in MODEL_FORMATS:
        from qopt.model import load_model

        problem = load_model(args.file, format=fmt)
        return problem, problem.name, None
    from qopt.io import read_instance

    instance = read_instance(args.file, format=fmt, problem=args.problem)
    return instance.bqm, instance.name, instance


def cmd_submit(args) -> int:
    """Submit FILE as a job and print its id (or the job as JSON); 2 for an unreadable file, 1 when refused."""
    from qopt.client import SolveError

    try:
        model, name, _ = load_submission(args)
    except (OSError, ValueError) as exc:
        print(f"qopt submit: {exc}", file=sys.stderr)
        return 2
    try:
        with client_for(args) as client:
            job = client.submit(model, backend=args.backend, request_id=args.request_id or "", name=name,
                                time_budget=args.time_budget or 0.0, **sampler_parameters(args))
            if args.json:
                print(json.dumps(job_dict(job.get())))
            else:
                print(job.job_id)
            if args.watch:
                return watch(client, job.job_id, sys.stderr)
    except SolveError as exc:
        print(f"qopt submit: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_jobs(args) -> int:
    """List the caller's jobs, newest first (a table, or JSON)."""
    from qopt.client import SolveError

    try:
        with client_for(args) as client:
            jobs = client.list_jobs(args.state, limit=args.limit)
    except (SolveError, ValueError) as exc:
        print(f"qopt jobs: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([job_dict(j) for j in jobs]))
        return 0
    print(f"{'job_id':<32}  {'state':<9}  {'backend':<6}  attempts  {'created (UTC)':<19}  {'ended (UTC)':<19}  "
          f"request_id")
    for job in jobs:
        print(job_line(job))
    return 0


def watch(client, job_id: str, stream) -> int:
    """Follow a job, drawing one status line (redrawn in place on a TTY).

    Args:
        client: a connected :class:`qopt.Client`.
        job_id: the job to follow.
        stream: where to write; not a TTY: one line per event and a line per improvement.

    Returns:
        0 when the job succeeded, 1 otherwise.
    """
    t0 = time.monotonic()
    best = None
    by = ""
    state = "?"
    stage = ""
    tty = stream.isatty()

    def draw(final=False):
        line = (f"job {job_id}  {state:<9}  {stage:<11}  best energy "
                f"{'-' if best is None else f'{best:.6g}'}{f' by {by}' if by else ''}  "
                f"{time.monotonic() - t0:6.1f} s")
        if tty:
            stream.write("\r" + line + ("\n" if final else ""))
        else:
            stream.write(line + "\n")
        stream.flush()

    for event in client.job(job_id).watch():
        state = event.state
        if event.kind == "best":
            if best is None or event.best_energy < best:
                by = improver(event)
                if not tty and best is not None:
                    # a log of every improvement and who made it (branch/backend)
                    stream.write(f"improvement {best:.6g} -> {event.best_energy:.6g} by {by}\n")
            best = event.best_energy if best is None else min(best, event.best_energy)
        elif event.kind == "stage":
            stage = event.stage
        elif event.job.result.candidates:
            top = event.job.result.candidates[0]
            best = top.energy
            by = "/".join(top.info[k] for k in ("branch", "backend") if top.info.get(k)) or by
        if event.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            stage = ""
            draw(final=True)
            if event.state == "FAILED":
                stream.write(f"error: {event.job.error.message}\n")
            return 0 if event.state == "SUCCEEDED" else 1
        draw()
    return 1


def cmd_watch(args) -> int:
    """Follow a job live on stdout; 0 when it succeeded, 1 otherwise."""
    from qopt.client import SolveError

    try:
        with client_for(args) as client:
            return watch(client, args.job, sys.stdout)
    except SolveError as exc:
        print(f"qopt watch: {exc}", file=sys.stderr)
        return 1


def cmd_cancel(args) -> int:
    """Cancel a job and print its state."""
    from qopt.client import SolveError
    from qopt.v1 import solver_service_pb2 as pb

    try:
        with client_for(args) as client:
            job = client.job(args.job).cancel()
    except SolveError as exc:
        print(f"qopt cancel: {exc}", file=sys.stderr)
        return 1
    state = pb.JobState.Name(job.state).removeprefix("JOB_STATE_")
    print(f"{job.job_id} {state}{' (stopping)' if job.cancel_requested and state == 'RUNNING' else ''}")
    return 0


def cmd_result(args) -> int:
    """Wait for a job and print its top candidates (a table, or JSON)."""
    from qopt.client import SolveError

    try:
        with client_for(args) as client:
            result = client.job(args.job).result(timeout=args.timeout)
    except (SolveError, TimeoutError) as exc:
        print(f"qopt result: {exc}", file=sys.stderr)
        return 1
    if args.json:
        out = result.to_dict()
        out["candidates"] = out["candidates"][: args.top]
        print(json.dumps(out))
        return 0
    shown = result.candidates[: args.top]
    show_origin = any(c.info for c in shown)
    print(f"{'rank':>4}  {'energy':>14}  {'occurrences':>11}" + ("  origin" if show_origin else ""))
    for rank, cand in enumerate(shown, 1):
        print(f"{rank:>4}  {cand.energy:>14.6g}  {cand.num_occurrences:>11d}" + (f"  {origin(cand)}" if show_origin else ""))
    print("timing: " + "  ".join(f"{k} {v:.3f} s" for k, v in result.timing.items()))
    return 0


def cmd_backends(args) -> int:
    """The server's backends: availability, kind, size limit, parameters (a table, or JSON)."""
    from qopt.client import SolveError

    try:
        with client_for(args) as client:
            backends = client.list_backends(available_only=args.available)
    except SolveError as exc:
        print(f"qopt backends: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(backends))
        return 0
    print(f"{'name':<9}  {'available':<9}  {'kind':<18}  {'max vars':>8}  description")
    for b in backends:
        kind = ("hybrid" if b["hybrid"] else "quantum (simulated)" if b["simulator"] else
                "quantum" if b["quantum"] else "classical")
        limit = str(b["max_variables"]) if b["max_variables"] else "-"
        print(f"{b['name']:<9}  {'yes' if b['available'] else 'no':<9}  {kind:<18}  {limit:>8}  {b['description']}")
        if b["parameters"]:
            print(f"{'':<9}  parameters: {', '.join(b['parameters'])}")
        if not b["available"]:
            print(f"{'':<9}  unavailable: {b['unavailable_reason']}")
    return 0
