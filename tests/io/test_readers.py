"""Readers: conventions checked by brute force on tiny files, shipped files by their published
sizes and optima (HiGHS MILP on a linearisation, dimod.ExactSolver)."""
from __future__ import annotations

import gzip
import io
import itertools

import dimod
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from qopt import data
from qopt.io import (
    FORMATS,
    cut_value,
    read_bqp,
    read_bqp_all,
    read_gset,
    read_instance,
    read_sparse,
)
from qopt.model.formats.detect import detect_format


def all_assignments(n, values):
    return np.array(list(itertools.product(values, repeat=n)), dtype=np.int8)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


# --------------------------------------------------------------------- gset / MaxCut

GSET = """4 5
1 2 1
2 3 2
3 4 -1
1 4 1
2 3 0.5
"""


def test_gset_convention_matches_brute_force_cut(tmp_path):
    p = write(tmp_path, "tiny.txt", GSET)
    bqm = read_gset(p)
    assert bqm.vartype is dimod.SPIN
    assert sorted(bqm.variables) == [0, 1, 2, 3]
    edges = [(0, 1, 1.0), (1, 2, 2.0), (2, 3, -1.0), (0, 3, 1.0), (1, 2, 0.5)]
    S = all_assignments(4, (-1, 1))
    cuts = np.array([sum(w for i, j, w in edges if s[i] != s[j]) for s in S])
    W = sum(w for *_, w in edges)
    energies = bqm.energies((S, range(4)))
    np.testing.assert_allclose((W - energies) / 2, cuts)
    np.testing.assert_allclose(cut_value(bqm, (S, range(4))), cuts)
    inst = read_instance(p)
    assert inst.format == "gset" and inst.sense == "max" and inst.objective_name == "cut value"
    np.testing.assert_allclose(inst.to_objective(energies), cuts)
    best = dimod.ExactSolver().sample(bqm).first
    assert inst.to_objective(best.energy) == pytest.approx(cuts.max())
    assert inst.to_energy(cuts.max()) == pytest.approx(best.energy)


def test_gset_self_loop_is_never_cut(tmp_path):
    bqm = read_gset(write(tmp_path, "loop.txt", "2 2\n1 1 3\n1 2 1\n"))
    for s, cut in [((1, 1), 0.0), ((1, -1), 1.0)]:
        assert cut_value(bqm, [s])[0] == pytest.approx(cut)


def test_gset_from_file_object_and_gzip(tmp_path):
    bqm = read_gset(io.StringIO(GSET))
    p = tmp_path / "tiny.txt.gz"
    p.write_bytes(gzip.compress(GSET.encode()))
    assert read_gset(p) == bqm


def test_shipped_g1_sizes():
    inst = read_instance(data.instance_path("G1"))
    assert inst.name == "G1"
    assert len(inst.bqm) == 800 and inst.bqm.num_interactions == 19176
    assert inst.best_known == 11624
    # all-equal spins cut nothing
    assert inst.to_objective(inst.bqm.energy({v: 1 for v in inst.bqm.variables})) == 0


# --------------------------------------------------------------------- OR-Library bqp

BQP = """2
 3 4
 1 1 5
 1 2 -3
 2 3 4
 3 3 -2
 2 2
 1 1 -1
 1 2 2
"""


def bqp_objective(x, entries):
    return sum(q * x[i] if i == j else 2 * q * x[i] * x[j] for i, j, q in entries)


def test_bqp_convention_matches_brute_force(tmp_path):
    p = write(tmp_path, "bqptiny.txt", BQP)
    problems = {1: [(0, 0, 5), (0, 1, -3), (1, 2, 4), (2, 2, -2)], 2: [(0, 0, -1), (0, 1, 2)]}
    for k, entries in problems.items():
        bqm = read_bqp(p, problem=k)
        assert bqm.vartype is dimod.BINARY
        n = len(bqm)
        X = all_assignments(n, (0, 1))
        f = np.array([bqp_objective(x, entries) for x in X])
        np.testing.assert_allclose(bqm.energies((X, range(n))), -f)
        inst = read_instance(p, problem=k)
        assert inst.name == f"bqptiny-{k}" and inst.sense == "max"
        best = dimod.ExactSolver().sample(bqm).first
        assert inst.to_objective(best.energy) == pytest.approx(f.max())
    assert [len(b) for b in read_bqp_all(p)] == [3, 2]


