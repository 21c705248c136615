"""A constrained model's declared structure travels over gRPC (``Problem.structure``): a TSP
from the template sent by the client is solved by CP-SAT as a circuit on the server, as
in-process, and its tour is the brute-force optimum."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import qopt
from qopt.client import Client
from qopt.model import templates
from qopt.service.server import Server

N = 8


def _instance():
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 100, (N, 2))
    D = np.round(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)))
    best = min(sum(D[t[i], t[(i + 1) % N]] for i in range(N))
               for t in ([0, *q] for q in itertools.permutations(range(1, N))))  # 5040 tours
    return D, float(best)


@pytest.fixture(scope="module")
def server():
    with Server("127.0.0.1:0") as srv:
        yield srv


def test_a_tsp_sent_by_the_client_is_solved_as_a_circuit_on_the_server(server):
    D, best = _instance()
    problem, decode = templates.tsp(D)
    assert problem.structure["kind"] == "tsp"
    with Client(server.address) as client:
        remote = client.solve(problem, backend="cpsat", timeout=60, seed=1)
    local = qopt.solve(problem, backend="cpsat", seed=1)
    for result in (remote, local):
        assert result.provenance["backend_info"]["model"] == "circuit"  # the declared structure was used
        assert result.candidates[0].energy == pytest.approx(best)  # the brute-force optimum
        assert result.confidence["proven_optimal"] is True
    tour = decode(remote.candidates[0].sample)
    assert tour["valid"] and sorted(tour["tour"]) == list(range(N))
    assert tour["length"] == pytest.approx(best)
