"""compile(): exhaustive checks against brute force over the original variables."""
from __future__ import annotations

import dataclasses
import itertools

import dimod
import numpy as np
import pytest

from qopt.checks import ParameterError
from qopt.compile import compile, integer_encoding_coefficients
from qopt.model import ModelError, Problem


def _random_cqm(seed: int):
    """Small mixed model: 2 binaries, 1 spin, 1 integer in [-1, 3]; <=, >=, == constraints."""
    rng = np.random.default_rng(seed)
    a, b = dimod.Binaries(["a", "b"])
    s = dimod.Spin("s")
    i = dimod.Integer("i", lower_bound=-1, upper_bound=3)
    c = rng.integers(-5, 6, size=8)
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(c[0] * a + c[1] * b + c[2] * s + c[3] * i + c[4] * a * b + c[5] * b * i + c[6] * s * a
                      + c[7] * i * i)
    k = rng.integers(1, 4, size=6)
    cqm.add_constraint(k[0] * a + k[1] * b + i <= 3, label="le")
    cqm.add_constraint(k[2] * a - b + i >= 0, label="ge")
    cqm.add_constraint(a + b + (s + 1) / 2 <= 2, label="le2")
    if seed % 2:
        cqm.add_constraint(a + i == 1, label="eq")
    return cqm


def _domain(cqm):
    doms = []
    for v in cqm.variables:
        vt = cqm.vartype(v)
        if vt is dimod.BINARY:
            doms.append([0, 1])
        elif vt is dimod.SPIN:
            doms.append([-1, 1])
        else:
            doms.append(range(int(cqm.lower_bound(v)), int(cqm.upper_bound(v)) + 1))
    return doms


def _brute(cqm):
    labels = list(cqm.variables)
    best = None
    for vals in itertools.product(*_domain(cqm)):
        s = dict(zip(labels, vals, strict=True))
        if cqm.check_feasible(s):
            e = cqm.objective.energy(s)
            best = e if best is None else min(best, e)
    return best


@pytest.mark.parametrize("seed, integer_encoding, slack", [(k, "binary", "binary") for k in range(6)]
                         + [(k, "unary", "unary") for k in (0, 3)] + [(5, "binary", "unary")])
def test_ground_state_is_brute_force_optimum(seed, integer_encoding, slack):
    cqm = _random_cqm(seed)
    bqm, decoder = compile(cqm, integer_encoding=integer_encoding, slack=slack)
    best = decoder.decode(dimod.ExactSolver().sample(bqm))[0]
    assert best.feasible
    assert best.objective == pytest.approx(_brute(cqm))
    assert cqm.check_feasible(best.sample)


@pytest.mark.parametrize("seed", range(4))
def test_feasible_points_have_energy_equal_objective(seed):
    cqm = _random_cqm(seed)
    bqm, decoder = compile(cqm)
    labels = list(cqm.variables)
    for vals in itertools.product(*_domain(cqm)):
        s = dict(zip(labels, vals, strict=True))
        bits = decoder.encode(np.array(vals, dtype=float))[0]
        energy = bqm.energy(dict(zip(decoder.bqm_labels, bits, strict=True)))
        if cqm.check_feasible(s):
            assert energy == pytest.approx(cqm.objective.energy(s))
        else:
            assert energy > cqm.objective.energy(s)
        # and decoding gives the same original values back
        assert decoder.decode_sample(dict(zip(decoder.bqm_labels, bits, strict=True))).sample == s


def test_matches_dimod_cqm_to_bqm_ground_state():
    cqm = _nonneg(None)
    bqm_d, invert = dimod.cqm_to_bqm(cqm)  # default lagrange multiplier: 10 x the largest bias
    ref = invert(dimod.ExactSolver().sample(bqm_d).first.sample)
    assert cqm.check_feasible(ref)
    bqm, decoder = compile(cqm)
    best = decoder.decode(dimod.ExactSolver().sample(bqm))[0]
    assert best.objective == pytest.approx(cqm.objective.energy(ref)) == pytest.approx(_brute(cqm))


