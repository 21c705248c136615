"""The ``qopt`` command line.

    qopt serve [--address HOST:PORT] [--store PATH] [--config FILE] [--metrics-port PORT]
               [--tls-cert PEM --tls-key PEM] [--token-sha256 DIGEST=PRINCIPAL ...]
    qopt solve FILE --format gset|bqp|sparse|lp [--problem K] [--server ADDR] [--backend sa]
               [--num-reads N] [--num-sweeps N] [--seed S] [--timeout SECONDS] [--top K] [--json]
    qopt submit FILE [--server ADDR] [--request-id ID] [--watch] ...   (prints the job id)
    qopt jobs [--state STATE] [--limit N] [--json]
    qopt watch JOB                                                     (live progress)
    qopt cancel JOB
    qopt result JOB [--top K] [--json]
    qopt backends [--available] [--json]                              (the server's backends)

Commands that talk to a server take ``--server`` (default ``$QOPT_SERVER`` or
127.0.0.1:50051), ``--token`` (default ``$QOPT_TOKEN``) and ``--ca-cert PEM`` for TLS.

``qopt solve`` runs in-process unless ``--server`` is given; either way the same pipeline
produces the result. The table shows each candidate's objective in the instance's own
terms (the cut for MaxCut graphs, x^T Q x for bqp/sparse QUBOs), its energy and
occurrences, then the timing per stage.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time

__all__ = ["main"]


class Progress:
    """A spinner with elapsed seconds on stderr while a call is in flight (only on a TTY)."""

    def __init__(self, label: str, stream=sys.stderr):
        self.label = label
        self.stream = stream
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        t0 = time.monotonic()
        frames = "|/-\\"
        i = 0
        while not self._done.wait(0.2):
            self.stream.write(f"\r{frames[i % 4]} {self.label} {time.monotonic() - t0:6.1f} s")
            self.stream.flush()
            i += 1
        self.stream.write("\r" + " " * (len(self.label) + 12) + "\r")
        self.stream.flush()

    def __enter__(self):
        if self.stream.isatty():
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()


def _parameters(args) -> dict:
    params = {}
    if args.num_reads is not None:
        params["num_reads"] = args.num_reads
    if args.num_sweeps is not None:
        params["num_sweeps"] = args.num_sweeps
    if args.seed is not None:
        params["seed"] = args.seed
    if args.num_threads is not None:
        params["num_threads"] = args.num_threads
    for item in args.param or ():
        key, _, value = item.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def _origin(cand) -> str:
    """Where a candidate came from, from its ``info`` (``quantum/qaoa``; other keys as k=v)."""
    info = dict(getattr(cand, "info", None) or {})
    if not info:
        return "-"
    head = "/".join(str(info.pop(k)) for k in ("branch", "backend") if info.get(k))
    rest = " ".join(f"{k}={v}" for k, v in sorted(info.items()))
    return " ".join(x for x in (head, rest) if x) or "-"


def _improver(event) -> str:
    """Who made a WatchJob improvement: ``quantum/exact``, ``classical/sa`` or the job's backend."""
    who = "/".join(x for x in (event.branch, event.backend) if x)
    return who or (event.source or "")


def format_table(result, instance, top: int) -> str:
    """A readable table of the top candidates and the timing per stage."""
    lines = []
    objective_name = instance.objective_name
    shown = result.candidates[:top]
    origin = any(getattr(c, "info", None) for c in shown)
    lines.append(f"{'rank':>4}  {objective_name:>12}  {'energy':>14}  {'occurrences':>11}"
                 + ("  origin" if origin else ""))
    for rank, cand in enumerate(shown, 1):
        objective = instance.to_objective(cand.energy)
        lines.append(f"{rank:>4}  {objective:>12g}  {cand.energy:>14.6g}  {cand.num_occurrences:>11d}"
                     + (f"  {_origin(cand)}" if origin else ""))
    conf = result.confidence
    lines.append("")
    if instance.best_known is not None:
        best = instance.to_objective(result.best.energy)
        lines.append(f"best {objective_name}: {best:g}   best known: {instance.best_known:g}")
    gap = conf.get("energy_gap")
    lines.append(f"reads reaching the best energy: {100 * conf.get('best_fraction', 0):.1f}% of "
                 f"{conf.get('num_reads')}   energy gap to runner-up: {gap if gap is not None else '-'}")
    if conf.get("lower_bound") is not None:
        bound = instance.to_objective(conf["lower_bound"])
        best = instance.to_objective(result.best.energy)
        relation = "<=" if instance.sense == "max" else ">="
        within = abs(bound - best) / max(1.0, abs(best))
        lines.append(f"certified bound: {objective_name} {relation} {bound:g} ({conf.get('lower_bound_method', '')}); "
                     f"the best candidate is within {100 * within:.2f}% of it"
                     + (" (proven optimal)" if conf.get("proven_optimal") else ""))
    lines.append(_timing_line(result))
    prov = result.provenance
    lines.append(f"backend: {prov.get('backend')} ({prov.get('routing', {}).get('reason', '')}); "
                 f"seed: {prov.get('parameters', {}).get('seed')}; problem sha256: {prov.get('problem_sha256', '')[:16]}...")
    return "\n".join(lines)


