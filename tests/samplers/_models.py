"""Small helpers shared by the sampler tests (not a test module)."""
from __future__ import annotations

import itertools

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
