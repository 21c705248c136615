"""Steepest descent on the qopt C++ core, as a :class:`dimod.Sampler`.

Each initial state is improved by repeatedly flipping the variable whose flip lowers
the energy most, until no single flip lowers it (a 1-flip local minimum). Used to
polish samples from any other backend (pass its SampleSet as ``initial_states``) or,
from random starts, as a fast greedy baseline. The same C++ routine serves
``SimulatedAnnealingSampler(polish=True)``.

Method: greedy steepest-descent local search (as in dwave-samplers'
``SteepestDescentSolver``); each step scans the n flip energies (O(n)) and updates
the neighbour local fields (O(degree)).
"""
from __future__ import annotations

import time

import dimod
import numpy as np

from qopt import _core
from qopt.samplers.sa import INITIAL_STATES_GENERATORS, InitialStatesGenerator, ising_csr
from qopt.samplers.spec import Param, ParameterSpec

__all__ = ["SteepestDescentSampler"]


class SteepestDescentSampler(dimod.Sampler, dimod.Initialized):
    """Steepest-descent sampler on the qopt C++ core.

    Examples:
        >>> import dimod
        >>> from qopt.samplers.sa import SimulatedAnnealingSampler
        >>> from qopt.samplers.steepest import SteepestDescentSampler
        >>> bqm = dimod.generators.ran_r(1, 30, seed=1)
        >>> seeds = SimulatedAnnealingSampler().sample(bqm, num_reads=4, num_sweeps=10, seed=3)
        >>> ss = SteepestDescentSampler().sample(bqm, initial_states=seeds)
        >>> bool((ss.record.energy <= seeds.record.energy + 1e-9).all())
        True
    """

    #: The backend's parameters (any size of model).
    parameter_spec = ParameterSpec([
        Param("initial_states", "object", None, doc="samples-like or a SampleSet: one descent per state"),
        Param("initial_states_generator", "str", "random", choices=INITIAL_STATES_GENERATORS,
              doc="how missing initial states are filled (dimod.Initialized)"),
        Param("num_reads", "int", None, minimum=1,
              doc="descents (None: the number of initial states, or 1)"),
        Param("seed", "int", None, minimum=0, maximum=2**32 - 1,
              doc="32-bit seed of the random initial states (None: drawn, reported in info)"),
        Param("num_threads", "int", 1, minimum=1, maximum=1024, doc="worker threads; results do not depend on it"),
    ])
    parameters = parameter_spec.dimod_parameters()
    properties = {
        "description": "greedy steepest descent to a 1-flip local minimum, qopt C++ core",
    }

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, initial_states=None, num_reads: int | None = None,
               seed: int | None = None, num_threads: int = 1, initial_states_generator: InitialStatesGenerator = "random",
               **kwargs) -> dimod.SampleSet:
        """Descend from each initial state to a 1-flip local minimum of ``bqm``.

        Args:
            bqm: the model; SPIN or BINARY.
            initial_states: samples-like or a :class:`dimod.SampleSet` (for example the
                result of another sampler), in either vartype; one descent per state.
                Variables must match the BQM's.
            num_reads: number of descents (default: the number of initial states, or 1).
                Missing states are filled by ``initial_states_generator``.
            seed: 32-bit seed for the random initial states (drawn when None; reported
                in ``info["seed"]``).
            num_threads: worker threads (the GIL is released). Results do not depend on it.
            initial_states_generator: ``"random"`` (default), ``"none"`` or ``"tile"``
                (see :class:`dimod.Initialized`).

        Returns:
            dimod.SampleSet in the BQM's vartype, one row per descent in the order of the
            initial states; energies equal ``bqm.energies`` and are never above the
            initial state's energy. ``info`` holds ``seed``, ``num_flips`` (int64 array,
            flips per descent) and ``timing`` (``preprocessing_ns``, ``sampling_ns``,
            ``postprocessing_ns``, nanoseconds).

        Raises:
            ParameterError (a ValueError): a parameter out of range, naming it.
            ValueError: initial states whose variables do not match the BQM's.
        """
        t0 = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)
        spec = self.parameter_spec
        num_threads = spec.check("num_threads", num_threads)
        num_reads = spec.check("num_reads", num_reads)
        seed = spec.check("seed", seed)
        if seed is None:
            seed = spec.random_seed()
        initial_states_generator = spec.check("initial_states_generator", initial_states_generator)
        parsed = self.parse_initial_states(
            bqm, num_reads=num_reads, initial_states=initial_states,
            initial_states_generator=initial_states_generator, seed=seed)
        init_ss = parsed.initial_states
        variables = list(bqm.variables)
        h, row_ptr, col, J, offset = ising_csr(bqm)
        samples = init_ss.record.sample
        if len(variables):
            samples = samples[:, [init_ss.variables.index(v) for v in variables]]
        spins = np.ascontiguousarray(samples if init_ss.vartype is dimod.SPIN else 2 * samples - 1, dtype=np.int8)
        t1 = time.perf_counter_ns()
        states, energies, flips = _core.steepest_descent(h, row_ptr, col, J, spins, num_threads)
        t2 = time.perf_counter_ns()
        energies = energies + offset
        if bqm.vartype is dimod.BINARY:
            states = ((states + 1) // 2).astype(np.int8)
        info = {"seed": seed, "num_flips": flips}
        ss = dimod.SampleSet.from_samples((states, variables), vartype=bqm.vartype, energy=energies, info=info,
                                          sort_labels=False)
        t3 = time.perf_counter_ns()
        ss.info["timing"] = {"preprocessing_ns": t1 - t0, "sampling_ns": t2 - t1, "postprocessing_ns": t3 - t2}
        return ss
