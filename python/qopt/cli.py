"""The ``qopt`` command line.

    qopt serve [--address HOST:PORT]
    qopt solve FILE --format gset|bqp|sparse [--problem K] [--server ADDR] [--backend sa]
               [--num-reads N] [--num-sweeps N] [--seed S] [--timeout SECONDS] [--top K] [--json]

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


def format_table(result, instance, top: int) -> str:
    """A readable table of the top candidates and the timing per stage."""
    lines = []
    objective_name = instance.objective_name
    lines.append(f"{'rank':>4}  {objective_name:>12}  {'energy':>14}  {'occurrences':>11}")
    for rank, cand in enumerate(result.candidates[:top], 1):
        objective = instance.to_objective(cand.energy)
        lines.append(f"{rank:>4}  {objective:>12g}  {cand.energy:>14.6g}  {cand.num_occurrences:>11d}")
    conf = result.confidence
    lines.append("")
    if instance.best_known is not None:
        best = instance.to_objective(result.best.energy)
        lines.append(f"best {objective_name}: {best:g}   best known: {instance.best_known:g}")
    gap = conf.get("energy_gap")
    lines.append(f"reads reaching the best energy: {100 * conf.get('best_fraction', 0):.1f}% of "
                 f"{conf.get('num_reads')}   energy gap to runner-up: {gap if gap is not None else '-'}")
    if conf.get("lower_bound") is not None:
        lines.append(f"certified lower bound on the energy: {conf['lower_bound']:g} "
                     f"({conf.get('lower_bound_method', '')}), gap {100 * conf.get('gap', 0):.2f}%")
    order = ["request_decode", "validate", "preprocess", "sample", "postprocess"]
    keys = [k for k in order if k in result.timing] + sorted(k for k in result.timing if k not in order and k != "total")
    stages = "  ".join(f"{k} {result.timing[k]:.3f} s" for k in keys)
    if "total" in result.timing:
        stages += f"  (total {result.timing['total']:.3f} s)"
    lines.append(f"timing: {stages}")
    prov = result.provenance
    lines.append(f"backend: {prov.get('backend')} ({prov.get('routing', {}).get('reason', '')}); "
                 f"seed: {prov.get('parameters', {}).get('seed')}; problem sha256: {prov.get('problem_sha256', '')[:16]}...")
    return "\n".join(lines)


def cmd_solve(args) -> int:
    from qopt.io import read_instance

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
                from qopt.pipeline import solve

                result = solve(instance.bqm, backend=args.backend, time_budget=args.timeout, **params)
    except Exception as exc:  # noqa: BLE001 - a CLI reports every failure in one line
        print(f"qopt solve: {exc}", file=sys.stderr)
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
    import logging

    from qopt.service.server import serve

    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return serve(args.address, max_workers=args.max_workers, grace=args.grace)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qopt", description="qopt: hybrid quantum-classical optimisation solver")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC service")
    serve.add_argument("--address", default="127.0.0.1:50051", help="HOST:PORT to listen on (port 0 picks one)")
    serve.add_argument("--max-workers", type=int, default=8, help="concurrent RPCs")
    serve.add_argument("--grace", type=float, default=5.0, help="seconds in-flight calls get at shutdown")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    solve = sub.add_parser("solve", help="solve an instance file and print the top candidates")
    solve.add_argument("file", help="instance file (Gset/Biq Mac graph, OR-Library bqp, Biq Mac .sparse)")
    solve.add_argument("--format", choices=("gset", "bqp", "sparse"), help="file format (guessed when omitted)")
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
