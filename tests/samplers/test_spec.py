"""The parameter spec type (qopt.samplers.spec) and the samplers' declarations."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from qopt.errors import ParameterError, PreflightError
from qopt.samplers import registry
from qopt.samplers.limits import EXACT_MAX_VARIABLES, QAOA_MAX_QUBITS
from qopt.samplers.spec import Param, ParameterSpec, SizeRule, event_validator

SPEC = ParameterSpec([
    Param("num_reads", "int", 1, minimum=1, doc="reads"),
    Param("seed", "int", None, minimum=0, maximum=2**32 - 1, doc="seed"),
    Param("time_limit", "float", None, minimum=0.0, exclusive_minimum=True, maximum=10.0, unit="s"),
    Param("mode", "str", "a", choices=("a", "b")),
    Param("modes", "str_list", ("a",), choices=("a", "b")),
    Param("flag", "bool", False),
    Param("opts", "mapping", None),
    Param("pair", "pair", None, minimum=0.0),
    Param("schedule", "array", None, minimum=0.0),
    Param("event", "object", None, validator=event_validator("event")),
], size=SizeRule(8, lambda n, limit: PreflightError(f"{n} > {limit}"), parameter="seed"))


@pytest.mark.parametrize("name,value,message", [
    ("num_reads", 0, "num_reads must be >= 1, was 0"),
    ("num_reads", 1.5, "num_reads must be an integer, was 1.5"),
    ("num_reads", True, "num_reads must be an integer, was True"),
    ("num_reads", None, "num_reads must be given"),
    ("seed", 2**32, f"seed must be <= {2**32 - 1}, was {2**32}"),
    ("seed", -1, "seed must be >= 0, was -1"),
    ("time_limit", 0, "time_limit must be > 0.0, was 0.0"),
    ("time_limit", 11, "time_limit must be <= 10.0, was 11.0"),
    ("time_limit", float("nan"), "time_limit must be a finite number"),
    ("mode", "c", "mode must be one of ['a', 'b'], was 'c'"),
    ("modes", ["a", "c"], "modes must be one of ['a', 'b'], was 'c'"),
    ("modes", [], "modes must be one of"),
    ("flag", 1, "flag must be true or false, was 1"),
    ("opts", 3, "opts must be a mapping, was 3"),
    ("pair", [1.0], "pair must be a pair of numbers"),
    ("pair", [1.0, -1.0], "pair must be >= 0.0, was -1.0"),
    ("schedule", [1.0, -2.0], "schedule must have every entry >= 0.0, was -2.0 at index 1"),
    ("schedule", [[1.0]], "schedule must be a 1-D array of finite numbers"),
    ("schedule", "abc", "schedule must be a 1-D array of numbers"),
    ("event", object(), "event must be None or have an is_set() method"),
    ("bogus", 1, "bogus is not a parameter of this backend"),
])
def test_check_refuses_with_the_field_and_message_shape(name, value, message):
    with pytest.raises(ParameterError) as err:
        SPEC.check(name, value)
    assert err.value.field == name
    assert str(err.value).startswith(message)


def test_check_normalises_and_accepts_bounds():
    assert SPEC.check("num_reads", 3.0) == 3 and isinstance(SPEC.check("num_reads", 3.0), int)
    assert SPEC.check("seed", 2**32 - 1) == 2**32 - 1
    assert SPEC.check("seed", None) is None                     # nullable: default None
    assert SPEC.check("time_limit", 10) == 10.0
    assert SPEC.check("flag", np.bool_(True)) is True
    assert SPEC.check("pair", [0, 2]) == (0.0, 2.0)
    np.testing.assert_array_equal(SPEC.check("schedule", [0.0, 1.0]), [0.0, 1.0])
    event = threading.Event()
    assert SPEC.check("event", event) is event
    assert SPEC.check_all({"num_reads": 2.0, "mode": "b"}) == {"num_reads": 2, "mode": "b"}


def test_size_rule_and_its_parameter():
    SPEC.check_size(8)
    with pytest.raises(PreflightError, match="9 > 8"):
        SPEC.check_size(9)
    with pytest.raises(PreflightError, match="5 > 4"):
        SPEC.check_size(5, {"seed": 4})                          # the parameter lowers the limit
    assert SPEC.size.limit({"seed": 100}) == 8                   # ... and never raises it
    assert SPEC.max_variables == 8 and ParameterSpec([]).max_variables == 0


def test_published_form_is_json():
    out = json.loads(json.dumps(SPEC.to_dicts()))
    by_name = {d["name"]: d for d in out}
    assert [d["name"] for d in out] == sorted(by_name)
    assert by_name["time_limit"] == {"name": "time_limit", "type": "float", "default": None, "minimum": 0.0,
                                     "maximum": 10.0, "exclusive_minimum": True, "choices": None, "unit": "s",
                                     "doc": "", "nullable": True}
    assert by_name["modes"]["default"] == ["a"] and by_name["mode"]["choices"] == ["a", "b"]
    assert by_name["event"]["default"] is None
    assert "event" not in SPEC.wire_names() and "num_reads" in SPEC.wire_names()


def test_declaration_errors():
    with pytest.raises(ValueError):
        Param("x", "complex")
    with pytest.raises(ValueError):
        ParameterSpec([Param("x", "int"), Param("x", "int")])


def test_random_seed_within_range():
    assert all(0 <= SPEC.random_seed() < 2**32 for _ in range(50))


@pytest.mark.parametrize("name", list(registry.BACKENDS))
def test_every_backend_declares_a_spec_its_dimod_parameters_come_from(name):
    try:
        cls = registry.get_sampler_class(name)
    except ImportError:
        pytest.skip(f"{name} not importable here")
    spec = cls.parameter_spec
    assert isinstance(spec, ParameterSpec)
    assert cls.parameters == spec.dimod_parameters()
    assert all(isinstance(v, list) for v in cls.parameters.values())   # dimod's convention
    for param in spec.values():
        assert param.doc, f"{name}.{param.name} has no doc"
        if param.default is not None and param.type != "object":
            assert param.check(param.default) is not None or param.nullable


def test_size_rules_use_the_limits():
    assert registry.parameter_spec("exact").max_variables == EXACT_MAX_VARIABLES
    qaoa = registry.parameter_spec("qaoa")
    assert qaoa.max_variables == QAOA_MAX_QUBITS == qaoa["max_qubits"].maximum == qaoa["max_qubits"].default
    assert registry.parameter_spec("sa").max_variables == 0
    with pytest.raises(ParameterError, match=f"max_qubits must be <= {QAOA_MAX_QUBITS}"):
        qaoa.check("max_qubits", QAOA_MAX_QUBITS + 1)
