"""The one result shape every entry point returns: ranked candidates, confidence,
provenance and timing.

``Result`` is plain data: ``confidence``, ``provenance`` and ``timing`` are
JSON-serialisable mappings, so a result prints, logs and travels over gRPC unchanged.
It converts to a :class:`dimod.SampleSet` (:meth:`Result.to_sampleset`) and to a dict
(:meth:`Result.to_dict`) without losing anything.
"""
from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import dimod
import numpy as np

__all__ = ["Candidate", "Result", "aggregate_samples", "rank_sampleset", "confidence_from_sampleset", "confidence_from_candidates",
           "add_lower_bound", "add_objective_bound", "relative_gap", "sample_dtype", "PROVEN_RTOL"]

#: Relative tolerance under which the best value and a certified bound count as equal
#: (``proven_optimal``): ``|best - bound| <= PROVEN_RTOL * max(1, |best|)``.
PROVEN_RTOL = 1e-9


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One distinct solution.

    Attributes:
        sample: mapping from variable label to value (in the problem's vartype; for
            constrained models, the model's own variables and values).
        energy: energy of the sample in the BQM's units, offset included.
        num_occurrences: reads that returned this sample.
        objective: objective in the model's own terms and sense (constrained models,
            or instance formats that define one, e.g. the cut value of a MaxCut graph);
            None when not defined.
        feasible: whether every constraint holds (constrained models); None otherwise.
        violations: constraint label -> amount of violation (0 when satisfied).
        info: where the sample came from, as plain strings (e.g. ``branch``: "quantum" or
            "classical", ``backend``: "qaoa"), from the sampler's per-sample vectors.
    """

    sample: Mapping[Any, int]
    energy: float
    num_occurrences: int = 1
    objective: float | None = None
    feasible: bool | None = None
    violations: Mapping[str, float] | None = None
    info: Mapping[str, str] | None = None

    def to_dict(self) -> dict:
        d = {"sample": {_json_key(k): int(v) for k, v in self.sample.items()},
             "energy": float(self.energy), "num_occurrences": int(self.num_occurrences)}
        if self.objective is not None:
            d["objective"] = float(self.objective)
        if self.feasible is not None:
            d["feasible"] = bool(self.feasible)
        if self.violations is not None:
            d["violations"] = {str(k): float(v) for k, v in self.violations.items()}
        if self.info:
            d["info"] = {str(k): str(v) for k, v in self.info.items()}
        return d


@dataclasses.dataclass
class Result:
    """Ranked candidates with confidence metadata, provenance and timing.

    Attributes:
        candidates: distinct samples, best first (feasible first for constrained
            models, then lowest energy / best objective).
        variables: variable labels, in the order a sample vector uses.
        vartype: :class:`dimod.Vartype` of the samples.
        confidence: plain mapping: ``best_fraction`` (probability a read reached the best
            energy), ``energy_gap`` (energy units, best to runner-up; None with one
            candidate), ``num_reads``; and the certified bound where one was computed:
            ``objective_bound`` (in the model's own sense: a lower bound on the minimum, an
            upper bound on the maximum; for a BQM, on the energy, also as ``lower_bound``),
            ``bound_method``, ``gap`` = |best - bound| / max(1, |best|) and ``proven_optimal``.
            For constrained models ``second_best_gap`` (kept as ``objective_gap`` too) is
            the best minus the second-best feasible objective, *not* an optimality gap.
        provenance: plain mapping: ``qopt_version``, ``backend``, ``parameters`` (as
            applied, seed included), ``problem_sha256``, ``versions`` (libraries) and
            backend-specific records.
        timing: plain mapping: stage name -> seconds (``validate``, ``preprocess``,
            ``sample``, ``postprocess``, ``total``).
    """

    candidates: list[Candidate]
    variables: list
    vartype: dimod.Vartype
    confidence: dict
    provenance: dict
    timing: dict

    @property
    def best(self) -> Candidate:
        """The first-ranked candidate. Raises IndexError when there are none."""
        return self.candidates[0]

    def to_sampleset(self) -> dimod.SampleSet:
        """The candidates as a :class:`dimod.SampleSet` (one row per distinct sample,
        ``num_occurrences`` kept; ``info`` holds confidence, provenance and timing).

        The samples' dtype follows the vartype and the values (:func:`sample_dtype`), so
        integer variables of any magnitude keep their values."""
        if not self.candidates:
            return dimod.SampleSet.from_samples(([], self.variables), vartype=self.vartype, energy=[])
        values = np.array([[c.sample[v] for v in self.variables] for c in self.candidates])
        samples = values.astype(sample_dtype(self.vartype, values))
        vectors = {"num_occurrences": np.array([c.num_occurrences for c in self.candidates])}
        if self.candidates[0].objective is not None:
            vectors["objective"] = np.array([c.objective for c in self.candidates], dtype=float)
        if self.candidates[0].feasible is not None:
            vectors["is_feasible"] = np.array([bool(c.feasible) for c in self.candidates])
        return dimod.SampleSet.from_samples(
            (samples, self.variables), vartype=self.vartype,
            energy=[c.energy for c in self.candidates],
            info={"confidence": self.confidence, "provenance": self.provenance, "timing": self.timing},
            **vectors)

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of the whole result."""
        return {
            "candidates": [c.to_dict() for c in self.candidates],
            "variables": [_json_key(v) for v in self.variables],
            "vartype": self.vartype.name,
            "confidence": self.confidence,
            "provenance": self.provenance,
            "timing": self.timing,
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)


