"""ValidateProblem (dry run), constrained models and LP text through the service, and the
CQM <-> protobuf conversion. Expected values come from dimod's own evaluation of the
models (energies, violations) and from counting by hand."""
from __future__ import annotations

import itertools

import dimod
import grpc
import numpy as np
import pytest

from qopt.client import SolveError
from qopt.service import convert, cost, validation
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server
from qopt.solve import solve
from qopt.v1 import model_pb2

LP = """Minimize
 obj: - 3 x - 2 y - 4 z + [ 2 x * y ] / 2
Subject To
 cap: x + y + z <= 2
Binary
 x y z
End
"""


def _cqm():
    x, y = dimod.Binaries(["x", "y"])
    k = dimod.Integer("k", lower_bound=0, upper_bound=4)
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-2 * x - 3 * y + k - x * k + 0.5)
    cqm.add_constraint(x + y + k <= 3, label="cap")
    cqm.add_constraint(x - y == 0, label="tie")
    a, b, c = dimod.Binaries(["a", "b", "c"])
    cqm.set_objective(-2 * x - 3 * y + k - x * k + 0.5 + a - c + 0 * b)
    cqm.add_discrete(["a", "b", "c"], label="pick")
    return cqm


def _samples(cqm):
    ranges = []
    for v in cqm.variables:
        vt = cqm.vartype(v)
        if vt is dimod.INTEGER:
            ranges.append(range(int(cqm.lower_bound(v)), int(cqm.upper_bound(v)) + 1))
        elif vt is dimod.SPIN:
            ranges.append((-1, 1))
        else:
            ranges.append((0, 1))
    for values in itertools.product(*ranges):
        yield dict(zip(cqm.variables, values, strict=True))


def test_cqm_round_trip_preserves_objective_and_constraints():
    cqm = _cqm()
    back, sign = convert.cqm_from_proto(convert.cqm_to_proto(cqm))
    assert sign == 1
    assert set(back.variables) == set(cqm.variables)
    assert set(back.constraints) == set(cqm.constraints) and "pick" in back.discrete
    for sample in _samples(cqm):
        assert back.objective.energy(sample) == pytest.approx(cqm.objective.energy(sample))
        for label, comp in cqm.constraints.items():
            assert back.constraints[label].lhs.energy(sample) - back.constraints[label].rhs == pytest.approx(
                comp.lhs.energy(sample) - comp.rhs)
        assert back.check_feasible(sample) == cqm.check_feasible(sample)


def test_maximise_is_negated():
    msg = convert.cqm_to_proto(_cqm())
    msg.sense = model_pb2.OBJECTIVE_SENSE_MAXIMIZE
    back, sign = convert.cqm_from_proto(msg)
    assert sign == -1
    sample = next(_samples(_cqm()))
    assert back.objective.energy(sample) == pytest.approx(-_cqm().objective.energy(sample))


def test_lp_text_decodes_to_the_same_model():
    decoded = validation.decode_problem(model_pb2.Problem(lp=LP), ServiceConfig())
    assert decoded.kind == "lp" and decoded.num_variables == 3 and decoded.num_constraints == 1
    assert decoded.num_interactions == 1
    x = {"x": 1, "y": 1, "z": 0}
    assert decoded.model.objective.energy(x) == pytest.approx(-3 - 2 + 1)


@pytest.fixture(scope="module")
def vserver():
    srv = Server("127.0.0.1:0", config=ServiceConfig(max_variables=500)).start()
    yield srv
    srv.stop(grace=1.0)


def test_validate_reports_sizes_qubits_and_time(vserver):
    from qopt.client import Client

    bqm = dimod.generators.gnp_random_bqm(30, 0.2, dimod.BINARY, random_state=4)
    with Client(vserver.address) as c:
        resp = c.validate(bqm, backend="sa", num_reads=10, num_sweeps=2000)
    assert resp.valid and not resp.violations
    assert resp.num_variables == 30 and resp.num_interactions == bqm.num_interactions
    assert resp.qubits["qaoa"] == 30 and resp.qubits["dwave"] >= 30
    expected = 10 * 2000 * (30 + 2 * bqm.num_interactions) * cost.SA_SECONDS_PER_SPIN_UPDATE
    assert resp.estimated_seconds["sa"] == pytest.approx(expected)
    assert any("sa time" in n for n in resp.notes)


