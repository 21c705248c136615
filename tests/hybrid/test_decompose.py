"""Decomposition maths checked against dimod's own energies and brute force."""
import dimod
import numpy as np
import pytest

from qopt.hybrid.decompose import STRATEGIES, IsingState, select_subproblem


def _random_state(bqm, rng):
    return rng.choice(np.array([-1, 1], dtype=np.int8), bqm.num_variables)


def _energy(bqm, spins):
    sample = dict(zip(bqm.variables, spins, strict=True))
    if bqm.vartype is dimod.BINARY:
        sample = {v: (s + 1) // 2 for v, s in sample.items()}
    return bqm.energy(sample)


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
@pytest.mark.parametrize("seed", range(5))
def test_subproblem_optimum_splice_never_worsens(vartype, seed):
    rng = np.random.default_rng(seed)
    bqm = dimod.generators.gnp_random_bqm(30, 0.3, vartype, random_state=seed)
    bqm.offset = 2.5
    state = IsingState.from_bqm(bqm, _random_state(bqm, rng))
    assert state.energy == pytest.approx(_energy(bqm, state.spins))
    for strategy in STRATEGIES:
        vars_ = select_subproblem(state, 8, strategy, rng)
        assert len(set(vars_.tolist())) == len(vars_) <= 8
        h, r, c, v = state.subproblem(vars_)
        sub = dimod.BinaryQuadraticModel.from_numpy_vectors(h, (r, c, v), 0.0, dimod.SPIN)
        best = dimod.ExactSolver().sample(sub).first
        new = np.array([best.sample[i] for i in range(len(vars_))], dtype=np.int8)
        before = state.energy
        # the clamped sub-model's energy change equals the full model's (brute-force check)
        trial = state.spins.copy()
        trial[vars_] = new
        true_delta = _energy(bqm, trial) - before
        assert state.delta_energy(vars_, new) == pytest.approx(true_delta)
        old_sub = sub.energy(dict(enumerate(state.spins[vars_])))
        assert best.energy - old_sub == pytest.approx(true_delta)
        assert true_delta <= 1e-9  # the sub-optimum never worsens the incumbent
        state.apply(vars_, new)
        assert state.energy == pytest.approx(_energy(bqm, state.spins))


def test_exclude_respected():
    rng = np.random.default_rng(1)
    bqm = dimod.generators.gnp_random_bqm(40, 0.2, dimod.SPIN, random_state=1)
    state = IsingState.from_bqm(bqm, _random_state(bqm, rng))
    busy = np.zeros(40, dtype=bool)
    busy[:20] = True
    for strategy in STRATEGIES:
        vars_ = select_subproblem(state, 10, strategy, rng, exclude=busy)
        assert not busy[vars_].any()


def test_unknown_strategy():
    bqm = dimod.generators.gnp_random_bqm(5, 0.5, dimod.SPIN, random_state=1)
    state = IsingState.from_bqm(bqm, np.ones(5, dtype=np.int8))
    with pytest.raises(ValueError, match="strategy"):
        select_subproblem(state, 3, "psychic", np.random.default_rng(0))
