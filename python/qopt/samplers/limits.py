"""Sizes the backends handle, defined once and read by the samplers, routing, the hybrid,
presolve's component solver, preflight, ``ListBackends`` and request validation.

Each number is a rule, not a tuning knob: change it here and every place follows.
"""
from __future__ import annotations

__all__ = ["EXACT_MAX_VARIABLES", "EXACT_ENUMERATION_MAX_VARIABLES", "EXACT_PROOF_MAX_VARIABLES",
           "EXACT_ROUTE_MAX_VARIABLES", "ENUMERATION_MAX_VARIABLES", "QAOA_MAX_QUBITS"]

#: Largest model :class:`qopt.samplers.exact.ExactSampler` takes: its branch and bound keeps
#: states as 64-bit masks (``qopt::kBnbMaxVariables`` in cpp/include/qopt/bnb.hpp). A hard
#: limit of that backend; whether it proves the optimum in time is another matter
#: (:data:`EXACT_PROOF_MAX_VARIABLES`).
EXACT_MAX_VARIABLES: int = 64

#: Largest model whose every state :class:`qopt.samplers.exact.ExactSampler` lists (all
#: 2**n states, dimod.ExactSolver): 2**24 states are about 0.5 GB of samples.
EXACT_ENUMERATION_MAX_VARIABLES: int = 24

#: Largest whole model (or presolved component) ``backend="auto"`` sends to the exact
#: backend's branch and bound to prove its optimum: the largest n whose dense random BQMs
#: (dimod ran_r and uniform(-1, 1) biases) it proves in well under a second at the 90th
#: percentile on the 2-core reference machine (benchmarks/EXACT.md).
EXACT_PROOF_MAX_VARIABLES: int = 30

#: Largest whole model ``backend="auto"`` sends to exact enumeration: one call of at most
#: about a second (2**20 states with dimod.ExactSolver on the 2-core reference machine).
EXACT_ROUTE_MAX_VARIABLES: int = 20

#: Largest presolved component or hybrid subproblem qopt enumerates by its own choice
#: (there may be many per solve): 2**16 states take under 0.1 s.
ENUMERATION_MAX_VARIABLES: int = 16

#: The statevector QAOA qubit budget: 2**24 complex128 amplitudes are 256 MiB per state.
#: The service advertises it in ``ListBackends`` and clients cannot lift it per request.
QAOA_MAX_QUBITS: int = 24
