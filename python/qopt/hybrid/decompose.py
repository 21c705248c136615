"""Subproblem selection, clamping and splicing on an Ising model in CSR form.

The incumbent is a spin vector ``s`` (int8, values +-1) with local fields
``f_i = h_i + sum_j J_ij s_j``. Flipping a set F of spins changes the energy by

    dE(F) = -2 sum_{i in F} s_i f_i + 4 sum_{i<j in F} J_ij s_i s_j,

so a subproblem over variables S with the rest clamped at the incumbent is the Ising
model with h'_i = f_i - sum_{j in S} J_ij s_j and the couplings inside S. Splicing a
sub-solution applies its flips only when dE < 0, so the incumbent's energy never rises.

Selection follows the energy-impact rule of D-Wave's Kerberos (dwave-hybrid's
``EnergyImpactDecomposer``): variables ranked by the energy change of flipping them alone,
grown breadth-first through the interaction graph so the subproblem is connected; plus
random-walk and whole-component selections for diversity.
"""
from __future__ import annotations

import dataclasses

import dimod
import numpy as np

from qopt.errors import ParameterError
from qopt.samplers.sa import ising_csr

__all__ = ["IsingState", "select_subproblem", "STRATEGIES"]

STRATEGIES = ("energy", "random_walk", "component")


