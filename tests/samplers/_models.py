"""Small helpers shared by the sampler tests (not a test module)."""
from __future__ import annotations

import itertools
import time

import dimod
import numpy as np


def random_bqm(n: int, density: float, seed: int, vartype=dimod.SPIN, labels=None, offset: float = 0.0):
    """A random BQM with real biases (independent of qopt code)."""
    rng = np.random.default_rng(seed)
    labels = list(range(n)) if labels is None else list(labels)
    bqm = dimod.BQM(vartype)
    for v in labels:
        bqm.add_variable(v, float(rng.normal()))
    for a, b in itertools.combinations(range(n), 2):
        if rng.random() < density:
            bqm.add_quadratic(labels[a], labels[b], float(rng.normal()))
    bqm.offset = offset
    return bqm


def flip_energies(bqm: dimod.BinaryQuadraticModel, sample_set: dimod.SampleSet) -> np.ndarray:
    """Energy change of every single-variable flip of every sample, computed by dimod."""
    vars_ = list(bqm.variables)
    samples = sample_set.record.sample[:, [sample_set.variables.index(v) for v in vars_]]
    base = bqm.energies((samples, vars_))
    out = np.empty(samples.shape, dtype=float)
    for k in range(len(vars_)):
        flipped = samples.copy()
        flipped[:, k] = (1 - flipped[:, k]) if bqm.vartype is dimod.BINARY else -flipped[:, k]
        out[:, k] = bqm.energies((flipped, vars_)) - base
    return out


def read_orlib_bqp(path):
    """Parse an OR-Library bqp file: list of (n, {(i, j): q}) with 0-based indices.

    Objective (maximise): sum_i q_ii x_i + 2 sum_{i<j} q_ij x_i x_j.
    """
    tok = open(path).read().split()
    pos = 1
    problems = []
    for _ in range(int(tok[0])):
        n, nnz = int(tok[pos]), int(tok[pos + 1])
        pos += 2
        q = {}
        for _ in range(nnz):
            i, j, v = int(tok[pos]) - 1, int(tok[pos + 1]) - 1, float(tok[pos + 2])
            pos += 3
            q[(i, j)] = q.get((i, j), 0.0) + v
        problems.append((n, q))
    return problems


def bqp_as_min_bqm(n: int, q: dict) -> dimod.BinaryQuadraticModel:
    """BINARY BQM whose energy is minus the OR-Library objective."""
    bqm = dimod.BQM(dimod.BINARY)
    bqm.add_variables_from((i, 0.0) for i in range(n))
    for (i, j), v in q.items():
        if i == j:
            bqm.add_linear(i, -v)
        else:
            bqm.add_quadratic(i, j, -2.0 * v)
    return bqm


def best_known(shared_data, instance: str) -> float:
    import csv
    with open(shared_data / "best_known.csv") as f:
        for row in csv.DictReader(f):
            if row["instance"] == instance:
                return float(row["best_known"])
    raise KeyError(instance)


def sparse_bqm(n: int = 2000, m: int = 6000, seed: int = 4, vartype=dimod.SPIN, offset: float = 0.0):
    """A random sparse SPIN (or ``vartype``) model with normal biases on ``m`` random pairs
    (self-pairs dropped), independent of qopt code."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, size=(2, m))
    keep = i != j
    bqm = dimod.BQM.from_ising(rng.normal(size=n), dict(zip(zip(i[keep], j[keep], strict=True),
                                                            rng.normal(size=keep.sum()), strict=True)))
    bqm.offset = offset
    return bqm if vartype is dimod.SPIN else bqm.change_vartype(vartype, inplace=False)


def sweeps_for(bqm, seconds: float, num_reads: int) -> int:
    """Sweeps of qopt's annealer that take about ``seconds`` on this machine (two short runs, so
    the set-up cancels out), between 2000 and 10**7 (a cap of 200000 made a 1.5 s run 0.4 s on a
    fast machine)."""
    from qopt.samplers.sa import SimulatedAnnealingSampler

    wall = []
    for sweeps in (200, 1000):
        t = time.perf_counter()
        SimulatedAnnealingSampler().sample(bqm, num_reads=num_reads, num_sweeps=sweeps, seed=0)
        wall.append(time.perf_counter() - t)
    per_sweep = max(1e-7, (wall[1] - wall[0]) / 800)
    return int(min(10_000_000, max(2000, seconds / per_sweep)))