CONSTRAINED_FORMATS = ("lp", "mps", "qkp", "tsplib")


def _constrained_format(path: str, fmt: str | None) -> str | None:
    if fmt:
        return fmt if fmt in CONSTRAINED_FORMATS else None
    lower = path.lower()
    for ext, name in ((".lp", "lp"), (".mps", "mps"), (".tsp", "tsplib"), (".atsp", "tsplib")):
        if lower.endswith(ext):
            return name
    return None


def format_constrained_table(result, top: int) -> str:
    """Top candidates of a constrained model: objective, feasibility, violations, energy."""
    lines = [f"{'rank':>4}  {'objective':>12}  {'feasible':>8}  {'violated':>8}  {'energy':>14}  {'occurrences':>11}"]
    for rank, c in enumerate(result.candidates[:top], 1):
        violated = sum(1 for v in (c.violations or {}).values() if v > 0)
        lines.append(f"{rank:>4}  {c.objective:>12g}  {str(c.feasible):>8}  {violated:>8d}  {c.energy:>14.6g}  "
                     f"{c.num_occurrences:>11d}")
    conf = result.confidence
    lines.append("")
    lines.append(str(conf.get("message", "")))
    rounds = result.provenance.get("penalty_calibration", {}).get("rounds", [])
    for r in rounds:
        raised = ", ".join(r.get("raised", [])[:5])
        lines.append(f"round {r['round']}: feasible fraction {r['feasible_fraction']:.2f}"
                     + (f"; raised weights of {raised}" if raised else ""))
    lines.append(_timing_line(result))
    prov = result.provenance
    lines.append(f"backend: {prov.get('backend')} ({prov.get('routing', {}).get('reason', '')})")
    return "\n".join(lines)


def _timing_line(result) -> str:
    """``timing: stage s ...`` in pipeline order, then any other stages, then the total."""
    order = ["queue", "request_decode", "validate", "preprocess", "bound", "sample", "postprocess"]
    keys = [k for k in order if k in result.timing] + sorted(k for k in result.timing if k not in order and k != "total")
    stages = "  ".join(f"{k} {result.timing[k]:.3f} s" for k in keys)
    if "total" in result.timing:
        stages += f"  (total {result.timing['total']:.3f} s)"
    return f"timing: {stages}"


def _solve_constrained_file(args, fmt: str) -> int:
    from qopt.model import load_model
    from qopt.model.importers import to_lp

    try:
        problem = load_model(args.file, format=fmt)
    except (OSError, ValueError) as exc:
        print(f"qopt solve: {exc}", file=sys.stderr)
        return 2
    params = _parameters(args)
    label = f"solving {problem.name or args.file} ({len(problem.cqm.variables)} variables, "
    label += f"{len(problem.cqm.constraints)} constraints)"
    try:
        with Progress(label):
            if args.server:
                from qopt.client import Client

                with Client(args.server) as client:  # LP text keeps the model's own sense
                    result = client.solve(to_lp(problem), backend=args.backend, timeout=args.timeout,
                                          name=problem.name, **params)
            else:
                from qopt.solve import solve

                result = solve(problem, backend=args.backend, time_budget=args.timeout, **params)
    except Exception as exc:  # noqa: BLE001 - a CLI reports every failure in one line
        print(f"qopt solve: {exc}", file=sys.stderr)
        return 1
    if args.json:
        out = result.to_dict()
        out["candidates"] = out["candidates"][: args.top]
        out["instance"] = {"name": problem.name, "sense": problem.sense, "format": fmt}
        print(json.dumps(out))
    else:
        print(format_constrained_table(result, args.top))
    return 0


