"""Immutable decoder: BQM samples -> original variables, objective, feasibility, violations."""
from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping

import dimod
import numpy as np
import scipy.sparse as sp

from qopt.model.problem import Problem

__all__ = ["Decoder", "Candidate", "DecodedArrays"]


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One decoded answer.

    Attributes:
        sample: ``{original variable label: value}`` (ints for binary/integer, +-1 for spin).
        energy: lowest BQM energy among the reads that decoded to this sample (penalties
            included; BQM units).
        objective: objective value in the model's own sense (maximised if ``sense="max"``).
        feasible: every constraint holds within ``atol + rtol * |rhs|`` (dimod's rule).
        violations: ``{constraint label: amount}`` for violated constraints only
            (amount > 0 in the constraint's units).
        num_occurrences: reads that decoded to this sample.
    """

    sample: dict
    energy: float
    objective: float
    feasible: bool
    violations: dict
    num_occurrences: int = 1

    def to_dict(self) -> dict:
        """JSON-friendly dict (numpy scalars converted)."""
        return {"sample": {_key(k): _py(v) for k, v in self.sample.items()}, "energy": float(self.energy),
                "objective": float(self.objective), "feasible": bool(self.feasible),
                "violations": {_key(k): float(v) for k, v in self.violations.items()},
                "num_occurrences": int(self.num_occurrences)}


def _key(k):
    return k if isinstance(k, (str, int)) else str(k)


def _py(v):
    f = float(v)
    return int(f) if f.is_integer() else f


@dataclasses.dataclass(frozen=True)
class DecodedArrays:
    """Vectorised decode of unique samples (rows), ranked best first.

    Attributes:
        labels: original variable labels (column order of ``x``).
        x: float64 (k, n) original variable values.
        energy: float64 (k,) lowest BQM energy per unique sample.
        objective: float64 (k,) objective in the user's sense.
        violation: float64 (k, m) amount each constraint is violated (0 when satisfied).
        feasible: bool (k,).
        num_occurrences: int64 (k,).
        constraint_labels: labels of the m constraints (column order of ``violation``).
    """

    labels: tuple
    x: np.ndarray
    energy: np.ndarray
    objective: np.ndarray
    violation: np.ndarray
    feasible: np.ndarray
    num_occurrences: np.ndarray
    constraint_labels: tuple

    def candidates(self, limit: int | None = None) -> list[Candidate]:
        """The rows as :class:`Candidate` objects (best first), at most ``limit`` of them."""
        k = self.x.shape[0] if limit is None else min(limit, self.x.shape[0])
        ints = np.all(self.x[:k] == np.round(self.x[:k]))
        out = []
        for r in range(k):
            row = self.x[r].astype(np.int64).tolist() if ints else self.x[r].tolist()
            viol = {self.constraint_labels[j]: float(self.violation[r, j])
                    for j in np.flatnonzero(self.violation[r] > 0)}
            out.append(Candidate(dict(zip(self.labels, row, strict=True)), float(self.energy[r]), float(self.objective[r]),
                                 bool(self.feasible[r]), viol, int(self.num_occurrences[r])))
        return out


def _readonly(a):
    if sp.issparse(a):
        for arr in (a.data, a.indices, a.indptr):
            arr.setflags(write=False)
        return a
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclasses.dataclass(frozen=True, eq=False)
class Decoder:
    """Maps BQM samples back to the original model. Immutable; safe to share between threads.

    Created by :func:`qopt.compile.compile`; do not construct directly.

    Attributes:
        problem: the compiled :class:`~qopt.model.Problem` (read-only by convention).
        labels: original variable labels, in the CQM's order.
        bit_labels: BQM labels of the bits that encode original variables (slack bits follow
            them in the BQM and are ignored when decoding).
        weights: read-only mapping ``{constraint label: penalty weight applied}``.
        options: read-only mapping of the compile options used.
        rtol, atol: feasibility tolerances (dimod's ``check_feasible`` rule).
    """

    problem: Problem
    labels: tuple
    bit_labels: tuple
    num_bits: int
    E: sp.csr_matrix
    o: np.ndarray
    A_orig: sp.csr_matrix
    con_off: np.ndarray
    rhs: np.ndarray
    sense: np.ndarray
    constraint_labels: tuple
    weights: Mapping
    options: Mapping
    A_bits: sp.csr_matrix
    k0: np.ndarray
    slack_spec: tuple = ()
    slack_labels: tuple = ()
    rtol: float = 1e-6
    atol: float = 1e-8

    @classmethod
    def _create(cls, *, problem, labels, bit_labels, num_bits, E, o, A_orig, con_off, rhs, sense, con_labels,
                weights, options, A_bits, k0, slack_spec, slack_labels=()):
        spec = tuple((int(r), int(start), _readonly(c)) for r, start, c in slack_spec)
        return cls(problem, tuple(labels), tuple(bit_labels), int(num_bits), _readonly(E.tocsr().copy()),
                   _readonly(o), _readonly(A_orig.tocsr().copy()), _readonly(con_off), _readonly(rhs),
                   _readonly(sense), tuple(con_labels), types.MappingProxyType(dict(weights)),
                   types.MappingProxyType(dict(options)), _readonly(A_bits.tocsr().copy()), _readonly(k0), spec,
                   tuple(slack_labels))

    @property
    def bqm_labels(self) -> tuple:
        """All BQM variables in order: the original variables' bits, then slack bits."""
        return self.bit_labels + self.slack_labels

    # ------------------------------------------------------------------------------
    def encode(self, x: np.ndarray) -> np.ndarray:
        """BQM bits (int8, shape (R, num_bits), BQM variable order) for original values.

        The inverse of decoding: integer values are written with the encoding's coefficients
        (greedy, largest first, exact for the binary and unary encodings), and each slack is
        set to absorb the constraint's residual (clipped to its range), so a feasible ``x``
        gets zero penalty on slack-encoded constraints.

        Args:
            x: float (R, n) or (n,) original values in ``labels`` order (within bounds).
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        R = x.shape[0]
        nvb = len(self.bit_labels)
        bits = np.zeros((R, self.num_bits), dtype=np.int8)
        rem = x - self.o[None, :]
        # every bit belongs to exactly one variable; walk variables with several bits
        Er = self.E.tocsr()
        for i in range(Er.shape[0]):
            cols = Er.indices[Er.indptr[i]:Er.indptr[i + 1]]
            coef = Er.data[Er.indptr[i]:Er.indptr[i + 1]]
            if cols.size == 1:
                bits[:, cols[0]] = np.rint(rem[:, i] / coef[0]).astype(np.int8)
                continue
            order = np.argsort(-coef, kind="stable")
            left = rem[:, i].copy()
            for k in order:
                take = left >= coef[k] - 1e-9
                bits[take, cols[k]] = 1
                left = left - np.where(take, coef[k], 0.0)
        if self.slack_spec:
            g = (self.A_bits @ bits[:, :nvb].T.astype(float)).T + self.k0[None, :]
            for r, start, c in self.slack_spec:
                need = np.maximum(-g[:, r], 0.0)
                order = np.argsort(-c, kind="stable")
                for k in order:
                    take = need >= c[k] - 1e-9 * max(1.0, c[k])
                    bits[take, start + k] = 1
                    need = need - np.where(take, c[k], 0.0)
        return bits

    @property
    def sense_of_objective(self) -> str:
        return self.problem.sense

    # ------------------------------------------------------------------------------
    def _bits(self, samples) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(bits int8 (R, num_var_bits), energies or None, num_occurrences) from samples-like."""
        if isinstance(samples, dimod.SampleSet):
            ss = samples
            arr = ss.record.sample
            index = {v: i for i, v in enumerate(ss.variables)}
            try:
                cols = np.fromiter((index[v] for v in self.bit_labels), dtype=np.int64, count=len(self.bit_labels))
            except KeyError as exc:
                raise ValueError(f"sample set lacks BQM variable {exc.args[0]!r}") from None
            bits = arr[:, cols]
            if ss.vartype is dimod.SPIN:
                bits = (bits + 1) // 2
            return bits, np.asarray(ss.record.energy, dtype=float), np.asarray(ss.record.num_occurrences)
        arr, variables = dimod.as_samples(samples)
        index = {v: i for i, v in enumerate(variables)}
        try:
            cols = np.fromiter((index[v] for v in self.bit_labels), dtype=np.int64, count=len(self.bit_labels))
        except KeyError as exc:
            raise ValueError(f"sample lacks BQM variable {exc.args[0]!r}") from None
        bits = arr[:, cols]
        if bits.size and bits.min() < 0:
            bits = (bits + 1) // 2
        return bits, None, np.ones(arr.shape[0], dtype=np.int64)

    def original_values(self, bits: np.ndarray) -> np.ndarray:
        """Original variable values, float64 (R, n), from bits (R, num_var_bits) in ``bit_labels`` order."""
        bits = np.asarray(bits, dtype=np.float64)
        return self.o[None, :] + (self.E[:, :bits.shape[1]] @ bits.T).T if bits.size else \
            np.broadcast_to(self.o, (bits.shape[0], self.o.size)).copy()

    def violations_of(self, x: np.ndarray) -> np.ndarray:
        """Violation amounts float64 (R, m) of original values ``x`` (R, n); 0 where satisfied."""
        if not self.constraint_labels:
            return np.zeros((x.shape[0], 0))
        lhs = (self.A_orig @ x.T).T + self.con_off[None, :]
        diff = lhs - self.rhs[None, :]
        viol = np.where(self.sense == 0, diff, np.where(self.sense == 1, -diff, np.abs(diff)))
        return np.maximum(viol, 0.0)

    def decode_arrays(self, samples) -> DecodedArrays:
        """Vectorised decode; rows aggregated by original sample and ranked.

        Ranking: feasible first, by objective (best in the model's sense first); then
        infeasible ones by total violation (least first), then objective.

        Args:
            samples: a :class:`dimod.SampleSet` from sampling the compiled BQM (SPIN or
                BINARY), or any dimod samples-like over the BQM's variables.
        """
        bits, energy, occ = self._bits(samples)
        x = self.original_values(bits)
        if energy is None:
            energy = np.full(x.shape[0], np.nan)
        if x.shape[0]:
            uniq, inverse = np.unique(x, axis=0, return_inverse=True)
            inverse = inverse.ravel()
            k = uniq.shape[0]
            e = np.full(k, np.inf)
            np.minimum.at(e, inverse, np.where(np.isnan(energy), np.inf, energy))
            e[np.isinf(e)] = np.nan
            cnt = np.zeros(k, dtype=np.int64)
            np.add.at(cnt, inverse, occ)
            x = uniq
        else:
            e, cnt = energy, occ
        obj = self.problem.sign * self._objective_min_form(x)
        viol = self.violations_of(x)
        tol = self.atol + self.rtol * np.abs(self.rhs)
        feasible = np.all(viol <= tol[None, :], axis=1) if viol.shape[1] else np.ones(x.shape[0], dtype=bool)
        total = np.where(viol <= tol[None, :], 0.0, viol).sum(axis=1) if viol.shape[1] else np.zeros(x.shape[0])
        key_obj = obj if self.problem.sense == "min" else -obj
        order = np.lexsort((key_obj, np.where(feasible, 0.0, total), ~feasible))
        viol = np.where(viol <= tol[None, :], 0.0, viol)
        return DecodedArrays(self.labels, x[order], e[order], obj[order], viol[order], feasible[order],
                             cnt[order], self.constraint_labels)

    def _objective_min_form(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] == 0:
            return np.zeros(0)
        if np.all(x == np.round(x)) and np.abs(x).max(initial=0) < 2 ** 31:
            xs = x.astype(np.int64)
        else:
            xs = x
        return np.asarray(self.problem.cqm.objective.energies((xs, list(self.labels))), dtype=float)

    def decode(self, samples, limit: int | None = None) -> list[Candidate]:
        """Decode to ranked :class:`Candidate` objects (see :meth:`decode_arrays` for the order).

        Args:
            samples: a SampleSet or samples-like over the BQM's variables; a single mapping
                ``{bqm label: 0/1}`` is accepted too.
            limit: keep at most this many candidates.
        """
        return self.decode_arrays(samples).candidates(limit)

    def decode_sample(self, sample: Mapping) -> Candidate:
        """Decode one sample mapping ``{bqm label: value}``."""
        return self.decode(sample)[0]
