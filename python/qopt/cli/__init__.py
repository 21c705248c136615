"""The ``qopt`` command line.

    qopt serve [--address HOST:PORT] [--store PATH] [--config FILE] [--http-port PORT]
               [--tls-cert PEM --tls-key PEM] [--tokens-file PATH] [--insecure]
               [--executor thread|ray [--ray-address ADDR|local]]
    qopt solve FILE [--format F] [--problem K] [--server ADDR --token T --ca-cert PEM] [--backend sa]
               [--num-reads N] [--num-sweeps N] [--seed S] [--timeout SECONDS] [--top K] [--json]
    qopt submit FILE [--format F] [--server ADDR] [--request-id ID] [--watch] ...   (prints the job id)
    qopt jobs [--state STATE] [--limit N] [--json]
    qopt watch JOB                                       (one line per state, stage and improvement)
    qopt cancel JOB
    qopt result JOB [--file FILE [--format F]] [--top K] [--json]
    qopt backends [--available] [--json]                 (the server's backends)
    qopt profile [--write PATH [--quick] [--data DIR]]   (the routing profile of auto; measure one here)
    qopt benchmark FILES... [--backends sa,highs,...] [--deadlines 1,10] [--seeds 5] [--executor ray]
               [--out DIR]                               (TTS99, success probability, residual energy, gaps)

Every command that talks to a server takes ``--server`` (default ``$QOPT_SERVER`` or
127.0.0.1:50051; ``qopt solve`` runs in-process without it), ``--token`` (default
``$QOPT_TOKEN``) and ``--ca-cert PEM`` for TLS. Every command that reads a FILE takes every
format (``--format``: lp, mps, qkp, tsplib, json, cqm, gset, bqp, sparse), detected from the
name, then the content, when ``--format`` is absent.

Scripts can trust the output: stdout carries the command's output only (a table, or with
``--json`` exactly one JSON document; whatever libraries print goes to stderr), and the exit
status says what went wrong by class (:mod:`~qopt.cli.exit_codes`: 0 ok, 1 internal,
2 usage / invalid input, 3 resource limit, 4 backend unavailable or not configured, 5 no
result in time, 6 cancelled, 7 server unreachable or token refused). Results show each
candidate's objective in the instance's own terms (the cut for MaxCut graphs, x^T Q x for
bqp/sparse QUBOs, the model's objective and feasibility), the decoded answer where the
template gives one (a TSPLIB tour, the items of a QKP), energy and occurrences, the timing
per stage in pipeline order and the backend that ran.

Modules: :mod:`~qopt.cli.solve` (``solve``), :mod:`~qopt.cli.serve` (``serve``),
:mod:`~qopt.cli.jobs` (the commands that talk to a server), :mod:`~qopt.cli.output` (tables,
JSON documents, job lines, the progress spinner, the clean-stdout guard),
:mod:`~qopt.cli.options` (options shared by commands: server, token, input file),
:mod:`~qopt.cli.exit_codes` (the exit-code table).
"""
from __future__ import annotations

import argparse
import sys

