"""Benchmark campaigns for users: a user's instances through qopt's backends, with the
metrics the field reports.

:func:`run_campaign` runs every instance x backend x deadline x seed once through the one
pipeline (:func:`qopt.solve`, on threads or on a Ray cluster via :func:`qopt.service.executor.run_batch`)
and :func:`summarize` reduces the runs, per instance, backend and deadline, to:

- **success probability** ``p_s``: the fraction of seeds whose best energy reaches the target
  (within ``tol`` x max(1, |target|)). The target is the instance's published best-known
  value (:attr:`qopt.io.readers.Instance.best_known_energy`) when known, else the best energy
  any run of the campaign found (``target_source`` says which);
- **time to solution** at 99% (OpenJij's ``time_to_solution``; Ronnow et al., Science 345,
  420 (2014)): ``TTS99 = tau * ln(1 - 0.99) / ln(1 - p_s)``, with ``tau`` the mean wall time of
  one run that answered (seconds, the pipeline's ``timing["total"]``); ``tau`` when ``p_s = 1`` (one run
  suffices), infinite when ``p_s = 0``;
- **residual energy**: the mean over seeds of ``best energy - target`` (energy units);
- **gap**: ``(best energy - target) / max(1, |target|)`` of the best run, and the gap to the
  certified lower bound the pipeline computed (``confidence["lower_bound"]``) when it did.

:func:`write_report` writes ``runs.csv``, ``summary.csv``, ``report.md`` and the plots
``tts.png`` and ``residual_energy.png`` (matplotlib).
"""
from __future__ import annotations

import csv
import dataclasses
import math
import pathlib
import threading
from collections.abc import Iterable, Sequence

from qopt.errors import ParameterError
from qopt.io.readers import Instance, read_instance
from qopt.service.executor import Executor, make_executor, run_batch
from qopt.service.executor_call import SolveCall

__all__ = ["Run", "Summary", "time_to_solution", "run_campaign", "summarize", "write_report", "check_backends",
           "TARGET_PROBABILITY"]

#: The probability TTS is quoted at (TTS99).
TARGET_PROBABILITY = 0.99


