"""qopt.solve: ranking, confidence, provenance, validation; checked against dimod."""
import math

import dimod
import numpy as np
import pytest

import qopt
from qopt.checks import ParameterError
from qopt.errors import ProblemError
from qopt.problem_hash import bqm_sha256
from qopt.samplers.registry import UnknownBackendError


def test_best_equals_exact_optimum():
    bqm = dimod.generators.gnp_random_bqm(12, 0.5, dimod.BINARY, random_state=5)
    exact = dimod.ExactSolver().sample(bqm)
    result = qopt.solve(bqm, backend="sa", num_reads=30, num_sweeps=500, seed=3)
    assert result.best.energy == pytest.approx(exact.first.energy)
    assert bqm.energy(result.best.sample) == pytest.approx(result.best.energy)


def test_candidates_distinct_ranked_and_counted():
    bqm = dimod.generators.ran_r(1, 16, seed=2)
    result = qopt.solve(bqm, backend="sa", num_reads=50, num_sweeps=20, seed=1)
    energies = [c.energy for c in result.candidates]
    assert energies == sorted(energies)
    keys = [tuple(sorted(c.sample.items())) for c in result.candidates]
    assert len(set(keys)) == len(keys)
    assert sum(c.num_occurrences for c in result.candidates) == 50
    # confidence recomputed independently from the candidates
    best = energies[0]
    frac = sum(c.num_occurrences for c in result.candidates if c.energy <= best + 1e-9) / 50
    assert result.confidence["best_fraction"] == pytest.approx(frac)
    higher = [e for e in energies if e > best + 1e-9]
    assert result.confidence["energy_gap"] == (pytest.approx(higher[0] - best) if higher else None)


def test_provenance_and_timing():
    bqm = dimod.generators.ran_r(1, 10, seed=4)
    result = qopt.solve(bqm, backend="sa", num_reads=4)
    prov = result.provenance
    assert prov["backend"] == "sa" and prov["routing"]["reason"] == "backend 'sa' requested"
    assert isinstance(prov["parameters"]["seed"], int) and prov["parameters"]["seed"] < 2**53
    assert prov["problem_sha256"] == bqm_sha256(bqm)
    assert prov["versions"]["dimod"] == dimod.__version__
    assert set(result.timing) >= {"validate", "preprocess", "sample", "postprocess", "total"}
    import json
    json.dumps(result.to_dict())  # plain, JSON-serialisable


def test_problem_hash_is_canonical():
    a = dimod.BinaryQuadraticModel({0: 1.0, 1: -2.0}, {(0, 1): 0.5, (1, 2): 3.0}, 1.0, dimod.SPIN)
    b = dimod.BinaryQuadraticModel({}, {(2, 1): 3.0}, 1.0, dimod.SPIN)
    b.add_variable(0, 1.0)
    b.add_variable(1, -2.0)
    b.add_quadratic(1, 0, 0.5)
    b.relabel_variables({v: v for v in b.variables})
    b = dimod.BinaryQuadraticModel.from_numpy_vectors(*b.to_numpy_vectors([0, 1, 2]), dimod.SPIN, variable_order=[0, 1, 2])
    assert bqm_sha256(a) == bqm_sha256(b)
    c = a.copy()
    c.add_quadratic(0, 1, 1e-12)
    assert bqm_sha256(a) != bqm_sha256(c)


@pytest.mark.parametrize("kwargs,name", [
    ({"num_reads": 0}, "num_reads"),
    ({"num_sweeps": -5}, "num_sweeps"),
    ({"beta_schedule_type": "cubic"}, "beta_schedule_type"),
    ({"bogus": 1}, "bogus"),
    ({"max_candidates": 0}, "max_candidates"),
])
def test_bad_parameters_name_the_argument(kwargs, name):
    with pytest.raises(ParameterError) as info:
        qopt.solve(dimod.generators.ran_r(1, 5, seed=1), backend="sa", **kwargs)
    assert info.value.field == name


