"""The ``qopt`` command line.

    qopt serve [--address HOST:PORT] [--store PATH] [--config FILE] [--http-port PORT]
               [--tls-cert PEM --tls-key PEM] [--tokens-file PATH] [--insecure]
    qopt solve FILE [--format gset|bqp|sparse|lp|mps|qkp|tsplib] [--problem K] [--server ADDR] [--backend sa]
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
produces the result. A FILE's format is ``--format``, else what
:func:`qopt.model.formats.detect.detect_format` says. The table shows each candidate's
objective in the instance's own terms (the cut for MaxCut graphs, x^T Q x for bqp/sparse
QUBOs), its energy and occurrences, then the timing per stage.

Modules: :mod:`~qopt.cli.solve` (``solve``), :mod:`~qopt.cli.serve` (``serve``),
:mod:`~qopt.cli.jobs` (the commands that talk to a server), :mod:`~qopt.cli.output` (tables,
job lines, the progress spinner), :mod:`~qopt.cli.options` (options shared by commands).
"""
from __future__ import annotations

import argparse

from qopt.cli import jobs as server_commands
from qopt.cli.options import add_remote, add_sampler_options
from qopt.cli.serve import cmd_serve
from qopt.cli.solve import CONSTRAINED_FORMATS, cmd_solve
from qopt.model.formats.detect import INSTANCE_FORMATS

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The ``qopt`` argument parser: one subcommand each, its handler in ``func``."""
    parser = argparse.ArgumentParser(prog="qopt", description="qopt: hybrid quantum-classical optimisation solver")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC service")
    serve.add_argument("--address", default="127.0.0.1:50051", help="HOST:PORT to listen on (port 0 picks one)")
    serve.add_argument("--store", help="SQLite job store (default $XDG_STATE_HOME/qopt/jobs.sqlite or "
                                       "~/.local/state/qopt/jobs.sqlite)")
    serve.add_argument("--config", help="TOML or JSON file of ServiceConfig settings (limits, tokens, ...)")
    serve.add_argument("--http-port", "--metrics-port", dest="metrics_port", type=int, metavar="PORT",
                       help="HTTP port of Prometheus /metrics and the job dashboard /jobs (default 0: off)")
    serve.add_argument("--metrics-address", help="address the metrics endpoint binds (default 127.0.0.1)")
    serve.add_argument("--tls-cert", help="PEM certificate chain: serve TLS (with --tls-key)")
    serve.add_argument("--tls-key", help="PEM private key for --tls-cert")
    serve.add_argument("--tokens-file", metavar="PATH",
                       help="accepted tokens, one 'SHA256-HEX PRINCIPAL' per line (turns auth on; also "
                            "$QOPT_TOKENS_SHA256='DIGEST=PRINCIPAL,...' or [tokens] in --config)")
    serve.add_argument("--token-sha256", action="append", metavar="DIGEST=PRINCIPAL",
                       help="accept the token whose SHA-256 hex digest is DIGEST as PRINCIPAL (turns auth on; "
                            "visible in ps: prefer --tokens-file)")
    serve.add_argument("--insecure", action="store_true", default=None,
                       help="allow a non-loopback --address with authentication off (refused otherwise)")
    serve.add_argument("--max-workers", type=int,
                       help="RPC threads for short calls, beyond one per Solve slot and stream (default 16)")
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
    submit.add_argument("--format", choices=("gset", "bqp", "sparse", "lp"),
                        help="file format (detected from the name, then the content, when omitted)")
    submit.add_argument("--problem", type=int, help="problem number in a multi-problem bqp file (1-based)")
    submit.add_argument("--request-id", help="idempotency key: resubmitting returns the same job")
    submit.add_argument("--time-budget", type=float, help="seconds of solving once the job starts")
    submit.add_argument("--watch", action="store_true", help="follow the job after submitting it")
    submit.add_argument("--json", action="store_true", help="print the job as JSON")
    add_sampler_options(submit)
    add_remote(submit)
    submit.set_defaults(func=server_commands.cmd_submit)

    jobs = sub.add_parser("jobs", help="list your jobs, newest first")
    jobs.add_argument("--state", choices=("queued", "running", "succeeded", "failed", "cancelled"),
                      type=str.lower, help="only jobs in this state")
    jobs.add_argument("--limit", type=int, default=50, help="most jobs shown (default 50)")
    jobs.add_argument("--json", action="store_true")
    add_remote(jobs)
    jobs.set_defaults(func=server_commands.cmd_jobs)

    watch = sub.add_parser("watch", help="follow a job live: state, stage, best energy")
    watch.add_argument("job", help="job id")
    add_remote(watch)
    watch.set_defaults(func=server_commands.cmd_watch)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job", help="job id")
    add_remote(cancel)
    cancel.set_defaults(func=server_commands.cmd_cancel)

    result = sub.add_parser("result", help="wait for a job and print its candidates")
    result.add_argument("job", help="job id")
    result.add_argument("--timeout", type=float, help="seconds to wait")
    result.add_argument("--top", type=int, default=10)
    result.add_argument("--json", action="store_true")
    add_remote(result)
    result.set_defaults(func=server_commands.cmd_result)

    backends = sub.add_parser("backends", help="the server's backends: availability, parameters, capabilities")
    backends.add_argument("--available", action="store_true", help="only those that can run on the server now")
    backends.add_argument("--json", action="store_true", help="print them as JSON")
    add_remote(backends)
    backends.set_defaults(func=server_commands.cmd_backends)

    solve = sub.add_parser("solve", help="solve an instance file and print the top candidates")
    solve.add_argument("file", help="instance file (Gset/Biq Mac graph, OR-Library bqp, Biq Mac .sparse)")
    solve.add_argument("--format", choices=(*INSTANCE_FORMATS, *CONSTRAINED_FORMATS),
                       help="file format (detected from the name, then the content, when omitted); lp, mps, "
                            "qkp and tsplib are constrained models, compiled with tuned penalties")
    solve.add_argument("--problem", type=int, help="problem number in a multi-problem bqp file (1-based)")
    solve.add_argument("--server", help="HOST:PORT of a qopt server (in-process when omitted)")
    add_sampler_options(solve)
    solve.add_argument("--timeout", type=float, help="seconds to wait (gRPC deadline / time budget)")
    solve.add_argument("--top", type=int, default=10, help="candidates to show (default 10)")
    solve.add_argument("--json", action="store_true", help="machine-readable JSON output")
    solve.set_defaults(func=cmd_solve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``qopt`` command line on ``argv`` (default ``sys.argv[1:]``); the exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args)