from qopt.cli import jobs as server_commands
from qopt.cli.benchmark import add_benchmark_parser
from qopt.cli.exit_codes import SERVER, epilog, exit_code
from qopt.cli.options import add_input, add_remote, add_sampler_options, client_for, server_address
from qopt.cli.output import clean_stdout
from qopt.cli.serve import cmd_serve
from qopt.cli.solve import cmd_solve
from qopt.solve.profile import add_profile_arguments

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The ``qopt`` argument parser: one subcommand each, its handler in ``func``."""
    parser = argparse.ArgumentParser(prog="qopt", description="qopt: hybrid quantum-classical optimisation solver",
                                     epilog=epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
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
    serve.add_argument("--executor", choices=("thread", "ray"),
                       help="where jobs and batches run: thread (in-process, default) or ray (Ray tasks; "
                            'pip install "qopt[ray]")')
    serve.add_argument("--ray-address", metavar="ADDR|local",
                       help="with --executor ray: 'local' starts a local Ray instance (default); 'auto', "
                            "HOST:PORT or ray://HOST:PORT connects to a running cluster")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--log-format", choices=("json", "text"), default="json",
                       help="JSON lines (default) or plain text")
    serve.set_defaults(func=cmd_serve)

    submit = sub.add_parser("submit", help="submit a model or instance file as a job; prints the job id")
    add_input(submit)
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

    watch = sub.add_parser("watch", help="follow a job live: a line per state, stage and improvement")
    watch.add_argument("job", help="job id")
    add_remote(watch)
    watch.set_defaults(func=server_commands.cmd_watch)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job", help="job id")
    add_remote(cancel)
    cancel.set_defaults(func=server_commands.cmd_cancel)

    result = sub.add_parser("result", help="wait for a job and print its candidates")
    result.add_argument("job", help="job id")
    result.add_argument("--timeout", type=float, help="seconds to wait (exit status 5 when it passes)")
    add_input(result, required=False)
    result.add_argument("--top", type=int, default=10)
    result.add_argument("--json", action="store_true")
    add_remote(result)
    result.set_defaults(func=server_commands.cmd_result)

    backends = sub.add_parser("backends", help="the server's backends: availability, parameters, capabilities")
    backends.add_argument("--available", action="store_true", help="only those that can run on the server now")
    backends.add_argument("--json", action="store_true", help="print them as JSON")
    add_remote(backends)
    backends.set_defaults(func=server_commands.cmd_backends)

    solve = sub.add_parser("solve", help="solve a model or instance file and print the top candidates")
    add_input(solve)
    add_remote(solve, in_process=True)
    add_sampler_options(solve)
    solve.add_argument("--timeout", type=float, help="seconds to wait (gRPC deadline / time budget)")
    solve.add_argument("--top", type=int, default=10, help="candidates to show (default 10)")
    solve.add_argument("--json", action="store_true", help="machine-readable JSON output")
    solve.set_defaults(func=cmd_solve)

    profile = sub.add_parser("profile", help="show the routing profile backend auto uses, or measure the backends "
                                             "on this machine and write one (--write PATH)")
    add_profile_arguments(profile)
    profile.set_defaults(func=cmd_profile)
    add_benchmark_parser(sub)
    return parser


def cmd_profile(args) -> int:
    """``qopt profile``: :func:`qopt.solve.profile.profile_command`."""
    from qopt.solve.profile import profile_command

    return profile_command(write=args.write, quick=args.quick, data=args.data, out=args.out)


def _report(args, exc: BaseException) -> int:
    """Print why the command failed on stderr (one line, its notes, a hint) and return its exit code."""
    from qopt.errors import QoptError

    reachable = None
    if getattr(getattr(exc, "code", None), "name", None) == "UNAVAILABLE" and hasattr(args, "token"):
        try:  # the server answered, and the backend behind it is unavailable (4), or it is unreachable (7)
            with client_for(args) as client:
                client.wait_until_ready(timeout=0.5)
            reachable = True
        except Exception:  # noqa: BLE001 - any failure to connect means unreachable
            reachable = False
    code = exit_code(exc, server_reachable=reachable)
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, (QoptError, OSError, TimeoutError, KeyboardInterrupt)):
        text = f"internal error ({type(exc).__name__}): {text}"
    print(f"qopt {args.command}: {text}", file=sys.stderr)
    for note in getattr(exc, "__notes__", ()):
        print(f"  {note}", file=sys.stderr)
    if code == SERVER and reachable is False:
        print(f"  no qopt server answers at {server_address(args)}: start one with qopt serve, or name it with "
              "--server or $QOPT_SERVER (--ca-cert PEM for a TLS server)", file=sys.stderr)
    elif code == SERVER:
        print("  the server refused the token: pass it with --token or $QOPT_TOKEN", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the ``qopt`` command line on ``argv`` (default ``sys.argv[1:]``).

    Returns:
        The exit code (:mod:`qopt.cli.exit_codes`): 0 on success, else the failure's class.
        Usage errors found by argparse exit with 2 (``SystemExit``).
    """
    args = build_parser().parse_args(argv)
    if args.command == "serve":  # a long-running server: its logs and stdout are its own
        return args.func(args)
    with clean_stdout() as out:
        args.out = out
        try:
            return args.func(args)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - every failure ends in an exit code
            return _report(args, exc)
