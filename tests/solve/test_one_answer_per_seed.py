"""One answer per seed: the same request and seed give the same candidates in-process
(``qopt.solve``), through ``qopt.Client`` and through ``qopt solve --server`` (a real gRPC
server on 127.0.0.1:0, the CLI as a subprocess)."""
import json
import subprocess
import sys

import numpy as np
import pytest

import qopt
from qopt.client import Client
from qopt.model import load_model, to_lp
from qopt.service.server import Server


def _tsplib_file(path, num_cities: int, seed: int):
    """A small seeded TSPLIB instance (explicit full matrix, symmetric integer distances)."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, size=(num_cities, 2))
    dist = np.rint(np.linalg.norm(pts[:, None] - pts[None, :], axis=-1)).astype(int)
    rows = "\n".join(" ".join(str(int(d)) for d in row) for row in dist)
    path.write_text(f"NAME: rand{num_cities}\nTYPE: TSP\nDIMENSION: {num_cities}\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
                    f"EDGE_WEIGHT_FORMAT: FULL_MATRIX\nEDGE_WEIGHT_SECTION\n{rows}\nEOF\n")
    return path


def _key(candidates):
    """What must agree: each candidate's sample, energy, objective, feasibility and occurrences."""
    return [(tuple(sorted((str(k), int(v)) for k, v in c.sample.items())), round(float(c.energy), 6),
             round(float(c.objective), 6), bool(c.feasible), int(c.num_occurrences)) for c in candidates]


def _json_key(candidates):
    return [(tuple(sorted((str(k), int(v)) for k, v in c["sample"].items())), round(float(c["energy"]), 6),
             round(float(c["objective"]), 6), bool(c["feasible"]), int(c["num_occurrences"])) for c in candidates]


def _cli_json(path, address, *args):
    proc = subprocess.run([sys.executable, "-m", "qopt", "solve", str(path), "--server", address, "--json", *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout[proc.stdout.index("{"):])


@pytest.fixture(scope="module")
def server():
    srv = Server("127.0.0.1:0", max_workers=4).start()
    yield srv
    srv.stop(grace=1.0)


def _agree(path, server, seed, top=5, backend="sa"):
    """The annealing path (where the seed decides the answer) gives the same candidates
    in-process, through Client and through qopt solve --server."""
    problem = load_model(str(path), format="tsplib")
    here = qopt.solve(problem, backend, seed=seed)
    with Client(server.address) as client:
        remote = client.solve(to_lp(problem), backend, seed=seed, name=problem.name)
    cli = _cli_json(path, server.address, "--seed", str(seed), "--top", str(top), "--backend", backend)
    def rounds(prov):  # the calibration, less its wall-clock seconds
        return [(r["weights"], r["num_reads"], r["feasible_fraction"]) for r in prov["penalty_calibration"]["rounds"]]

    assert rounds(here.provenance) == rounds(remote.provenance) == rounds(cli["provenance"])
    assert _key(here.candidates) == _key(remote.candidates)
    assert _key(here.candidates[:top]) == _json_key(cli["candidates"])
    return here


def test_small_tsp_same_candidates_in_process_client_and_cli(tmp_path, server):
    path = _tsplib_file(tmp_path / "rand6.tsp", 6, seed=3)
    here = _agree(path, server, seed=7)
    assert here.best.feasible


def test_burma14_same_candidates_in_process_client_and_cli(shared_data, server):
    path = shared_data / "tsplib" / "tsp" / "burma14.tsp"
    if not path.exists():
        pytest.skip(f"{path} is not in the shared data")
    here = _agree(path, server, seed=1)
    assert here.best.feasible


def test_auto_proves_the_same_optimum_in_process_and_through_the_server(tmp_path, server):
    """Under auto a small TSP goes to an exact backend (the routing profile): in-process (the
    template's circuit structure) and through the server (LP text) it proves the same optimum,
    which brute force over the tours confirms; tied optimal tours may differ."""
    import itertools

    path = _tsplib_file(tmp_path / "rand6.tsp", 6, seed=3)
    problem = load_model(str(path), format="tsplib")
    here = qopt.solve(problem, seed=7)
    with Client(server.address) as client:
        remote = client.solve(to_lp(problem), seed=7, name=problem.name)
    assert here.confidence["proven_optimal"] and remote.confidence["proven_optimal"]
    d = problem.structure["distances"]
    best = min(sum(d[t[i]][t[(i + 1) % 6]] for i in range(6)) for t in itertools.permutations(range(6))
               if t[0] == 0)
    assert here.best.objective == pytest.approx(best) == pytest.approx(remote.best.objective)


def test_a_model_built_in_another_order_gives_the_same_candidates(tmp_path):
    """The template in-process and the same model read back from LP text (another variable order)."""
    path = _tsplib_file(tmp_path / "rand5.tsp", 5, seed=11)
    problem = load_model(str(path), format="tsplib")
    a = qopt.solve(problem, backend="sa", seed=5)
    b = qopt.solve(to_lp(problem), backend="sa", seed=5)
    assert list(problem.cqm.variables) != list(qopt.model.as_problem(to_lp(problem)).cqm.variables)
    assert _key(a.candidates) == _key(b.candidates)


def test_a_deadline_that_does_not_bind_changes_nothing(tmp_path, server):
    """An explicit backend with a generous gRPC deadline: the same candidates as without one,
    for a run of fixed size (num_restarts given; with a deadline alone the sampler plans a run
    that fills it, see qopt.solve.parameters.sa_defaults)."""
    path = _tsplib_file(tmp_path / "rand6.tsp", 6, seed=4)
    problem = load_model(str(path), format="tsplib")
    here = qopt.solve(problem, backend="sa", seed=2, num_restarts=0)
    with Client(server.address) as client:
        remote = client.solve(to_lp(problem), backend="sa", seed=2, timeout=60, num_restarts=0)
    assert remote.provenance["backend_info"]["stopped_early"] is False  # the deadline did not bind
    assert _key(here.candidates) == _key(remote.candidates)
    # the same defaults, but for the wall-clock stop that stands in for a missing deadline
    assert here.provenance["defaults"].pop("time_budget")["value"] > 0
    assert "time_budget" not in remote.provenance["defaults"]
    assert here.provenance["defaults"] == remote.provenance["defaults"]
