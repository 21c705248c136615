"""The BQM as QAOA sees it: a Qiskit Ising operator (module bit order) and its energy scale."""
from __future__ import annotations

import dimod

__all__ = ["ising_operator", "energy_scale", "regular_maxcut_weight"]


def ising_operator(bqm: dimod.BinaryQuadraticModel):
    """The BQM as a Qiskit :class:`~qiskit.quantum_info.SparsePauliOp` (module bit order).

    Returns:
        SparsePauliOp on ``bqm.num_variables`` qubits whose diagonal equals the energy of
        each basis state (offset as the identity coefficient). Qiskit labels are
        little-endian: ``Z`` on qubit ``i`` is the ``i``-th character from the right.
    """
    from qiskit.quantum_info import SparsePauliOp

    n = bqm.num_variables
    index = {v: i for i, v in enumerate(bqm.variables)}
    spin = bqm.spin if bqm.vartype is dimod.BINARY else bqm
    # dimod's BINARY->SPIN uses s = 2x - 1, i.e. s = -Z for x = (1 - Z)/2: flip the linear sign.
    sign = -1.0 if bqm.vartype is dimod.BINARY else 1.0
    terms: list[tuple[str, list[int], float]] = [("", [], float(spin.offset))]
    terms += [("Z", [index[v]], sign * float(b)) for v, b in spin.linear.items() if b != 0]
    terms += [("ZZ", [index[u], index[v]], float(b)) for (u, v), b in spin.quadratic.items() if b != 0]
    return SparsePauliOp.from_sparse_list(terms, num_qubits=max(n, 1)).simplify(atol=0.0)


def energy_scale(bqm: dimod.BinaryQuadraticModel) -> float:
    """Largest absolute Ising bias (1.0 for a model without biases); sets the gamma scale."""
    spin = bqm.spin if bqm.vartype is dimod.BINARY else bqm
    vals = [abs(b) for b in spin.linear.values()] + [abs(b) for b in spin.quadratic.values()]
    m = max(vals) if vals else 0.0
    return m if m > 0 else 1.0


def regular_maxcut_weight(bqm: dimod.BinaryQuadraticModel, degree: int) -> float | None:
    """``J`` when the model's Ising form is unweighted MaxCut on a ``degree``-regular graph
    (no linear biases, every coupling ``J > 0``, every variable in ``degree`` couplings), else None."""
    spin = bqm.spin if bqm.vartype is dimod.BINARY else bqm
    if spin.num_variables == 0 or any(b != 0 for b in spin.linear.values()):
        return None
    weights = set(spin.quadratic.values())
    if len(weights) != 1:
        return None
    (j,) = weights
    if j <= 0 or any(spin.degree(v) != degree for v in spin.variables):
        return None
    return float(j)
