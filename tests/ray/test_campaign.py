"""``qopt benchmark``: the campaign's CSV and report, with TTS99 recomputed by hand from
the same runs (OpenJij's time_to_solution: tau ln(1-0.99)/ln(1-p_s))."""
from __future__ import annotations

import csv
import io
import math

import pytest

from qopt.campaign import time_to_solution
from qopt.cli import main
from qopt.errors import ParameterError
from qopt.io.readers import read_instance


def test_time_to_solution_matches_the_formula():
    assert time_to_solution(0.5, 2.0) == pytest.approx(2.0 * math.log(0.01) / math.log(0.5))  # 13.2877 s
    assert time_to_solution(0.5, 2.0) == pytest.approx(13.28771238)
    assert time_to_solution(1.0, 2.0) == 2.0
    assert time_to_solution(0.0, 2.0) == math.inf
    with pytest.raises(ParameterError):
        time_to_solution(1.5, 1.0)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _check_report(out_dir, instances, backends, deadlines, seeds):
    runs = _rows(out_dir / "runs.csv")
    summary = _rows(out_dir / "summary.csv")
    assert len(runs) == len(instances) * len(backends) * len(deadlines) * seeds
    assert len(summary) == len(instances) * len(backends) * len(deadlines)
    targets = {inst.name: inst.best_known_energy for inst in instances}
    for row in summary:
        group = [r for r in runs if (r["instance"], r["backend"], r["deadline"]) ==
                 (row["instance"], row["backend"], row["deadline"])]
        assert len(group) == seeds and all(r["error"] == "" for r in group)
        target = targets[row["instance"]]  # the published best-known value, not the campaign's own
        assert float(row["target_energy"]) == pytest.approx(target) and row["target_source"] == "best_known"
        hits = sum(float(r["energy"]) <= target + 1e-6 * max(1.0, abs(target)) for r in group)
        p_s = hits / seeds
        tau = sum(float(r["seconds"]) for r in group) / seeds
        by_hand = tau if p_s == 1 else math.inf if p_s == 0 else tau * math.log(1 - 0.99) / math.log(1 - p_s)
        assert float(row["success_probability"]) == pytest.approx(p_s)
        assert float(row["mean_seconds"]) == pytest.approx(tau)
        assert float(row["tts99"]) == pytest.approx(by_hand)
        residual = sum(float(r["energy"]) - target for r in group) / seeds
        assert float(row["residual_energy"]) == pytest.approx(residual, abs=1e-9)
        assert float(row["residual_energy"]) >= -1e-9  # nothing beats a proven optimum
    report = (out_dir / "report.md").read_text()
    assert "TTS99" in report and all(inst.name in report for inst in instances)
    for png in ("tts.png", "residual_energy.png"):
        assert (out_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return runs


def test_qopt_benchmark_writes_csv_report_and_plots(tmp_path):
    out = io.StringIO()
    argv = ["benchmark", "gka1b", "pm1s_80.0", "--backends", "sa,steepest", "--deadlines", "0.5",
            "--seeds", "3", "--num-reads", "2", "--num-sweeps", "50", "--out", str(tmp_path)]
    from qopt.cli import build_parser

    args = build_parser().parse_args(argv)
    args.out = out
    assert args.func(args) == 0
    instances = [read_instance("gka1b"), read_instance("pm1s_80.0")]
    runs = _check_report(tmp_path, instances, ["sa", "steepest"], [0.5], 3)
    assert {r["backend"] for r in runs} == {"sa", "steepest"}
    assert "TTS99" in out.getvalue()


def test_qopt_benchmark_names_an_unknown_backend(tmp_path, capsys):
    assert main(["benchmark", "gka1b", "--backends", "sa,nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "sa" in err
