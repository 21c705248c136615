"""What the command line prints: candidate tables, job lines, the progress spinner."""
from __future__ import annotations

import sys
import threading
import time

__all__ = ["Progress", "format_table", "format_constrained_table", "timing_line", "origin", "improver",
           "job_line", "job_dict"]


class Progress:
    """A spinner with elapsed seconds on stderr while a call is in flight (only on a TTY).

    Args:
        label: what is in flight, shown beside the spinner.
        stream: where to draw (default ``sys.stderr``); nothing is drawn unless it is a TTY.

    Use as a context manager: the spinner runs between ``__enter__`` and ``__exit__``.
    """

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


def origin(cand) -> str:
    """Where a candidate came from, from its ``info`` (``quantum/qaoa``; other keys as k=v)."""
    info = dict(getattr(cand, "info", None) or {})
    if not info:
        return "-"
    head = "/".join(str(info.pop(k)) for k in ("branch", "backend") if info.get(k))
    rest = " ".join(f"{k}={v}" for k, v in sorted(info.items()))
    return " ".join(x for x in (head, rest) if x) or "-"


def improver(event) -> str:
    """Who made a WatchJob improvement: ``quantum/exact``, ``classical/sa`` or the job's backend."""
    who = "/".join(x for x in (event.branch, event.backend) if x)
    return who or (event.source or "")


def format_table(result, instance, top: int) -> str:
    """A readable table of the top candidates and the timing per stage.

    Args:
        result: a :class:`qopt.Result` of an instance's BQM.
        instance: the :class:`qopt.io.Instance` it came from (objective in the file's terms).
        top: candidates shown.

    Returns:
        The table, its summary lines (best, confidence, bound), timing and provenance.
    """
    lines = []
    objective_name = instance.objective_name
    shown = result.candidates[:top]
    show_origin = any(getattr(c, "info", None) for c in shown)
    lines.append(f"{'rank':>4}  {objective_name:>12}  {'energy':>14}  {'occurrences':>11}"
                 + ("  origin" if show_origin else ""))
    for rank, cand in enumerate(shown, 1):
        objective = instance.to_objective(cand.energy)
        lines.append(f"{rank:>4}  {objective:>12g}  {cand.energy:>14.6g}  {cand.num_occurrences:>11d}"
                     + (f"  {origin(cand)}" if show_origin else ""))
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
    lines.append(timing_line(result))
    prov = result.provenance
    lines.append(f"backend: {prov.get('backend')} ({prov.get('routing', {}).get('reason', '')}); "
                 f"seed: {prov.get('parameters', {}).get('seed')}; problem sha256: {prov.get('problem_sha256', '')[:16]}...")
    return "\n".join(lines)


def format_constrained_table(result, top: int) -> str:
    """Top candidates of a constrained model: objective, feasibility, violations, energy.

    Args:
        result: the result of a constrained solve (candidates with ``objective``, ``feasible``,
            ``violations``).
        top: candidates shown.

    Returns:
        The table, the confidence message, the penalty rounds, timing and backend.
    """
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
    lines.append(timing_line(result))
    prov = result.provenance
    lines.append(f"backend: {prov.get('backend')} ({prov.get('routing', {}).get('reason', '')})")
    return "\n".join(lines)


def timing_line(result) -> str:
    """``timing: stage s ...`` in pipeline order, then any other stages, then the total."""
    order = ["queue", "request_decode", "validate", "preprocess", "bound", "sample", "postprocess"]
    keys = [k for k in order if k in result.timing] + sorted(k for k in result.timing if k not in order and k != "total")
    stages = "  ".join(f"{k} {result.timing[k]:.3f} s" for k in keys)
    if "total" in result.timing:
        stages += f"  (total {result.timing['total']:.3f} s)"
    return f"timing: {stages}"


def _fmt_time(ts) -> str:
    if not ts.seconds and not ts.nanos:
        return "-"
    return ts.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")


def job_line(job) -> str:
    """One line of ``qopt jobs`` for a ``qopt.v1.Job``: id, state, backend, attempts, times, request id."""
    from qopt.v1 import solver_service_pb2 as pb

    state = pb.JobState.Name(job.state).removeprefix("JOB_STATE_")
    best = f"{job.result.candidates[0].energy:.6g}" if len(job.result.candidates) else "-"
    return (f"{job.job_id}  {state:<9}  {job.backend:<6}  {job.attempt:>7}  {_fmt_time(job.create_time):<19}  "
            f"{_fmt_time(job.end_time):<19}  {job.request_id or '-'}{'  ' + job.problem_name if job.problem_name else ''}"
            + ("" if best == "-" else f"  best {best}"))


def job_dict(job) -> dict:
    """A ``qopt.v1.Job`` as a JSON-friendly dict (proto field names)."""
    from google.protobuf import json_format

    return json_format.MessageToDict(job, preserving_proto_field_name=True)