def sample_dtype(vartype: dimod.Vartype | str, values) -> np.dtype:
    """The dtype that holds sample ``values`` of ``vartype`` exactly.

    Args:
        vartype: the samples' :class:`dimod.Vartype` (or its name, ``"INTEGER"``).
        values: array-like of sample values (any shape).

    Returns:
        ``int8`` for SPIN and BINARY; for INTEGER the smallest signed integer type
        (``int8`` to ``int64``) that holds every value, or ``float64`` when a value is not
        integral (a mixed model with real variables); ``float64`` for REAL.
    """
    if isinstance(vartype, str):
        vartype = dimod.Vartype[vartype]
    if vartype in (dimod.SPIN, dimod.BINARY):
        return np.dtype(np.int8)
    arr = np.asarray(values)
    if vartype is dimod.REAL or arr.dtype.kind not in "biuf":
        return np.dtype(np.float64)
    if arr.size == 0:
        return np.dtype(np.int8)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        return np.dtype(np.float64)
    low, high = int(arr.min()), int(arr.max())
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.float64)


def _json_key(label):
    return label if isinstance(label, (str, int)) else str(label)


def aggregate_samples(sampleset: dimod.SampleSet) -> dimod.SampleSet:
    """``sampleset.aggregate()`` (dimod): its distinct rows in order of first occurrence, each with the
    fields of that occurrence and the summed ``num_occurrences``, and a copy of ``info``.

    Rows are matched by their bytes in one pass, O(rows x variables); dimod's ``np.unique(axis=0)``
    sorts them first, 55-60 ms a call on 32 x 20000 spins (Gset G81), twice per 1 s solve.

    Args:
        sampleset: any sample set.

    Returns:
        A new dimod.SampleSet with the same variables and vartype.
    """
    rec = sampleset.record
    samples = np.ascontiguousarray(rec.sample)
    slot: dict[bytes, int] = {}  # row bytes -> index of the distinct row
    first: list[int] = []  # index in rec of each distinct row's first occurrence
    inverse = np.empty(len(rec), dtype=np.intp)
    for i in range(len(rec)):
        k = slot.setdefault(samples[i].tobytes(), len(first))
        if k == len(first):
            first.append(i)
        inverse[i] = k
    out = rec[np.asarray(first, dtype=np.intp)]
    out.num_occurrences = np.bincount(inverse, weights=rec.num_occurrences, minlength=len(first)).astype(
        rec.num_occurrences.dtype)
    return type(sampleset)(out, sampleset.variables, copy.deepcopy(sampleset.info), sampleset.vartype)


def rank_sampleset(sampleset: dimod.SampleSet, *, max_candidates: int | None = None) -> list[Candidate]:
    """Distinct samples of ``sampleset`` ranked by energy (ties: more occurrences first).

    Args:
        sampleset: any sample set; duplicate rows are aggregated.
        max_candidates: keep at most this many candidates (None keeps all).

    Returns:
        list of :class:`Candidate`, best (lowest energy) first.
    """
    agg = aggregate_samples(sampleset)
    rec = agg.record
    if len(rec) == 0:
        return []
    order = np.lexsort((-rec.num_occurrences, rec.energy))
    if max_candidates is not None:
        order = order[:max_candidates]
    variables = list(agg.variables)
    extra = [name for name in rec.dtype.names if name not in ("sample", "energy", "num_occurrences")
             and rec[name].ndim == 1]
    return [Candidate(sample=dict(zip(variables, rec.sample[i].tolist(), strict=True)), energy=float(rec.energy[i]),
                      num_occurrences=int(rec.num_occurrences[i]),
                      info={name: _plain_scalar(rec[name][i]) for name in extra} or None) for i in order]


def _plain_scalar(value) -> str:
    value = value.item() if hasattr(value, "item") else value
    return value.decode() if isinstance(value, bytes) else str(value)


def confidence_from_sampleset(sampleset: dimod.SampleSet, *, atol: float = 1e-9) -> dict:
    """Confidence figures from a sample set.

    Returns:
        dict with ``num_reads`` (total reads), ``best_energy`` (energy units),
        ``best_fraction`` (fraction of reads within ``atol`` of the best energy, a probability)
        and ``energy_gap`` (best to the next distinct energy, energy units; None if all reads
        reached the same energy).
    """
    rec = sampleset.record
    if len(rec) == 0:
        return {"num_reads": 0, "best_energy": None, "best_fraction": 0.0, "energy_gap": None}
    counts = rec.num_occurrences
    best = float(rec.energy.min())
    tol = atol * max(1.0, abs(best))
    at_best = rec.energy <= best + tol
    others = rec.energy[~at_best]
    return {
        "num_reads": int(counts.sum()),
        "best_energy": best,
        "best_fraction": float(counts[at_best].sum() / counts.sum()),
        "energy_gap": float(others.min() - best) if others.size else None,
    }