def time_to_solution(success_probability: float, run_seconds: float, target: float = TARGET_PROBABILITY) -> float:
    """Expected seconds to see the target once with probability ``target``:
    ``run_seconds * ln(1 - target) / ln(1 - success_probability)`` (OpenJij's definition);
    ``run_seconds`` when ``success_probability`` is 1, ``inf`` when it is 0.

    Raises:
        ParameterError: a probability outside [0, 1] (``target`` in (0, 1)), negative seconds.
    """
    if not 0.0 <= success_probability <= 1.0:
        raise ParameterError("success_probability", f"must be in [0, 1], was {success_probability!r}")
    if not 0.0 < target < 1.0:
        raise ParameterError("target", f"must be in (0, 1), was {target!r}")
    if run_seconds < 0:
        raise ParameterError("run_seconds", f"must be >= 0, was {run_seconds!r}")
    if success_probability == 0.0:
        return math.inf
    if success_probability == 1.0:
        return run_seconds
    return run_seconds * math.log(1.0 - target) / math.log(1.0 - success_probability)


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of the campaign.

    Attributes:
        instance: instance name; backend; deadline (seconds, the run's ``time_budget``); seed.
        energy: best energy found (None when the run failed); seconds: its wall time (the
            pipeline's ``timing["total"]``, seconds); lower_bound: the certified bound the
            pipeline reported, if any; error: why the run failed ("" when it did not);
            attempts: runs it took (a lost Ray worker adds one).
    """

    instance: str
    backend: str
    deadline: float
    seed: int
    energy: float | None
    seconds: float
    lower_bound: float | None = None
    error: str = ""
    attempts: int = 1


@dataclasses.dataclass(frozen=True)
class Summary:
    """The metrics of one instance x backend x deadline (see the module notes); energies in
    the instance BQM's units, seconds of wall clock."""

    instance: str
    backend: str
    deadline: float
    runs: int
    successes: int
    success_probability: float
    mean_seconds: float
    tts99: float
    residual_energy: float
    best_energy: float | None
    target_energy: float
    target_source: str
    gap: float | None
    bound_gap: float | None


def check_backends(backends: Sequence[str]) -> list[str]:
    """The backend names, each a registered one.

    Raises:
        ParameterError: none given, or a name not in the registry (``.field`` = ``backends``;
            the message lists the registered names).
    """
    from qopt.samplers.registry import BACKENDS, is_custom_backend, registered_samplers

    known = list(BACKENDS) + list(registered_samplers())
    names = [b.strip() for b in backends if b.strip()]
    if not names:
        raise ParameterError("backends", "must name at least one backend")
    for name in names:
        if name not in known and not is_custom_backend(name):
            raise ParameterError("backends", f"must be registered backend names: {name!r} is not one "
                                             f"(registered: {', '.join(known)})")
    return names


def _accepted(backend: str) -> set[str]:
    """The parameter names ``backend`` accepts (its spec); empty when it cannot load here."""
    from qopt.samplers.registry import parameter_spec

    try:
        return set(parameter_spec(backend))
    except ImportError:
        return set()


def run_campaign(instances: Iterable[str | Instance], backends: Sequence[str], deadlines: Sequence[float],
                 seeds: int | Sequence[int], *, executor: str | Executor = "thread", ray_address: str | None = None,
                 max_parallel: int = 1, max_attempts: int = 3, parameters: dict | None = None,
                 cancel: threading.Event | None = None) -> tuple[list[Instance], list[Run]]:
    """Run every instance x backend x deadline x seed once.

    Args:
        instances: instance files (any format :func:`qopt.io.readers.read_instance` reads, or a
            shipped name such as ``"gka1b"``) or :class:`~qopt.io.readers.Instance` objects.
        backends: registered backend names (``sa``, ``steepest``, ``exact``, ``qaoa``, and any
            other the registry holds: ``highs``, ``cpsat`` ... where installed).
        deadlines: each run's ``time_budget`` (seconds, > 0).
        seeds: how many seeds (1 .. seeds), or the seeds themselves; a backend without a
            ``seed`` parameter runs once per seed unseeded.
        executor: ``"thread"`` (this machine), ``"ray"`` (a Ray cluster at ``ray_address``) or an executor.
        max_parallel: runs at once (1 by default, so runs do not share CPUs and their times
            stay comparable; raise it on a cluster).
        max_attempts: runs of one configuration at most (a lost Ray worker).
        parameters: other sampler parameters (``num_reads``, ...): each backend gets those
            its parameter spec accepts.
        cancel: set to stop the runs still going.

    Returns:
        ``(instances, runs)``, runs in submission order.

    Raises:
        ParameterError: unknown backend, no deadlines or one <= 0, no seeds, a parameter no
            chosen backend accepts.
        InvalidInput: an instance file cannot be read (the field names it).
    """
    names = check_backends(backends)
    if not deadlines or any(not (d > 0) for d in deadlines):
        raise ParameterError("deadlines", f"must be seconds > 0, was {list(deadlines)!r}")
    seed_list = list(range(1, seeds + 1)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ParameterError("seeds", "must be at least 1")
    loaded = [inst if isinstance(inst, Instance) else read_instance(inst) for inst in instances]
    configs = [(inst, backend, float(deadline), seed) for inst in loaded for backend in names
               for deadline in deadlines for seed in seed_list]
    accepted = {backend: _accepted(backend) for backend in names}
    for key in parameters or {}:
        if not any(key in spec for spec in accepted.values()):
            raise ParameterError(key, f"is not a parameter of any of the backends {', '.join(names)}")
    per_backend = {backend: {k: v for k, v in (parameters or {}).items() if k in accepted[backend]}
                   for backend in names}
    calls = [SolveCall(inst.bqm, backend, {**per_backend[backend], "time_budget": deadline,
                                           **({"seed": seed} if "seed" in accepted[backend] else {})})
             for inst, backend, deadline, seed in configs]
    owned = isinstance(executor, str)
    runner = make_executor(executor, ray_address=ray_address) if isinstance(executor, str) else executor
    runs: list[Run | None] = [None] * len(calls)
    try:
        for item in run_batch(runner, calls, max_parallel=max_parallel, max_attempts=max_attempts, cancel=cancel):
            inst, backend, deadline, seed = configs[item.index]
            if item.result is None or not item.result.candidates:
                runs[item.index] = Run(inst.name, backend, deadline, seed, None, 0.0,
                                       error=f"{type(item.error).__name__}: {item.error}" if item.error else "no result",
                                       attempts=item.attempts)
                continue
            result = item.result
            runs[item.index] = Run(inst.name, backend, deadline, seed, float(result.best.energy),
                                   float(result.timing.get("total", 0.0)), result.confidence.get("lower_bound"),
                                   attempts=item.attempts)
    finally:
        if owned:
            runner.close()
    return loaded, [r for r in runs if r is not None]


def summarize(instances: Sequence[Instance], runs: Sequence[Run], *, tol: float = 1e-6) -> list[Summary]:
    """The metrics per instance x backend x deadline (module notes), in the runs' order."""
    targets: dict[str, tuple[float, str]] = {}
    for inst in instances:
        if inst.best_known_energy is not None:
            targets[inst.name] = (inst.best_known_energy, "best_known")
        else:
            found = [r.energy for r in runs if r.instance == inst.name and r.energy is not None]
            targets[inst.name] = (min(found) if found else math.nan, "best_found")
    groups: dict[tuple, list[Run]] = {}
    for r in runs:
        groups.setdefault((r.instance, r.backend, r.deadline), []).append(r)
    out = []
    for (name, backend, deadline), group in groups.items():
        target, source = targets[name]
        energies = [r.energy for r in group if r.energy is not None]
        hit = [e <= target + tol * max(1.0, abs(target)) for e in energies]
        p_s = sum(hit) / len(group)
        answered = [r.seconds for r in group if r.energy is not None]
        tau = sum(answered) / len(answered) if answered else math.nan
        best = min(energies) if energies else None
        bounds = [r.lower_bound for r in group if r.lower_bound is not None]
        bound = max(bounds) if bounds else None
        out.append(Summary(
            instance=name, backend=backend, deadline=deadline, runs=len(group), successes=sum(hit),
            success_probability=p_s, mean_seconds=tau, tts99=time_to_solution(p_s, tau),
            residual_energy=(sum(e - target for e in energies) / len(energies)) if energies else math.nan,
            best_energy=best, target_energy=target, target_source=source,
            gap=None if best is None else (best - target) / max(1.0, abs(target)),
            bound_gap=None if best is None or bound is None else (best - bound) / max(1.0, abs(best))))
    return out


def _write_csv(path: pathlib.Path, rows: Sequence) -> None:
    fields = [f.name for f in dataclasses.fields(rows[0])] if rows else []
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(dataclasses.asdict(row))


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.4g}"
    return str(value)


def write_report(out: str | pathlib.Path, instances: Sequence[Instance], runs: Sequence[Run],
                 summaries: Sequence[Summary], *, title: str = "qopt benchmark campaign",
                 executor: str = "thread") -> dict[str, pathlib.Path]:
    """Write ``runs.csv``, ``summary.csv``, ``report.md``, ``tts.png`` and
    ``residual_energy.png`` under ``out`` (created); returns name -> path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = pathlib.Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in ("runs.csv", "summary.csv", "report.md", "tts.png",
                                              "residual_energy.png")}
    _write_csv(paths["runs.csv"], runs)
    _write_csv(paths["summary.csv"], summaries)
    for key, label, png in (("tts99", "TTS99 (s)", "tts.png"), ("residual_energy", "residual energy", "residual_energy.png")):
        fig, ax = plt.subplots(figsize=(6, 4))
        for (name, backend) in dict.fromkeys((s.instance, s.backend) for s in summaries):
            pts = [(s.deadline, getattr(s, key)) for s in summaries if (s.instance, s.backend) == (name, backend)]
            pts = [(d, v) for d, v in pts if v is not None and math.isfinite(v)]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=f"{name} / {backend}")
        ax.set_xscale("log")
        ax.set_xlabel("deadline (s)")
        ax.set_ylabel(label)
        if key == "tts99":
            ax.set_yscale("log")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(folder / png, dpi=100)
        plt.close(fig)
    failed = [r for r in runs if r.error]
    lines = [f"# {title}", "",
             f"{len(instances)} instances x {len(dict.fromkeys(r.backend for r in runs))} backends x "
             f"{len(dict.fromkeys(r.deadline for r in runs))} deadlines x "
             f"{len(dict.fromkeys(r.seed for r in runs))} seeds = {len(runs)} runs on the {executor} executor"
             f"{f'; {len(failed)} failed (runs.csv, column error)' if failed else ''}.", "",
             "Success: a run's best energy reaches the target (the published best-known value, else the best "
             "any run found). TTS99 = tau ln(1-0.99)/ln(1-p_s), tau the mean run time (OpenJij's "
             "time_to_solution); tau when p_s = 1, inf when p_s = 0. Residual energy: mean(best energy - target). "
             "Gap: (best - target)/max(1,|target|); bound gap: to the certified lower bound.", "",
             "| instance | backend | deadline (s) | runs | p_s | mean time (s) | TTS99 (s) | residual energy | "
             "best energy | target (source) | gap | bound gap |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        lines.append(f"| {s.instance} | {s.backend} | {_fmt(s.deadline)} | {s.runs} | {_fmt(s.success_probability)} | "
                     f"{_fmt(s.mean_seconds)} | {_fmt(s.tts99)} | {_fmt(s.residual_energy)} | {_fmt(s.best_energy)} | "
                     f"{_fmt(s.target_energy)} ({s.target_source}) | {_fmt(s.gap)} | {_fmt(s.bound_gap)} |")
    lines += ["", "![TTS99](tts.png)", "", "![residual energy](residual_energy.png)", ""]
    paths["report.md"].write_text("\n".join(lines))
    return paths
