"""ExactSampler against an independent enumeration written here."""
from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest
from _models import random_bqm

from qopt.checks import ParameterError
from qopt.samplers.exact import ExactSampler
from qopt.samplers.limits import EXACT_MAX_VARIABLES


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_lowest_states_match_enumeration(vartype):
    n = 9
    bqm = random_bqm(n, 0.5, seed=7, vartype=vartype, offset=1.5)
    vals = (-1, 1) if vartype is dimod.SPIN else (0, 1)
    states = np.array(list(itertools.product(vals, repeat=n)))
    h, (r, c, q), off = bqm.to_numpy_vectors(range(n))
    energies = states @ h + off + (states[:, r] * states[:, c]) @ q
    expected = np.sort(energies)[:5]
    ss = ExactSampler().sample(bqm, num_reads=5)
    assert len(ss) == 5
    np.testing.assert_allclose(ss.record.energy, expected, atol=1e-9)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), atol=1e-9)


def test_all_states_by_default():
    bqm = random_bqm(5, 1.0, seed=1)
    ss = ExactSampler().sample(bqm)
    assert len(ss) == 32
    assert np.all(np.diff(ss.record.energy) >= 0)
    ss = ExactSampler().sample(bqm, num_reads=100)
    assert len(ss) == 32


def test_too_many_variables_raise():
    bqm = dimod.BQM.from_ising({i: 1.0 for i in range(EXACT_MAX_VARIABLES + 1)}, {})
    with pytest.raises(ParameterError, match=f"at most {EXACT_MAX_VARIABLES}") as err:
        ExactSampler().sample(bqm)
    assert err.value.field == "bqm"


def test_bad_num_reads():
    with pytest.raises(ParameterError) as err:
        ExactSampler().sample(random_bqm(3, 1.0, seed=1), num_reads=0)
    assert err.value.field == "num_reads"