def test_validate_lists_every_problem_without_running(vserver):
    from qopt.client import Client

    calls = []
    bad = model_pb2.Problem(bqm=model_pb2.BinaryQuadraticModel(vartype=0, num_variables=3, linear=[1.0, float("nan")]))
    with Client(vserver.address) as c:
        resp = c._call("ValidateProblem", __import__("qopt.v1.solver_service_pb2", fromlist=["x"]).ValidateProblemRequest(
            problem=bad, backend="sa"), 10)
        big = c.validate(dimod.BinaryQuadraticModel(np.zeros(600), {}, 0.0, "SPIN"), num_reads=0, bogus=1)
    assert not resp.valid
    assert [v.field for v in resp.violations] == ["problem.bqm.vartype", "problem.bqm.linear", "problem.bqm.linear[1]"]
    assert not big.valid
    fields = {v.field for v in big.violations}
    assert {"problem", "parameters.num_reads", "parameters.bogus"} <= fields
    assert any("max_variables" in v.description for v in big.violations)
    assert not calls


def _pipeline_takes_cqm() -> bool:
    try:
        solve(_tiny_cqm(), "sa", num_reads=2, num_sweeps=10, seed=1)
    except TypeError:
        return False
    except Exception:  # noqa: BLE001 - some other failure: treat as supported, let the test show it
        return True
    return True


def _tiny_cqm():
    x, y, z = dimod.Binaries("xyz")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-3 * x - 2 * y - 4 * z + x * y)
    cqm.add_constraint(x + y + z <= 2, label="cap")
    return cqm


def test_cqm_and_lp_through_solve(vserver):
    from qopt.client import Client

    with Client(vserver.address) as c:
        if not _pipeline_takes_cqm():
            with pytest.raises(SolveError) as info:
                c.solve(_tiny_cqm(), backend="sa", num_reads=5, seed=1)
            assert info.value.code == grpc.StatusCode.UNIMPLEMENTED
            pytest.skip("qopt.solve does not take constrained models yet (UNIMPLEMENTED over gRPC)")
        best_feasible = min(_tiny_cqm().objective.energy(s) for s in _samples(_tiny_cqm())
                            if _tiny_cqm().check_feasible(s))
        for model in (_tiny_cqm(), LP):
            result = c.solve(model, backend="sa", num_reads=50, num_sweeps=500, seed=2, timeout=60)
            best = result.best
            assert set(best.sample) == {"x", "y", "z"}
            assert best.feasible is True and best.objective == pytest.approx(best_feasible)
            assert best.violations is not None and best.violations.get("cap", 0.0) == pytest.approx(0.0)
        job = c.submit(_tiny_cqm(), backend="sa", num_reads=50, num_sweeps=500, seed=2)
        assert job.result(timeout=60).best.objective == pytest.approx(best_feasible)


def _exact_cqm_solve(problem, backend, *, max_candidates=100, **kw):
    """Stand-in for a CQM-capable pipeline: brute force with dimod.ExactCQMSolver, packed
    into a qopt Result with objective / feasible / violations (what the service maps)."""
    from qopt.results import Candidate, Result

    assert isinstance(problem, dimod.ConstrainedQuadraticModel)
    ss = dimod.ExactCQMSolver().sample_cqm(problem)
    rows = sorted(ss.data(fields=["sample", "energy", "is_feasible"]), key=lambda r: (not r.is_feasible, r.energy))
    cands = [Candidate(sample=dict(r.sample), energy=float(r.energy), num_occurrences=1, objective=float(r.energy),
                       feasible=bool(r.is_feasible),
                       violations={str(k): max(0.0, float(v)) for k, v in problem.violations(r.sample).items()})
             for r in rows[:max_candidates]]
    return Result(candidates=cands, variables=list(problem.variables), vartype=dimod.INTEGER,
                  confidence={}, provenance={"backend": backend, "parameters": {}}, timing={"sample": 0.0})