@dataclasses.dataclass
class IsingState:
    """An Ising model in CSR form with an incumbent state and its local fields.

    Attributes:
        h: float64 (n,); row_ptr: int32 (n+1,); col: int32 (nnz,); J: float64 (nnz,):
            the Ising model of the BQM (each coupling in both rows).
        offset: energy offset (energy units).
        spins: int8 (n,), the incumbent in {-1, +1}.
        fields: float64 (n,), ``h + J s`` for the incumbent.
        energy: the incumbent's energy (energy units, offset included).
    """

    h: np.ndarray
    row_ptr: np.ndarray
    col: np.ndarray
    J: np.ndarray
    offset: float
    spins: np.ndarray
    fields: np.ndarray
    energy: float

    @classmethod
    def from_bqm(cls, bqm: dimod.BinaryQuadraticModel, spins: np.ndarray) -> "IsingState":
        """State of ``bqm`` (in ``bqm.variables`` order) at ``spins`` (int8 (n,), +-1)."""
        h, row_ptr, col, J, offset = ising_csr(bqm)
        state = cls(h, row_ptr, col, J, offset, np.asarray(spins, dtype=np.int8).copy(),
                    np.zeros_like(h), 0.0)
        state.recompute()
        return state

    @property
    def num_variables(self) -> int:
        return int(self.h.shape[0])

    def neighbours(self, i: int) -> np.ndarray:
        return self.col[self.row_ptr[i]:self.row_ptr[i + 1]]

    def recompute(self) -> None:
        """Recompute fields and energy from scratch."""
        s = self.spins.astype(np.float64)
        rows = np.repeat(np.arange(self.num_variables), np.diff(self.row_ptr))
        self.fields = self.h + np.bincount(rows, weights=self.J * s[self.col], minlength=self.num_variables)
        self.energy = float(self.offset + s @ self.h + 0.5 * s @ (self.fields - self.h))

    def flip_gains(self) -> np.ndarray:
        """Energy change of flipping each spin alone: float64 (n,), ``-2 s_i f_i``."""
        return -2.0 * self.spins * self.fields

    def subproblem(self, variables: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Clamp everything outside ``variables`` at the incumbent.

        Returns:
            (h_sub float64 (k,), rows int64, cols int64, J_sub float64): the sub-model's
            linear biases and each internal coupling once (local indices, row < col).
        """
        variables = np.asarray(variables, dtype=np.int64)
        local = {int(v): k for k, v in enumerate(variables)}
        h_sub = self.fields[variables].astype(np.float64).copy()
        rows, cols, vals = [], [], []
        for a, v in enumerate(variables):
            lo, hi = self.row_ptr[v], self.row_ptr[v + 1]
            for j, Jij in zip(self.col[lo:hi], self.J[lo:hi], strict=True):
                b = local.get(int(j))
                if b is None:
                    continue
                h_sub[a] -= Jij * self.spins[j]
                if a < b:
                    rows.append(a)
                    cols.append(b)
                    vals.append(Jij)
        return h_sub, np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), np.asarray(vals)

    def delta_energy(self, variables: np.ndarray, new_spins: np.ndarray) -> float:
        """Energy change of setting ``spins[variables] = new_spins`` (exact, energy units)."""
        variables = np.asarray(variables, dtype=np.int64)
        flip = variables[np.asarray(new_spins, dtype=np.int8) != self.spins[variables]]
        if flip.size == 0:
            return 0.0
        s = self.spins
        delta = -2.0 * float(np.sum(s[flip] * self.fields[flip]))
        members = set(int(v) for v in flip)
        for i in flip:
            lo, hi = self.row_ptr[i], self.row_ptr[i + 1]
            for j, Jij in zip(self.col[lo:hi], self.J[lo:hi], strict=True):
                if int(j) in members and j > i:
                    delta += 4.0 * Jij * s[i] * s[j]
        return delta

    def apply(self, variables: np.ndarray, new_spins: np.ndarray) -> float:
        """Set ``spins[variables] = new_spins``, updating fields and energy; returns dE."""
        variables = np.asarray(variables, dtype=np.int64)
        delta = self.delta_energy(variables, new_spins)
        flip = variables[np.asarray(new_spins, dtype=np.int8) != self.spins[variables]]
        for i in flip:
            lo, hi = self.row_ptr[i], self.row_ptr[i + 1]
            self.fields[self.col[lo:hi]] -= 2.0 * self.spins[i] * self.J[lo:hi]
            self.spins[i] = -self.spins[i]
        self.energy += delta
        return delta


def _bfs_grow(state: IsingState, seeds: np.ndarray, size: int, exclude: np.ndarray) -> list[int]:
    """Grow a connected set from ``seeds`` in order, breadth first, skipping ``exclude``."""
    chosen: list[int] = []
    seen = exclude.copy()
    for seed in seeds:
        if len(chosen) >= size:
            break
        if seen[seed]:
            continue
        queue = [int(seed)]
        seen[seed] = True
        while queue and len(chosen) < size:
            v = queue.pop(0)
            chosen.append(v)
            nb = state.neighbours(v)
            # visit the neighbours with the most promising flips first
            order = np.argsort(-2.0 * state.spins[nb] * state.fields[nb], kind="stable")
            for j in nb[order]:
                if not seen[j]:
                    seen[j] = True
                    queue.append(int(j))
    return chosen


def select_subproblem(state: IsingState, size: int, strategy: str, rng: np.random.Generator,
                      exclude: np.ndarray | None = None, tabu: np.ndarray | None = None) -> np.ndarray:
    """Choose at most ``size`` variables for a subproblem.

    Args:
        state: the incumbent.
        size: most variables in the subproblem (>= 1).
        strategy: ``"energy"`` (energy impact, grown breadth-first), ``"random_walk"``
            (a random connected walk) or ``"component"`` (random variables' neighbourhoods).
        rng: NumPy generator (seeded by the caller).
        exclude: bool (n,), variables that may not be chosen (e.g. in flight elsewhere).
        tabu: float (n,) penalty added to the rank of recently used variables.

    Returns:
        int64 array of distinct variable indices (possibly fewer than ``size``).

    Raises:
        ValueError: unknown ``strategy``.
    """
    n = state.num_variables
    excl = np.zeros(n, dtype=bool) if exclude is None else exclude.copy()
    if strategy == "energy":
        score = state.flip_gains()
        if tabu is not None:
            score = score + tabu
        score = score + 1e-9 * rng.random(n)  # random tie-breaks
        seeds = np.argsort(score, kind="stable")
        return np.asarray(_bfs_grow(state, seeds, size, excl), dtype=np.int64)
    if strategy == "random_walk":
        free = np.flatnonzero(~excl)
        if free.size == 0:
            return np.zeros(0, dtype=np.int64)
        v = int(rng.choice(free))
        chosen = [v]
        excl[v] = True
        for _ in range(20 * size):
            if len(chosen) >= size:
                break
            nb = state.neighbours(v)
            nb = nb[~excl[nb]] if nb.size else nb
            if nb.size == 0:
                free = np.flatnonzero(~excl)
                if free.size == 0:
                    break
                v = int(rng.choice(free))
            else:
                v = int(rng.choice(nb))
            if not excl[v]:
                excl[v] = True
                chosen.append(v)
        return np.asarray(chosen, dtype=np.int64)
    if strategy == "component":
        seeds = rng.permutation(n)
        return np.asarray(_bfs_grow(state, seeds, size, excl), dtype=np.int64)
    raise ParameterError("strategy", f"must be one of {list(STRATEGIES)}, was {strategy!r}")
