"""Problem, validation and spec dicts: errors name the field; senses are kept."""
from __future__ import annotations

import json
import math

import dimod
import pytest

from qopt.model import ModelError, Problem, as_problem, from_spec, to_spec, validate


def _spec():
    return {
        "name": "toy", "sense": "max",
        "variables": [{"name": "x", "vartype": "BINARY"}, {"name": "y", "vartype": "BINARY"},
                      {"name": "i", "vartype": "INTEGER", "lower_bound": 0, "upper_bound": 3}],
        "objective": {"linear": {"x": 3, "y": 2, "i": 1}, "quadratic": [["x", "i", 1.5]], "offset": 1},
        "constraints": [{"label": "cap", "linear": {"x": 1, "y": 1, "i": 1}, "sense": "<=", "rhs": 3},
                        {"label": "pick", "linear": {"x": 1, "y": 1}, "sense": "==", "rhs": 1, "discrete": True}],
    }


def test_build_keeps_sense_and_objective():
    x, y = dimod.Binaries(["x", "y"])
    p = Problem.build(3 * x + 2 * y, [(x + y <= 1, "one")], sense="max")
    assert p.sense == "max"
    assert p.objective({"x": 1, "y": 0}) == 3.0
    # stored CQM is the minimisation form
    assert p.cqm.objective.energy({"x": 1, "y": 0}) == -3.0
    assert p.user_cqm().objective.energy({"x": 1, "y": 0}) == 3.0


def test_from_cqm_copies_input():
    x = dimod.Binary("x")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(2 * x)
    p = Problem.from_cqm(cqm, "max")
    assert cqm.objective.energy({"x": 1}) == 2.0  # input untouched
    assert p.objective({"x": 1}) == 2.0


def test_spec_round_trip():
    p = from_spec(_spec())
    assert p.sense == "max" and p.name == "toy"
    assert "pick" in p.cqm.discrete
    # objective in the user's sense: 3x + 2y + i + 1.5 x i + 1
    assert p.objective({"x": 1, "y": 0, "i": 2}) == 3 + 2 + 3 + 1
    spec2 = to_spec(p)
    json.dumps(spec2)
    p2 = from_spec(spec2)
    assert p2.cqm.is_equal(p.cqm) and p2.sense == p.sense


@pytest.mark.parametrize("mutate, path", [
    (lambda s: s["constraints"][0]["linear"].update({"z": 1}), "constraints['cap'].linear['z']"),
    (lambda s: s["objective"]["quadratic"].append(["x", "w", 1]), "objective.quadratic[1]"),
    (lambda s: s["variables"][2].pop("upper_bound"), "variables['i']"),
    (lambda s: s["variables"][2].update({"lower_bound": 5}), "variables['i']"),
    (lambda s: s["objective"]["linear"].update({"x": math.nan}), "objective.linear['x']"),
    (lambda s: s["constraints"][0].update({"rhs": math.inf}), "constraints['cap'].rhs"),
    (lambda s: s["constraints"].append({"label": "empty", "linear": {}, "sense": "<=", "rhs": 1}),
     "constraints['empty']"),
    (lambda s: s["constraints"][0].update({"sense": "<"}), "constraints['cap'].sense"),
    (lambda s: s.update({"sense": "up"}), "sense"),
])
def test_spec_errors_name_the_field(mutate, path):
    spec = _spec()
    mutate(spec)
    with pytest.raises(ModelError) as info:
        from_spec(spec)
    assert info.value.field == path
    assert str(info.value).startswith(path)


def test_unknown_variable_is_named():
    spec = _spec()
    spec["constraints"][0]["linear"]["ghost"] = 2
    with pytest.raises(ValueError, match="unknown variable 'ghost'"):
        from_spec(spec)


def test_validate_unbounded_integer():
    i = dimod.Integer("i")  # dimod's default upper bound 2**53 - 1
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(i)
    with pytest.raises(ModelError, match=r"variables\['i'\].*unbounded"):
        validate(cqm)


def test_validate_non_finite_constraint_coefficient():
    x, y = dimod.Binaries("xy")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(x + y)
    cqm.add_constraint_from_iterable([("x", math.inf), ("y", 1.0)], "<=", rhs=1, label="bad")
    with pytest.raises(ModelError, match=r"constraints\['bad'\].*'x'"):
        validate(cqm)


def test_validate_non_finite_objective():
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.add_variable("BINARY", "x")
    cqm.set_objective([("x", math.nan)])
    with pytest.raises(ModelError, match=r"objective.*'x'"):
        validate(cqm)


def test_validate_contradictory_constraint():
    x, y = dimod.Binaries("xy")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(x + y)
    cqm.add_constraint(x + y >= 3, label="too_much")
    with pytest.raises(ModelError, match=r"constraints\['too_much'\].*cannot be satisfied"):
        validate(cqm)


def test_validate_empty_constraint():
    x = dimod.Binary("x")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(x)
    cqm.add_constraint_from_iterable([("x", 0.0)], "<=", rhs=1, label="nothing")
    with pytest.raises(ModelError, match=r"constraints\['nothing'\].*empty"):
        validate(cqm)


def test_as_problem_accepts_bqm_and_rejects_junk():
    bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "BINARY")
    p = as_problem(bqm)
    assert p.sense == "min" and list(p.cqm.variables) == ["a"]
    with pytest.raises(TypeError):
        as_problem(42)


def test_build_with_discrete_groups_and_extra_variables():
    a, b = dimod.Binaries("ab")
    p = Problem.build(a + 2 * b, discrete=[(["a", "b", "c"], "pick")],
                      variables=[("INTEGER", "k", 0, 5)], sense="min", name="d")
    assert "pick" in p.cqm.discrete and p.cqm.vartype("k") is dimod.INTEGER
    assert p.cqm.upper_bound("k") == 5 and p.name == "d"
