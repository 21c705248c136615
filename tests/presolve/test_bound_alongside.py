"""The bound beside the sampler (qopt.solve.bqm): run only when its estimated work fits in
BOUND_CPU_SHARE of the sampler's CPU time, never with a sparse certificate, always joined
before the solve returns, and certified whichever bound stands (G1's best-known cut, brute
force)."""
from __future__ import annotations

import importlib
import threading

import dimod
import numpy as np
import pytest

import qopt
from qopt.io import read_instance
from qopt.presolve.bound import DENSE_MAX, certificate_seconds

bqm_path = importlib.import_module("qopt.solve.bqm")


def _bound_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "qopt-bound"]


def test_certificate_estimate_grows_with_size_and_is_infinite_for_sparse_lu():
    sizes = [50, 800, 2000, DENSE_MAX]
    costs = [certificate_seconds(n) for n in sizes]
    assert costs == sorted(costs) and all(np.isfinite(costs))
    assert certificate_seconds(DENSE_MAX + 1) == float("inf")


def test_short_run_on_g1_keeps_roof_duality_and_says_why():
    # 64 reads x 1000 sweeps: ~0.16 CPU-s of annealing estimated, 8% of it is below the
    # certificate's ~0.04 s, so the spectral bound is not run beside it
    inst = read_instance("G1")
    res = qopt.solve(inst.bqm, backend="sa", num_reads=64, num_sweeps=1000, seed=2, lower_bound=True)
    assert res.confidence["lower_bound_method"] == "roof_duality"
    assert res.confidence["lower_bound"] <= inst.best_known_energy  # certified (best-known cut 11624)
    note = res.provenance["lower_bound"]["note"]
    assert "not run beside sampling" in note and "qopt.presolve.lower_bound" in note
    assert res.provenance["defaults"]["bound_time_limit"]["value"] is None
    assert not _bound_threads()


@pytest.mark.slow
def test_long_run_on_g1_gets_the_spectral_bound_budget_and_joins_its_thread():
    inst = read_instance("G1")
    res = qopt.solve(inst.bqm, backend="sa", num_reads=64, num_sweeps=8000, seed=2, lower_bound=True)
    limit = res.provenance["defaults"]["bound_time_limit"]["value"]
    assert limit is not None and bqm_path.BOUND_MIN_SECONDS <= limit <= bqm_path.BOUND_TIME_LIMIT
    # spectral when ready in time, else roof duality: certified either way
    assert res.confidence["lower_bound_method"] in ("spectral", "roof_duality")
    assert res.confidence["lower_bound"] <= inst.best_known_energy
    assert not _bound_threads()  # joined before the solve returned


def _sparse_maxcut(n: int, seed: int) -> dimod.BinaryQuadraticModel:
    """A Max-Cut Ising model on a ring plus n random chords (one component, > DENSE_MAX spins)."""
    rng = np.random.default_rng(seed)
    edges = {(i, (i + 1) % n) for i in range(n)}
    for i, j in rng.integers(0, n, size=(n, 2)):
        if i != j:
            edges.add((min(i, j), max(i, j)))
    return dimod.BinaryQuadraticModel({}, {e: 1.0 for e in edges}, 0.0, dimod.SPIN)


def test_sparse_certificate_is_not_run_beside_sampling():
    bqm = _sparse_maxcut(DENSE_MAX + 100, seed=1)
    res = qopt.solve(bqm, backend="sa", num_reads=16, num_sweeps=100, seed=1, lower_bound=True)
    assert "sparse certificate" in res.provenance["lower_bound"]["note"]
    assert res.confidence["lower_bound"] <= res.confidence["best_energy"]
    assert not _bound_threads()
    # the same when presolve is off (roof duality is then computed for it)
    off = qopt.solve(bqm, backend="sa", num_reads=16, num_sweeps=100, seed=1, lower_bound=True, presolve=False)
    assert off.confidence["lower_bound_method"] == "roof_duality"
    assert off.confidence["lower_bound"] <= off.confidence["best_energy"]


def test_beside_a_backend_of_unknown_length_the_bound_gets_a_small_share_of_the_budget():
    # steepest descent ends in milliseconds whatever its budget: joining the bound's thread (its
    # mixing run cannot be interrupted) must not hold the answer for long
    inst = read_instance("G1")
    res = qopt.solve(inst.bqm, backend="steepest", time_budget=5.0, seed=1, lower_bound=True)
    limit = res.provenance["defaults"]["bound_time_limit"]["value"]
    assert limit is not None and limit <= bqm_path.BOUND_UNKNOWN_SHARE * 5.0
    assert res.confidence["lower_bound"] <= inst.best_known_energy
    assert not _bound_threads()