def _nonneg(cqm):
    """dimod.cqm_to_bqm needs integer lower bounds of 0 and no spins: a binary/integer model."""
    a, b, c = dimod.Binaries(["a", "b", "c"])
    i = dimod.Integer("i", upper_bound=4)
    m = dimod.ConstrainedQuadraticModel()
    m.set_objective(-3 * a + 2 * b - c + i - 2 * a * i + b * c)
    m.add_constraint(a + b + i <= 4, label="le")
    m.add_constraint(2 * a + c + i >= 2, label="ge")
    m.add_constraint(a + b == 1, label="eq")
    return m


def test_decimal_coefficients_keep_feasible_points_penalty_free():
    x, y, z = dimod.Binaries("xyz")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-x - y - z)
    cqm.add_constraint(0.5 * x + 0.25 * y + 0.75 * z <= 1.0, label="cap")
    bqm, decoder = compile(cqm)
    for bits in itertools.product([0, 1], repeat=3):
        s = dict(zip("xyz", bits, strict=True))
        e = bqm.energy(dict(zip(decoder.bqm_labels, decoder.encode(np.array(bits, float))[0], strict=True)))
        if cqm.check_feasible(s):
            assert e == pytest.approx(cqm.objective.energy(s))
    best = decoder.decode(dimod.ExactSolver().sample(bqm))[0]
    assert best.feasible and best.objective == -2


def test_unbalanced_penalty_formula():
    x, y = dimod.Binaries("xy")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-2 * x - 3 * y)
    cqm.add_constraint(2 * x + 3 * y <= 4, label="cap")
    l1, l2 = 0.9, 0.05
    bqm, decoder = compile(cqm, inequality="unbalanced", unbalanced=(l1, l2), penalty=7.0)
    assert bqm.num_variables == 2
    for bx, by in itertools.product([0, 1], repeat=2):
        h = 4 - (2 * bx + 3 * by)
        expected = -2 * bx - 3 * by + 7.0 * (-l1 * h + l2 * h * h)
        assert bqm.energy({"x": bx, "y": by}) == pytest.approx(expected)


def test_one_hot_penalty_is_squared():
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.add_discrete(["a", "b", "c"], label="pick")
    cqm.set_objective([("a", 1.0), ("b", 2.0), ("c", 3.0)])
    bqm, decoder = compile(cqm, penalty={"pick": 5.0})
    for bits in itertools.product([0, 1], repeat=3):
        s = dict(zip("abc", bits, strict=True))
        assert bqm.energy(s) == pytest.approx(np.dot(bits, [1, 2, 3]) + 5.0 * (sum(bits) - 1) ** 2)
    assert decoder.weights["pick"] == 5.0


def test_auto_weight_rule_makes_single_flips_unprofitable():
    # objective gain for any flip <= D_b; the weight must exceed it per unit of residual
    problem = Problem.build(dimod.Binary("x") * -10 + dimod.Binary("y") * -1,
                            [(dimod.Binary("x") + dimod.Binary("y") <= 1, "c")])
    bqm, decoder = compile(problem)
    assert decoder.weights["c"] >= 10
    best = decoder.decode(dimod.ExactSolver().sample(bqm))[0]
    assert best.sample == {"x": 1, "y": 0}


def test_integer_encodings():
    for r in range(0, 40):
        for enc in ("binary", "unary"):
            c = integer_encoding_coefficients(r, enc)
            sums = {int(np.dot(b, c)) for b in itertools.product([0, 1], repeat=c.size)} if c.size <= 12 else None
            if sums is not None:
                assert sums == set(range(r + 1))
            assert c.sum() == r


def test_penalty_options_and_errors():
    cqm = _nonneg(None)
    _, d1 = compile(cqm, penalty=3.0)
    assert set(d1.weights.values()) == {3.0}
    _, d2 = compile(cqm, penalty={"le": 2.5})
    assert d2.weights["le"] == 2.5 and d2.weights["ge"] != 2.5
    with pytest.raises(ParameterError, match="penalty"):
        compile(cqm, penalty={"nope": 1.0})
    with pytest.raises(ParameterError, match="penalty"):
        compile(cqm, penalty=-1.0)
    with pytest.raises(ParameterError, match="inequality"):
        compile(cqm, inequality="magic")
    with pytest.raises(ParameterError, match="unbalanced"):
        compile(cqm, inequality="unbalanced", unbalanced=(1.0,))


