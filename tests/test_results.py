"""Result.to_sampleset keeps the candidates' values: its dtype follows the vartype and the values."""
import dimod
import numpy as np
import pytest

import qopt
from qopt.results import Candidate, Result, sample_dtype


def _result(samples, vartype, variables=("x", "y")):
    candidates = [Candidate(sample=dict(zip(variables, s, strict=True)), energy=float(i), num_occurrences=1)
                  for i, s in enumerate(samples)]
    return Result(candidates=candidates, variables=list(variables), vartype=vartype, confidence={},
                  provenance={}, timing={})


@pytest.mark.parametrize("values, dtype", [
    ([[300, -2], [5, 0]], np.int16),
    ([[-129, 1], [0, 0]], np.int16),
    ([[100, -128], [127, 0]], np.int8),
    ([[70000, 0], [0, 0]], np.int32),
    ([[-(2 ** 40), 0], [0, 0]], np.int64),
])
def test_integer_values_beyond_int8_survive(values, dtype):
    result = _result(values, dimod.INTEGER)
    ss = result.to_sampleset()
    assert ss.record.sample.dtype == dtype
    for row, cand in zip(ss.record.sample, result.candidates, strict=True):
        assert [int(v) for v in row] == [cand.sample[v] for v in result.variables]


def test_spin_binary_and_real_dtypes():
    assert sample_dtype(dimod.SPIN, [[-1, 1]]) == np.int8
    assert sample_dtype(dimod.BINARY, [[0, 1]]) == np.int8
    assert sample_dtype(dimod.REAL, [[0.5, 2.0]]) == np.float64
    assert sample_dtype(dimod.INTEGER, [[0.5, 2.0]]) == np.float64  # a mixed model with a real variable
    ss = _result([[0.25, -3.5]], dimod.REAL).to_sampleset()
    assert ss.record.sample.tolist() == [[0.25, -3.5]]


def test_solved_cqm_with_large_integer_variables():
    cqm = dimod.ConstrainedQuadraticModel()
    a = dimod.Integer("a", lower_bound=150, upper_bound=152)
    b = dimod.Integer("b", lower_bound=-200, upper_bound=-198)
    cqm.set_objective(a - b)
    cqm.add_constraint(a + b >= -48, label="c")
    result = qopt.solve(cqm, "exact", polish=False)
    ss = result.to_sampleset()
    for row, cand in zip(ss.record.sample, result.candidates, strict=True):
        values = dict(zip(ss.variables, (int(v) for v in row), strict=True))
        assert values == {k: int(v) for k, v in cand.sample.items()}
    assert any(v > 127 for c in result.candidates for v in c.sample.values())
    assert any(v < -128 for c in result.candidates for v in c.sample.values())


@pytest.mark.parametrize("seed", range(4))
def test_aggregate_samples_matches_dimods_aggregate(seed):
    """Against dimod's own SampleSet.aggregate (np.unique based): the same records, order and fields."""
    from qopt.results import aggregate_samples

    rng = np.random.default_rng(seed)
    for rows, n in ((0, 3), (1, 2), (25, 3), (60, 4)):
        samples = rng.integers(0, 2, (rows, n))
        ss = dimod.SampleSet.from_samples((samples, list("abcd")[:n]), dimod.BINARY,
                                          energy=samples.sum(axis=1).astype(float),
                                          num_occurrences=rng.integers(1, 4, rows), tag=np.arange(rows))
        ss.info["k"] = {"nested": [1]}
        want, got = ss.aggregate(), aggregate_samples(ss)
        assert got.record.dtype == want.record.dtype
        np.testing.assert_array_equal(got.record, want.record)
        assert list(got.variables) == list(want.variables) and got.vartype is want.vartype
        assert got.info == want.info and got.info["k"] is not ss.info["k"]
