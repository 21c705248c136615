"""Penalty calibration inside the solve loop.

:func:`solve_constrained` compiles the model, samples the BQM with any :class:`dimod.Sampler`,
decodes, and, while too few reads are feasible, raises the weights of *only* the
constraints that the best reads violate, then samples again. Each round's weights and
feasible fraction are recorded in the result.

Rule for raising a weight: for each constraint violated by any of the ``top_k`` lowest-energy
reads, ``w <- w * max(growth, 1 + f)``, with ``f`` the fraction of those reads that violate it
(so a constraint violated everywhere at least doubles with the default ``growth=2``).
This is the adaptive-penalty idea used in classical penalty methods (e.g. Smith & Coit,
"Penalty functions", Handbook of Evolutionary Computation, 1997), applied per constraint.

Deadline and cancel: with ``deadline`` given, no round starts after it (the first always runs,
except in a race, ``stop`` given, where no round samples after it)
and the polish stops moving :data:`POLISH_DECODE_FACTOR` times the round's decoding time before
it (so that its rows are decoded by the deadline); with ``cancel`` set, :class:`qopt.errors.Cancelled` is
raised before the next round or after the polish. The result says which stopped it
(``stopped_by``). ``stop`` (a race's "another branch proved optimality") ends the rounds and
the polish like the deadline, without an error. ``on_incumbent`` hears of each improvement of
the best feasible candidate after a round (a race passes it on as the exact racers' warm start).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

import dimod
import numpy as np

from qopt.checks import ParameterError, check_float, check_int
from qopt.compile.compiler import compile as compile_model
from qopt.compile.decoder import Candidate
from qopt.errors import Cancelled
from qopt.model.load import as_problem

__all__ = ["solve_constrained", "ConstrainedResult", "RoundRecord", "POLISH_DECODE_FACTOR"]

#: The polish of a round stops this many times the round's decoding time before the deadline:
#: its rows are then encoded, their energies computed and decoded again, which costs about as
#: 2.3 times as much as decoding the round's reads (measured on dantzig42: 0.07 s to decode the
#: reads, 0.16 s to encode, evaluate and decode the polished rows; 2026-12-02, 2 loaded cores).
POLISH_DECODE_FACTOR = 3.0


@dataclasses.dataclass
class RoundRecord:
    """One calibration round: ``weights`` {constraint label: weight}, ``feasible_fraction``
    (of reads, weighted by num_occurrences), ``num_reads``, ``best_feasible_objective`` (or None),
    ``raised`` (labels whose weight was raised after this round), ``seconds`` (wall clock).
    ``best_feasible_objective`` is the best over all candidates found so far."""

    round: int
    weights: dict
    feasible_fraction: float
    num_reads: int
    best_feasible_objective: float | None
    raised: list
    seconds: float


@dataclasses.dataclass
class ConstrainedResult:
    """Result of :func:`solve_constrained` (plain, JSON-friendly via :meth:`to_dict`).

    Attributes:
        candidates: ranked (feasible first by objective in the model's sense, then the
            least-violating). ``energy`` is the BQM energy under the weights of the last
            round that read the sample (or, for a polish-only sample, the round it was found
            in); ``num_occurrences`` counts the reads of the *last* round only (0 for a sample
            that round did not return, and for polish results), so the occurrences of all
            candidates add up to at most ``rounds[-1].num_reads``.
        sense: ``"min"`` or ``"max"``.
        feasible_found: whether any candidate is feasible.
        message: a plain statement of the outcome (says so when nothing is feasible).
        rounds: one :class:`RoundRecord` per round.
        weights: the final weights {constraint label: weight}.
        num_bqm_variables: size of the (last) compiled BQM.
        found_in: one entry per candidate: ``(round, source)``, the round that first found
            it and ``"read"`` (a sampler read returned it, in some round) or ``"polish"`` (only
            the classical polish produced it).
        stopped_by: ``"deadline"`` when the deadline ended the rounds or the polish early,
            ``"stop"`` when ``stop`` did, else None.
    """

    candidates: list
    sense: str
    feasible_found: bool
    message: str
    rounds: list
    weights: dict
    num_bqm_variables: int
    found_in: list = dataclasses.field(default_factory=list)
    stopped_by: str | None = None

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict:
        return {"candidates": [c.to_dict() for c in self.candidates], "sense": self.sense,
                "feasible_found": self.feasible_found, "message": self.message,
                "rounds": [dataclasses.asdict(r) | {"weights": {str(k): v for k, v in r.weights.items()},
                                                     "raised": [str(x) for x in r.raised]} for r in self.rounds],
                "weights": {str(k): v for k, v in self.weights.items()},
                "num_bqm_variables": self.num_bqm_variables}


class _Either:
    """``is_set()`` when either of two event-like objects (None entries skipped) is set."""

    def __init__(self, first, second):
        self._events = [e for e in (first, second) if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)


def _plain_values(x: np.ndarray) -> list:
    """A row of original variable values as Python ints where they are integral."""
    return x.astype(np.int64).tolist() if np.all(x == np.round(x)) else x.tolist()


def solve_constrained(model, sampler: dimod.Sampler, *, penalty="auto", max_rounds: int = 5,
                      target_feasible_fraction: float = 0.5, growth: float = 2.0, top_k: int = 10,
                      max_candidates: int = 100, compile_options: Mapping | None = None,
                      initial_scale: float = 0.25, polish: bool = False, deadline: float | None = None,
                      cancel=None, stop=None, on_incumbent: Callable[[dict, float], None] | None = None,
                      **sample_params) -> ConstrainedResult:
    """Compile, sample, decode; with ``penalty="auto"`` raise violated constraints' weights and repeat.

    Args:
        model: anything :func:`qopt.model.as_problem` accepts.
        sampler: any :class:`dimod.Sampler` (e.g. :class:`qopt.SimulatedAnnealingSampler`).
        penalty: ``"auto"`` (start from compile's per-constraint rule and calibrate), or a
            number / dict {label: weight} (used as given; a single round, no calibration).
        max_rounds: most sampling rounds (>= 1).
        target_feasible_fraction: stop once at least this fraction of reads is feasible
            (0..1]; the default 0.5 asks for half.
        growth: minimum factor applied to a violated constraint's weight (> 1).
        top_k: how many of the lowest-energy reads are inspected for violations (>= 1).
        max_candidates: at most this many candidates are kept in the result.
        initial_scale: with ``penalty="auto"``, the first round uses compile's automatic
            weights times this factor (> 0). Values below 1 start under the rule and let the
            rounds raise only the constraints that need it; the best feasible answers usually
            lie near the feasibility boundary. Default 0.25: on the QKP and TSPLIB benchmarks
            (benchmarks/CQM.md) starting at a quarter of the rule gave better best-feasible
            objectives than starting at the rule, at the cost of one mostly infeasible round.
        polish: after each round, run :func:`qopt.compile.polish.feasible_descent` (repair,
            then feasibility-keeping 1-flip/swap descent in the original variables) on the
            ``top_k`` best-ranked and the ``top_k`` lowest-energy decoded samples and add the results as candidates (with their BQM
            energy and ``num_occurrences=0``, since no read produced them). Binary models with
            linear constraints only; others are left as sampled. Feasible fractions in
            ``rounds`` always count raw reads only.
        compile_options: extra keyword arguments for :func:`qopt.compile.compile`
            (``integer_encoding``, ``slack``, ``inequality``, ``unbalanced``, ``margin``).
        deadline: None, or the time (:func:`time.monotonic` clock, seconds) after which no
            further round starts and the polish stops (the sampler's own time limit is the
            caller's to set).
        cancel: None, or an object with ``is_set()`` (:class:`threading.Event`), checked
            before each round and after each polish.
        stop: None, or an object with ``is_set()``: once set, no further round starts and the
            polish stops (``stopped_by="stop"``); what was found is returned.
        on_incumbent: None, or ``(sample, objective)`` called after a round whose best
            feasible candidate improved: ``sample`` maps the model's variables to values,
            ``objective`` is in the model's own sense.
        **sample_params: passed to ``sampler.sample`` every round (``num_reads``, ``seed``...).
            An integer ``seed`` is advanced by one per round.

    Returns:
        :class:`ConstrainedResult`.

    Raises:
        ModelError: invalid model; ParameterError: bad option (named).
        qopt.errors.Cancelled: ``cancel`` was set.
    """
    max_rounds = check_int("max_rounds", max_rounds, minimum=1)
    target = check_float("target_feasible_fraction", target_feasible_fraction, minimum=0.0, maximum=1.0)
    growth = check_float("growth", growth, minimum=1.0, strict_minimum=True)
    top_k = check_int("top_k", top_k, minimum=1)
    max_candidates = check_int("max_candidates", max_candidates, minimum=1)
    problem = as_problem(model)
    opts = dict(compile_options or {})
    calibrate = isinstance(penalty, str)
    if calibrate and penalty != "auto":
        raise ParameterError("penalty", f"must be 'auto', a number or a dict label -> number, was {penalty!r}")
    initial_scale = check_float("initial_scale", initial_scale, minimum=0.0, strict_minimum=True)
    weights = None if calibrate else penalty
    if calibrate and initial_scale != 1.0:
        _, dec0 = compile_model(problem, penalty=None, **opts)
        weights = {k: v * initial_scale for k, v in dec0.weights.items()}
    if not calibrate:
        max_rounds = 1
    rounds: list[RoundRecord] = []
    # original sample bytes -> [x, energy, objective, viol, feasible, occ (this round's reads), round, source]
    pool: dict[bytes, list] = {}
    labels: tuple = ()
    con_labels = ()
    nbqm = 0
    seed = sample_params.get("seed")
    stopped_by = None
    polish_stop = _Either(cancel, stop)
    reported = None  # the best feasible objective passed to on_incumbent
    for r in range(max_rounds):
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled before a calibration round")
        if r and stop is not None and stop.is_set():
            stopped_by = "stop"
            break
        # the first round always runs alone; in a race (``stop`` given) another branch can answer
        if (r or stop is not None) and deadline is not None and time.monotonic() >= deadline:
            stopped_by = "deadline"
            break
        t0 = time.perf_counter()
        bqm, decoder = compile_model(problem, penalty=weights, **opts)
        nbqm = bqm.num_variables
        if stop is not None and deadline is not None and time.monotonic() >= deadline:
            stopped_by = "deadline"  # compiling spent the time (dantzig42: 0.1-0.3 s a round)
            break
        params = dict(sample_params)
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            params["seed"] = int(seed) + r
        ss = sampler.sample(bqm, **params)
        t_decode = time.monotonic()
        dec = decoder.decode_arrays(ss)
        t_decode = time.monotonic() - t_decode
        labels, con_labels = dec.labels, dec.constraint_labels
        total = int(dec.num_occurrences.sum())
        feas_frac = float(dec.num_occurrences[dec.feasible].sum() / total) if total else 0.0
        for seen in pool.values():  # occurrences are this round's reads only
            seen[5] = 0
        for k in range(dec.x.shape[0]):
            key = dec.x[k].tobytes()
            entry = pool.get(key)
            if entry is None:
                pool[key] = [dec.x[k], float(dec.energy[k]), float(dec.objective[k]), dec.violation[k],
                             bool(dec.feasible[k]), int(dec.num_occurrences[k]), r, "read"]
            else:
                entry[1] = float(dec.energy[k])  # under this round's weights, like its occurrences
                entry[5] = int(dec.num_occurrences[k])
                entry[7] = "read"  # a read returned it, whoever found it first
        if polish and dec.x.shape[0]:
            from qopt.compile.polish import feasible_descent
            # the best-ranked rows (feasible first) and the lowest-energy rows
            pick = np.unique(np.concatenate([np.arange(min(top_k, dec.x.shape[0])),
                                             np.argsort(dec.energy, kind="stable")[:top_k]]))
            # the polish stops early enough for its rows to be encoded and decoded by the deadline
            # (about what decoding this round's reads took: dantzig42's took 0.07 s)
            polish_deadline = None if deadline is None else deadline - POLISH_DECODE_FACTOR * t_decode
            Xp = feasible_descent(problem, dec.x[pick], deadline=polish_deadline, cancel=polish_stop)
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled during the polish")
            if stop is not None and stop.is_set():
                stopped_by = "stop"
            elif deadline is not None and time.monotonic() >= deadline:
                stopped_by = "deadline"
            bits = decoder.encode(Xp)
            energies = bqm.energies((bits, list(decoder.bqm_labels)))
            ssp = dimod.SampleSet.from_samples((bits, list(decoder.bqm_labels)), dimod.BINARY, energy=energies,
                                               num_occurrences=np.zeros(bits.shape[0], dtype=np.int64))
            decp = decoder.decode_arrays(ssp)
            for k in range(decp.x.shape[0]):
                key = decp.x[k].tobytes()
                if key not in pool:
                    pool[key] = [decp.x[k], float(decp.energy[k]), float(decp.objective[k]), decp.violation[k],
                                 bool(decp.feasible[k]), 0, r, "polish"]
        feas_pool = [e[2] for e in pool.values() if e[4]]
        best_feas = (min(feas_pool) if problem.sense == "min" else max(feas_pool)) if feas_pool else None
        if on_incumbent is not None and best_feas is not None and best_feas != reported:
            reported = best_feas
            x_best = next(e[0] for e in pool.values() if e[4] and e[2] == best_feas)
            on_incumbent(dict(zip(labels, _plain_values(x_best), strict=True)), float(best_feas))
        # which constraints do the best reads (by energy) violate?
        raised = []
        cur = dict(decoder.weights)
        if calibrate and feas_frac < target and r + 1 < max_rounds and dec.violation.shape[1]:
            order = np.argsort(dec.energy, kind="stable")[:top_k]
            bad = dec.violation[order] > 0
            frac = bad.mean(axis=0)
            new = dict(cur)
            for j in np.flatnonzero(frac > 0):
                lab = con_labels[j]
                new[lab] = cur[lab] * max(growth, 1.0 + float(frac[j]))
                raised.append(lab)
            if not raised:  # best reads are feasible but most reads are not: raise all violated
                anyv = (dec.violation > 0).any(axis=0)
                for j in np.flatnonzero(anyv):
                    lab = con_labels[j]
                    new[lab] = cur[lab] * growth
                    raised.append(lab)
            weights = new
        rounds.append(RoundRecord(r, {k: float(v) for k, v in cur.items()}, feas_frac, total, best_feas, raised,
                                  time.perf_counter() - t0))
        if feas_frac >= target or (calibrate and not raised) or stopped_by is not None:
            break

    sign = 1.0 if problem.sense == "min" else -1.0
    entries = list(pool.values())
    entries.sort(key=lambda e: (not e[4], 0.0 if e[4] else float(e[3].sum()), sign * e[2]))
    entries = entries[:max_candidates]
    ints = all(np.all(e[0] == np.round(e[0])) for e in entries)
    cands = []
    found_in = [(e[6], e[7]) for e in entries]
    for x, energy, obj, viol, feas, occ, _, _ in entries:
        vals = x.astype(np.int64).tolist() if ints else x.tolist()
        cands.append(Candidate(dict(zip(labels, vals, strict=True)), energy, obj, feas,
                               {con_labels[j]: float(viol[j]) for j in np.flatnonzero(viol > 0)}, occ))
    feasible_found = bool(cands and cands[0].feasible)
    if feasible_found:
        msg = (f"found {sum(c.feasible for c in cands)} feasible candidate(s); best objective "
               f"{cands[0].objective:g} ({problem.sense}) after {len(rounds)} round(s)")
    elif cands:
        worst = ", ".join(f"{k!s}: {v:g}" for k, v in list(cands[0].violations.items())[:5])
        msg = (f"no feasible solution found in {len(rounds)} round(s); candidates are ranked "
               f"least-violating first (best violates {worst})")
    else:
        msg = "the sampler returned no samples"
    if stopped_by == "deadline":
        msg += " (the deadline ended the calibration)"
    return ConstrainedResult(cands, problem.sense, feasible_found, msg, rounds,
                             dict(rounds[-1].weights) if rounds else {}, nbqm, found_in, stopped_by)
