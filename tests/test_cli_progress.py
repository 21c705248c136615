"""``qopt solve``'s progress line on a terminal: elapsed time, the best objective found so far
(in the instance's terms) and the certified bound, checked against the answer it ends with and
against a cut counted edge by edge from the Gset file."""
import io
import json
import re
import sys

from qopt.cli import main
from qopt.cli.output import Progress
from qopt.data import instance_path


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _cut_from_file(path, sample: dict) -> float:
    lines = path.read_text().split("\n")
    n, _ = map(int, lines[0].split())
    spins = {int(k): v for k, v in sample.items()}
    cut = 0.0
    for line in lines[1:]:
        if line.strip():
            i, j, w = line.split()
            # Gset numbers vertices from 1; qopt labels them from 0
            if spins[int(i) - 1] != spins[int(j) - 1]:
                cut += float(w)
    return cut


def test_progress_line_shows_best_and_bound(monkeypatch, capsys):
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    path = instance_path("G1.txt")
    code = main(["solve", str(path), "--backend", "sa", "--num-reads", "16", "--num-sweeps", "20000", "--seed", "3",
                 "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    drawn = tty.getvalue()
    frames = [f for f in drawn.split("\r") if f.strip()]
    assert frames and all("solving G1" in f and re.search(r"\d+\.\d s", f) for f in frames)
    bests = [float(x) for x in re.findall(r"best cut value ([0-9.e+]+)", drawn)]
    assert bests, drawn[-500:]
    assert bests == sorted(bests)  # improvements only
    best = doc["best"]["objective"]
    assert bests[-1] == best
    assert _cut_from_file(path, doc["candidates"][0]["sample"]) == best
    bounds = [float(x) for x in re.findall(r"bound <= ([0-9.e+]+)", drawn)]
    assert bounds and bounds[-1] >= best
    assert drawn.endswith("\r")  # the line is cleared at the end


def test_no_line_without_a_terminal():
    stream = io.StringIO()
    with Progress("solving x", stream=stream) as progress:
        progress.update({"event": "best", "energy": -3.0})
    assert not progress.active and stream.getvalue() == ""


def test_constrained_events_use_the_model_sense():
    class Model:
        sense = "max"

    class Inp:
        instance = None
        constrained = True
        model = Model()

    progress = Progress("solving k", stream=FakeTTY(), inp=Inp())
    progress.update({"event": "best", "energy": -10.0, "objective": 42.0, "feasible": True})
    progress.update({"event": "bound", "objective_bound": 45.5})
    assert progress.best == "best objective 42" and progress.bound == "bound <= 45.5"
    progress.update({"event": "best", "energy": -9.0, "objective": 40.0, "feasible": False})
    assert progress.best == "best objective 40 (infeasible)"
