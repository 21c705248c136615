"""Faults: the server process is SIGKILLed with jobs queued and running, then restarted on
the same store: every accepted job reaches a terminal state, none lost or duplicated, each
result belongs to its own problem. Corrupted or locked store files stop start-up with a
clear message and a non-zero exit."""
from __future__ import annotations

import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time

import dimod
import numpy as np
import pytest

from qopt.client import Client
from qopt.problem_hash import bqm_sha256
from qopt.service.store import JobStore

REPO = pathlib.Path(__file__).resolve().parents[2]


def _env():
    """The child imports the same qopt as this test (installed, or the source tree in the
    developer loop)."""
    import qopt

    env = dict(os.environ)
    env["PYTHONPATH"] = str(pathlib.Path(qopt.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _start(store, *extra):
    proc = subprocess.Popen([sys.executable, "-m", "qopt", "serve", "--address", "127.0.0.1:0", "--store", str(store),
                             "--log-level", "warning", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())
    line = proc.stdout.readline().strip()
    if not line.startswith("qopt serving on "):
        proc.kill()
        raise AssertionError(f"server did not start: {line!r} {proc.stderr.read()}")
    return proc, line.split()[3]


def _serve_fails(store, timeout=30):
    proc = subprocess.run([sys.executable, "-m", "qopt", "serve", "--address", "127.0.0.1:0", "--store", str(store)],
                          capture_output=True, text=True, env=_env(), timeout=timeout)
    return proc.returncode, proc.stderr


def test_sigkill_with_jobs_queued_and_running_loses_nothing(tmp_path):
    store = tmp_path / "jobs.sqlite"
    # each job anneals for about 1.5 s here, so jobs are still queued and running at the kill
    bqms = [dimod.generators.gnp_random_bqm(40, 0.5, dimod.SPIN, random_state=100 + i) for i in range(6)]
    proc, address = _start(store, "--job-workers", "1")
    try:
        with Client(address) as c:
            c.wait_until_ready(10)
            ids = [c.submit(b, backend="sa", num_reads=8, num_sweeps=3_000_000, seed=i, request_id=f"fault-{i}").job_id
                   for i, b in enumerate(bqms)]
            deadline = time.monotonic() + 30
            while c.job(ids[0]).state == "QUEUED" and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    with sqlite3.connect(store) as db:  # what the store says at the moment of the kill
        at_kill = dict(db.execute("SELECT job_id, state FROM jobs").fetchall())
    assert sorted(at_kill) == sorted(ids)  # every accepted job was persisted
    assert 1 in at_kill.values() and 2 in at_kill.values()  # jobs were QUEUED and RUNNING

    proc, address = _start(store, "--job-workers", "2")
    try:
        with Client(address) as c:
            c.wait_until_ready(10)
            # resubmitting with the same request_ids returns the same jobs: no duplicates
            again = [c.submit(b, backend="sa", num_reads=8, num_sweeps=3_000_000, seed=i, request_id=f"fault-{i}").job_id
                     for i, b in enumerate(bqms)]
            assert again == ids
            for job_id, bqm in zip(ids, bqms, strict=True):
                result = c.job(job_id).result(timeout=60)
                assert result.provenance["problem_sha256"] == bqm_sha256(bqm)
                ss = result.to_sampleset()
                np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
            listed = [j.job_id for j in c.list_jobs()]
            assert sorted(listed) == sorted(ids) and len(listed) == len(set(listed))
            attempts = {j: c.job(j).get().attempt for j in ids}
            assert all(a >= 1 for a in attempts.values())
            for j in ids:
                # a job RUNNING at the kill was re-queued and started again; the others ran once
                assert attempts[j] == (2 if at_kill[j] == 2 else 1), (at_kill, attempts)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0


def test_corrupted_store_gives_clear_error(tmp_path):
    bad = tmp_path / "jobs.sqlite"
    bad.write_bytes(b"this is not a database" * 200)
    rc, err = _serve_fails(bad)
    assert rc != 0
    assert str(bad) in err and "corrupted" in err and "mv " in err


def test_truncated_store_gives_clear_error(tmp_path):
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\x00" * 50 + data[150:])  # damage the header
    rc, err = _serve_fails(path)
    assert rc != 0 and str(path) in err


def test_store_locked_by_another_process(tmp_path):
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        rc, err = _serve_fails(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert rc != 0
    assert str(path) in err and "locked" in err


def test_second_server_on_same_store_is_refused(tmp_path):
    path = tmp_path / "jobs.sqlite"
    proc, _ = _start(path)
    try:
        rc, err = _serve_fails(path)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        proc.stdout.close()
        proc.stderr.close()
    assert rc != 0 and str(path) in err and "another qopt server" in err


def test_unwritable_store_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    rc, err = _serve_fails(blocker / "sub" / "jobs.sqlite")
    assert rc != 0 and "jobs.sqlite" in err


@pytest.mark.parametrize("content", [b"", b"SQLite format 3\x00"])
def test_empty_or_header_only_file(tmp_path, content):
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(content)
    if content:
        rc, err = _serve_fails(path)
        assert rc != 0 and str(path) in err
    else:  # an empty file is a valid empty database
        JobStore(path).close()