def test_bqp_gzip(tmp_path):
    p = tmp_path / "bqpz.txt.gz"
    p.write_bytes(gzip.compress(BQP.encode()))
    assert read_bqp(p, 2) == read_bqp(write(tmp_path, "bqpz.txt", BQP), 2)


def linearised_qubo_minimum(bqm: dimod.BinaryQuadraticModel) -> float:
    """Exact minimum of a BINARY bqm by HiGHS (scipy.optimize.milp) on the standard
    linearisation y_ij = x_i x_j (only the side of the linearisation the sign needs)."""
    n = len(bqm)
    lin, (ir, ic, qv), off = bqm.to_numpy_vectors(variable_order=range(n))
    m = len(qv)
    c = np.concatenate([lin, qv])
    rows, lo, hi = [], [], []
    for k, (i, j, q) in enumerate(zip(ir, ic, qv, strict=True)):
        if q < 0:  # minimisation pushes y up: y <= x_i, y <= x_j
            for a in (i, j):
                r = np.zeros(n + m); r[n + k] = 1; r[a] = -1
                rows.append(r); lo.append(-np.inf); hi.append(0)
        else:      # pushes y down: y >= x_i + x_j - 1
            r = np.zeros(n + m); r[n + k] = 1; r[i] = -1; r[j] = -1
            rows.append(r); lo.append(-1); hi.append(np.inf)
    res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi),
               integrality=np.r_[np.ones(n), np.zeros(m)], bounds=Bounds(0, 1))
    assert res.status == 0, res.message
    x = np.round(res.x[:n]).astype(int)
    return float(bqm.energy(dict(zip(range(n), x, strict=True))))  # re-score the solution itself


@pytest.mark.parametrize("k", [1, 2, 3])
def test_bqp50_published_optimum_via_highs(k):
    inst = read_instance(data.instance_path("bqp50"), problem=k)
    assert len(inst.bqm) == 50
    assert inst.to_objective(linearised_qubo_minimum(inst.bqm)) == pytest.approx(inst.best_known)


def test_bqp50_all_problems_sizes():
    bqms = read_bqp_all(data.instance_path("bqp50"))
    assert len(bqms) == 10 and all(len(b) == 50 for b in bqms)


# --------------------------------------------------------------------- Biq Mac .sparse

SPARSE = """3 5
1 1 -4
1 2 3
2 2 1
2 3 -2
3 3 1
"""


def test_sparse_convention_matches_brute_force(tmp_path):
    p = write(tmp_path, "tiny.sparse", SPARSE)
    bqm = read_sparse(p)
    entries = [(0, 0, -4), (0, 1, 3), (1, 1, 1), (1, 2, -2), (2, 2, 1)]
    X = all_assignments(3, (0, 1))
    f = np.array([bqp_objective(x, entries) for x in X])
    np.testing.assert_allclose(bqm.energies((X, range(3))), f)
    inst = read_instance(p)
    assert inst.format == "sparse" and inst.sense == "min" and inst.name == "tiny"
    np.testing.assert_allclose(inst.to_objective(f), f)


def test_gka1b_published_optimum_by_exhaustive_search():
    inst = read_instance("gka1b")
    assert len(inst.bqm) == 20
    best = dimod.ExactSolver().sample(inst.bqm).first.energy
    assert inst.to_objective(best) == inst.best_known == -133


def test_gka1a_published_optimum_via_highs():
    inst = read_instance("gka1a")
    assert inst.to_objective(linearised_qubo_minimum(inst.bqm)) == pytest.approx(-3414)


# --------------------------------------------------------------------- dispatch and errors

