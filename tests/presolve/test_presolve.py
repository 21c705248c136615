"""Presolve: fixings agree with brute force, expand() reproduces the original energies,
components recombine, logs are JSON."""
from __future__ import annotations

import json

import dimod
import numpy as np
import pytest

from qopt import _core, data
from qopt.io import read_instance
from qopt.presolve import PresolveResult, forced_sign_fixing, presolve, solve_presolved


def random_bqm(rng, n, vartype, field=3.0, density=0.4):
    lin = {i: rng.normal() * field for i in range(n)}
    quad = {(i, j): rng.normal() for i in range(n) for j in range(i + 1, n) if rng.random() < density}
    return dimod.BinaryQuadraticModel(lin, quad, rng.normal(), vartype)


def ground_states(bqm):
    ss = dimod.ExactSolver().sample(bqm)
    e = ss.record.energy
    emin = e.min()
    keep = e <= emin + 1e-9 * max(1.0, abs(emin))
    return emin, [dict(zip(ss.variables, row, strict=True)) for row in ss.record.sample[keep]]


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_forced_sign_fixings_hold_in_every_minimiser(vartype):
    rng = np.random.default_rng(7)
    total = 0
    for _ in range(80):
        bqm = random_bqm(rng, int(rng.integers(2, 10)), vartype)
        fixed = forced_sign_fixing(bqm)
        total += len(fixed)
        _, optima = ground_states(bqm)
        for sample in optima:
            assert all(sample[v] == val for v, val in fixed.items())
    assert total > 50  # the rule did fire


def test_forced_sign_non_strict_keeps_a_minimiser():
    rng = np.random.default_rng(8)
    for _ in range(60):
        # integer biases make ties |h| == sum |J| frequent
        n = int(rng.integers(2, 8))
        bqm = dimod.BinaryQuadraticModel(
            {i: int(rng.integers(-3, 4)) for i in range(n)},
            {(i, j): int(rng.integers(-1, 2)) for i in range(n) for j in range(i + 1, n)}, 0, dimod.SPIN)
        fixed = forced_sign_fixing(bqm, strict=False)
        _, optima = ground_states(bqm)
        assert any(all(s[v] == val for v, val in fixed.items()) for s in optima)


def test_forced_sign_chain_propagates():
    # a has a dominating field; once fixed, b's field from a dominates b's coupling to c, etc.
    bqm = dimod.BinaryQuadraticModel.from_ising({"a": 10}, {("a", "b"): 4, ("b", "c"): 2, ("c", "d"): 1})
    fixed = forced_sign_fixing(bqm)
    assert fixed == {"a": -1, "b": 1, "c": -1, "d": 1}
    assert bqm.energy(fixed) == dimod.ExactSolver().sample(bqm).first.energy


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_presolve_preserves_minimum_and_fixings_agree(vartype):
    rng = np.random.default_rng(11)
    for trial in range(60):
        bqm = random_bqm(rng, int(rng.integers(2, 11)), vartype, field=rng.choice([0.3, 1.5, 4.0]),
                         density=rng.uniform(0.1, 0.6))
        emin, optima = ground_states(bqm)
        r = presolve(bqm)
        json.dumps(r.log)
        strong = {}
        for entry in r.log:
            if entry["rule"] in ("forced_sign", "roof_duality"):
                strong.update(zip(entry["variables"], entry["values"], strict=True))
        # forced-sign and roof-duality fixings hold in every minimiser
        for s in optima:
            assert all(s[v] == val for v, val in strong.items()), trial
        # some minimiser is consistent with every fixing (isolated rule included)
        assert any(all(s[v] == val for v, val in r.fixed.items()) for s in optima)
        # the components' minima plus the offset give the original minimum
        comp_min = sum(dimod.ExactSolver().sample(c).first.energy for c in r.components)
        assert r.offset + comp_min == pytest.approx(emin, abs=1e-9)
        assert r.lower_bound is None or r.lower_bound["value"] <= emin
        # partition: fixed + component variables == all variables, disjoint
        comp_vars = [v for c in r.components for v in c.variables]
        assert len(comp_vars) == len(set(comp_vars))
        assert set(comp_vars) | set(r.fixed) == set(bqm.variables)
        assert not set(comp_vars) & set(r.fixed)


