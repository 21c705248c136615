"""Exact ground states by brute-force enumeration, as a :class:`dimod.Sampler`.

A thin wrapper around :class:`dimod.ExactSolver` (which enumerates all 2**n states in
C++) that refuses models too large to enumerate and returns only the lowest-energy
states. Use it for small models and as the independent reference in tests.
"""
from __future__ import annotations

import time

import dimod

from qopt.errors import ParameterError
from qopt.samplers.limits import EXACT_MAX_VARIABLES
from qopt.samplers.spec import Param, ParameterSpec, SizeRule

__all__ = ["ExactSampler"]


def _too_many(num_variables: int, limit: int) -> ParameterError:
    return ParameterError("bqm", f"must have at most {limit} variables for exact enumeration, was {num_variables}")


class ExactSampler(dimod.Sampler):
    """Brute-force sampler for models with at most ``EXACT_MAX_VARIABLES`` (24) variables.

    Examples:
        >>> import dimod
        >>> from qopt.samplers.exact import ExactSampler
        >>> bqm = dimod.BQM.from_ising({}, {("a", "b"): -1})
        >>> ExactSampler().sample(bqm, num_reads=2).record.energy.tolist()
        [-1.0, -1.0]
    """

    #: The backend's parameters and size rule (at most ``EXACT_MAX_VARIABLES`` variables).
    parameter_spec = ParameterSpec([
        Param("num_reads", "int", None, minimum=1,
              doc="states returned, lowest energy first (None: all 2**n)"),
    ], size=SizeRule(EXACT_MAX_VARIABLES, _too_many))
    parameters = parameter_spec.dimod_parameters()
    properties = {
        "max_num_variables": EXACT_MAX_VARIABLES,
        "description": "exhaustive enumeration of all 2**n states (dimod.ExactSolver)",
    }

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, num_reads: int | None = None,
               **kwargs) -> dimod.SampleSet:
        """Enumerate every state of ``bqm`` and return the lowest-energy ones.

        Args:
            bqm: the model, SPIN or BINARY, with at most ``EXACT_MAX_VARIABLES`` (24) variables.
            num_reads: how many states to return, lowest energy first (ties in
                enumeration order). Default None: all 2**n states, sorted by energy.

        Returns:
            dimod.SampleSet in the BQM's vartype, sorted by energy (ascending), with
            ``min(num_reads, 2**n)`` rows; ``info["timing"]`` has ``sampling_ns``.

        Raises:
            ParameterError (a ValueError): ``bqm`` has more than ``EXACT_MAX_VARIABLES``
                (:mod:`qopt.samplers.limits`) variables, or
                ``num_reads`` is not a positive integer.
        """
        t0 = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)
        num_reads = self.parameter_spec.check("num_reads", num_reads)
        self.parameter_spec.check_size(bqm.num_variables)
        ss = dimod.ExactSolver().sample(bqm)
        ss = ss.truncate(len(ss) if num_reads is None else num_reads, sorted_by="energy")
        t1 = time.perf_counter_ns()
        ss.info["timing"] = {"sampling_ns": t1 - t0}
        return ss
