"""Importers round-trip; TSPLIB distances are checked against published optima (Held-Karp)."""
from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest

from qopt.model import (
    Problem,
    from_lp,
    from_mps,
    from_quadratic_program,
    load_model,
    read_qkp,
    read_tsplib,
    to_lp,
    to_mps,
    to_quadratic_program,
    write_qkp,
    write_tsplib,
)
from qopt.model.formats.qkp import parse_qkp
from qopt.model.formats.tsplib import parse_tsplib, tsplib_distances


def _mixed_problem(sense="max"):
    x, y, z = dimod.Binaries(["x", "y", "z"])
    i = dimod.Integer("i", lower_bound=-2, upper_bound=7)
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(3 * x + 2 * y - z + 1.5 * i + 2 * x * y - 0.5 * i * z + 4)
    cqm.add_constraint(x + y + z + i <= 5, label="c1")
    cqm.add_constraint(2 * x - y >= -1, label="c2")
    cqm.add_constraint(x + z + i == 3, label="c3")
    return Problem.from_cqm(cqm, sense, name="mixed")


@pytest.mark.parametrize("sense", ["min", "max"])
def test_lp_round_trip(sense):
    p = _mixed_problem(sense)
    text = to_lp(p)
    assert text.lstrip().startswith("Maximize" if sense == "max" else "Minimize")
    q = from_lp(text)
    assert q.sense == sense
    assert q.cqm.is_almost_equal(p.cqm)


def test_lp_reads_maximize_written_by_hand():
    text = "Maximize\n obj: 2 a + 3 b\nSubject To\n cap: a + b <= 1\nBinary\n a b\nEnd\n"
    p = load_model(text)
    assert p.sense == "max"
    assert p.objective({"a": 0, "b": 1}) == 3.0


@pytest.mark.parametrize("sense", ["min", "max"])
def test_mps_round_trip_through_highs(sense, tmp_path):
    p = _mixed_problem(sense)
    path = tmp_path / "m.mps"
    text = to_mps(p, path)
    assert "ROWS" in text
    q = load_model(str(path))
    assert q.sense == sense
    # HiGHS drops nothing; labels, bounds, biases and senses agree
    assert q.cqm.is_almost_equal(p.cqm)


def test_mps_ranged_row_and_hessian(tmp_path):
    text = """NAME          TEST
ROWS
 N  obj
 L  r1
 E  r2
COLUMNS
    MARKER                 'MARKER'                 'INTORG'
    x         obj       1          r1        1
    x         r2        1
    y         obj       -2         r1        1
    z         obj       1          r2        1
    MARKER                 'MARKER'                 'INTEND'
RHS
    RHS       r1        4          r2        1
RANGES
    RNG       r1        2
BOUNDS
 UP BND       x         1
 UP BND       y         1
 UP BND       z         3
QUADOBJ
    x         x         2
    x         y         3
ENDATA
"""
    p = from_mps(text)
    cqm = p.cqm
    assert set(cqm.constraints) == {"r1_lo", "r1_hi", "r2"}
    assert cqm.vartype("x") is dimod.BINARY and cqm.vartype("z") is dimod.INTEGER
    assert cqm.upper_bound("z") == 3
    # objective x - 2y + z + 1/2 (2 x^2 + 2*3 x y) = x - 2y + z + x + 3xy (x binary)
    for xv, yv, zv in itertools.product([0, 1], [0, 1], range(4)):
        s = {"x": xv, "y": yv, "z": zv}
        assert p.objective(s) == pytest.approx(xv - 2 * yv + zv + xv + 3 * xv * yv)
    assert cqm.constraints["r1_lo"].rhs == 2 and cqm.constraints["r1_hi"].rhs == 4


@pytest.mark.filterwarnings("ignore:The method ``qiskit_optimization:DeprecationWarning")
def test_quadratic_program_round_trip():
    from qiskit_optimization import QuadraticProgram
    qp = QuadraticProgram("qp")
    qp.binary_var("a")
    qp.binary_var("b")
    qp.integer_var(0, 4, "n")
    qp.maximize(constant=1.0, linear={"a": 2, "b": -1, "n": 3}, quadratic={("a", "n"): 1.5, ("a", "b"): -2})
    qp.linear_constraint({"a": 1, "b": 1, "n": 1}, "<=", 4, "cap")
    qp.linear_constraint({"a": 1, "n": -1}, ">=", -2, "lo")
    qp.quadratic_constraint({"a": 1}, {("a", "b"): 1}, "<=", 1, "q")
    p = from_quadratic_program(qp)
    assert p.sense == "max"
    # independent path: qiskit's own LP export read by dimod's LP reader
    via_lp = dimod.lp.loads(qp.export_as_lp_string())
    assert p.cqm.is_almost_equal(via_lp)
    qp2 = to_quadratic_program(p)
    assert qp2.prettyprint() == qp.prettyprint()


