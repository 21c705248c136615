"""Exact ground states by brute-force enumeration, as a :class:`dimod.Sampler`.

A thin wrapper around :class:`dimod.ExactSolver` (which enumerates all 2**n states in
C++) that refuses models too large to enumerate and returns only the lowest-energy
states. Use it for small models and as the independent reference in tests.
"""
from __future__ import annotations

import time

import dimod

from qopt._validation import ParameterError, check_int

__all__ = ["ExactSampler", "MAX_EXACT_VARIABLES"]

MAX_EXACT_VARIABLES = 24
"""Largest number of variables enumerated (2**24 states, about 0.5 GB of samples)."""


class ExactSampler(dimod.Sampler):
    """Brute-force sampler for models with at most 24 variables.

    Examples:
        >>> import dimod
        >>> from qopt.samplers.exact import ExactSampler
        >>> bqm = dimod.BQM.from_ising({}, {("a", "b"): -1})
        >>> ExactSampler().sample(bqm, num_reads=2).record.energy.tolist()
        [-1.0, -1.0]
    """

    parameters = {"num_reads": []}
    properties = {
        "max_num_variables": MAX_EXACT_VARIABLES,
        "description": "exhaustive enumeration of all 2**n states (dimod.ExactSolver)",
    }

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, num_reads: int | None = None,
               **kwargs) -> dimod.SampleSet:
        """Enumerate every state of ``bqm`` and return the lowest-energy ones.

        Args:
            bqm: the model, SPIN or BINARY, with at most 24 variables.
            num_reads: how many states to return, lowest energy first (ties in
                enumeration order). Default None: all 2**n states, sorted by energy.

        Returns:
            dimod.SampleSet in the BQM's vartype, sorted by energy (ascending), with
            ``min(num_reads, 2**n)`` rows; ``info["timing"]`` has ``sampling_ns``.

        Raises:
            ParameterError (a ValueError): ``bqm`` has more than 24 variables, or
                ``num_reads`` is not a positive integer.
        """
        t0 = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)
        if num_reads is not None:
            num_reads = check_int("num_reads", num_reads, minimum=1)
        n = bqm.num_variables
        if n > MAX_EXACT_VARIABLES:
            raise ParameterError(
                "bqm", f"must have at most {MAX_EXACT_VARIABLES} variables for exact enumeration, was {n}")
        ss = dimod.ExactSolver().sample(bqm)
        ss = ss.truncate(len(ss) if num_reads is None else num_reads, sorted_by="energy")
        t1 = time.perf_counter_ns()
        ss.info["timing"] = {"sampling_ns": t1 - t0}
        return ss
