"""Fixtures of the Ray tests: one real Ray cluster (a head and a second worker node on
127.0.0.2, token auth on; :mod:`tests.ray.cluster`), and this process connected to it as a
driver. Skipped, with the reason, only when Ray is not importable; a cluster that does not
start is an error.

The cluster is shared by every test of a module and stopped when the module's tests are done
(module scope). Every cluster test lives in ``test_ray_jobs.py``, so the whole Ray part of a
run starts one cluster, and the rest of the quick suite does not run beside it (its idle
processes, a few percent of a CPU and several hundred MB, and a connected driver in this
process)."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from cluster import NODE_IP, LocalCluster
    from ray._raylet import AuthenticationTokenLoader, Config

    cluster = LocalCluster(num_nodes=2, cpus_per_node=1)
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "QOPT_RAY_NODE_IP")}
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=cluster.token, QOPT_RAY_NODE_IP=NODE_IP)
    # this process imported Ray before the token existed: re-read the mode and the token
    # (what a driver started with RAY_AUTH_MODE/RAY_AUTH_TOKEN in its environment does at import)
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()
    try:
        cluster.start(wait=False)
        ray.init(address=cluster.address, _node_ip_address=NODE_IP, log_to_driver=False)
        cluster.wait_alive(ray.nodes)
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