def test_quadratic_program_to_problem_objective_matches_qiskit():
    from qiskit_optimization import QuadraticProgram
    qp = QuadraticProgram()
    for v in "abc":
        qp.binary_var(v)
    qp.minimize(linear={"a": 1, "b": -2}, quadratic={("b", "c"): 3})
    qp.linear_constraint({"a": 1, "b": 1, "c": 1}, "==", 1, "one")
    p = from_quadratic_program(qp)
    for bits in itertools.product([0, 1], repeat=3):
        s = dict(zip("abc", bits, strict=True))
        assert p.objective(s) == pytest.approx(qp.objective.evaluate(list(bits)))
        assert p.cqm.check_feasible(s) == qp.is_feasible(list(bits))


def test_qkp_parse_and_write_round_trip():
    inst = {"name": "tiny", "profits": np.array([5, 0, 3]), "quadratic": np.array([[0, 2, 0], [0, 0, 7], [0, 0, 0]]),
            "weights": np.array([4, 2, 3]), "capacity": 6}
    text = write_qkp(inst)
    back = parse_qkp(text + "\nComments\n\nDensity : 100 %\n")
    assert back["name"] == "tiny" and back["capacity"] == 6
    np.testing.assert_array_equal(back["profits"], inst["profits"])
    np.testing.assert_array_equal(back["quadratic"], inst["quadratic"])
    np.testing.assert_array_equal(back["weights"], inst["weights"])
    p = load_model(text, format="qkp")
    # brute-force optimum: pick {1, 2} (weight 5, profit 0 + 3 + 7 = 10) vs {0, 1} (6, 5 + 0 + 2 = 7)
    best = max((p.objective(dict(zip([f"x_{i}" for i in range(3)], bits, strict=True))), bits)
               for bits in itertools.product([0, 1], repeat=3)
               if np.dot(bits, inst["weights"]) <= 6)
    assert best[0] == 10


def test_qkp_truncated_file_raises():
    with pytest.raises(ValueError, match="truncated"):
        parse_qkp("x\n3\n1 2 3\n4 5\n")


def test_qkp_shared_file(shared_data):
    p, interpret = read_qkp(shared_data / "qkp" / "jeu_100_25_1.txt")
    assert p.sense == "max" and len(p.cqm.variables) == 100
    assert p.name == "r_100_25_1"
    # the all-zero selection is feasible with profit 0
    zero = {v: 0 for v in p.cqm.variables}
    assert p.cqm.check_feasible(zero) and p.objective(zero) == 0


def _held_karp(D):
    """Exact TSP tour length by dynamic programming over subsets (Held & Karp 1962)."""
    n = D.shape[0]
    full = 1 << (n - 1)
    dp = np.full((full, n - 1), np.inf)
    for j in range(n - 1):
        dp[1 << j, j] = D[0, j + 1]
    sizes = np.array([bin(s).count("1") for s in range(full)])
    Dsub = D[1:, 1:]
    for size in range(2, n):
        for s in np.flatnonzero(sizes == size):
            members = [j for j in range(n - 1) if s >> j & 1]
            for j in members:
                prev = s ^ (1 << j)
                dp[s, j] = np.min(dp[prev, members] + Dsub[members, j])
    return float(np.min(dp[full - 1] + D[1:, 0]))


@pytest.mark.parametrize("name, optimum", [("burma14", 3323)])
def test_tsplib_geo_distances_give_published_optimum(shared_data, name, optimum):
    inst = parse_tsplib((shared_data / "tsplib" / "tsp" / f"{name}.tsp").read_text())
    D = inst["distances"]
    assert D.shape == (14, 14) and np.allclose(D, D.T)
    assert _held_karp(D) == optimum