def test_rejects_real_and_quadratic_constraints():
    cqm = dimod.ConstrainedQuadraticModel()
    r = dimod.Real("r", upper_bound=3)
    cqm.set_objective(r)
    with pytest.raises(ModelError, match=r"variables\['r'\]"):
        compile(cqm)
    x, y = dimod.Binaries("xy")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(x + y)
    cqm.add_constraint(x * y <= 0, label="quad")
    with pytest.raises(ModelError, match=r"constraints\['quad'\]"):
        compile(cqm)


def test_compile_is_pure_and_decoder_immutable():
    cqm = _random_cqm(1)
    before = dimod.ConstrainedQuadraticModel.from_file(cqm.to_file())
    bqm1, d1 = compile(cqm)
    bqm2, d2 = compile(cqm)
    assert cqm.is_equal(before)
    assert bqm1.is_equal(bqm2) and d1 is not d2
    with pytest.raises(dataclasses.FrozenInstanceError):
        d1.labels = ()
    with pytest.raises(TypeError):
        d1.weights["le"] = 0.0
    with pytest.raises(ValueError):
        d1.o[0] = 5.0


def test_decode_ranking_and_spin_sampleset():
    x, y, z = dimod.Binaries("xyz")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-x - 2 * y - 3 * z)
    cqm.add_constraint(x + y + z <= 1, label="one")
    problem = Problem.from_cqm(cqm)
    bqm, decoder = compile(problem, penalty=0.5)  # weak penalty: infeasible reads have low energy
    ss = dimod.ExactSolver().sample(bqm.spin)      # SPIN sample set is accepted
    cands = decoder.decode(ss)
    feas = [c.feasible for c in cands]
    assert feas == sorted(feas, reverse=True)           # feasible first
    f = [c.objective for c in cands if c.feasible]
    assert f == sorted(f)                                # then by objective
    infeas = [sum(c.violations.values()) for c in cands if not c.feasible]
    assert infeas == sorted(infeas)                      # least-violating first
    assert cands[0].sample == {"x": 0, "y": 0, "z": 1}
    assert cands[-1].violations == {"one": 2.0}
    assert sum(c.num_occurrences for c in cands) == len(ss)


def test_max_sense_objective_reported_in_user_sense():
    x, y = dimod.Binaries("xy")
    p = Problem.build(5 * x + 4 * y, [(x + y <= 1, "c")], sense="max")
    bqm, decoder = compile(p)
    best = decoder.decode(dimod.ExactSolver().sample(bqm))[0]
    assert best.objective == 5 and best.sample == {"x": 1, "y": 0}
    assert best.energy == pytest.approx(-5)


def test_large_model_builds_and_round_trips_a_sample():
    # 2,000 variables, 20,000 quadratic terms, 200 one-hot constraints: structure check only
    rng = np.random.default_rng(0)
    n, q, m = 2000, 20000, 200
    labels = [f"v{k}" for k in range(n)]
    obj = dimod.BinaryQuadraticModel.from_numpy_vectors(
        rng.normal(size=n), (rng.integers(0, n, q), rng.integers(0, n, q), rng.normal(size=q)), 0.0, "BINARY",
        variable_order=labels)
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(obj)
    for k in range(m):
        cqm.add_discrete(labels[k * 10:(k + 1) * 10], label=f"g{k}")
    bqm, decoder = compile(cqm)
    x = np.zeros(n)
    x[np.arange(m) * 10] = 1
    bits = decoder.encode(x)
    sample = dict(zip(decoder.bqm_labels, bits[0], strict=True))
    assert bqm.energy(sample) == pytest.approx(cqm.objective.energy(dict(zip(labels, x, strict=True))))
    assert decoder.decode_sample(sample).feasible
