"""QAOA variants against independent values: brute force (dimod.ExactSolver), Qiskit's own
statevector of independently built circuits, the published fixed-angle ratios (Wurtz & Lykov 2021)
and the Rockafellar-Uryasev form of CVaR."""
from __future__ import annotations

import dimod
import numpy as np
import pytest
from qhelpers import maxcut_bqm, qiskit_reference, random_bqm

from qopt.errors import ParameterError
from qopt.preflight import preflight
from qopt.samplers.qaoa import QAOASampler, fixed_angles
from qopt.samplers.qaoa.angles import FIXED_ANGLE_CUT_FRACTION, fourier_matrix, interp
from qopt.samplers.qaoa.variants import correlations, cvar, warm_start_thetas
from qopt.statevector import QAOAEvaluator


def brute_min(bqm) -> float:
    return float(dimod.ExactSolver().sample(bqm).first.energy)


@pytest.mark.parametrize("reps", [1, 2, 3])
def test_fixed_angles_reach_the_published_ratio(reps):
    """Wurtz & Lykov's angles give an approximation ratio (to the brute-force optimum) at least
    their large-girth cut fraction on seeded 3-regular graphs."""
    for seed in (1, 2, 3):
        bqm = maxcut_bqm(14, seed)
        x = fixed_angles(bqm, reps)
        e = QAOAEvaluator(bqm).expectation(x[:reps], x[reps:])
        assert e / brute_min(bqm) >= FIXED_ANGLE_CUT_FRACTION[reps]
    assert fixed_angles(random_bqm(6, "SPIN", 1), 1) is None  # not unweighted 3-regular MaxCut
    assert fixed_angles(maxcut_bqm(8, 1), 4) is None  # no published angles at p = 4


def test_warm_start_engine_matches_an_independent_qiskit_circuit():
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    bqm = random_bqm(5, "BINARY", 3)
    _, op = qiskit_reference(bqm, [0.0], [0.0])
    theta = np.array([0.4, 1.2, 2.0, 2.7, 0.9])
    gamma, beta = np.array([0.3, -0.7]), np.array([0.5, 0.2])
    qc = QuantumCircuit(5)
    for q in range(5):
        qc.ry(theta[q], q)
    for g, b in zip(gamma, beta, strict=True):
        for label, coeff in op.to_list():  # diagonal terms commute: exp(-i g C) term by term
            zs = [i for i, ch in enumerate(reversed(label)) if ch == "Z"]
            if len(zs) == 1:
                qc.rz(2 * g * coeff.real, zs[0])
            elif len(zs) == 2:
                qc.rzz(2 * g * coeff.real, zs[0], zs[1])
        for q in range(5):  # exp(-i b (sin t X + cos t Z)) = RY(t) RZ(2b) RY(-t)
            qc.ry(-theta[q], q)
            qc.rz(2 * b, q)
            qc.ry(theta[q], q)
    sv = Statevector(qc)
    ev = QAOAEvaluator(bqm)
    assert ev.warm_start(gamma, beta, theta) == pytest.approx(float(np.real(sv.expectation_value(op))), abs=1e-10)
    amps = ev.warm_start_amplitudes(gamma, beta, theta)
    assert abs(abs(np.vdot(sv.data, amps)) - 1.0) < 1e-10  # the same state up to a global phase
    # theta = pi/2 everywhere is standard QAOA
    half = np.full(5, np.pi / 2)
    assert ev.warm_start(gamma, beta, half) == pytest.approx(ev.expectation(gamma, beta), abs=1e-10)


@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)])
def test_warm_start_finds_the_optimum_and_concentrates_on_it(seed):
    bqm = random_bqm(8, "SPIN", seed, integer=True)
    opt = brute_min(bqm)
    ws = QAOASampler().sample(bqm, variant="warm_start", reps=1, shots=512, seed=seed, sampler="core")
    assert ws.first.energy == opt
    assert ws.info["warm_start"]["source"] == "simulated_annealing"
    std = QAOASampler().sample(bqm, reps=1, shots=512, seed=seed, sampler="core")
    p_ws = ws.record.num_occurrences[ws.record.energy == opt].sum()
    p_std = std.record.num_occurrences[std.record.energy == opt].sum() if len(std) else 0
    assert p_ws > p_std  # Egger et al.: the warm start keeps the incumbent's weight


def test_warm_start_thetas_follow_the_regularised_incumbent():
    t = warm_start_thetas([1, -1, 1], "SPIN", 0.25)  # s = +1 is bit 0
    np.testing.assert_allclose(np.sin(t / 2) ** 2, [0.25, 0.75, 0.25])
    t = warm_start_thetas([0, 1], "BINARY", 0.0)
    np.testing.assert_allclose(t, [0.0, np.pi])


@pytest.mark.parametrize("seed", [0, *(pytest.param(s, marks=pytest.mark.slow) for s in range(1, 5))])
def test_rqaoa_finds_the_brute_force_optimum(seed):
    for bqm in (maxcut_bqm(12, seed), random_bqm(10, "BINARY", seed, integer=True)):
        ss = QAOASampler().sample(bqm, variant="recursive", reps=1, rqaoa_cutoff=4, seed=seed)
        assert ss.first.energy == brute_min(bqm)
        assert ss.info["num_qaoa_runs"] == len(ss.info["eliminations"]) >= 1