@pytest.mark.slow
def test_tsplib_ulysses16_optimum(shared_data):
    inst = parse_tsplib((shared_data / "tsplib" / "tsp" / "ulysses16.tsp").read_text())
    assert _held_karp(inst["distances"]) == 6859


@pytest.mark.parametrize("fmt", ["FULL_MATRIX", "UPPER_ROW", "LOWER_ROW", "UPPER_DIAG_ROW", "LOWER_DIAG_ROW",
                                 "UPPER_COL", "LOWER_COL", "UPPER_DIAG_COL", "LOWER_DIAG_COL"])
def test_tsplib_explicit_formats(fmt):
    rng = np.random.default_rng(1)
    n = 6
    M = rng.integers(1, 100, size=(n, n)).astype(float)
    D = np.triu(M, 1) + np.triu(M, 1).T
    # write the section by hand from the TSPLIB95 definitions
    if fmt == "FULL_MATRIX":
        vals = D.ravel()
    else:
        diag = "DIAG" in fmt
        upper_row = fmt.startswith("UPPER") == fmt.endswith("ROW")  # UPPER_ROW == LOWER_COL (symmetric)
        vals = []
        for i in range(n):
            js = range(i if diag else i + 1, n) if upper_row else range(0, i + 1 if diag else i)
            vals.extend(D[i, j] for j in js)
    text = (f"NAME: t\nTYPE: TSP\nDIMENSION: {n}\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: {fmt}\n"
            "EDGE_WEIGHT_SECTION\n" + "\n".join(" ".join(str(int(v)) for v in vals[k:k + 7])
                                                 for k in range(0, len(vals), 7)) + "\nEOF\n")
    np.testing.assert_array_equal(parse_tsplib(text)["distances"], D)


def test_tsplib_write_round_trip_and_template():
    D = np.array([[0, 3, 4, 2], [3, 0, 1, 5], [4, 1, 0, 6], [2, 5, 6, 0]], dtype=float)
    text = write_tsplib(D, "four")
    p = load_model(text)
    assert p.name == "four"
    np.testing.assert_array_equal(parse_tsplib(text)["distances"], D)


def test_tsplib_att_and_euc_formulas():
    # ATT: pseudo-Euclidean, rounded up (TSPLIB95 section 2.5)
    c = np.array([[0.0, 0.0], [30.0, 40.0]])
    r = np.sqrt((30 ** 2 + 40 ** 2) / 10.0)  # 15.81 -> nint 16 >= r -> 16
    assert tsplib_distances(c, "ATT")[0, 1] == 16 and round(r) == 16
    assert tsplib_distances(c, "EUC_2D")[0, 1] == 50
    assert tsplib_distances(np.array([[0.0, 0.0], [1.0, 1.0]]), "CEIL_2D")[0, 1] == 2


def test_read_tsplib_shared(shared_data):
    p, interpret = read_tsplib(shared_data / "tsplib" / "tsp" / "burma14.tsp")
    assert p.name == "burma14" and len(p.cqm.variables) == 13 * 13


def test_load_model_cqm_file(tmp_path):
    p = _mixed_problem("min")
    path = tmp_path / "m.cqm"
    with open(path, "wb") as f:
        f.write(p.cqm.to_file().read())
    q = load_model(str(path))
    assert q.cqm.is_equal(p.cqm)


def test_load_model_unknown_text():
    with pytest.raises(ValueError, match="format"):
        load_model("hello world\nthis is not a model\n")


def test_load_model_guesses_formats_from_text():
    p = _mixed_problem("max")
    assert load_model(to_mps(p)).cqm.is_almost_equal(p.cqm)
    assert load_model(to_lp(p)).sense == "max"
    inst = {"name": "g", "profits": [1, 2], "quadratic": [[0, 3], [0, 0]], "weights": [1, 1], "capacity": 1}
    q = load_model(write_qkp(inst))
    assert q.sense == "max" and len(q.cqm.variables) == 2


def test_spin_variables_export_as_binary():
    s, t = dimod.Spins("st")
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(s * t + s)
    p = Problem.from_cqm(cqm)
    q = from_lp(to_lp(p))
    # s = 2 b - 1: same objective values on corresponding assignments
    for bs, bt in itertools.product([0, 1], repeat=2):
        assert q.objective({"s": bs, "t": bt}) == p.objective({"s": 2 * bs - 1, "t": 2 * bt - 1})
