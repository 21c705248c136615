"""The exact backend's branch and bound against independent optima: dimod.ExactSolver,
an enumeration written here (numpy, split in two halves), and OR-Library's published optima."""
from __future__ import annotations

import threading
import time

import dimod
import numpy as np
import pytest
from _models import bqp_as_min_bqm, random_bqm, read_orlib_bqp

import qopt
from qopt.errors import ParameterError
from qopt.samplers.exact import BNB_SOLVER, ENUMERATION_SOLVER, ExactSampler
from qopt.samplers.limits import EXACT_MAX_VARIABLES, EXACT_PROOF_MAX_VARIABLES


def split_enumeration_minimum(bqm: dimod.BinaryQuadraticModel) -> float:
    """Minimum energy of ``bqm`` over all 2**n states, by numpy: the variables split into a low
    and a high half, E = E_low + E_high + x_high^T C x_low, in blocks of high states."""
    b = bqm.change_vartype(dimod.BINARY, inplace=False)
    labels = list(b.variables)
    n = len(labels)
    lo, hi = labels[: n // 2], labels[n // 2:]

    def states(k):
        return ((np.arange(2 ** k)[:, None] >> np.arange(k)) & 1).astype(np.float64)

    def half_energies(part, X):
        idx = {v: i for i, v in enumerate(part)}
        lin = np.array([b.get_linear(v) for v in part])
        Q = np.zeros((len(part), len(part)))
        for (u, v), q in b.quadratic.items():
            if u in idx and v in idx:
                Q[idx[u], idx[v]] += q
        return X @ lin + np.einsum("si,ij,sj->s", X, Q, X)

    Xl, Xh = states(len(lo)), states(len(hi))
    El, Eh = half_energies(lo, Xl), half_energies(hi, Xh)
    C = np.zeros((len(hi), len(lo)))
    ih, il = {v: i for i, v in enumerate(hi)}, {v: i for i, v in enumerate(lo)}
    for (u, v), q in b.quadratic.items():
        if u in ih and v in il:
            C[ih[u], il[v]] += q
        elif v in ih and u in il:
            C[ih[v], il[u]] += q
    CXl = C @ Xl.T  # (len(hi), 2**len(lo))
    best = np.inf
    for start in range(0, len(Xh), 256):
        block = Eh[start:start + 256, None] + Xh[start:start + 256] @ CXl + El[None, :]
        best = min(best, float(block.min()))
    return best + b.offset


def uniform_bqm(n: int, seed: int, density: float = 1.0, vartype=dimod.SPIN) -> dimod.BinaryQuadraticModel:
    rng = np.random.default_rng(seed)
    lin = {i: rng.uniform(-1, 1) for i in range(n)}
    quad = {(i, j): rng.uniform(-1, 1) for i in range(n) for j in range(i + 1, n) if rng.random() < density}
    return dimod.BQM(lin, quad, rng.uniform(-1, 1), vartype)


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
@pytest.mark.parametrize("n,density", [(11, 1.0), (13, 0.3), (15, 0.6), (17, 1.0), (18, 0.2)])
def test_k_best_match_brute_force(vartype, n, density):
    for seed in range(3):
        bqm = random_bqm(n, density, seed=seed * 10 + n, vartype=vartype, offset=0.5)
        ref = dimod.ExactSolver().sample(bqm).record.energy
        ref.sort()
        for k in (1, 5):
            ss = ExactSampler().sample(bqm, num_reads=k)
            assert ss.info["solver"] == BNB_SOLVER and ss.info["status"] == "optimal"
            assert ss.vartype is vartype and len(ss) == k
            np.testing.assert_allclose(ss.record.energy, ref[:k], atol=1e-9)
            np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), atol=1e-12)
            assert len({tuple(r) for r in ss.record.sample}) == k
            assert ss.info["dual_bound"] == pytest.approx(ref[0], abs=1e-9)
            assert ss.info["gap"] == 0.0


def test_integer_biases_with_ties_match_brute_force():
    for seed in range(6):
        bqm = dimod.generators.ran_r(1, 16, seed=seed)
        ref = np.sort(dimod.ExactSolver().sample(bqm).record.energy)
        ss = ExactSampler().sample(bqm, num_reads=4)
        np.testing.assert_allclose(ss.record.energy, ref[:4], atol=0)


def test_default_reads_enumerate_small_models_and_prove_larger_ones():
    small = ExactSampler().sample(random_bqm(6, 1.0, seed=2))
    assert len(small) == 64 and small.info["solver"] == ENUMERATION_SOLVER
    assert small.info["dual_bound"] == small.first.energy
    bqm = uniform_bqm(20, seed=4)
    ss = ExactSampler().sample(bqm)
    assert len(ss) == 1 and ss.info["solver"] == BNB_SOLVER
    assert ss.first.energy == pytest.approx(split_enumeration_minimum(bqm), abs=1e-9)


