"""Simulated annealing reaches the proven optima of Biq Mac instances (Wiegele 2007;
Rendl, Rinaldi & Wiegele 2010), read with qopt.io."""
import csv

import pytest

import qopt
from qopt.data import best_known
from qopt.io import read_instance


@pytest.mark.parametrize("name", ["pm1s_80.0", "pw01_100.0", "gka1a", "gka1b"])
def test_shipped_biqmac_optimum(name):
    inst = read_instance(name)
    ss = qopt.SimulatedAnnealingSampler().sample(inst.bqm, num_reads=64, num_sweeps=2000, seed=7, num_threads=2)
    assert inst.to_objective(ss.first.energy) == pytest.approx(best_known(name))


SHARED = ["rudy/g05_60.0", "rudy/g05_100.0", "gka/gka2a.sparse", "be/be100.1.sparse",
          "rudy/pm1d_100.0"]


@pytest.mark.parametrize("rel", SHARED)
def test_shared_biqmac_optimum(shared_data, rel):
    path = shared_data / "biqmac" / rel
    if not path.exists():
        pytest.skip(f"{rel} is not in this copy of the data")
    inst = read_instance(path)
    with open(shared_data / "best_known.csv", newline="") as fh:
        rows = {r["instance"]: r for r in csv.DictReader(fh)}
    row = rows[inst.name]
    assert row["status"].startswith("optimal")
    ss = qopt.SimulatedAnnealingSampler().sample(inst.bqm, num_reads=64, num_sweeps=4000, seed=3, num_threads=2)
    assert inst.to_objective(ss.first.energy) == pytest.approx(float(row["best_known"]))
