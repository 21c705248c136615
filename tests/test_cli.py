"""The qopt command line, in-process and through a server, on shipped instances with
published optima (OR-Library bqp50: Beasley 1998, optima re-proved with HiGHS)."""
import json
import subprocess
import sys

import pytest

from qopt.cli import main
from qopt.data import best_known, instance_path


@pytest.mark.parametrize("problem", [1, 3])
def test_solve_bqp_reaches_published_optimum(problem, capsys):
    path = instance_path("bqp50")
    code = main(["solve", str(path), "--format", "bqp", "--problem", str(problem), "--backend", "sa", "--num-reads", "20",
                 "--num-sweeps", "1000", "--seed", "5", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["instance"]["name"] == f"bqp50-{problem}"
    assert out["candidates"][0]["objective"] == pytest.approx(best_known(f"bqp50-{problem}"))
    assert out["provenance"]["parameters"]["seed"] == 5


def test_solve_table_through_server(capsys):
    from qopt.service.server import Server

    with Server("127.0.0.1:0") as server:
        code = main(["solve", str(instance_path("pm1s_80.0")), "--server", server.address, "--num-reads", "10",
                     "--num-sweeps", "500", "--seed", "1", "--top", "3"])
    assert code == 0
    out = capsys.readouterr().out
    assert "cut value" in out and "timing:" in out
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 3


def test_bad_file_and_format_are_reported(tmp_path, capsys):
    assert main(["solve", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("3 1\n1 9 1\n")
    assert main(["solve", str(bad), "--format", "gset"]) == 2
    assert "bad.txt" in capsys.readouterr().err


def test_unknown_parameter_is_reported(capsys):
    code = main(["solve", str(instance_path("gka1a")), "--param", "num_reeds=3"])
    assert code == 2  # invalid input: the usage class of qopt.cli.exit_codes
    assert "num_reeds" in capsys.readouterr().err


def test_module_entry_point_help():
    proc = subprocess.run([sys.executable, "-m", "qopt", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "solve" in proc.stdout


LP = """Maximize
 obj: 3 x + 2 y + 4 z + [ 4 x * y ] / 2
Subject To
 cap: x + y + z <= 2
Binary
 x y z
End
"""


def _lp_optimum():
    import itertools

    best = None
    for x, y, z in itertools.product([0, 1], repeat=3):
        if x + y + z <= 2:
            value = 3 * x + 2 * y + 4 * z + 2 * x * y
            best = value if best is None else max(best, value)
    return best


@pytest.mark.parametrize("through_server", [False, True])
def test_solve_lp_file_reports_objective_in_its_own_sense(tmp_path, capsys, through_server):
    from qopt.service.server import Server

    path = tmp_path / "model.lp"
    path.write_text(LP)
    args = ["solve", str(path), "--backend", "sa", "--num-reads", "30", "--seed", "2", "--json"]
    if through_server:
        with Server("127.0.0.1:0") as server:
            assert main([*args, "--server", server.address]) == 0
    else:
        assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    best = out["candidates"][0]
    assert best["feasible"] is True and best["objective"] == pytest.approx(_lp_optimum())
    assert out["confidence"]["feasible_found"] is True and "(max)" in out["confidence"]["message"]


def test_solve_qkp_instance_within_one_percent(shared_data, capsys):
    path = shared_data / "qkp" / "jeu_100_25_1.txt"
    assert main(["solve", str(path), "--format", "qkp", "--backend", "sa", "--num-reads", "50", "--seed", "1",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    import csv

    with open(shared_data / "best_known.csv") as fh:
        best_known = {r["instance"]: float(r["best_known"]) for r in csv.DictReader(fh) if r["best_known"]}
    bk = best_known["jeu_100_25_1"]
    best = out["candidates"][0]
    assert best["feasible"] and 0.99 * bk <= best["objective"] <= bk


def test_solve_detects_a_model_file_by_its_content(tmp_path, capsys):
    """No --format and no telling extension: the shared detector reads the first bytes."""
    path = tmp_path / "model.txt"
    path.write_text(LP)
    assert main(["solve", str(path), "--backend", "sa", "--num-reads", "30", "--seed", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["instance"]["format"] == "lp"
    assert out["candidates"][0]["objective"] == pytest.approx(_lp_optimum())


def test_solve_unknown_file_format_is_reported(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("hello world\nthis is no model\n")
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and "cannot tell the format" in err


def test_solve_lp_file_states_the_certified_bound(tmp_path, capsys):
    path = tmp_path / "model.lp"
    path.write_text(LP)
    assert main(["solve", str(path), "--backend", "sa", "--num-reads", "30", "--seed", "2"]) == 0
    text = capsys.readouterr().out
    # a maximisation: an upper bound, here the brute-force optimum itself (3 binaries enumerated)
    assert f"certified bound: objective <= {_lp_optimum():g} (exact enumeration of the feasible set)" in text
    assert "(proven optimal)" in text
