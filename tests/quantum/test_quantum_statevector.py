"""The C++ QAOA statevector engine against Qiskit's Statevector, brute force and finite differences."""
from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest
from qhelpers import maxcut_bqm, qiskit_reference, random_bqm

from qopt import statevector as sv
from qopt.statevector import (
    MemoryLimitError,
    QAOAEvaluator,
    cost_vector,
    qaoa_expectation,
    qaoa_gradient,
    qaoa_probabilities,
    qaoa_sample,
)

CASES = [(n, vt, reps, integer)
         for n, reps in [(1, 1), (2, 2), (3, 3), (5, 1), (7, 2), (10, 3)]
         for vt in ("SPIN", "BINARY") for integer in (False, True)]


@pytest.mark.parametrize("n,vartype,reps,integer", CASES)
def test_expectation_and_probabilities_match_qiskit(n, vartype, reps, integer):
    seed = 1000 * n + 10 * reps + integer
    bqm = random_bqm(n, vartype, seed, integer)
    rng = np.random.default_rng(seed)
    gamma, beta = rng.uniform(-1, 1, reps), rng.uniform(-1.5, 1.5, reps)
    ref, op = qiskit_reference(bqm, gamma, beta)
    expected = float(ref.expectation_value(op).real)
    got = qaoa_expectation(bqm, gamma, beta)
    assert abs(got - expected) <= 1e-9 * max(1.0, abs(expected))
    np.testing.assert_allclose(qaoa_probabilities(bqm, gamma, beta), ref.probabilities(), rtol=0, atol=1e-12)
    amps = QAOAEvaluator(bqm).statevector(gamma, beta)
    assert abs(abs(np.vdot(amps, ref.data)) - 1.0) < 1e-12  # same state (global phase aside)


@pytest.mark.parametrize("n,reps", [(17, 1), (17, 2), (17, 3), (18, 4)])
def test_strided_path_matches_qiskit(n, reps):
    """n > 16 exercises the strided (high-qubit) passes, the fused pass schedule (last pass
    block or strided by the parity of reps) and the gather-ordered cost table."""
    bqm = maxcut_bqm(18, seed=3)
    if n == 17:
        bqm.remove_variable(17)
    gamma = np.array([0.4, -0.2, 0.7, 0.1][:reps])
    beta = np.array([0.3, 0.9, -1.2, 2.0][:reps])  # both mixer forms (|tan beta| < 1 and > 1)
    ref, op = qiskit_reference(bqm, gamma, beta, aer=True)
    expected = float(ref.expectation_value(op).real)
    assert abs(qaoa_expectation(bqm, gamma, beta) - expected) <= 1e-9 * abs(expected)
    if reps == 2:
        real = random_bqm(n, "BINARY", seed=5)  # non-integer biases: double cost vector, fast sincos
        ref, op = qiskit_reference(real, gamma, beta, aer=True)
        expected = float(ref.expectation_value(op).real)
        assert abs(qaoa_expectation(real, gamma, beta) - expected) <= 1e-9 * max(1.0, abs(expected))


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_cost_vector_is_brute_force_energy_in_bit_order(vartype):
    bqm = random_bqm(6, vartype, seed=11)
    c = cost_vector(bqm)
    for k in range(2 ** 6):
        bits = [(k >> i) & 1 for i in range(6)]
        sample = bits if vartype == "BINARY" else [1 - 2 * b for b in bits]  # |0> -> s = +1
        assert c[k] == pytest.approx(bqm.energy(dict(zip(bqm.variables, sample, strict=True))), abs=1e-12)


def test_zero_angles_give_uniform_mean():
    bqm = random_bqm(8, "BINARY", seed=2)
    energies = [bqm.energy(dict(enumerate(s))) for s in itertools.product([0, 1], repeat=8)]
    assert qaoa_expectation(bqm, [0.0], [0.0]) == pytest.approx(np.mean(energies), abs=1e-12)


@pytest.mark.parametrize("n,reps,vartype", [(6, 1, "SPIN"), (9, 3, "BINARY"), (17, 2, "SPIN")])
def test_gradient_matches_finite_differences(n, reps, vartype):
    bqm = random_bqm(n, vartype, seed=n + reps, integer=(n == 17)) if n < 17 else maxcut_bqm(18, 1)
    if n == 17:
        bqm.remove_variable(17)
    rng = np.random.default_rng(n)
    gamma, beta = rng.uniform(-0.6, 0.6, reps), rng.uniform(-0.6, 0.6, reps)
    e, dg, db = qaoa_gradient(bqm, gamma, beta)
    assert e == pytest.approx(qaoa_expectation(bqm, gamma, beta), abs=1e-12)
    fd_g, fd_b = _central_differences(lambda g, b: qaoa_expectation(bqm, g, b), gamma, beta)
    assert dg == pytest.approx(fd_g, rel=1e-6, abs=1e-7)
    assert db == pytest.approx(fd_b, rel=1e-6, abs=1e-7)