def cmd_solve(args) -> int:
    from qopt.io import read_instance

    fmt = _constrained_format(args.file, args.format)
    if fmt is not None:
        return _solve_constrained_file(args, fmt)
    try:
        instance = read_instance(args.file, format=args.format, problem=args.problem)
    except (OSError, ValueError) as exc:
        print(f"qopt solve: {exc}", file=sys.stderr)
        return 2
    params = _parameters(args)
    label = f"solving {instance.name} ({instance.bqm.num_variables} variables)"
    try:
        with Progress(label):
            if args.server:
                from qopt.client import Client

                with Client(args.server) as client:
                    result = client.solve(instance.bqm, backend=args.backend, timeout=args.timeout,
                                          name=instance.name, **params)
            else:
                from qopt.solve import solve

                result = solve(instance.bqm, backend=args.backend, time_budget=args.timeout, **params)
    except Exception as exc:  # noqa: BLE001 - a CLI reports every failure in one line
        print(f"qopt solve: {exc}", file=sys.stderr)
        if getattr(exc, "job_id", None):
            print(f"the server goes on with it as job {exc.job_id}: qopt result {exc.job_id} --server {args.server}",
                  file=sys.stderr)
        return 1
    if args.json:
        out = result.to_dict()
        out["candidates"] = out["candidates"][: args.top]
        for cand in out["candidates"]:
            cand[instance.objective_name.replace(" ", "_")] = instance.to_objective(cand["energy"])
        out["instance"] = {"name": instance.name, "best_known": instance.best_known,
                           "objective": instance.objective_name, "sense": instance.sense}
        print(json.dumps(out))
    else:
        print(format_table(result, instance, args.top))
    return 0


def cmd_serve(args) -> int:
    from qopt.service.limits import load_config
    from qopt.service.observe import configure_logging
    from qopt.service.server import serve

    configure_logging(args.log_level, args.log_format)
    tokens = None
    if args.token_sha256:
        tokens = {}
        for item in args.token_sha256:
            digest, sep, principal = item.partition("=")
            if not sep:
                print("qopt serve: --token-sha256 takes DIGEST=PRINCIPAL", file=sys.stderr)
                return 2
            tokens[digest] = principal
    try:
        config = load_config(args.config, store=args.store, metrics_port=args.metrics_port,
                             metrics_address=args.metrics_address, max_queue_length=args.max_queue_length,
                             job_workers=args.job_workers, grace=args.grace, max_attempts=args.max_attempts,
                             retention_days=args.retention_days, max_message_bytes=args.max_message_bytes)
        if tokens:
            config = config.replace(tokens={**config.tokens, **tokens})
            config.__post_init__()
    except (OSError, ValueError) as exc:
        print(f"qopt serve: configuration: {exc}", file=sys.stderr)
        return 2
    return serve(args.address, config=config, max_workers=args.max_workers, tls_cert=args.tls_cert,
                 tls_key=args.tls_key)


# -- job commands ---------------------------------------------------------------------------
def _client(args):
    import os

    from qopt.client import Client

    token = args.token if args.token is not None else os.environ.get("QOPT_TOKEN")
    ca = None
    if args.ca_cert:
        with open(args.ca_cert, "rb") as f:
            ca = f.read()
    return Client(args.server or os.environ.get("QOPT_SERVER", "127.0.0.1:50051"), token=token, root_certificates=ca)


def _load_model(args):
    """(model, name, instance or None): an instance file as a BQM, or an .lp file as LP text."""
    import pathlib

    if args.format == "lp" or (args.format is None and args.file.lower().endswith(".lp")):
        path = pathlib.Path(args.file)
        return path.read_text(), path.stem, None
    try:  # qopt.io.read_instance where the readers are merged, else the older qopt.instances
        from qopt.io import read_instance as load_instance
    except ImportError:
        from qopt.instances import load_instance

    instance = load_instance(args.file, format=args.format, problem=args.problem)
    return instance.bqm, getattr(instance, "name", ""), instance


def _fmt_time(ts) -> str:
    if not ts.seconds and not ts.nanos:
        return "-"
    return ts.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")


def _job_line(job) -> str:
    from qopt.v1 import solver_service_pb2 as pb

    state = pb.JobState.Name(job.state).removeprefix("JOB_STATE_")
    best = f"{job.result.candidates[0].energy:.6g}" if len(job.result.candidates) else "-"
    return (f"{job.job_id}  {state:<9}  {job.backend:<6}  {job.attempt:>7}  {_fmt_time(job.create_time):<19}  "
            f"{_fmt_time(job.end_time):<19}  {job.request_id or '-'}{'  ' + job.problem_name if job.problem_name else ''}"
            + ("" if best == "-" else f"  best {best}"))


def _job_dict(job) -> dict:
    from google.protobuf import json_format

    return json_format.MessageToDict(job, preserving_proto_field_name=True)


