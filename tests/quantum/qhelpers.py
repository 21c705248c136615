"""Helpers for the quantum-backend tests: an independent Qiskit reference for QAOA states."""
from __future__ import annotations

import dimod
import networkx as nx
import numpy as np


def qiskit_reference(bqm: dimod.BinaryQuadraticModel, gamma, beta, aer: bool = False):
    """(Statevector, SparsePauliOp) of Qiskit's own qaoa_ansatz for bqm, built independently of qopt.

    aer: simulate with qiskit-aer's AerSimulator (statevector method) instead of quantum_info.
    """
    from qiskit.circuit.library import qaoa_ansatz
    from qiskit.quantum_info import SparsePauliOp, Statevector

    n = bqm.num_variables
    idx = {v: i for i, v in enumerate(bqm.variables)}
    terms = [("", [], bqm.offset)]
    # Independent route: x_i = (I - Z_i)/2 for BINARY, s_i = Z_i for SPIN, expanded term by term.
    for v, b in bqm.linear.items():
        if bqm.vartype is dimod.BINARY:
            terms += [("", [], b / 2), ("Z", [idx[v]], -b / 2)]
        else:
            terms += [("Z", [idx[v]], b)]
    for (u, v), b in bqm.quadratic.items():
        i, j = idx[u], idx[v]
        if bqm.vartype is dimod.BINARY:
            terms += [("", [], b / 4), ("Z", [i], -b / 4), ("Z", [j], -b / 4), ("ZZ", [i, j], b / 4)]
        else:
            terms += [("ZZ", [i, j], b)]
    op = SparsePauliOp.from_sparse_list(terms, n).simplify(atol=0.0)
    qc = qaoa_ansatz(op, reps=len(gamma))
    values = {}
    for p in qc.parameters:
        values[p] = (gamma if p.name.startswith("γ") else beta)[p.index]
    bound = qc.assign_parameters(values)
    if aer:
        from qiskit import transpile
        from qiskit_aer import AerSimulator

        sim = AerSimulator(method="statevector")
        bound.save_statevector()
        data = sim.run(transpile(bound, sim)).result().get_statevector()
        return Statevector(np.asarray(data)), op
    return Statevector(bound), op


def random_bqm(n: int, vartype, seed: int, integer: bool = False) -> dimod.BinaryQuadraticModel:
    rng = np.random.default_rng(seed)
    bqm = dimod.BinaryQuadraticModel(vartype)
    for i in range(n):
        bqm.add_variable(i, float(rng.integers(-3, 4)) if integer else float(rng.normal()))
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < 0.5:
                bqm.add_interaction(i, j, float(rng.integers(-3, 4)) if integer else float(rng.normal()))
    bqm.offset = float(rng.normal())
    return bqm


def maxcut_bqm(num_nodes: int, seed: int) -> dimod.BinaryQuadraticModel:
    """3-regular MaxCut as a SPIN BQM with energy = -(cut size)."""
    g = nx.random_regular_graph(3, num_nodes, seed=seed)
    return dimod.BinaryQuadraticModel({v: 0.0 for v in g.nodes}, {e: 0.5 for e in g.edges},
                                      -0.5 * g.number_of_edges(), "SPIN")


