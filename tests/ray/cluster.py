"""A real Ray cluster on loopback for the tests and benchmarks: a head node and a second
worker node, each a ``ray start --block`` process in its own process group, on 127.0.0.2
(Ray replaces 127.0.0.1 with the machine's external address), with token authentication on
and the token passed explicitly to every process (never read from or written to
``~/.ray/auth_token``). Stopped by process group, never with ``ray stop`` (which stops every
Ray process of the user)."""
from __future__ import annotations

import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NODE_IP = "127.0.0.2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((NODE_IP, 0))
        return s.getsockname()[1]


class LocalCluster:
    """``LocalCluster(num_nodes=2, cpus_per_node=1)``: :meth:`start`, :attr:`address`,
    :meth:`env` (what a driver needs), :meth:`stop`."""

    def __init__(self, *, num_nodes: int = 2, cpus_per_node: int = 1, memory_bytes: int = 512 * 1024 ** 2):
        self.num_nodes = num_nodes
        self.cpus_per_node = cpus_per_node
        self.memory_bytes = memory_bytes
        self.token = secrets.token_hex(32)
        self.port = _free_port()
        self.address = f"{NODE_IP}:{self.port}"
        self.temp_dir = tempfile.mkdtemp(prefix="qray")
        self.procs: list[subprocess.Popen] = []
        ray_bin = pathlib.Path(sys.executable).with_name("ray")
        self.ray = str(ray_bin) if ray_bin.exists() else "ray"

    def env(self) -> dict:
        """Environment of every process of the cluster (and of drivers): token auth on, the
        token itself, qopt importable."""
        import qopt

        env = dict(os.environ)
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token, RAY_USAGE_STATS_ENABLED="0",
                   PYTHONPATH=os.pathsep.join([str(pathlib.Path(qopt.__file__).resolve().parents[1]),
                                               env.get("PYTHONPATH", "")]))
        return env

    def _start(self, args: list[str]) -> subprocess.Popen:
        proc = subprocess.Popen([self.ray, "start", "--block", "--node-ip-address", NODE_IP,
                                 "--num-cpus", str(self.cpus_per_node), "--memory", str(self.memory_bytes),
                                 "--disable-usage-stats", *args], env=self.env(), start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 120.0, *, wait: bool = True) -> "LocalCluster":
        """Start the head, and the other nodes as soon as the head's GCS port accepts
        connections. ``wait``: return once every node is alive (checked from a separate
        driver process); False: return at once (a driver in this process then calls
        :meth:`wait_alive` with its own ``ray.nodes``, which saves that process's start-up)."""
        self._start(["--head", "--port", str(self.port), "--include-dashboard=false", "--temp-dir", self.temp_dir,
                     "--dashboard-port", str(_free_port()), "--ray-client-server-port", str(_free_port()),
                     "--dashboard-host", NODE_IP])
        self._wait_port(timeout)
        for _ in range(self.num_nodes - 1):
            self._start(["--address", self.address])
        if wait:
            self._wait_nodes(self.num_nodes, timeout)
        return self

    def _check_running(self) -> None:
        if any(p.poll() is not None for p in self.procs):
            raise RuntimeError("a ray start process exited")

    def _wait_port(self, timeout: float) -> None:
        """Until the head's GCS port accepts a TCP connection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_running()
            with socket.socket() as s:
                s.settimeout(1.0)
                if s.connect_ex((NODE_IP, self.port)) == 0:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"the Ray head did not open {self.address} in {timeout:g} s")

    def wait_alive(self, nodes, timeout: float = 120.0) -> None:
        """Until ``nodes()`` (a connected driver's ``ray.nodes``) lists every node alive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_running()
            if sum(1 for x in nodes() if x["Alive"]) >= self.num_nodes:
                return
            time.sleep(0.2)
        raise TimeoutError(f"the Ray cluster did not reach {self.num_nodes} nodes in {timeout:g} s")

    def _wait_nodes(self, n: int, timeout: float) -> None:
        code = ("import ray,sys; ray.init(address=sys.argv[1], _node_ip_address=sys.argv[2], log_to_driver=False);"
                "print(sum(1 for x in ray.nodes() if x['Alive']))")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_running()
            out = subprocess.run([sys.executable, "-c", code, self.address, NODE_IP], env=self.env(),
                                 capture_output=True, text=True, timeout=timeout)
            if out.returncode == 0 and out.stdout.strip().isdigit() and int(out.stdout.strip()) >= n:
                return
            time.sleep(1.0)
        raise TimeoutError(f"the Ray cluster did not reach {n} nodes in {timeout:g} s")

    def stop(self, grace: float = 3.0) -> None:
        """Stop every process of the cluster by its process group (SIGTERM, then SIGKILL
        after ``grace`` seconds), and the worker processes (their own process groups) by
        their pids."""
        import psutil

        workers = []
        for proc in self.procs:
            try:
                workers += [c for c in psutil.Process(proc.pid).children(recursive=True)
                            if os.getpgid(c.pid) != proc.pid]
            except (psutil.Error, ProcessLookupError):
                pass
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        # `ray start --block` stops its node's processes one after another on SIGTERM (tens of
        # seconds on a loaded 2-core machine): a short grace, then SIGKILL to the whole group
        deadline = time.monotonic() + grace
        for proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for worker in workers:
            try:
                worker.kill()
            except psutil.Error:
                pass
        self.procs.clear()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def solving_worker_pids(cluster: LocalCluster, task_name: str = "_solve_task") -> list[int]:
    """Pids of the cluster's worker processes running ``task_name`` now (Ray titles a busy
    worker ``ray::<task name>``)."""
    import psutil

    pids = []
    for proc in cluster.procs:
        try:
            for child in psutil.Process(proc.pid).children(recursive=True):
                if " ".join(child.cmdline()).startswith(f"ray::{task_name}"):
                    pids.append(child.pid)
        except psutil.Error:
            pass
    return pids