def test_constrained_fields_mapped_to_response_and_back():
    from qopt.client import Client

    cqm = _cqm()
    msg = convert.cqm_to_proto(cqm)
    expected = min(cqm.objective.energy(s) for s in _samples(cqm) if cqm.check_feasible(s))
    with Server("127.0.0.1:0", solve_fn=_exact_cqm_solve) as srv, Client(srv.address) as c:
        result = c.solve(cqm, backend="sa", max_candidates=5)
        best = result.best
        assert best.feasible is True and best.objective == pytest.approx(expected)
        assert cqm.check_feasible(best.sample) and cqm.objective.energy(best.sample) == pytest.approx(expected)
        assert set(best.violations) == set(cqm.constraints) and all(v == 0 for v in best.violations.values())
        assert set(best.sample) == set(cqm.variables)
        infeasible = [x for x in result.candidates if x.feasible is False]
        for cand in infeasible:
            assert any(v > 0 for v in cand.violations.values())
        # a maximisation: the service negates it for the solver and reports the objective back as maximised
        from qopt.v1 import model_pb2 as m
        from qopt.v1 import solver_service_pb2 as pb

        msg.sense = m.OBJECTIVE_SENSE_MAXIMIZE
        resp = c._call("Solve", pb.SolveRequest(problem=m.Problem(cqm=msg), backend="sa", max_candidates=3), 30)
        best_max = max(cqm.objective.energy(s) for s in _samples(cqm) if cqm.check_feasible(s))
        assert resp.candidates[0].feasible and resp.candidates[0].objective == pytest.approx(best_max)
        assert resp.provenance["objective_sense"] == "maximize"
        job = c.submit(LP, backend="sa")
        lp_best = job.result(timeout=30).best
        assert lp_best.feasible and lp_best.objective == pytest.approx(-3 - 4)  # x=z=1 (y adds -2 but +1 with x)


@pytest.mark.parametrize("seed", range(1))
def test_fuzz_constrained_models(seed):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.integers(-3, 3).map(float))

    @st.composite
    def cqms(draw):
        msg = model_pb2.ConstrainedModel(sense=draw(st.integers(0, 3)))
        n = draw(st.integers(0, 4))
        for i in range(n):
            msg.variables.add(label=draw(st.sampled_from(["a", "b", "c", "", f"v{i}"])), type=draw(st.integers(0, 4)),
                              lower_bound=draw(floats), upper_bound=draw(floats))

        def expr(e):
            k = draw(st.integers(0, 3))
            e.linear_index.extend(draw(st.lists(st.integers(0, n + 1), min_size=k, max_size=k)))
            e.linear_coefficient.extend(draw(st.lists(floats, min_size=max(k - 1, 0), max_size=k)))
            q = draw(st.integers(0, 2))
            e.quadratic_row.extend(draw(st.lists(st.integers(0, n), min_size=q, max_size=q)))
            e.quadratic_col.extend(draw(st.lists(st.integers(0, n), min_size=q, max_size=q)))
            e.quadratic_coefficient.extend(draw(st.lists(floats, min_size=q, max_size=q)))
            e.constant = draw(floats)

        expr(msg.objective)
        for _ in range(draw(st.integers(0, 3))):
            c = msg.constraints.add(label=draw(st.sampled_from(["c0", "c1", ""])), sense=draw(st.integers(0, 4)),
                                    rhs=draw(floats), one_hot=draw(st.booleans()))
            expr(c.lhs)
        return msg

    @settings(max_examples=150, deadline=None)
    @given(cqms())
    def check(msg):
        try:
            cqm, sign = convert.cqm_from_proto(msg)
        except convert.InvalidRequest as exc:
            assert all(v.field.startswith("problem.cqm") for v in exc.violations)
            return
        assert len(cqm.variables) == len(msg.variables) and sign in (1, -1)
        assert set(cqm.constraints) == {c.label for c in msg.constraints}

    check()