def test_components_and_expand_energies():
    rng = np.random.default_rng(3)
    parts = [random_bqm(rng, 4, dimod.BINARY, field=0.2, density=1.0) for _ in range(3)]
    bqm = dimod.BinaryQuadraticModel(dimod.BINARY)
    for k, p in enumerate(parts):
        bqm.update(p.relabel_variables({v: (k, v) for v in p.variables}, inplace=False))
    r = presolve(bqm, roof_duality=False, forced_sign=False)
    assert len(r.components) == 3 and sorted(map(len, r.components)) == [4, 4, 4]
    # random samples of each component, combined by index
    sets = []
    for c in r.components:
        X = rng.integers(0, 2, size=(5, len(c)))
        sets.append(dimod.SampleSet.from_samples_bqm((X, list(c.variables)), c))
    out = r.expand(sets)
    assert out.vartype is dimod.BINARY and set(out.variables) == set(bqm.variables)
    np.testing.assert_allclose(out.record.energy, bqm.energies(out))
    for k in range(5):  # read k is read k of every component
        for c, s in zip(r.components, sets, strict=True):
            assert all(out.record.sample[k][out.variables.index(v)] == s.record.sample[k][s.variables.index(v)]
                       for v in c.variables)
    # spin-valued samples are converted
    spin_sets = [s.change_vartype(dimod.SPIN, inplace=False) for s in sets]
    np.testing.assert_array_equal(r.expand(spin_sets).record.sample, out.record.sample)
    with pytest.raises(ValueError, match="^samplesets must have one SampleSet per component"):
        r.expand(sets[:2])


def test_expand_single_sampleset_over_reduced():
    bqm = read_instance("bqp50", problem=2).bqm
    r = presolve(bqm)
    red = r.reduced
    ss = dimod.SampleSet.from_samples_bqm(
        (np.random.default_rng(0).integers(0, 2, (4, len(red))), list(red.variables)), red)
    out = r.expand(ss)
    np.testing.assert_allclose(out.record.energy, bqm.energies(out))
    np.testing.assert_allclose(out.record.energy, ss.record.energy)  # reduced energy includes offset


def test_solve_presolved_reaches_optimum_on_bqp50():
    inst = read_instance(data.instance_path("bqp50"), problem=1)
    out = solve_presolved(inst.bqm, dimod.ExactSolver())  # presolve leaves only a few variables
    assert inst.to_objective(out.first.energy) == inst.best_known == 2098
    assert out.first.energy == pytest.approx(inst.bqm.energy(out.first.sample))
    json.dumps(out.info["presolve"]["log"])


def test_everything_fixed_and_empty_models():
    bqm = dimod.BinaryQuadraticModel.from_ising({0: 2.0, 1: -1.0}, {}, 0.25)
    r = presolve(bqm, bound="best")
    assert r.components == [] and r.fixed == {0: -1, 1: 1}
    out = r.expand([])
    assert len(out) == 1 and out.first.energy == -2.75
    assert r.lower_bound["value"] == pytest.approx(-2.75)
    empty = presolve(dimod.BinaryQuadraticModel(dimod.SPIN))
    assert len(empty.expand([])) == 1


def test_bound_option_sums_components_and_is_valid():
    rng = np.random.default_rng(5)
    for _ in range(20):
        bqm = random_bqm(rng, 9, dimod.SPIN, field=0.5, density=0.3)
        r = presolve(bqm, bound="best")
        assert r.lower_bound["value"] <= dimod.ExactSolver().sample(bqm).first.energy


def test_isinstance_and_label_types():
    bqm = dimod.BinaryQuadraticModel.from_ising({("x", 1): 0.1}, {(("x", 1), "y"): 1, ("y", 3): -1})
    r = presolve(bqm)
    assert isinstance(r, PresolveResult)
    json.dumps(r.log)
    out = solve_presolved(bqm, dimod.ExactSolver())
    assert out.first.energy == dimod.ExactSolver().sample(bqm).first.energy


def test_core_rejects_bad_arrays():
    h = np.zeros(2)
    with pytest.raises(ValueError, match="^h must have shape"):
        _core.forced_sign_fixing(h, np.array([0, 1]), np.array([1]), np.array([1.0]))
    with pytest.raises(IndexError):
        _core.forced_sign_fixing(h, np.array([0, 1, 2]), np.array([1, 5]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="finite"):
        _core.forced_sign_fixing(np.array([np.nan, 0]), np.array([0, 0, 0]), np.array([], dtype=np.int64),
                                 np.array([]))
    with pytest.raises(ValueError, match="rank"):
        _core.sdp_mixing(np.array([0, 1, 2]), np.array([1, 0]), np.array([1.0, 1.0]), 0)