def cmd_submit(args) -> int:
    from qopt.client import SolveError

    try:
        model, name, _ = _load_model(args)
    except (OSError, ValueError) as exc:
        print(f"qopt submit: {exc}", file=sys.stderr)
        return 2
    try:
        with _client(args) as client:
            job = client.submit(model, backend=args.backend, request_id=args.request_id or "", name=name,
                                time_budget=args.time_budget or 0.0, **_parameters(args))
            if args.json:
                print(json.dumps(_job_dict(job.get())))
            else:
                print(job.job_id)
            if args.watch:
                return _watch(client, job.job_id, sys.stderr)
    except SolveError as exc:
        print(f"qopt submit: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_jobs(args) -> int:
    from qopt.client import SolveError

    try:
        with _client(args) as client:
            jobs = client.list_jobs(args.state, limit=args.limit)
    except (SolveError, ValueError) as exc:
        print(f"qopt jobs: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([_job_dict(j) for j in jobs]))
        return 0
    print(f"{'job_id':<32}  {'state':<9}  {'backend':<6}  attempts  {'created (UTC)':<19}  {'ended (UTC)':<19}  "
          f"request_id")
    for job in jobs:
        print(_job_line(job))
    return 0


def _watch(client, job_id: str, stream) -> int:
    """Follow a job, drawing one status line (redrawn in place on a TTY); 0 when it
    succeeded, 1 otherwise."""
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
                by = _improver(event)
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
    from qopt.client import SolveError

    try:
        with _client(args) as client:
            return _watch(client, args.job, sys.stdout)
    except SolveError as exc:
        print(f"qopt watch: {exc}", file=sys.stderr)
        return 1


def cmd_cancel(args) -> int:
    from qopt.client import SolveError
    from qopt.v1 import solver_service_pb2 as pb

    try:
        with _client(args) as client:
            job = client.job(args.job).cancel()
    except SolveError as exc:
        print(f"qopt cancel: {exc}", file=sys.stderr)
        return 1
    state = pb.JobState.Name(job.state).removeprefix("JOB_STATE_")
    print(f"{job.job_id} {state}{' (stopping)' if job.cancel_requested and state == 'RUNNING' else ''}")
    return 0


def cmd_result(args) -> int:
    from qopt.client import SolveError

    try:
        with _client(args) as client:
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
    origin = any(c.info for c in shown)
    print(f"{'rank':>4}  {'energy':>14}  {'occurrences':>11}" + ("  origin" if origin else ""))
    for rank, cand in enumerate(shown, 1):
        print(f"{rank:>4}  {cand.energy:>14.6g}  {cand.num_occurrences:>11d}" + (f"  {_origin(cand)}" if origin else ""))
    print("timing: " + "  ".join(f"{k} {v:.3f} s" for k, v in result.timing.items()))
    return 0


def cmd_backends(args) -> int:
    from qopt.client import SolveError

    try:
        with _client(args) as client:
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


def _add_remote(p, required_server: bool = False):
    p.add_argument("--server", help="HOST:PORT of the qopt server (default $QOPT_SERVER or 127.0.0.1:50051)")
    p.add_argument("--token", help="API token (default $QOPT_TOKEN)")
    p.add_argument("--ca-cert", help="PEM file of the CA for a TLS server")


def _add_sampler_options(p):
    p.add_argument("--backend", default="auto", help="backend name (default: auto)")
    p.add_argument("--num-reads", type=int)
    p.add_argument("--num-sweeps", type=int)
    p.add_argument("--num-threads", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="any other sampler parameter (value parsed as JSON when possible)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qopt", description="qopt: hybrid quantum-classical optimisation solver")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC service")
    serve.add_argument("--address", default="127.0.0.1:50051", help="HOST:PORT to listen on (port 0 picks one)")
    serve.add_argument("--store", help="SQLite job store (default $XDG_STATE_HOME/qopt/jobs.sqlite or "
                                       "~/.local/state/qopt/jobs.sqlite)")
    serve.add_argument("--config", help="TOML or JSON file of ServiceConfig settings (limits, tokens, ...)")
    serve.add_argument("--metrics-port", type=int, help="Prometheus /metrics HTTP port (default 0: off)")
    serve.add_argument("--metrics-address", help="address the metrics endpoint binds (default 127.0.0.1)")
    serve.add_argument("--tls-cert", help="PEM certificate chain: serve TLS (with --tls-key)")
    serve.add_argument("--tls-key", help="PEM private key for --tls-cert")
    serve.add_argument("--token-sha256", action="append", metavar="DIGEST=PRINCIPAL",
                       help="accept the token whose SHA-256 hex digest is DIGEST as PRINCIPAL (turns auth on)")
    serve.add_argument("--max-workers", type=int, help="concurrent RPCs (default 16)")
    serve.add_argument("--job-workers", type=int, help="threads running jobs (default 2)")
    serve.add_argument("--max-queue-length", type=int, help="queued jobs before SubmitJob is refused (default 1000)")
    serve.add_argument("--max-attempts", type=int, help="starts of a job before it fails (default 3)")
    serve.add_argument("--retention-days", type=float, help="delete finished jobs older than this (default 30)")
    serve.add_argument("--max-message-bytes", type=int, help="largest gRPC message (default 64 MiB)")
    serve.add_argument("--grace", type=float, help="seconds in-flight calls get at shutdown (default 5)")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--log-format", choices=("json", "text"), default="json",
                       help="JSON lines (default) or plain text")
    serve.set_defaults(func=cmd_serve)

    submit = sub.add_parser("submit", help="submit an instance or LP file as a job; prints the job id")
    submit.add_argument("file", help="instance file (gset/bqp/sparse) or an LP file (.lp)")
    submit.add_argument("--format", choices=("gset", "bqp", "sparse", "lp"), help="file format (guessed when omitted)")
    submit.add_argument("--problem", type=int, help="problem number in a multi-problem bqp file (1-based)")
    submit.add_argument("--request-id", help="idempotency key: resubmitting returns the same job")
    submit.add_argument("--time-budget", type=float, help="seconds of solving once the job starts")
    submit.add_argument("--watch", action="store_true", help="follow the job after submitting it")
    submit.add_argument("--json", action="store_true", help="print the job as JSON")
    _add_sampler_options(submit)
    _add_remote(submit)
    submit.set_defaults(func=cmd_submit)

    jobs = sub.add_parser("jobs", help="list your jobs, newest first")
    jobs.add_argument("--state", choices=("queued", "running", "succeeded", "failed", "cancelled"),
                      type=str.lower, help="only jobs in this state")
    jobs.add_argument("--limit", type=int, default=50, help="most jobs shown (default 50)")
    jobs.add_argument("--json", action="store_true")
    _add_remote(jobs)
    jobs.set_defaults(func=cmd_jobs)

    watch = sub.add_parser("watch", help="follow a job live: state, stage, best energy")
    watch.add_argument("job", help="job id")
    _add_remote(watch)
    watch.set_defaults(func=cmd_watch)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job", help="job id")
    _add_remote(cancel)
    cancel.set_defaults(func=cmd_cancel)

    result = sub.add_parser("result", help="wait for a job and print its candidates")
    result.add_argument("job", help="job id")
    result.add_argument("--timeout", type=float, help="seconds to wait")
    result.add_argument("--top", type=int, default=10)
    result.add_argument("--json", action="store_true")
    _add_remote(result)
    result.set_defaults(func=cmd_result)

    backends = sub.add_parser("backends", help="the server's backends: availability, parameters, capabilities")
    backends.add_argument("--available", action="store_true", help="only those that can run on the server now")
    backends.add_argument("--json", action="store_true", help="print them as JSON")
    _add_remote(backends)
    backends.set_defaults(func=cmd_backends)

    solve = sub.add_parser("solve", help="solve an instance file and print the top candidates")
    solve.add_argument("file", help="instance file (Gset/Biq Mac graph, OR-Library bqp, Biq Mac .sparse)")
    solve.add_argument("--format", choices=("gset", "bqp", "sparse", *CONSTRAINED_FORMATS),
                       help="file format (guessed from the name when omitted); lp, mps, qkp and tsplib are "
                            "constrained models, compiled with tuned penalties")
    solve.add_argument("--problem", type=int, help="problem number in a multi-problem bqp file (1-based)")
    solve.add_argument("--server", help="HOST:PORT of a qopt server (in-process when omitted)")
    solve.add_argument("--backend", default="auto", help="backend name (default: auto)")
    solve.add_argument("--num-reads", type=int)
    solve.add_argument("--num-sweeps", type=int)
    solve.add_argument("--num-threads", type=int)
    solve.add_argument("--seed", type=int)
    solve.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="any other sampler parameter (value parsed as JSON when possible)")
    solve.add_argument("--timeout", type=float, help="seconds to wait (gRPC deadline / time budget)")
    solve.add_argument("--top", type=int, default=10, help="candidates to show (default 10)")
    solve.add_argument("--json", action="store_true", help="machine-readable JSON output")
    solve.set_defaults(func=cmd_solve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