def _central_differences(f, gamma, beta, h=1e-5):
    """Central differences of f(gamma, beta) in every gamma and every beta (independent of the adjoint)."""
    out = []
    for which in (0, 1):
        d = []
        for i in range(len(gamma)):
            args_up, args_dn = [gamma.copy(), beta.copy()], [gamma.copy(), beta.copy()]
            args_up[which][i] += h
            args_dn[which][i] -= h
            d.append((f(*args_up) - f(*args_dn)) / (2 * h))
        out.append(np.array(d))
    return out


@pytest.mark.parametrize("n,reps,integer", [(5, 2, False), (11, 3, True), (17, 4, False), (19, 3, True)])
def test_checkpointed_gradient_matches_two_state_sweep_and_finite_differences(n, reps, integer):
    # Angles over the whole circle: both scaled mixer forms and negative dropped factors (odd n),
    # the strided path from n = 17 (reps 4 and 3: the last pass a block and a strided pass). A budget
    # of exactly the two-state gradient forces the sweep (with high bits the checkpointed gradient
    # keeps reps - 1 states besides the state, so it needs more than the sweep from reps = 3).
    bqm = random_bqm(n, "SPIN", seed=n, integer=integer)
    rng = np.random.default_rng(n + reps)
    gamma, beta = rng.uniform(-3.0, 3.0, reps), rng.uniform(-3.1, 3.1, reps)
    beta[0] = 2.8  # cos < 0, |cos| > |sin|
    ck = QAOAEvaluator(bqm)
    two = QAOAEvaluator(bqm, max_memory=sv.memory_bytes(n, gradient=True))
    e, dg, db = ck.gradient(gamma, beta)
    e2, dg2, db2 = two.gradient(gamma, beta)
    assert ck.core.allocated_bytes > two.core.allocated_bytes  # the checkpoints were used, and not there
    scale = max(1.0, float(np.max(np.abs(np.r_[dg2, db2]))))
    assert e == pytest.approx(e2, rel=1e-12, abs=1e-12)
    assert np.max(np.abs(np.r_[dg - dg2, db - db2])) <= 1e-12 * scale
    fd_g, fd_b = _central_differences(ck.expectation, gamma, beta)
    assert dg == pytest.approx(fd_g, rel=1e-5, abs=1e-6 * scale)
    assert db == pytest.approx(fd_b, rel=1e-5, abs=1e-6 * scale)


def test_sample_energies_seed_and_distribution():
    bqm = random_bqm(5, "SPIN", seed=4)
    gamma, beta = [0.5], [0.4]
    a = qaoa_sample(bqm, gamma, beta, shots=20000, seed=9)
    b = qaoa_sample(bqm, gamma, beta, shots=20000, seed=9)
    assert np.array_equal(a.record.sample, b.record.sample)
    assert np.array_equal(a.record.num_occurrences, b.record.num_occurrences)
    np.testing.assert_allclose(a.record.energy, bqm.energies(a))
    assert a.record.num_occurrences.sum() == 20000
    ref, _ = qiskit_reference(bqm, np.array(gamma), np.array(beta))
    p = ref.probabilities()
    freq = np.zeros(32)
    for row, count in zip(a.record.sample, a.record.num_occurrences, strict=True):
        k = sum(int(s == -1) << i for i, s in enumerate(row[[a.variables.index(v) for v in bqm.variables]]))
        freq[k] = count / 20000
    assert np.abs(freq - p).max() < 0.02  # ~5 standard errors at 20000 shots


