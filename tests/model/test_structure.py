"""Problem.structure: declared by the TSP template and the TSPLIB reader, kept by the spec
round trip, checked on construction."""
from __future__ import annotations

import dimod
import numpy as np
import pytest

from qopt.model import templates
from qopt.model.formats.tsplib import from_tsplib, write_tsplib
from qopt.model.problem import ModelError, Problem, from_spec, to_spec

D = np.array([[0, 3, 4, 2], [3, 0, 5, 6], [4, 5, 0, 1], [2, 6, 1, 0]], dtype=float)


def test_tsp_template_declares_its_permutation():
    problem, _ = templates.tsp(D, fix_start=False)
    st = problem.structure
    assert st["kind"] == "tsp" and st["num_cities"] == 4 and st["fix_start"] is False
    assert np.array_equal(np.asarray(st["distances"]), D)
    assert {f"x_{c}_{p}" for c in range(4) for p in range(4)} == set(problem.cqm.variables)


def test_tsplib_reader_keeps_the_structure():
    problem = from_tsplib(write_tsplib(D, name="four"))
    assert problem.structure["kind"] == "tsp"
    assert np.array_equal(np.asarray(problem.structure["distances"]), D)


def test_spec_round_trip_keeps_the_structure():
    problem, _ = templates.tsp(D)
    again = from_spec(to_spec(problem))
    assert again.structure == problem.structure
    plain, _ = templates.knapsack([1, 2], [1, 1], 1)
    assert plain.structure is None and "structure" not in to_spec(plain)


def test_a_structure_must_name_its_kind():
    cqm = dimod.CQM()
    with pytest.raises(ModelError) as err:
        Problem(cqm, structure={"num_cities": 3})
    assert err.value.field == "structure"
