"""Stages: a cancel check at every stage boundary, one progress event per stage, timing per stage."""
import threading

import dimod
import pytest

import qopt
from qopt.errors import Cancelled
from qopt.solve.stages import Stages


def test_stage_events_timing_and_cancel():
    events = []
    cancel = threading.Event()
    stages = Stages(on_progress=events.append, cancel=cancel)
    with stages.stage("validate"):
        pass
    cancel.set()
    with pytest.raises(Cancelled, match="before stage 'sample'"):
        with stages.stage("sample"):
            raise AssertionError("a cancelled stage must not run")
    assert events == [{"event": "stage", "stage": "validate"}]
    timing = stages.finish()
    assert set(timing) == {"validate", "total"} and timing["total"] >= timing["validate"] >= 0


@pytest.mark.parametrize("problem", [
    dimod.BinaryQuadraticModel({"a": 1.0, "b": -1.0}, {("a", "b"): 0.5}, 0.0, "SPIN"),
    {"variables": [{"name": "x", "type": "binary"}, {"name": "y", "type": "binary"}],
     "objective": {"linear": {"x": 1, "y": -2}}, "sense": "min",
     "constraints": [{"label": "c", "linear": {"x": 1, "y": 1}, "sense": "<=", "rhs": 1}]},
], ids=["bqm", "constrained"])
def test_both_paths_emit_the_same_stages(problem):
    events = []
    result = qopt.solve(problem, "exact", on_progress=events.append)
    stages = [e["stage"] for e in events if e["event"] == "stage"]
    assert stages == ["validate", "preprocess", "sample", "postprocess"]
    assert {"validate", "preprocess", "sample", "postprocess", "total"} <= set(result.timing)
    for key in ("qopt_version", "backend", "requested_backend", "routing", "fallback_chain", "ignored_parameters",
                "parameters", "problem_sha256", "versions", "backend_info"):
        assert key in result.provenance