def test_correlations_match_qiskit_expectation_values():
    from qiskit.quantum_info import SparsePauliOp

    bqm = random_bqm(5, "SPIN", 7)
    gamma, beta = [0.4], [0.3]
    state, _ = qiskit_reference(bqm, gamma, beta)
    probs = QAOAEvaluator(bqm).probabilities(gamma, beta)
    pairs = [(0, 3), (4, 1), (2, 3)]
    z, zz = correlations(probs, 5, pairs)
    for i in range(5):
        assert z[i] == pytest.approx(np.real(state.expectation_value(SparsePauliOp.from_sparse_list([("Z", [i], 1)], 5))))
    for e, (i, j) in enumerate(pairs):
        want = np.real(state.expectation_value(SparsePauliOp.from_sparse_list([("ZZ", [i, j], 1)], 5)))
        assert zz[e] == pytest.approx(want)


def test_cvar_matches_the_rockafellar_uryasev_form():
    rng = np.random.default_rng(5)
    p = rng.random(64)
    p /= p.sum()
    cost = rng.integers(-5, 5, 64).astype(float)
    order = np.argsort(cost, kind="stable")
    for alpha in (0.03, 0.2, 0.5, 1.0):
        # lower-tail CVaR = max_t { t - E[(t - C)_+] / alpha }, attained at a cost value
        want = max(t - np.dot(p, np.maximum(t - cost, 0.0)) / alpha for t in cost)
        assert cvar(p, cost[order], order, alpha) == pytest.approx(want)
    assert cvar(p, cost[order], order, 1.0) == pytest.approx(np.dot(p, cost))


def test_cvar_variant_raises_the_optimum_probability():
    bqm = maxcut_bqm(10, 4)
    opt = brute_min(bqm)
    ev = QAOAEvaluator(bqm)

    def p_opt(ss):
        a = ss.info["angles"]
        return float(ev.probabilities(a["gamma"], a["beta"])[ev.cost_vector() == opt].sum())

    low = QAOASampler().sample(bqm, variant="cvar", cvar_alpha=0.1, reps=2, shots=64, seed=1, sampler="core")
    mean = QAOASampler().sample(bqm, reps=2, shots=64, seed=1, sampler="core")
    assert low.info["objective"] <= low.info["expectation"]
    assert p_opt(low) > p_opt(mean)  # Barkoutsos et al.: CVaR trades mean energy for the tail


def test_fourier_and_interp():
    m = fourier_matrix(3)
    x = np.array([0.1, 0.2, 0.3, 0.6, 0.5, 0.4])
    np.testing.assert_allclose(m @ np.linalg.solve(m, x), x)
    np.testing.assert_allclose(interp(np.array([0.5, 0.3])), [0.5, 0.5, 0.3, 0.3])  # Zhou et al. eq. B1 at p=1
    bqm = maxcut_bqm(12, 5)
    ss = QAOASampler().sample(bqm, variant="fourier", reps=3, maxiter=150, optimizer="L-BFGS-B", seed=2,
                              sampler="core", shots=64)
    assert ss.info["optimizer"]["levels"] == [1, 2, 3]
    assert ss.info["expectation"] / brute_min(bqm) >= FIXED_ANGLE_CUT_FRACTION[3]


def test_variant_parameters_name_themselves():
    bqm = maxcut_bqm(6, 1)
    bad = [({"variant": "adaptive"}, "variant"), ({"variant": "cvar", "cvar_alpha": 0.0}, "cvar_alpha"),
           ({"variant": "cvar", "cvar_alpha": 1.5}, "cvar_alpha"), ({"variant": "cvar", "evaluator": "aer"}, "evaluator"),
           ({"variant": "warm_start", "warm_start": [1, -1]}, "warm_start"),
           ({"variant": "warm_start", "warm_start_epsilon": 0.6}, "warm_start_epsilon"),
           ({"variant": "recursive", "rqaoa_cutoff": 0}, "rqaoa_cutoff")]
    for kwargs, field in bad:
        with pytest.raises(ParameterError) as err:
            QAOASampler().sample(bqm, shots=8, maxiter=0, **kwargs)
        assert err.value.field == field, kwargs


@pytest.mark.parametrize("variant", ["standard", "warm_start", "cvar", "fourier", "recursive"])
def test_preflight_for_every_variant(variant):
    out = preflight(maxcut_bqm(8, 1), "qaoa", variant=variant, reps=2)
    assert out["variant"] == variant and out["qubits"] == 8 and out["two_qubit_gates"] >= 12
    with pytest.raises(ParameterError) as err:
        preflight(maxcut_bqm(8, 1), "qaoa", variant="adaptive")
    assert err.value.field == "variant"


def test_warm_start_circuit_on_aer_samples_the_engines_state():
    """The warm-start circuit qopt sends to a Qiskit sampler (Aer here) has the distribution the
    C++ engine optimised: the shots' mean energy is the engine's expectation within sampling error."""
    bqm = random_bqm(6, "BINARY", 4, integer=True)
    shots = 4000
    ss = QAOASampler().sample(bqm, variant="warm_start", reps=2, shots=shots, seed=9, maxiter=30)
    assert ss.info["sampler"].startswith("qiskit_aer")
    e = ss.record.energy
    w = ss.record.num_occurrences
    sd = np.sqrt(np.dot((e - ss.info["sampled_expectation"]) ** 2, w) / w.sum())
    assert abs(ss.info["sampled_expectation"] - ss.info["expectation"]) < 4 * sd / np.sqrt(shots)