def test_detect_format_among_instance_formats():
    assert detect_format("x/G1.txt", among=FORMATS) == "gset"
    assert detect_format("pm1s_80.0", among=FORMATS) == "gset"
    assert detect_format("bqp1000.txt.gz", among=FORMATS) == "bqp"
    assert detect_format("gka1a.sparse", among=FORMATS) == "sparse"


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "file is empty"),
        ("3\n", "line 1"),
        ("3 2\n1 2 1\n", r"expected 2 entries"),
        ("3 1\n1 2\n", "line 2"),
        ("3 1\n1 x 1\n", "line 2"),
        ("3 1\n1 4 1\n", r"line 2.*out of range"),
        ("3 1\n0 1 1\n", r"line 2.*out of range"),
        ("3 1\n1 2 1\n2 3 1\n", r"line 3.*extra"),
        ("3 1\n1 2 nan\n", r"line 2.*finite"),
    ],
)
def test_gset_malformed(tmp_path, text, match):
    with pytest.raises(ValueError, match=match) as exc:
        read_gset(write(tmp_path, "bad.txt", text))
    assert str(exc.value).startswith("path ")


def test_bqp_errors(tmp_path):
    p = write(tmp_path, "bqpbad.txt", BQP)
    with pytest.raises(ValueError, match=r"problem must be in 1\.\.2"):
        read_bqp(p, problem=3)
    with pytest.raises(ValueError, match="problem must be an integer"):
        read_bqp(p, problem=0)
    with pytest.raises(ValueError, match="header says 3 problems, found 2"):
        read_bqp(write(tmp_path, "bqpshort.txt", "3" + BQP[1:]), problem=3)


def test_read_instance_errors(tmp_path):
    with pytest.raises(ValueError, match="^path must name an existing file"):
        read_instance(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="^path must name an existing file"):
        read_gset(tmp_path / "missing.txt")
    p = write(tmp_path, "g.txt", GSET)
    with pytest.raises(ValueError, match="^format must be one of"):
        read_instance(p, format="lp")
    with pytest.raises(ValueError, match="^problem applies to the bqp format only"):
        read_instance(p, problem=2)


def test_data_helpers():
    assert data.best_known("bqp50-10") == 3507
    assert data.best_known("nope") is None
    assert data.instance_path("bqp50-4") == data.instance_path("bqp50")
    assert set(data.instance_names()) >= {"G1", "bqp50", "gka1a"}
    with pytest.raises(ValueError, match="^name must be one of"):
        data.instance_path("G999")


# --------------------------------------------------------------------- the shared data set

@pytest.mark.shared_data
def test_shared_data_sizes_match_published_table(shared_data):
    """Every bqp50/100/250, Biq Mac and small Gset file reads with the published n (and,
    for MaxCut, the published edge count)."""
    import csv

    checked = 0
    with open(shared_data / "best_known.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["set"] not in ("gset", "orlib_bqp", "biqmac_rudy", "biqmac_ising", "biqmac_gka", "biqmac_be"):
                continue
            if row["set"] == "gset" and int(row["n"]) > 800:
                continue
            if "bqp1000" in row["file"]:
                continue
            path = shared_data / row["file"]
            problem = int(row["instance"].rsplit("-", 1)[1]) if row["set"] == "orlib_bqp" else None
            inst = read_instance(path, problem=problem)
            assert len(inst.bqm) == int(row["n"]), row["instance"]
            if inst.format == "gset":
                assert inst.bqm.num_interactions == int(row["m_or_nnz"]), row["instance"]
            checked += 1
    assert checked > 200


# --------------------------------------------------------------------- fuzz: only ValueError escapes


_token = st.one_of(st.integers(-3, 6).map(str), st.sampled_from(["x", "1.5", "nan", "-", "1e3", "#"]))
_line = st.lists(_token, min_size=0, max_size=4).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(_line, min_size=0, max_size=8))
def test_readers_raise_only_value_error_on_garbage(lines):
    text = "\n".join(lines)
    for reader in (read_gset, read_sparse, read_bqp):
        try:
            bqm = reader(io.StringIO(text))
        except ValueError:
            continue
        assert all(isinstance(v, int) for v in bqm.variables)
