"""The routing profile: the shipped one loads and covers every class the router produces; a corrupt
profile gives an error naming the file and the field; problem features of the templates."""
import json

import dimod
import numpy as np
import pytest

import qopt
from qopt.errors import ParameterError
from qopt.model import assignment, knapsack, maxcut, portfolio, quadratic_knapsack, tsp
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
    assert _classes(tsp(d + d.T)[0]) == ("cqm/one-hot/quadratic/1-30", "tsp")
    assert _classes(assignment(rng.random((10, 5)))[0]) == ("cqm/one-hot/linear/31-200", "assignment")
    assert _classes(assignment(rng.random((30, 10)), np.full(10, 5.0))[0]) == \
        ("cqm/inequality/linear/201+", "assignment")
    assert _classes(knapsack(rng.random(50), rng.random(50), 5.0)[0]) == ("cqm/inequality/linear/31-200", "knapsack")
    w = rng.random(50)
    assert _classes(quadratic_knapsack(rng.random(50), np.outer(w, w), w, 5.0)[0]) == \
        ("cqm/inequality/quadratic/31-200", "quadratic_knapsack")
    mu, a = rng.random(20), rng.random((20, 20))
    assert _classes(portfolio(mu, a @ a.T, budget=5)[0]) == ("cqm/equality/quadratic/1-30", "portfolio")
    # a model without constraints is classed as a BQM
    f = problem_features(dimod.BinaryQuadraticModel({}, {(0, 1): 1.0}, 0, "SPIN"), problem=maxcut([(0, 1)])[0])
    assert class_key(f) == "bqm/none/1-20" and f["signs"] == "positive" and f["template"] == "maxcut"


def test_every_router_class_maps_to_itself_in_the_shipped_profile():
    profile = load_profile(SHIPPED_PROFILE)
    for key in router_class_keys():
        kind, constraints, *terms, size = key.split("/")
        lo = int(size.split("-")[0].rstrip("+"))
        features = {"kind": kind, "constraints": constraints, "size": size, "num_variables": lo,
                    **({"terms": terms[0]} if terms else {})}
        assert profile.nearest(features).key == key


def test_the_constrained_path_routes_by_the_model_when_it_passes_it():
    """route(bqm, ..., problem=...) classes a constrained model by its constraints, size and template
    (what the constrained path passes), not by its compiled BQM."""
    from qopt.compile import compile as compile_model

    d = np.random.default_rng(2).integers(1, 50, (8, 8)).astype(float)
    problem = tsp(d + d.T)[0]
    bqm, _ = compile_model(problem)
    decision = route(bqm, "auto", time_budget=1.0, problem=problem)
    assert "class cqm/one-hot/quadratic/31-200" in decision.reason and decision.profile.startswith("shipped")
    assert "class bqm/" in route(bqm, "auto", time_budget=1.0).reason


def test_models_with_integer_variables_take_the_class_measured_on_them():
    """Two classes of one key (bench_routing measures integer-lot portfolios apart from the binary
    quadratic knapsacks of the same key): the nearest is the one of the model's vartype and template."""
    from qopt.solve.profile import validate_profile

    doc = _doc()
    integer = [c for c in doc["classes"] if c["features"]["vartype"] not in ("BINARY", "SPIN")]
    assert integer, "the shipped profile measures a class of models with integer variables"
    profile = validate_profile(doc, "shipped")
    for c in integer:
        binary = [b for b in profile.classes if b.key == c["key"] and b.features["vartype"] == "BINARY"]
        assert binary, c["key"]  # the same key measured on binary models too
        assert profile.nearest(dict(c["features"])).instances == tuple(c["instances"])
        assert profile.nearest(dict(binary[0].features)).instances == binary[0].instances
    lots = _classes_of_lots()
    assert profile.nearest(lots).features["vartype"] == lots["vartype"] == "mixed"


def _classes_of_lots():
    from qopt.model import portfolio

    rng = np.random.default_rng(3)
    a = rng.normal(size=(20, 4))
    problem, _ = portfolio(rng.uniform(0.02, 0.2, 20), a @ a.T / 4 + np.eye(20) * 0.2, budget=12, units=3,
                           cardinality=6)
    return problem_features(problem=problem)


def test_bench_routing_update_replaces_only_the_classes_it_measured(monkeypatch):
    """``bench_routing.py --classes K --update P``: class K re-measured, every other class of P kept as
    it was, the update recorded; the result is a valid profile."""
    import copy
    import pathlib

    from qopt.solve.profile import validate_profile

    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parents[2] / "benchmarks"))
    import bench_routing

    base = _doc()
    new = copy.deepcopy(base)
    first = new["classes"][0]
    first["instances"] = ["x", "y", "z"]
    new.update(classes=[first], command="bench_routing.py --classes k", created="2026-12-02T06:00:00+00:00")
    out = bench_routing.updated(base, new)
    assert out["classes"][0]["instances"] == ["x", "y", "z"]
    assert out["classes"][1:] == base["classes"][1:]
    assert out["updates"][-1]["command"] == "bench_routing.py --classes k"
    assert out["updates"][-1]["classes"] == [bench_routing.class_group(first["features"])]
    assert out["command"] == base["command"]  # the profile's own measurement stays named
    validate_profile(out, "updated")
