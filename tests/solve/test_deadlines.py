"""One deadline for every path: the caller's time_budget, or the default budget that grows with
the model's size (qopt.solve.stages.default_time_budget), stated in provenance["defaults"].
Margins are generous: these check that work stops, not how fast the machine is."""
import dimod
import numpy as np
import pytest

import qopt
from qopt.model import templates
from qopt.solve.stages import DEFAULT_BUDGET_MAX, answer_reserve, default_time_budget

MARGIN = 1.0  # seconds on top of the budget; the rule itself is max(5%, 100 ms)


def _tsp(n, seed):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, size=(n, 2))
    return templates.tsp(np.linalg.norm(pts[:, None] - pts[None], axis=-1))[0]


def test_default_budget_rule():
    small, large = default_time_budget(10, 20), default_time_budget(5000, 12498)
    assert 2.0 < small["value"] < large["value"] < DEFAULT_BUDGET_MAX
    assert default_time_budget(10**7, 10**8)["value"] == DEFAULT_BUDGET_MAX
    assert default_time_budget(10, 20, work_seconds=30.0)["value"] == pytest.approx(90.0)  # asked-for work
    assert "no deadline" in small["reason"]
    assert 0 < answer_reserve(1.0) <= 0.5 and answer_reserve(0.01) == pytest.approx(0.005)


def test_constrained_path_answers_within_its_budget():
    # 12-city TSP (144 variables): annealing asked for far more sweeps than the budget allows
    result = qopt.solve(_tsp(12, 1), backend="sa", num_sweeps=10**6, num_reads=64, seed=1, time_budget=1.0)
    assert result.timing["total"] <= 1.0 + MARGIN
    assert "time_budget" not in result.provenance["defaults"]  # the caller gave one


def test_constrained_path_without_a_deadline_gets_the_default_budget():
    result = qopt.solve(_tsp(12, 2), backend="sa", num_sweeps=10**6, num_reads=64, seed=1)
    stated = result.provenance["defaults"]["time_budget"]
    compiled = result.provenance["model"]["num_bqm_variables"]
    assert stated["value"] >= default_time_budget(compiled, 0)["value"] and "no deadline" in stated["reason"]
    assert result.timing["total"] <= stated["value"] + MARGIN
    assert result.candidates  # an answer, not an error


def test_bqm_path_answers_within_its_budget_and_states_the_default():
    bqm = dimod.generators.gnp_random_bqm(300, 0.2, "SPIN", random_state=3)
    result = qopt.solve(bqm, backend="sa", num_sweeps=10**6, num_reads=64, seed=1, time_budget=0.5)
    assert result.timing["total"] <= 0.5 + MARGIN
    assert result.provenance["backend_info"]["stopped_early"] is True
    quick = qopt.solve(bqm, backend="sa", seed=1)
    assert quick.provenance["defaults"]["time_budget"]["value"] >= 2.0
    assert quick.provenance["backend_info"]["stopped_early"] is False  # the default budget did not bind
