"""What the command line prints: candidate tables, result documents, job lines and
listings, watch lines, the progress spinner, and the guard that keeps stdout clean.

Stdout carries the command's output and nothing else: :func:`clean_stdout` points file
descriptor 1 and ``sys.stdout`` at stderr while a command runs (whatever HiGHS, BLAS or
Qiskit print lands there) and hands the command the real stdout to write to. Tables and
JSON documents keep a stable order: timing keys in pipeline order (:data:`TIMING_ORDER`),
candidate keys and table columns as listed here.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import sys
import threading
import time

__all__ = ["Progress", "clean_stdout", "format_table", "format_constrained_table", "timing_line", "ordered_timing",
           "origin", "improver", "job_line", "job_header", "job_dict", "job_summary", "result_document",
           "format_result", "decode", "watch_line", "TIMING_ORDER"]

#: Stages in the order the pipeline runs them (the service adds ``queue_wait`` and
#: ``request_decode``); other keys follow in name order, then ``total``.
TIMING_ORDER = ("queue", "queue_wait", "request_decode", "validate", "preprocess", "bound", "sample", "postprocess")

_guard_lock = threading.Lock()
_guard: dict = {"depth": 0, "out": None, "saved": None, "dup": None}


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library to ask
        pass


@contextlib.contextmanager
def clean_stdout():
    """Keep stdout for the command's own output while the body runs.

    File descriptor 1 is pointed at stderr (C and C++ libraries: HiGHS's banner, BLAS) and
    ``sys.stdout`` is ``sys.stderr`` (Python libraries), so only what the command writes
    to the stream this yields reaches stdout. Nested and concurrent uses (threads) share
    one guard. When ``sys.stdout`` is not file descriptor 1 (a test's capture), only
    ``sys.stdout`` is swapped.

    Yields:
        The text stream of the real stdout.
    """
    with _guard_lock:
        if _guard["depth"] == 0:
            saved = sys.stdout
            try:
                fd = saved.fileno()
            except (AttributeError, OSError, ValueError):
                fd = None
            dup = None
            out = saved
            if fd == 1:
                saved.flush()
                _flush_c_stdio()
                dup = os.dup(1)
                os.dup2(2, 1)
                out = os.fdopen(os.dup(dup), "w", encoding=getattr(saved, "encoding", None) or "utf-8",
                                errors="backslashreplace")
            _guard.update(saved=saved, dup=dup, out=out)
            sys.stdout = sys.stderr
        _guard["depth"] += 1
        out = _guard["out"]
    try:
        yield out
    finally:
        with _guard_lock:
            _guard["depth"] -= 1
            if _guard["depth"] == 0:
                out.flush()
                sys.stdout = _guard["saved"]
                if _guard["dup"] is not None:
                    sys.stderr.flush()
                    _flush_c_stdio()
                    os.dup2(_guard["dup"], 1)
                    os.close(_guard["dup"])
                    out.close()
                _guard.update(saved=None, dup=None, out=None)


SPINNER = "|/-\\"


class Progress:
    """The progress line on stderr while a call is in flight (only on a TTY): a spinner,
    elapsed seconds and, as the pipeline reports them (:meth:`update`), the best objective
    found so far and the certified bound, in the input's own terms::

        / solving G1 (800 variables)    2.4 s  best cut value 11618  bound <= 12083

    Args:
        label: what is in flight, shown beside the spinner.
        stream: where to draw (default ``sys.stderr``); nothing is drawn unless it is a TTY.
        inp: the :class:`qopt.cli.options.Input` being solved: its instance's objective
            (``cut value`` of a MaxCut graph) and sense name the figures; None: BQM energies.

    Use as a context manager: the line is redrawn every 0.2 s and at once on each update
    (at most every 0.1 s) between ``__enter__`` and ``__exit__``, then cleared.
    """

    REDRAW_SECONDS = 0.2     # the spinner's period
    MIN_UPDATE_SECONDS = 0.1  # updates closer than this wait for the next redraw

    def __init__(self, label: str, stream=None, inp=None):
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.inp = inp
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True, name="qopt-progress")
        self._t0 = time.monotonic()
        self._frame = 0
        self._width = 0
        self._last_draw = 0.0
        self.best: str | None = None   # "best cut value 11618", as drawn
        self.bound: str | None = None  # "bound <= 12083", as drawn

    @property
    def active(self) -> bool:
        """Whether the line is drawn (the stream is a TTY and the call is in flight)."""
        return self._thread.is_alive()

    def _terms(self):
        """(objective name, energy -> objective, sense) for the input."""
        inst = getattr(self.inp, "instance", None)
        if inst is not None:
            return inst.objective_name, inst.to_objective, inst.sense
        model = getattr(self.inp, "model", None)
        sense = getattr(model, "sense", None) if getattr(self.inp, "constrained", False) else None
        return ("objective", None, sense) if sense else ("energy", float, "min")

    def update(self, event: dict) -> None:
        """Take a pipeline event (the ``on_progress`` events of :func:`qopt.solve`):
        ``"best"`` (``energy``, and ``objective``/``feasible`` on constrained models) and
        ``"bound"`` (``lower_bound`` in energy units, or ``objective_bound`` in the model's
        sense). Other events are ignored. Safe to call from any thread; never blocks on
        drawing."""
        name, to_objective, sense = self._terms()
        kind = event.get("event")
        if kind == "best":
            if event.get("objective") is not None:
                value = float(event["objective"])
                text = f"best {name} {value:.6g}" + ("" if event.get("feasible", True) else " (infeasible)")
            elif event.get("energy") is not None and to_objective is not None:
                text = f"best {name} {float(to_objective(float(event['energy']))):.6g}"
            else:
                return
            with self._lock:
                self.best = text
        elif kind == "bound":
            if event.get("objective_bound") is not None:
                value = float(event["objective_bound"])
            elif event.get("lower_bound") is not None and to_objective is not None:
                value = float(to_objective(float(event["lower_bound"])))
            else:
                return
            with self._lock:
                self.bound = f"bound {'<=' if sense == 'max' else '>='} {value:.6g}"
        else:
            return
        if self.active and time.monotonic() - self._last_draw >= self.MIN_UPDATE_SECONDS:
            self._draw()

    def line(self) -> str:
        """The line as drawn now (without the carriage return)."""
        with self._lock:
            spinner = SPINNER[self._frame % len(SPINNER)]
            parts = [f"{spinner} {self.label}", f"{time.monotonic() - self._t0:6.1f} s"]
            parts += [x for x in (self.best, self.bound) if x]
        return "  ".join(parts)

    def _draw(self) -> None:
        with self._lock:
            self._last_draw = time.monotonic()
        text = self.line()
        with self._lock:
            pad = max(0, self._width - len(text))
            self._width = len(text)
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()

    def _run(self):
        while not self._done.wait(self.REDRAW_SECONDS):
            self._frame += 1
            self._draw()
        with self._lock:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()

    def __enter__(self):
        self._t0 = time.monotonic()
        if self.stream.isatty():
            self._thread.start()
            self._draw()
        return self

    def __exit__(self, *exc):
        if self._thread.is_alive():
            self._draw()  # the last figures (updates inside MIN_UPDATE_SECONDS are drawn here)
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


def _jsonable(value):
    """``value`` with numpy scalars as Python numbers, tuples as lists and NaN/inf as None
    (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def decode(inp, cand):
    """The decoded answer of a candidate where the input's template gives one (a TSPLIB
    tour, the items of a QKP), JSON-friendly; None otherwise.

    Args:
        inp: a :class:`qopt.cli.options.Input` or None.
        cand: a :class:`qopt.results.Candidate`.
    """
    if inp is None or inp.interpret is None:
        return None
    return _jsonable(inp.interpret(cand.sample))


def answer_text(answer) -> str:
    """An answer as one table cell: ``tour 0 3 1 2 (length 123)``, ``items 1 4 7``,
    ``task 0 -> machine 1, ...``; other answers as compact JSON."""
    if answer is None:
        return "-"
    if "tour" in answer:
        length = answer.get("length")
        return (f"tour {' '.join(str(c) for c in answer['tour'])}"
                + (f" (length {length:g})" if isinstance(length, (int, float)) else " (not a tour)"))
    if "selected" in answer:
        return f"items {' '.join(str(i) for i in answer['selected']) or '(none)'}"
    if "assignment" in answer and isinstance(answer["assignment"], dict):
        return ", ".join(f"task {t} -> machine {m}" for t, m in answer["assignment"].items())
    return json.dumps(answer, separators=(",", ":"))


def ordered_timing(timing: dict) -> dict:
    """``timing`` in pipeline order (:data:`TIMING_ORDER`), then other stages by name, then ``total``."""
    keys = [k for k in TIMING_ORDER if k in timing]
    keys += sorted(k for k in timing if k not in TIMING_ORDER and k != "total")
    if "total" in timing:
        keys.append("total")
    return {k: timing[k] for k in keys}


def timing_line(result) -> str:
    """``timing: stage s ...`` in pipeline order, then any other stages, then the total."""
    timing = ordered_timing(result.timing)
    stages = "  ".join(f"{k} {v:.3f} s" for k, v in timing.items() if k != "total")
    if "total" in timing:
        stages += f"  (total {timing['total']:.3f} s)"
    return f"timing: {stages}"


def _objective_name(inp, result) -> str | None:
    if inp is not None and inp.instance is not None:
        return inp.instance.objective_name
    if any(c.objective is not None for c in result.candidates):
        return "objective"
    return None


def _objective(inp, cand):
    if inp is not None and inp.instance is not None:
        return inp.instance.to_objective(cand.energy)
    return cand.objective


def _candidate_dict(rank: int, cand, inp) -> dict:
    d = cand.to_dict()
    out: dict = {"rank": rank}
    objective = _objective(inp, cand)
    if objective is not None:
        out["objective"] = float(objective)
        if inp is not None and inp.instance is not None and inp.instance.objective_name != "objective":
            out[inp.instance.objective_name.replace(" ", "_")] = float(objective)
    for key in ("feasible", "violations", "energy", "num_occurrences", "info"):
        if key in d:
            out[key] = d[key]
    answer = decode(inp, cand)
    if answer is not None:
        out["answer"] = answer
    out["sample"] = d["sample"]
    return out


def result_document(result, top: int, inp=None, *, job=None) -> dict:
    """The ``--json`` document of a result, in a fixed key order.

    Args:
        result: a :class:`qopt.Result`.
        top: candidates included.
        inp: the :class:`qopt.cli.options.Input` it came from (objective in the file's terms,
            the decoded answer), or None (a job's result without its file).
        job: for ``qopt result``: the job id.

    Returns:
        ``{"job"?, "instance", "backend", "best", "answer"?, "candidates", "confidence",
        "timing", "provenance", "variables", "vartype"}``: ``best`` holds the best
        candidate's ``objective``, ``feasible`` and ``energy``; ``answer`` the decoded
        answer of the best candidate (TSPLIB tour, QKP items); each candidate ``rank``,
        ``objective`` (the file's terms; gset also ``cut_value``), ``feasible``,
        ``violations``, ``energy``, ``num_occurrences``, ``info``, ``answer``, ``sample``;
        ``timing`` in pipeline order.
    """
    whole = result.to_dict()
    candidates = [_candidate_dict(rank, c, inp) for rank, c in enumerate(result.candidates[:top], 1)]
    out: dict = {}
    if job is not None:
        out["job"] = job
    if inp is not None:
        instance = {"name": inp.name, "format": inp.format}
        if inp.instance is not None:
            instance.update(objective=inp.instance.objective_name, sense=inp.instance.sense,
                            best_known=inp.instance.best_known)
        else:
            instance.update(objective="objective", sense=inp.model.sense)
        out["instance"] = instance
    out["backend"] = result.provenance.get("backend")
    if candidates:
        best = candidates[0]
        out["best"] = {k: best[k] for k in ("objective", "feasible", "energy") if k in best}
        if "answer" in best:
            out["answer"] = best["answer"]
    out["candidates"] = candidates
    out["confidence"] = whole["confidence"]
    out["timing"] = ordered_timing(whole["timing"])
    out["provenance"] = whole["provenance"]
    out["variables"] = whole["variables"]
    out["vartype"] = whole["vartype"]
    return _jsonable(out)


def format_result(result, top: int, inp=None) -> str:
    """A readable table of the top candidates in the input's own terms, and summary lines.

    Columns: ``rank``, the objective (``cut value`` for MaxCut graphs, ``objective`` for
    QUBO files and constrained models; absent when unknown), ``feasible`` and ``violated``
    (constrained models), ``energy``, ``occurrences``, ``origin`` (where a candidate came
    from, when recorded) and ``answer`` (the decoded answer, where the template gives one).

    Args:
        result: a :class:`qopt.Result`.
        top: candidates shown.
        inp: the :class:`qopt.cli.options.Input` it came from, or None.

    Returns:
        The table, then the best objective (and best known), confidence, certified bound or
        penalty rounds, timing per stage (pipeline order) and the backend that ran.
    """
    shown = result.candidates[:top]
    name = _objective_name(inp, result)
    constrained = any(c.feasible is not None for c in shown)
    show_origin = any(c.info for c in shown)
    answers = [decode(inp, c) for c in shown]
    show_answer = any(a is not None for a in answers)
    header = f"{'rank':>4}"
    if name:
        header += f"  {name:>12}"
    if constrained:
        header += f"  {'feasible':>8}  {'violated':>8}"
    header += f"  {'energy':>14}  {'occurrences':>11}" + ("  origin" if show_origin else "")
    header += "  answer" if show_answer else ""
    lines = [header]
    for rank, (cand, answer) in enumerate(zip(shown, answers, strict=True), 1):
        line = f"{rank:>4}"
        if name:
            objective = _objective(inp, cand)
            line += f"  {objective:>12g}" if objective is not None else f"  {'-':>12}"
        if constrained:
            violated = sum(1 for v in (cand.violations or {}).values() if v > 0)
            line += f"  {str(cand.feasible):>8}  {violated:>8d}"
        line += f"  {cand.energy:>14.6g}  {cand.num_occurrences:>11d}"
        line += f"  {origin(cand)}" if show_origin else ""
        line += f"  {answer_text(answer)}" if show_answer else ""
        lines.append(line)
    conf = result.confidence
    lines.append("")
    instance = inp.instance if inp is not None else None
    if instance is not None and shown:
        best = instance.to_objective(result.best.energy)
        known = f"   best known: {instance.best_known:g}" if instance.best_known is not None else ""
        lines.append(f"best {instance.objective_name}: {best:g}{known}")
    if constrained:
        if conf.get("message"):
            lines.append(str(conf["message"]))
        for r in result.provenance.get("penalty_calibration", {}).get("rounds", []):
            raised = ", ".join(r.get("raised", [])[:5])
            lines.append(f"round {r['round']}: feasible fraction {r['feasible_fraction']:.2f}"
                         + (f"; raised weights of {raised}" if raised else ""))
    else:
        gap = conf.get("energy_gap")
        lines.append(f"reads reaching the best energy: {100 * conf.get('best_fraction', 0):.1f}% of "
                     f"{conf.get('num_reads')}   energy gap to runner-up: {gap if gap is not None else '-'}")
    if instance is not None and conf.get("lower_bound") is not None and shown:
        bound = instance.to_objective(conf["lower_bound"])
        best = instance.to_objective(result.best.energy)
        relation = "<=" if instance.sense == "max" else ">="
        within = abs(bound - best) / max(1.0, abs(best))
        lines.append(f"certified bound: {instance.objective_name} {relation} {bound:g} "
                     f"({conf.get('lower_bound_method', '')}); the best candidate is within {100 * within:.2f}% of it"
                     + (" (proven optimal)" if conf.get("proven_optimal") else ""))
    lines.append(timing_line(result))
    prov = result.provenance
    tail = f"backend: {prov.get('backend')} ({prov.get('routing', {}).get('reason', '')})"
    if not constrained:
        tail += (f"; seed: {prov.get('parameters', {}).get('seed')}; "
                 f"problem sha256: {prov.get('problem_sha256', '')[:16]}...")
    lines.append(tail)
    return "\n".join(lines)


def format_table(result, instance, top: int) -> str:
    """:func:`format_result` for a result of an instance file's BQM.

    Args:
        result: a :class:`qopt.Result` of an instance's BQM.
        instance: the :class:`qopt.io.Instance` it came from (objective in the file's terms).
        top: candidates shown.
    """
    from qopt.cli.options import Input

    return format_result(result, top, Input(instance.format, instance.name, instance.bqm, instance))


def format_constrained_table(result, top: int) -> str:
    """:func:`format_result` for a constrained solve without its input (objective,
    feasibility, violations, energy)."""
    return format_result(result, top)


def _fmt_time(ts) -> str:
    if not ts.seconds and not ts.nanos:
        return "-"
    return ts.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")


def _state(job) -> str:
    from qopt.v1 import solver_service_pb2 as pb

    return pb.JobState.Name(job.state).removeprefix("JOB_STATE_")


def _elapsed(job) -> float | None:
    """Seconds from start to end (or to the last update while running); None before it starts."""
    if not job.start_time.seconds and not job.start_time.nanos:
        return None
    end = job.end_time if (job.end_time.seconds or job.end_time.nanos) else job.update_time
    return max(0.0, (end.ToNanoseconds() - job.start_time.ToNanoseconds()) / 1e9)


def job_summary(job) -> dict:
    """What ``qopt jobs`` shows of a ``qopt.v1.Job`` (a full one, result included, once
    finished), in column order.

    Returns:
        ``{"job_id", "state", "backend", "requested_backend", "attempt", "created", "ended",
        "elapsed_s", "best_objective", "feasible", "best_energy", "problem", "request_id",
        "error"}``: ``backend`` is the backend that ran (from the result's provenance; the
        requested one until the job has a result), ``best_objective`` and ``feasible`` are
        the best candidate's in the model's own terms (None for a BQM, whose energy is its
        objective), ``error`` the message of a FAILED job.
    """
    cands = job.result.candidates
    top = cands[0] if len(cands) else None
    ran = ""
    if job.result.HasField("provenance"):
        value = job.result.provenance.fields.get("backend")
        ran = value.string_value if value is not None else ""
    return {
        "job_id": job.job_id,
        "state": _state(job),
        "backend": ran or job.backend or "auto",
        "requested_backend": job.backend or "auto",
        "attempt": job.attempt,
        "created": _fmt_time(job.create_time),
        "ended": _fmt_time(job.end_time),
        "elapsed_s": _elapsed(job),
        "best_objective": top.objective if top is not None and top.HasField("objective") else None,
        "feasible": top.feasible if top is not None and top.HasField("feasible") else None,
        "best_energy": top.energy if top is not None else None,
        "problem": job.problem_name,
        "request_id": job.request_id,
        "error": job.error.message if _state(job) == "FAILED" else "",
    }


def job_header() -> str:
    """The header line of ``qopt jobs`` (the columns of :func:`job_line`)."""
    return (f"{'job id':<32}  {'state':<9}  {'backend':<8}  {'attempts':>8}  {'created (UTC)':<19}  "
            f"{'elapsed':>8}  {'best objective':>14}  {'feasible':<8}  {'best energy':>12}  {'problem':<16}  request id")


def job_line(job) -> str:
    """One line of ``qopt jobs`` for a ``qopt.v1.Job``: the columns of :func:`job_header`."""
    s = job_summary(job)

    def num(v, width):
        return f"{v:>{width}.6g}" if v is not None else f"{'-':>{width}}"

    elapsed = f"{s['elapsed_s']:.1f} s" if s["elapsed_s"] is not None else "-"
    feasible = "-" if s["feasible"] is None else str(s["feasible"])
    line = (f"{s['job_id']:<32}  {s['state']:<9}  {s['backend']:<8}  {s['attempt']:>8}  {s['created']:<19}  "
            f"{elapsed:>8}  {num(s['best_objective'], 14)}  {feasible:<8}  {num(s['best_energy'], 12)}  "
            f"{s['problem'] or '-':<16}  {s['request_id'] or '-'}")
    if s["error"]:
        line += f"  error: {s['error']}"
    return line


def job_dict(job) -> dict:
    """A ``qopt.v1.Job`` as a JSON-friendly dict (proto field names)."""
    from google.protobuf import json_format

    return json_format.MessageToDict(job, preserving_proto_field_name=True)


def watch_line(kind: str, t: float, text: str) -> str:
    """One line of ``qopt watch``: ``improvement  t=1.23s  best energy -360  branch quantum  backend qaoa``.

    Args:
        kind: ``state``, ``stage`` or ``improvement``.
        t: seconds since the job started (or since watching began, before it starts).
        text: the rest of the line.
    """
    return f"{kind:<11}  t={t:.2f}s  {text}"
