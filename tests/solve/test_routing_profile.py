"""The routing profile: the shipped one loads and covers every class the router produces; a corrupt
profile gives an error naming the file and the field; problem features of the templates."""
import json

import dimod
import numpy as np
import pytest

import qopt
from qopt.errors import ParameterError
from qopt.model import assignment, knapsack, maxcut, portfolio, tsp
from qopt.solve.profile import SHIPPED_PROFILE, class_key, load_profile, problem_features, router_class_keys
from qopt.solve.routing import route


def _doc():
    return json.loads(SHIPPED_PROFILE.read_text())


def test_shipped_profile_loads_and_covers_every_class_the_router_produces():
    profile = load_profile(SHIPPED_PROFILE)
    keys = {c.key for c in profile.classes}
    assert set(router_class_keys()) <= keys
    for c in profile.classes:
        assert set(c.results) == set(profile.deadlines), c.key  # every deadline measured
        assert "sa" in next(iter(c.results.values()))
    from qopt.solve.routing import MIN_CLASS_INSTANCES

    for c in profile.classes:  # every class decides: measured on enough instances to be trusted
        assert len(c.instances) >= MIN_CLASS_INSTANCES, (c.key, c.instances)
    doc = _doc()
    assert doc["command"].startswith("bench_routing.py") and doc["versions"]["qopt"]
    assert doc["machine"]["cpu_count"] >= 1 and doc["duration_s"] > 0


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d.update(format="v0"), "field format"),
    (lambda d: d.update(deadlines=[]), "field deadlines"),
    (lambda d: d["classes"][0]["results"][next(iter(d["classes"][0]["results"]))]["sa"].update(median_gap="x"),
     ".sa.median_gap must be a number"),
    (lambda d: d["classes"][0]["results"][next(iter(d["classes"][0]["results"]))]["sa"].update(success_rate=1.5),
     ".sa.success_rate must be a number >= 0 and <= 1"),
    (lambda d: d["classes"][1].update(key="bqm/none/7"), "field classes[1].key must be"),
    (lambda d: d["classes"][0].pop("results"), "field classes[0].results"),
    (lambda d: d["classes"][0]["results"].update({"3.5": d["classes"][0]["results"][next(iter(d["classes"][0]["results"]))]}),
     "is not one of the deadlines"),
])
def test_a_corrupt_profile_names_the_file_and_the_field(tmp_path, mutate, field):
    doc = _doc()
    mutate(doc)
    path = tmp_path / "bad_profile.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ParameterError) as info:
        load_profile(path)
    assert info.value.field == "routing_profile"
    assert str(path) in str(info.value) and field in str(info.value)


def test_a_profile_that_is_not_json_or_missing(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    path.write_text("{not json")
    with pytest.raises(ParameterError, match=r"p\.json: field \(file\) is not JSON"):
        load_profile(path)
    monkeypatch.setenv("QOPT_ROUTING_PROFILE", str(tmp_path / "absent.json"))
    bqm = dimod.generators.ran_r(1, 40, seed=1)
    with pytest.raises(ParameterError, match="absent.json: field \\(file\\) cannot be read"):
        qopt.solve(bqm, seed=1, time_budget=1.0)
    assert route(bqm, "sa").backend == "sa"  # an explicit backend reads no profile


def _classes(problem):
    f = problem_features(problem=problem)
    return class_key(f), f["template"]


def test_features_of_the_templates():
    rng = np.random.default_rng(1)
    d = rng.integers(1, 50, (6, 6)).astype(float)
    assert _classes(tsp(d + d.T)[0]) == ("cqm/one-hot/1-30", "tsp")
    assert _classes(assignment(rng.random((10, 5)))[0]) == ("cqm/one-hot/31-200", "assignment")
    assert _classes(assignment(rng.random((30, 10)), np.full(10, 5.0))[0]) == ("cqm/inequality/201+", "assignment")
    assert _classes(knapsack(rng.random(50), rng.random(50), 5.0)[0]) == ("cqm/inequality/31-200", "knapsack")
    mu, a = rng.random(20), rng.random((20, 20))
    assert _classes(portfolio(mu, a @ a.T, budget=5)[0]) == ("cqm/equality/1-30", "portfolio")
    # a model without constraints is classed as a BQM
    f = problem_features(dimod.BinaryQuadraticModel({}, {(0, 1): 1.0}, 0, "SPIN"), problem=maxcut([(0, 1)])[0])
    assert class_key(f) == "bqm/none/1-20" and f["signs"] == "positive" and f["template"] == "maxcut"


def test_every_router_class_maps_to_itself_in_the_shipped_profile():
    profile = load_profile(SHIPPED_PROFILE)
    for key in router_class_keys():
        kind, constraints, size = key.split("/")
        lo = int(size.split("-")[0].rstrip("+"))
        features = {"kind": kind, "constraints": constraints, "size": size, "num_variables": lo}
        assert profile.nearest(features).key == key


def test_the_constrained_path_routes_by_the_model_when_it_passes_it():
    """route(bqm, ..., problem=...) classes a constrained model by its constraints, size and template
    (what the constrained path passes), not by its compiled BQM."""
    from qopt.compile import compile as compile_model

    d = np.random.default_rng(2).integers(1, 50, (8, 8)).astype(float)
    problem = tsp(d + d.T)[0]
    bqm, _ = compile_model(problem)
    decision = route(bqm, "auto", time_budget=1.0, problem=problem)
    assert "class cqm/one-hot/31-200" in decision.reason and decision.profile.startswith("shipped")
    assert "class bqm/" in route(bqm, "auto", time_budget=1.0).reason