def relative_gap(best: float, bound: float) -> float:
    """``|best - bound| / max(1, |best|)``: the relative distance of a value from a certified bound."""
    return abs(best - bound) / max(1.0, abs(best))


def add_lower_bound(confidence: dict, bound: Mapping | None) -> dict:
    """Add a certified lower bound on a BQM's minimum energy to ``confidence`` (in place; also returned).

    Args:
        confidence: as from :func:`confidence_from_sampleset` (``best_energy`` is read).
        bound: ``{"value": energy units, "method": str, ...}``, or None (nothing added).

    Returns:
        ``confidence`` with ``lower_bound``, ``lower_bound_method``, the same as
        ``objective_bound`` and ``bound_method`` (the energy is a BQM's objective, minimised)
        and, when a best energy is known, ``gap`` = (best - bound) / max(1, |best|) and
        ``proven_optimal``.
    """
    if bound is None:
        return confidence
    confidence["lower_bound"] = bound["value"]
    confidence["lower_bound_method"] = bound["method"]
    return add_objective_bound(confidence, bound, sense="min", best=confidence.get("best_energy"))


def add_objective_bound(confidence: dict, bound: Mapping | None, *, sense: str, best: float | None) -> dict:
    """Add a certified bound on the optimum, in the model's own sense, to ``confidence`` (in place).

    Args:
        confidence: the result's confidence mapping.
        bound: ``{"value": model units, "method": str}`` (a lower bound on the minimum for
            ``sense="min"``, an upper bound on the maximum for ``"max"``; ``proven: True``
            when the method itself proved the optimum, e.g. enumeration of the feasible
            set), or None (nothing added).
        sense: ``"min"`` or ``"max"``.
        best: the best (feasible) value found, model units, or None.

    Returns:
        ``confidence`` with ``objective_bound``, ``bound_method`` and, when ``best`` is known,
        ``gap`` = |best - bound| / max(1, |best|) and ``proven_optimal`` (the gap is at most
        :data:`PROVEN_RTOL`). A ``best`` on the wrong side of the bound (beyond the tolerance)
        would mean the bound is not valid: it is then not reported and ``bound_note`` says so.
    """
    if bound is None:
        return confidence
    value = float(bound["value"])
    if best is not None:
        sign = 1.0 if sense == "min" else -1.0
        if sign * (best - value) < -PROVEN_RTOL * max(1.0, abs(best)):
            confidence["bound_note"] = (f"the bound {value:g} ({bound['method']}) is beaten by a feasible "
                                        f"value {best:g}: not reported")
            return confidence
    confidence["objective_bound"] = value
    confidence["bound_method"] = str(bound["method"])
    if best is not None:
        confidence["gap"] = relative_gap(best, value)
        confidence["proven_optimal"] = bool(confidence["gap"] <= PROVEN_RTOL)
    return confidence


def confidence_from_candidates(candidates: list[Candidate], *, sense: str = "min",
                               num_reads: int | None = None) -> dict:
    """Confidence figures of a constrained model's ranked candidates.

    Candidates with ``num_occurrences`` 0 (added by a classical polish, not read from the
    sampler) count as found but not as reads.

    Args:
        candidates: ranked candidates with ``objective`` and ``feasible`` set.
        sense: the objective's sense, ``"min"`` or ``"max"``.
        num_reads: the reads the candidates' occurrences were counted from (e.g. the last
            calibration round's); None: the sum of the candidates' occurrences. Give it when
            ``candidates`` may be truncated, so that reads left out still count.

    Returns:
        dict with ``num_reads`` (reads behind the candidates), ``best_fraction`` (fraction of
        those reads that are feasible with the best feasible objective, a probability),
        ``best_objective`` (best feasible objective, model units; None without a feasible
        candidate) and ``objective_gap`` (best to the next distinct feasible objective, model
        units; None with fewer than two), the same as ``second_best_gap``: how far the runner-up
        is, *not* an optimality gap (that is ``gap``, from a certified bound).
    """
    reads = [c for c in candidates if c.num_occurrences > 0]
    total = sum(c.num_occurrences for c in reads) if num_reads is None else int(num_reads)
    best_obj = next((c.objective for c in candidates if c.feasible), None)
    best_reads = sum(c.num_occurrences for c in reads if c.feasible and c.objective == best_obj)
    feasible_objs = sorted({float(c.objective) for c in candidates if c.feasible and c.objective is not None},
                           reverse=sense == "max")
    second = abs(feasible_objs[1] - feasible_objs[0]) if len(feasible_objs) > 1 else None
    return {
        "num_reads": total,
        "best_fraction": best_reads / total if total and best_obj is not None else 0.0,
        "best_objective": best_obj,
        "second_best_gap": second,
        "objective_gap": second,  # the old name of second_best_gap, kept for readers of it
    }
