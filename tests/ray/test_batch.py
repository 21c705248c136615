"""Batches without a cluster: ``qopt.solve_many`` on threads, ``run_batch`` (streaming,
retries of lost runs, one answer per problem), ``SolveBatch`` over gRPC, the executor
choice and its install hint, and Ray resource requests from the cost model."""
from __future__ import annotations

import sys
import threading

import grpc
import numpy as np
import pytest

import qopt
from qopt.client import Client, SolveError
from qopt.errors import BackendUnavailable, MemoryLimitError, ParameterError
from qopt.io.readers import read_instance
from qopt.service import cost
from qopt.service.executor import InProcessExecutor, make_executor, run_batch
from qopt.service.executor_call import SolveCall
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server

SA = dict(num_reads=16, num_sweeps=500, seed=11)


def _energies_match(result, bqm) -> None:
    samples = np.array([[c.sample[v] for v in bqm.variables] for c in result.candidates])
    np.testing.assert_allclose(bqm.energies((samples, list(bqm.variables))), [c.energy for c in result.candidates],
                               atol=1e-6)


def test_solve_many_answers_each_problem_in_submission_order():
    instances = [read_instance("gka1b"), read_instance("bqp50", problem=2), read_instance("gka1a")]
    items = list(qopt.solve_many([inst.bqm for inst in instances], "sa", **SA))
    assert [item.index for item in items] == [0, 1, 2]
    for inst, item in zip(instances, items, strict=True):
        assert item.error is None
        _energies_match(item.result, inst.bqm)
    # gka1b (20 variables): 16 reads reach the published optimum
    assert items[0].result.best.energy == pytest.approx(instances[0].best_known_energy)
    # the same seed gives the same answer as one qopt.solve call
    alone = qopt.solve(instances[1].bqm, "sa", **SA)
    assert items[1].result.best.energy == alone.best.energy


class _Gated:
    """Problem 0 finishes only after problem 1 has been answered; problem 2 is lost once."""

    name = "gated"

    def __init__(self):
        self.first_answered = threading.Event()
        self.runs = {0: 0, 1: 0, 2: 0}
        self.lock = threading.Lock()

    def run(self, call, *, cancel=None, on_progress=None, estimate=None):
        with self.lock:
            self.runs[call.problem] += 1
            runs = self.runs[call.problem]
        if call.problem == 0:
            assert self.first_answered.wait(10), "problem 1 was not streamed before problem 0 finished"
        if call.problem == 2 and runs == 1:
            raise BackendUnavailable("worker lost", backend="ray")
        return call.problem

    def close(self):
        pass


def test_run_batch_streams_as_they_finish_and_retries_a_lost_run_once():
    gated = _Gated()
    seen = []
    for item in run_batch(gated, [SolveCall(i) for i in range(3)], max_parallel=3, max_attempts=3):
        seen.append(item)
        if item.index == 1:
            gated.first_answered.set()
    order = [item.index for item in seen]
    assert order.index(1) < order.index(0)  # completion order, not submission order
    assert sorted(item.index for item in seen) == [0, 1, 2]  # each answered exactly once
    assert [item.result for item in sorted(seen, key=lambda i: i.index)] == [0, 1, 2]
    assert {item.index: item.attempts for item in seen}[2] == 2
    assert gated.runs == {0: 1, 1: 1, 2: 2}


def test_run_batch_gives_up_after_max_attempts_with_the_reason():
    class Lost:
        name = "lost"

        def run(self, call, **_):
            raise BackendUnavailable("the Ray task was lost (WorkerCrashedError)", backend="ray")

        def close(self):
            pass

    (item,) = run_batch(Lost(), [SolveCall(0)], max_parallel=1, max_attempts=2)
    assert isinstance(item.error, BackendUnavailable) and "WorkerCrashedError" in str(item.error)
    assert item.attempts == 2


def test_executor_names_and_the_install_hint(monkeypatch):
    assert isinstance(make_executor("thread"), InProcessExecutor)
    with pytest.raises(ParameterError) as info:
        make_executor("dask")
    assert info.value.field == "executor"
    with pytest.raises(ParameterError):
        ServiceConfig(executor="dask")
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray "not installed"
    with pytest.raises(ImportError, match=r'pip install "qopt\[ray\]"'):
        make_executor("ray")
    with pytest.raises(ImportError, match=r'pip install "qopt\[ray\]"'):
        list(qopt.solve_many([read_instance("gka1b").bqm], "sa", executor="ray"))


def test_the_default_executor_is_in_process():
    assert ServiceConfig().executor == "thread"
    with Server("127.0.0.1:0") as server:
        assert isinstance(server.jobs.executor, InProcessExecutor)


def test_ray_resources_follow_the_cost_model():
    pytest.importorskip("ray")
    from qopt.service.executor_ray import pack_problem, ray_options, unpack_problem

    # 26 qubits: the statevector engine's bytes (16 x 2^26 per state, several states)
    big = cost.estimate("qaoa", 26, 325, {"reps": 1})
    assert big.memory_bytes > 16 * 2 ** 26
    with pytest.raises(MemoryLimitError) as info:
        ray_options(big, max_cpus=2, max_memory=512 * 1024 ** 2)
    assert info.value.needed == big.memory_bytes
    assert ray_options(big, max_cpus=2, max_memory=64 * 1024 ** 3)["memory"] == big.memory_bytes
    sa = cost.estimate("sa", 100, 495, {"num_reads": 8, "num_threads": 4})
    assert ray_options(sa, max_cpus=2, max_memory=1e9)["num_cpus"] == 2  # 4 threads, capped to the largest node
    assert ray_options(sa, max_cpus=16, max_memory=1e9)["num_cpus"] == 4
    bqm = read_instance("gka1b").bqm
    assert unpack_problem(pack_problem(bqm)) == bqm


@pytest.fixture(scope="module")
def batch_server():
    with Server("127.0.0.1:0", config=ServiceConfig(max_batch_size=4, max_batch_parallel=2)) as server:
        yield server


def test_solve_batch_streams_one_answer_per_problem_with_its_own_error(batch_server):
    gka, bqp = read_instance("gka1b"), read_instance("bqp50", problem=3)
    with Client(batch_server.address) as client:
        items = list(client.solve_many([gka.bqm, bqp.bqm], "sa", timeout=60, **SA))
        assert [item.index for item in items] == [0, 1]
        for inst, item in zip((gka, bqp), items, strict=True):
            _energies_match(item.result, inst.bqm)
            assert item.result.provenance["parameters"]["seed"] == SA["seed"]
        assert items[0].result.best.energy == pytest.approx(gka.best_known_energy)
        # a bad parameter fails that problem only
        bad = list(client.solve_many([gka.bqm, gka.bqm], "sa", timeout=60, num_reads=-1))
        assert all(isinstance(item.error, SolveError) for item in bad)
        assert bad[0].error.code == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(SolveError) as info:
            list(client.solve_many([gka.bqm] * 5, "sa", timeout=60, **SA))
        assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "max_batch_size" in str(info.value)