def test_bad_problems():
    with pytest.raises(TypeError, match="problem"):
        qopt.solve(42)
    with pytest.raises(ProblemError):
        qopt.solve(dimod.BinaryQuadraticModel("SPIN"))
    bad = dimod.BinaryQuadraticModel({0: math.nan}, {}, 0.0, dimod.SPIN)
    with pytest.raises(ProblemError, match=r"linear\[0\]"):
        qopt.solve(bad)
    with pytest.raises(UnknownBackendError, match="backend"):
        qopt.solve(dimod.generators.ran_r(1, 5, seed=1), backend="nope")


def test_to_sampleset_energies_match_dimod():
    bqm = dimod.generators.gnp_random_bqm(20, 0.4, dimod.BINARY, random_state=9)
    bqm.offset = -3.25
    ss = qopt.solve(bqm, num_reads=10, num_sweeps=100, seed=2).to_sampleset()
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))


def test_auto_routes_small_models_to_exact_enumeration():
    bqm = dimod.generators.gnp_random_bqm(12, 0.5, dimod.SPIN, random_state=8)
    result = qopt.solve(bqm)  # backend="auto"
    assert result.provenance["routing"]["backend"] == "exact"
    assert "exact enumeration" in result.provenance["routing"]["reason"]
    assert result.best.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)


def _two_components_with_forced_variable():
    a = dimod.generators.gnp_random_bqm(10, 0.5, dimod.SPIN, random_state=1)
    b = dimod.generators.gnp_random_bqm(8, 0.5, dimod.SPIN, random_state=2)
    bqm = dimod.BinaryQuadraticModel(dimod.SPIN)
    bqm.update(a)
    bqm.update(b.relabel_variables({v: f"b{v}" for v in b.variables}, inplace=False))
    bqm.add_linear("forced", 50.0)          # |h| exceeds its couplings: forced to -1
    bqm.add_quadratic("forced", 0, 1.0)
    bqm.offset = 3.0
    return bqm


def test_presolve_components_and_bound_against_brute_force():
    bqm = _two_components_with_forced_variable()
    exact = dimod.ExactSolver().sample(bqm).first.energy  # 19 variables: brute force
    result = qopt.solve(bqm)  # auto: presolve, components solved by enumeration
    assert result.best.energy == pytest.approx(exact)
    assert bqm.energy(result.best.sample) == pytest.approx(result.best.energy)
    assert result.best.sample["forced"] == -1
    pre = result.provenance["presolve"]
    assert pre["num_components"] >= 2 and pre["num_fixed"] >= 1
    conf = result.confidence
    assert conf["lower_bound"] <= exact + 1e-9
    assert conf["proven_optimal"] is True and conf["gap"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_certified_bound_never_exceeds_brute_force_optimum(seed):
    bqm = dimod.generators.gnp_random_bqm(16, 0.6, dimod.BINARY, random_state=seed)
    bqm.offset = -1.5
    exact = dimod.ExactSolver().sample(bqm).first.energy
    result = qopt.solve(bqm, backend="sa", num_reads=10, num_sweeps=200, seed=seed)
    conf = result.confidence
    assert conf["lower_bound"] <= exact + 1e-7
    expected_gap = max(0.0, (conf["best_energy"] - conf["lower_bound"]) / max(1.0, abs(conf["best_energy"])))
    assert conf["gap"] == pytest.approx(expected_gap)


def test_explicit_backend_runs_even_when_presolve_solves_everything():
    bqm = dimod.BinaryQuadraticModel({0: 5.0, 1: -5.0}, {(0, 1): 1.0}, 0.0, dimod.SPIN)
    result = qopt.solve(bqm, backend="sa", num_reads=3, seed=1)
    assert result.provenance["backend"] == "sa"
    assert result.best.sample == {0: -1, 1: 1}
    with pytest.raises(ParameterError):
        qopt.solve(bqm, backend="sa", num_reads=0)


def test_public_names():
    import dimod

    x = list(dimod.Binaries("ab"))
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(x[0] - x[1])
    cqm.add_constraint(x[0] + x[1] <= 1, label="c")
    bqm, decoder = qopt.compile(cqm)  # the function, even though qopt.compile is also a package
    best = dimod.ExactSolver().sample(bqm).first
    assert decoder.decode_sample(best.sample).objective == -1.0
    for name in ("SimulatedAnnealingSampler", "SteepestDescentSampler", "ExactSampler", "HybridSampler", "Client"):
        assert isinstance(getattr(qopt, name), type)
