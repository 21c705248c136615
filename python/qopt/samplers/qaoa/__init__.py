"""QAOA as a :class:`dimod.Sampler` (backend ``"qaoa"``) and its variants.

Modules: :mod:`~qopt.samplers.qaoa.model` (the BQM as an Ising operator, energy scale),
:mod:`~qopt.samplers.qaoa.angles` (initial angles: linear ramp, fixed-angle tables, INTERP,
Fourier parametrisation; the one angle optimisation every QAOA path uses),
:mod:`~qopt.samplers.qaoa.variants` (CVaR objective, warm start, recursive QAOA) and
:mod:`~qopt.samplers.qaoa.sampler` (:class:`QAOASampler`).
"""
from __future__ import annotations

from qopt.samplers.noise import two_qubit_gates
from qopt.samplers.qaoa.angles import GRADIENT_METHODS, OPTIMIZERS, fixed_angles, linear_ramp
from qopt.samplers.qaoa.model import energy_scale, ising_operator
from qopt.samplers.qaoa.sampler import EVALUATORS, VARIANTS, QAOASampler

__all__ = ["QAOASampler", "ising_operator", "linear_ramp", "energy_scale", "two_qubit_gates", "OPTIMIZERS",
           "GRADIENT_METHODS", "EVALUATORS", "VARIANTS", "fixed_angles"]
