"""``qopt benchmark FILES...``: a user's benchmark campaign (:mod:`qopt.campaign`).

Runs every instance x backend x deadline x seed through qopt's backends, on this machine
(default) or a Ray cluster (``--executor ray``), and writes ``runs.csv``, ``summary.csv``,
``report.md`` and plots under ``--out``; prints the summary table.
"""
from __future__ import annotations

import sys

__all__ = ["add_benchmark_parser", "cmd_benchmark"]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def add_benchmark_parser(sub) -> None:
    """Register ``qopt benchmark`` on the subparsers ``sub``."""
    from qopt.cli.options import add_sampler_options

    p = sub.add_parser("benchmark", help="run instances through qopt's backends: TTS99, success probability, "
                                         "residual energy, gaps; CSV, report and plots")
    p.add_argument("files", nargs="+", help="instance files (Gset/rudy, OR-Library bqp, Biq Mac .sparse) or shipped "
                                            "names (gka1b, bqp50, G1, ...)")
    p.add_argument("--backends", default="sa", help="comma-separated registered backend names (default: sa)")
    p.add_argument("--deadlines", default="1", type=_floats, help="comma-separated time budgets in seconds (default 1)")
    p.add_argument("--seeds", type=int, default=5, help="seeds per configuration (1..N; default 5)")
    p.add_argument("--executor", choices=("thread", "ray"), default="thread",
                   help='where runs execute: thread (this machine) or ray (pip install "qopt[ray]")')
    p.add_argument("--ray-address", metavar="ADDR|local", help="with --executor ray: 'local' (default), 'auto', "
                                                               "HOST:PORT or ray://HOST:PORT")
    p.add_argument("--parallel", type=int, default=1,
                   help="runs at once (default 1: runs do not share CPUs, so their times compare)")
    p.add_argument("--out", dest="out_dir", default="qopt-benchmark", help="folder for runs.csv, summary.csv, report.md, plots")
    add_sampler_options(p)
    p.set_defaults(func=cmd_benchmark)


def cmd_benchmark(args) -> int:
    """Run the campaign and write its report; 0 on success (bad arguments raise, with the
    exit code chosen by class)."""
    from qopt.campaign import run_campaign, summarize, write_report
    from qopt.cli.options import sampler_parameters

    params = sampler_parameters(args)
    params.pop("seed", None)  # the campaign's --seeds choose the seeds
    instances, runs = run_campaign(args.files, args.backends.split(","), args.deadlines, args.seeds,
                                   executor=args.executor, ray_address=args.ray_address,
                                   max_parallel=args.parallel, parameters=params)
    summaries = summarize(instances, runs)
    paths = write_report(args.out_dir, instances, runs, summaries, executor=args.executor)
    out = getattr(args, "out", None) or sys.stdout
    out.write(paths["report.md"].read_text().split("\n![")[0].rstrip() + "\n")
    out.write(f"\nwrote {', '.join(str(p) for p in paths.values())}\n")
    return 0
