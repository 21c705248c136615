"""Sensible defaults (SA reads and sweeps from the model's size and the deadline, stated in
provenance), a bounded cost for the certified bound, honest occurrence counts, and the
requested backend as asked."""
import collections

import dimod
import numpy as np
import pytest

import qopt
from qopt.checks import ParameterError
from qopt.compile import solve_constrained
from qopt.compile.compiler import compile as compile_model
from qopt.model import templates
from qopt.solve import bqm as bqm_path
from qopt.solve.parameters import (
    SA_DEFAULT_NUM_READS,
    SA_DEFAULT_NUM_SWEEPS,
    SA_MIN_NUM_READS,
    SA_MIN_NUM_SWEEPS,
    sa_defaults,
    sa_seconds,
)


def _qkp(n=8, seed=0):
    rng = np.random.default_rng(seed)
    profits = rng.integers(1, 10, n)
    pair = rng.integers(0, 5, (n, n))
    weights = rng.integers(1, 6, n)
    problem, _ = templates.quadratic_knapsack(profits, pair, weights, int(weights.sum() // 2))
    return problem


# -- defaults --------------------------------------------------------------------------------

def test_sa_defaults_rule():
    small = sa_defaults({}, 100, 300, None)
    assert small["num_reads"]["value"] == SA_DEFAULT_NUM_READS == 64
    assert small["num_sweeps"]["value"] == SA_DEFAULT_NUM_SWEEPS == 1000
    # for a run of fixed size (here: no restarts), a generous deadline changes nothing; a tight
    # one cuts the reads, never below 16 (with only a deadline the sampler plans the run)
    fixed = {"num_restarts": 0}
    assert sa_defaults(fixed, 100, 300, 600.0) == small
    n, m = 1000, 10000
    tight = sa_defaults(fixed, n, m, 0.2)
    reads = tight["num_reads"]["value"]
    assert SA_MIN_NUM_READS <= reads < SA_DEFAULT_NUM_READS
    assert sa_seconds(reads, tight["num_sweeps"]["value"], n, m) <= 0.1 + sa_seconds(1, 1000, n, m)
    assert "deadline" in tight["num_reads"]["reason"]
    # a huge model: 16 reads and fewer sweeps (at least 100)
    huge = sa_defaults({}, 10**6, 10**7, None)
    assert huge["num_reads"]["value"] == SA_MIN_NUM_READS
    assert SA_MIN_NUM_SWEEPS <= huge["num_sweeps"]["value"] < SA_DEFAULT_NUM_SWEEPS
    # what the caller gives is never chosen for them
    assert sa_defaults({"num_reads": 3, "num_sweeps": 50}, 100, 300, None) == {}
    assert "num_reads" not in sa_defaults({"initial_states": [[1, 0]]}, 2, 1, None)


def test_solve_uses_and_states_the_defaults():
    bqm = dimod.generators.ran_r(1, 100, seed=2)
    result = qopt.solve(bqm, backend="sa", seed=3, lower_bound=False)
    defaults = result.provenance["defaults"]
    assert defaults["num_reads"]["value"] == 64 and defaults["num_reads"]["reason"]
    assert result.provenance["parameters"]["num_reads"] == 64
    assert result.confidence["num_reads"] == 64  # the sample set's own count of reads
    given = qopt.solve(bqm, backend="sa", seed=3, num_reads=5, lower_bound=False)
    assert "num_reads" not in given.provenance["defaults"] and given.confidence["num_reads"] == 5


def test_bound_cost_is_bounded_on_g1():
    from qopt.io import read_instance

    bqm = read_instance(qopt.data.instance_path("G1")).bqm
    without = qopt.solve(bqm, backend="sa", num_reads=64, num_sweeps=1000, seed=1, lower_bound=False)
    with_bound = qopt.solve(bqm, backend="sa", num_reads=64, num_sweeps=1000, seed=1, lower_bound=True)
    assert _key(without) == _key(with_bound)  # the bound never changes the answer
    conf = with_bound.confidence
    assert conf["lower_bound"] <= conf["best_energy"]
    # the answer waits for the bound at most BOUND_WAIT_SHARE of the sampling time after sampling
    t = with_bound.timing
    allowed = bqm_path.BOUND_WAIT_SHARE * t["sample"]
    assert t["total"] - t["sample"] - t["preprocess"] - t["validate"] - t["postprocess"] <= allowed + 0.5


# -- honest counts -----------------------------------------------------------------------------

class _Recording(dimod.Sampler):
    """SA that keeps the sample set of every round."""

    parameters = {"num_reads": [], "seed": []}
    properties = {}

    def __init__(self):
        self.sets = []

    def sample(self, bqm, **kw):
        ss = qopt.SimulatedAnnealingSampler().sample(bqm, num_sweeps=50, **kw)
        self.sets.append((bqm, ss))
        return ss


def test_occurrences_count_the_last_rounds_reads():
    problem = _qkp()
    sampler = _Recording()
    res = solve_constrained(problem, sampler, max_rounds=3, target_feasible_fraction=1.0, num_reads=40, seed=4,
                            polish=True)
    assert len(res.rounds) == len(sampler.sets) >= 2
    # brute-force count of the last round's reads per decoded sample
    _, decoder = compile_model(problem, penalty=res.rounds[-1].weights)
    _, last = sampler.sets[-1]
    counts = collections.Counter()
    for sample, occ in zip(last.samples(), last.record.num_occurrences, strict=True):
        x = decoder.decode_sample(dict(sample)).sample
        counts[tuple(sorted(x.items()))] += int(occ)
    assert sum(counts.values()) == 40 == res.rounds[-1].num_reads
    for cand, (rnd, source) in zip(res.candidates, res.found_in, strict=True):
        assert cand.num_occurrences == counts.get(tuple(sorted(cand.sample.items())), 0)
        if source == "polish":
            assert cand.num_occurrences == 0
        assert 0 <= rnd < len(res.rounds)
    assert sum(c.num_occurrences for c in res.candidates) <= 40


def test_confidence_counts_the_last_round_even_with_few_candidates():
    problem = _qkp(seed=1)
    result = qopt.solve(problem, backend="sa", seed=2, num_reads=64, max_candidates=3)
    rounds = result.provenance["penalty_calibration"]["rounds"]
    assert result.confidence["num_reads"] == rounds[-1]["num_reads"] == 64
    assert any(c.num_occurrences > 0 for c in result.candidates) or result.confidence["best_fraction"] == 0.0
    best = result.candidates[0]
    at_best = sum(c.num_occurrences for c in result.candidates if c.feasible and c.objective == best.objective)
    assert result.confidence["best_fraction"] == pytest.approx(at_best / 64)


def test_exact_counts_agree_explicit_or_routed():
    problem = _qkp(n=6, seed=2)
    explicit = qopt.solve(problem, backend="exact")
    routed = qopt.solve(problem)
    assert routed.provenance["routing"]["backend"] == "exact"
    for r in (explicit, routed):
        last = r.provenance["penalty_calibration"]["rounds"][-1]["num_reads"]
        assert r.confidence["num_reads"] == last
        assert sum(c.num_occurrences for c in r.candidates) <= last  # not added up across rounds
    assert explicit.confidence["best_fraction"] == routed.confidence["best_fraction"]
    assert _key(explicit) == _key(routed)


# -- requested backend, unknown parameters ---------------------------------------------------

def test_requested_backend_is_what_was_asked():
    bqm = dimod.generators.ran_r(1, 30, seed=1)
    auto = qopt.solve(bqm, seed=1, num_reads=4)
    assert auto.provenance["requested_backend"] == "auto"
    from qopt.samplers.registry import backend_names

    routed = auto.provenance["routing"]["backend"]
    assert routed in backend_names() and routed != "auto"
    assert auto.best.energy == pytest.approx(float(bqm.energies(auto.best.sample)[0]))
    sa = qopt.solve(bqm, backend="sa", seed=1, num_reads=4)
    assert sa.provenance["requested_backend"] == "sa" == sa.provenance["routing"]["backend"]
    constrained = qopt.solve(_qkp(n=6), seed=1)
    assert constrained.provenance["requested_backend"] == "auto"
    assert constrained.provenance["routing"]["backend"] == "exact"


def test_unknown_parameter_under_auto_is_unknown_to_every_backend():
    bqm = dimod.generators.ran_r(1, 30, seed=1)
    with pytest.raises(ParameterError) as err:
        qopt.solve(bqm, foo=1)
    assert err.value.field == "foo"
    assert "any backend" in str(err.value) and "not a parameter of backend" not in str(err.value)
    with pytest.raises(ParameterError, match="not a parameter of backend 'sa'"):
        qopt.solve(bqm, backend="sa", foo=1)


def _key(result):
    return [(tuple(sorted(c.sample.items(), key=str)), c.energy, c.num_occurrences) for c in result.candidates]