@pytest.mark.shared_data
def test_orlib_bqp50_published_optima(shared_data, best_known_values):
    problems = read_orlib_bqp(shared_data / "orlib_bqp" / "bqp50.txt")
    assert len(problems) == 10
    for k, (n, q) in enumerate(problems, start=1):
        ss = ExactSampler().sample(bqp_as_min_bqm(n, q), time_limit=60.0)
        assert ss.info["status"] == "optimal"
        assert -ss.first.energy == best_known_values[f"bqp50-{k}"]
        assert ss.info["dual_bound"] == ss.first.energy


def test_time_limited_dual_bound_is_never_above_the_optimum():
    for seed in range(3):
        bqm = dimod.generators.ran_r(1, 22, seed=seed)
        optimum = split_enumeration_minimum(bqm)
        ss = ExactSampler().sample(bqm, time_limit=1e-6)  # stops at the first check (4096 nodes)
        assert ss.info["status"] == "time_limit"
        assert ss.info["dual_bound"] <= optimum + 1e-9
        assert ss.first.energy >= optimum - 1e-9
        assert ss.info["gap"] == pytest.approx((ss.first.energy - ss.info["dual_bound"]) / abs(ss.first.energy))
    # a larger model stopped at a few limits: the bound stays below the best energy found
    big = uniform_bqm(44, seed=1)
    for limit in (1e-3, 0.05):
        ss = ExactSampler().sample(big, time_limit=limit)
        assert ss.info["status"] == "time_limit"
        assert ss.info["dual_bound"] <= ss.first.energy


def test_interrupt_stops_the_search_and_leaves_no_thread():
    bqm = uniform_bqm(60, seed=2)
    before = threading.active_count()
    event = threading.Event()
    timer = threading.Timer(0.1, event.set)
    timer.start()
    t0 = time.perf_counter()
    ss = ExactSampler().sample(bqm, interrupt=event)
    elapsed = time.perf_counter() - t0
    timer.join()
    assert ss.info["status"] == "interrupted"
    assert elapsed < 30.0  # generous: unstopped it would run for hours
    assert ss.info["dual_bound"] <= ss.first.energy
    assert threading.active_count() == before


def test_bad_parameters_name_the_field():
    bqm = random_bqm(20, 0.5, seed=1)
    for kwargs, field in (({"time_limit": 0.0}, "time_limit"), ({"num_reads": 0}, "num_reads"),
                          ({"interrupt": object()}, "interrupt"), ({"seed": -1}, "seed")):
        with pytest.raises(ParameterError) as err:
            ExactSampler().sample(bqm, **kwargs)
        assert err.value.field == field
    too_big = dimod.BQM.from_ising({i: 1.0 for i in range(EXACT_MAX_VARIABLES + 1)}, {})
    with pytest.raises(ParameterError, match=f"at most {EXACT_MAX_VARIABLES}") as err:
        ExactSampler().sample(too_big)
    assert err.value.field == "bqm"


@pytest.mark.parametrize("n", [26, pytest.param(EXACT_PROOF_MAX_VARIABLES - 2, marks=pytest.mark.slow)])
def test_solve_proves_the_optimum_of_a_small_dense_model(n):
    bqm = dimod.generators.ran_r(1, n, seed=5)
    optimum = split_enumeration_minimum(bqm)
    result = qopt.solve(bqm)
    assert result.provenance["backend"] == "exact"
    assert "branch and bound" in result.provenance["routing"]["reason"]
    assert result.candidates[0].energy == optimum
    assert result.confidence["proven_optimal"] is True
    assert result.confidence["objective_bound"] == pytest.approx(optimum, abs=1e-9)



def test_solve_proves_a_model_of_several_components():
    """Presolve's components (14 and 16 variables: 30 in all, so auto routes to exact): each
    solved by branch and bound, the sum of their brute-force minima is the proven optimum."""
    parts = [dimod.generators.ran_r(1, 14, seed=1), uniform_bqm(16, seed=3)]
    bqm = dimod.BQM(dimod.SPIN)
    for k, part in enumerate(parts):
        bqm.update(part.relabel_variables({v: f"c{k}_{v}" for v in part.variables}, inplace=False))
    optimum = sum(split_enumeration_minimum(p) for p in parts)
    result = qopt.solve(bqm)
    assert result.provenance["backend"] == "exact"
    assert result.provenance["presolve"]["component_sizes"] == [16, 14]
    assert result.candidates[0].energy == pytest.approx(optimum, abs=1e-9)
    assert result.confidence["proven_optimal"] is True
    assert result.confidence["objective_bound"] <= optimum + 1e-9
