"""Routing decisions and reasons on a table of problem shapes."""
import pytest

from qopt.solve.routing import choose_backend

BOTH = {"qaoa": True, "dwave": True}
QAOA = {"qaoa": True, "dwave": False}
NONE = {"qaoa": False, "dwave": False}

CASES = [
    # n, m, time_limit, available, backend, words in the reason
    (0, 0, None, QAOA, "exact", "presolve fixed every variable"),
    (12, 30, None, QAOA, "exact", "2^12 states"),
    (20, 190, None, BOTH, "exact", "exact enumeration"),
    (22, 50, None, QAOA, "qaoa", "fit the 24-qubit QAOA budget"),
    (24, 276, 30.0, QAOA, "qaoa", "QAOA"),
    (42, 100, 30.0, QAOA, "hybrid", "42 variables after presolve exceed the 24-qubit QAOA budget: hybrid with "
                                    "20-variable subproblems"),
    (42, 100, None, QAOA, "sa", "no deadline was given"),
    (800, 19176, 60.0, QAOA, "hybrid", "racing simulated annealing"),
    (800, 19176, 0.5, QAOA, "sa", "deadline of 0.5 s"),
    (22, 50, 0.5, QAOA, "sa", "deadline"),
    (800, 19176, None, NONE, "sa", "no quantum backend available"),
    (60, 300, None, BOTH, "dwave", "D-Wave"),
    (500, 124750, 60.0, BOTH, "hybrid", "D-Wave embedding"),
]


@pytest.mark.parametrize("n,m,time_limit,available,backend,words", CASES)
def test_routing_table(n, m, time_limit, available, backend, words):
    decision = choose_backend(n, m, time_limit=time_limit, available=available)
    assert decision.backend == backend
    assert words in decision.reason
    if backend == "hybrid":
        assert decision.parameters["subproblem_size"] <= 24
        assert decision.parameters["quantum_backend"] in ("qaoa", "dwave")


def test_qubit_budget_is_a_parameter():
    decision = choose_backend(30, 60, time_limit=10.0, max_qubits=12, available=QAOA)
    assert decision.backend == "hybrid" and decision.parameters["subproblem_size"] == 12
    assert "12-qubit" in decision.reason
