"""qopt.qiskit.QoptOptimizer against qiskit-optimization's own pieces: its applications
(Maxcut, Knapsack), its exact reference MinimumEigenOptimizer(NumPyMinimumEigensolver()), and
the algorithms that take any OptimizationAlgorithm. No timings are asserted."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("qiskit_optimization")
nx = pytest.importorskip("networkx")

from qiskit_optimization import QiskitOptimizationError, QuadraticProgram  # noqa: E402
from qiskit_optimization.algorithms import (  # noqa: E402
    MinimumEigenOptimizer,
    OptimizationAlgorithm,
    OptimizationResult,
    OptimizationResultStatus,
    RecursiveMinimumEigenOptimizer,
)
from qiskit_optimization.applications import Knapsack, Maxcut  # noqa: E402
from qiskit_optimization.minimum_eigensolvers import NumPyMinimumEigensolver  # noqa: E402

from qopt.errors import ParameterError  # noqa: E402
from qopt.qiskit import QoptOptimizer  # noqa: E402


def _exact(qp):
    return MinimumEigenOptimizer(NumPyMinimumEigensolver()).solve(qp)


def _maxcut(n=8, seed=3):
    return Maxcut(nx.random_regular_graph(3, n, seed=seed)).to_quadratic_program()


def _knapsack():
    return Knapsack(values=[3, 4, 5, 6, 7], weights=[2, 3, 4, 5, 6], max_weight=9).to_quadratic_program()


@pytest.mark.parametrize("make", [_maxcut, _knapsack], ids=["maxcut", "knapsack"])
@pytest.mark.parametrize("backend", ["auto", "sa"])
def test_same_fval_as_the_exact_reference(make, backend):
    qp = make()
    opt = QoptOptimizer(backend, seed=1)
    assert isinstance(opt, OptimizationAlgorithm) and opt.is_compatible(qp)
    result = opt.solve(qp)
    ref = _exact(qp)
    assert isinstance(result, OptimizationResult)
    assert result.status is OptimizationResultStatus.SUCCESS
    assert result.fval == pytest.approx(ref.fval)
    assert qp.is_feasible(result.x)
    assert result.fval == pytest.approx(qp.objective.evaluate(result.x))
    assert [v.name for v in result.variables] == [v.name for v in qp.variables]
    assert result.variables_dict == {v.name: x for v, x in zip(qp.variables, result.x, strict=True)}


def test_samples_carry_probabilities_from_occurrences():
    qp = _knapsack()
    opt = QoptOptimizer("sa", seed=2, num_reads=40)
    result = opt.solve(qp)
    assert result.samples
    probs = np.array([s.probability for s in result.samples])
    # occurrences count the last calibration round's reads: a candidate found earlier (or by polish) has 0
    assert probs.sum() == pytest.approx(1.0) and (probs >= 0).all() and probs.max() > 0
    occ = np.array([c.num_occurrences for c in opt.last_result.candidates], dtype=float)
    np.testing.assert_allclose(probs, occ / occ.sum())
    np.testing.assert_array_equal(result.samples[0].x, result.x)
    for s in result.samples:
        assert s.fval == pytest.approx(qp.objective.evaluate(s.x))
        assert (s.status is OptimizationResultStatus.SUCCESS) == qp.is_feasible(s.x)
    assert result.raw_results is opt.last_result


def test_integer_variables_and_maximize():
    qp = QuadraticProgram("mixed")
    qp.integer_var(0, 3, "n")
    qp.binary_var("b")
    qp.linear_constraint({"n": 1, "b": 2}, "<=", 4, "cap")
    qp.maximize(linear={"n": 2, "b": 3}, quadratic={("n", "b"): 1})
    result = QoptOptimizer(seed=1).solve(qp)
    assert result.fval == pytest.approx(_exact(qp).fval) == pytest.approx(9.0)
    assert result.variables_dict == {"n": 2.0, "b": 1.0}


def test_no_feasible_candidate_is_infeasible():
    qp = QuadraticProgram("clash")
    qp.binary_var("a")
    qp.binary_var("b")
    qp.linear_constraint({"a": 1, "b": 1}, "==", 2, "both")
    qp.linear_constraint({"a": 1, "b": 1}, "==", 0, "neither")
    qp.minimize(linear={"a": 1})
    result = QoptOptimizer(seed=1).solve(qp)
    assert result.status is OptimizationResultStatus.INFEASIBLE
    assert not qp.is_feasible(result.x)


def test_incompatible_program_is_refused_like_minimum_eigen_optimizer():
    qp = QuadraticProgram()
    qp.continuous_var(0, 1, "y")
    qp.binary_var("b")
    qp.minimize(linear={"y": 1, "b": 1})
    opt = QoptOptimizer()
    assert not opt.is_compatible(qp)
    assert "continuous variable 'y'" in opt.get_compatibility_msg(qp)
    with pytest.raises(QiskitOptimizationError):
        opt.solve(qp)


def test_bad_parameter_names_it():
    with pytest.raises(ParameterError) as err:
        QoptOptimizer("sa", num_reads=0).solve(_knapsack())
    assert err.value.field == "num_reads"


def test_plugs_into_recursive_minimum_eigen_optimizer():
    qp = _maxcut()
    result = RecursiveMinimumEigenOptimizer(QoptOptimizer("sa", seed=0, num_reads=100), min_num_vars=3).solve(qp)
    assert result.fval == pytest.approx(_exact(qp).fval)


def test_warm_starts_qaoa():
    from qiskit.primitives import StatevectorSampler
    from qiskit_optimization.algorithms import WarmStartQAOAOptimizer
    from qiskit_optimization.minimum_eigensolvers import QAOA
    from qiskit_optimization.optimizers import COBYLA

    qp = _maxcut(6, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy sparse-efficiency warnings inside qiskit
        ws = WarmStartQAOAOptimizer(pre_solver=QoptOptimizer("sa", seed=1, num_reads=20), relax_for_pre_solver=False,
                                    qaoa=QAOA(sampler=StatevectorSampler(seed=1), optimizer=COBYLA(maxiter=10),
                                              reps=1), epsilon=0.25)
        result = ws.solve(qp)
    assert result.status is OptimizationResultStatus.SUCCESS
    assert result.fval == pytest.approx(_exact(qp).fval)
