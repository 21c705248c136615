"""qopt.service.convert: a constrained model survives the trip to protobuf and back."""
import dimod
import numpy as np
import pytest

from qopt.errors import InvalidInput, ModelError
from qopt.service import convert
from qopt.v1 import model_pb2


def _cqm() -> dimod.ConstrainedQuadraticModel:
    """An integer variable in [-3, 5], a one-hot group of three binaries, a spin, a knapsack row."""
    x = dimod.Integer("x", lower_bound=-3, upper_bound=5)
    a, b, c = dimod.Binaries(["a", "b", "c"])
    s = dimod.Spin("s")
    cqm = dimod.ConstrainedQuadraticModel()
    # the objective to *maximise*: sent with sense="max"
    cqm.set_objective(2 * x + 3 * a - b + 4 * c + 1.5 * x * a - 0.5 * x * x + s * c + 7)
    cqm.add_discrete(["a", "b", "c"], label="pick")
    cqm.add_constraint(x + 2 * a + 3 * b <= 6, label="cap")
    cqm.add_constraint(x - s >= -2, label="low")
    return cqm


def _samples(cqm, n=40, seed=0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        sample = {}
        for v in cqm.variables:
            vt = cqm.vartype(v)
            if vt is dimod.INTEGER:
                sample[v] = int(rng.integers(cqm.lower_bound(v), cqm.upper_bound(v) + 1))
            elif vt is dimod.SPIN:
                sample[v] = int(rng.choice([-1, 1]))
            else:
                sample[v] = int(rng.integers(0, 2))
        out.append(sample)
    return out


def test_round_trip_of_a_maximisation_keeps_energies_and_feasibility():
    cqm = _cqm()
    msg = convert.cqm_to_proto(cqm, sense="max")
    assert msg.sense == model_pb2.OBJECTIVE_SENSE_MAXIMIZE
    back, sign = convert.cqm_from_proto(msg)

    assert sign == -1
    assert list(back.variables) == list(cqm.variables)
    assert {v: back.vartype(v) for v in back.variables} == {v: cqm.vartype(v) for v in cqm.variables}
    assert (back.lower_bound("x"), back.upper_bound("x")) == (-3, 5)
    assert list(back.constraints) == list(cqm.constraints)
    assert "pick" in back.discrete

    samples = _samples(cqm)
    # the decoded objective is the minimisation form: sign * back == the objective sent
    np.testing.assert_allclose(sign * back.objective.energies(samples),
                               cqm.objective.energies(samples))
    feasible = [cqm.check_feasible(s) for s in samples]
    assert [back.check_feasible(s) for s in samples] == feasible
    assert any(feasible) and not all(feasible)  # the samples exercise both outcomes
    for label, comp in cqm.constraints.items():
        got = back.constraints[label]
        assert got.sense == comp.sense
        for s in samples:
            assert got.lhs.energy(s) - got.rhs == pytest.approx(comp.lhs.energy(s) - comp.rhs)


def test_minimisation_is_the_default_sense():
    cqm = _cqm()
    msg = convert.cqm_to_proto(cqm)
    assert msg.sense == model_pb2.OBJECTIVE_SENSE_MINIMIZE
    back, sign = convert.cqm_from_proto(msg)
    assert sign == 1
    samples = _samples(cqm, n=10, seed=1)
    np.testing.assert_allclose(back.objective.energies(samples),
                               cqm.objective.energies(samples))


def test_what_the_protocol_cannot_carry_is_named():
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(dimod.Real("r", upper_bound=2.0) + dimod.Binary("b"))
    with pytest.raises(ModelError) as info:
        convert.cqm_to_proto(cqm)
    assert info.value.field == "variables['r']"
    with pytest.raises(InvalidInput) as info:
        convert.cqm_to_proto(_cqm(), sense="maximise")
    assert info.value.field == "sense"


def test_lp_text_reports_its_sense():
    lp = "Maximize\n obj: 3 x + 2 y\nSubject To\n c1: x + y <= 1\nBinary\n x y\nEnd\n"
    cqm, sign = convert.cqm_from_lp(lp)
    assert sign == -1
    assert cqm.objective.energy({"x": 1, "y": 0}) == pytest.approx(-3.0)  # dimod negates a Maximize
    with pytest.raises(convert.InvalidRequest) as info:
        convert.cqm_from_lp("   ")
    assert info.value.field == "problem.lp"