def test_memory_budget_refused_before_allocation():
    bqm = maxcut_bqm(20, seed=1)
    with pytest.raises(MemoryLimitError, match=r"needs 25165824 bytes") as exc:
        QAOAEvaluator(bqm, max_memory=10_000_000)
    assert exc.value.needed == 25165824 and exc.value.limit == 10_000_000
    with pytest.raises(MemoryLimitError, match="needs"):
        qaoa_expectation(bqm, [0.1], [0.1], max_memory=1_000_000)
    # 40 qubits: 2**40 amplitudes would be 24 TiB; refused without trying to allocate.
    big = dimod.BinaryQuadraticModel({i: 1.0 for i in range(40)}, {}, 0.0, "BINARY")
    with pytest.raises(MemoryLimitError, match=r"40 qubits needs \d+ bytes"):
        qaoa_expectation(big, [0.1], [0.1])
    # The C++ side checks too (a direct core call with a tiny budget).
    lin, u, v, quad, off = sv.bit_arrays(bqm)
    from qopt import _core
    with pytest.raises(ValueError, match="needs .* bytes"):
        _core.QAOAEvaluator(20, lin, u, v, quad, off, 1, 1000)


def test_bad_angles_raise():
    bqm = random_bqm(3, "SPIN", seed=1)
    with pytest.raises(ValueError):
        qaoa_expectation(bqm, [0.1, 0.2], [0.1])
    with pytest.raises(ValueError):
        qaoa_expectation(bqm, [], [])
    with pytest.raises(ValueError):
        qaoa_expectation(bqm, [np.nan], [0.1])


def _numpy_adjoint_gradient(cost, n, gamma, beta):
    """Reference gradient in NumPy (complex128, exact rotations, states stored per layer)."""
    def mix(psi, b):
        for q in range(n):
            v = psi.reshape(-1, 2, 1 << q)
            a0, a1 = v[:, 0, :].copy(), v[:, 1, :].copy()
            v[:, 0, :] = np.cos(b) * a0 - 1j * np.sin(b) * a1
            v[:, 1, :] = np.cos(b) * a1 - 1j * np.sin(b) * a0
        return psi

    def sum_x(psi):
        return sum(psi.reshape(-1, 2, 1 << q)[:, ::-1, :].reshape(-1) for q in range(n))

    psi = np.full(1 << n, 2.0 ** (-n / 2), dtype=complex)
    after_phase = []
    for g, b in zip(gamma, beta, strict=True):
        psi = psi * np.exp(-1j * g * cost)
        after_phase.append(psi.copy())
        psi = mix(psi, b)
    lam = cost * psi
    dg, db = np.zeros(len(gamma)), np.zeros(len(gamma))
    for layer in range(len(gamma) - 1, -1, -1):
        lam = mix(lam, -beta[layer])
        dg[layer] = 2 * np.imag(np.vdot(lam, cost * after_phase[layer]))
        db[layer] = 2 * np.imag(np.vdot(lam, sum_x(after_phase[layer])))
        lam = lam * np.exp(1j * gamma[layer] * cost)
    return float(np.real(np.vdot(psi, cost * psi))), dg, db


@pytest.mark.parametrize("n,span", [(17, 3), (18, 400), (17, 0)])
def test_fused_gradient_matches_numpy_adjoint_reference(n, span):
    # From n = 17 the gradient runs fused: the last forward pass starts the adjoint state, one backward
    # pass per layer, no stored layer-0 state. reps 1-4 put the last pass in strided and block passes;
    # span 3 stores costs as uint8 indices, 400 as uint16, 0 (real biases) as doubles.
    rng = np.random.default_rng(n + span)
    draw = (lambda: float(rng.integers(-span, span + 1))) if span else rng.normal
    lin = {i: draw() for i in range(n)}
    quad = {(i, j): draw() for i in range(n) for j in range(i + 1, n) if rng.random() < 0.2}
    bqm = dimod.BinaryQuadraticModel(lin, quad, 0.7, "SPIN")
    ev = QAOAEvaluator(bqm)
    assert ev.core.compact_costs == (span > 0)
    cost = cost_vector(bqm)
    for reps in (1, 2, 3, 4):
        gamma, beta = rng.uniform(-3.0, 3.0, reps), rng.uniform(-3.1, 3.1, reps)
        beta[0] = 2.8  # cos < 0, |cos| > |sin|
        e, dg, db = ev.gradient(gamma, beta)
        e_ref, dg_ref, db_ref = _numpy_adjoint_gradient(cost, n, gamma, beta)
        scale = max(1.0, float(np.max(np.abs(np.r_[dg_ref, db_ref]))))
        assert e == pytest.approx(e_ref, rel=1e-12, abs=1e-12)
        assert np.max(np.abs(np.r_[dg - dg_ref, db - db_ref])) <= 1e-12 * scale
        # Memory: the state and reps - 1 checkpoints (16 B per amplitude each) beside the cost storage.
        state_bytes = 16 * (1 << n)
        assert ev.core.allocated_bytes - state_bytes * reps < state_bytes
