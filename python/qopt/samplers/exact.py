"""Exact ground states, as a :class:`dimod.Sampler`: enumeration or branch and bound.

Two exact methods, one result shape:

* **enumeration** (:class:`dimod.ExactSolver`, all 2**n states in C++) when every state is
  wanted: ``num_reads=None`` on at most ``ENUMERATION_MAX_VARIABLES`` (16) variables, or
  ``num_reads`` a sizeable share (1/64 or more) of the 2**n states on at most
  ``EXACT_ENUMERATION_MAX_VARIABLES`` (24);
* **branch and bound** in the qopt C++ core (``qopt._core.branch_and_bound``, see
  cpp/include/qopt/bnb.hpp; Pardalos & Rodgers, "Computational aspects of a branch and
  bound algorithm for quadratic zero-one programming", Computing 45, 1990) otherwise, up to
  ``EXACT_MAX_VARIABLES`` (64): the ``num_reads`` lowest-energy states with a proof, or, at
  ``time_limit`` or on ``interrupt``, the best states found and a proven lower bound.
  Its incumbents start from steepest descents (the core's) from seeded random states.

Both report the keys the MIP backends use (:mod:`qopt.samplers.mip.base`): ``status``,
``dual_bound``, ``gap`` and ``solver``, so the pipeline's certified bound reads them alike.
"""
from __future__ import annotations

import math
import time

import dimod
import numpy as np

from qopt import _core
from qopt.errors import ParameterError
from qopt.samplers.limits import ENUMERATION_MAX_VARIABLES, EXACT_ENUMERATION_MAX_VARIABLES, EXACT_MAX_VARIABLES
from qopt.samplers.mip.model import relative_gap
from qopt.samplers.sa import ising_csr
from qopt.samplers.spec import Param, ParameterSpec, SizeRule, event_validator

__all__ = ["ExactSampler", "BNB_SOLVER", "ENUMERATION_SOLVER", "NUM_DESCENTS", "uses_enumeration"]

#: ``info["solver"]`` of each method.
BNB_SOLVER = "qopt branch and bound"
ENUMERATION_SOLVER = "dimod.ExactSolver enumeration"

#: Steepest descents (from seeded random states) that give branch and bound its first incumbents.
NUM_DESCENTS = 16

#: Enumeration is chosen when ``num_reads * ENUMERATION_SHARE >= 2**n`` (n within its limit).
ENUMERATION_SHARE = 64


def _too_many(num_variables: int, limit: int) -> ParameterError:
    return ParameterError("bqm", f"must have at most {limit} variables for the exact backend, was {num_variables}")


def uses_enumeration(num_variables: int, num_reads: int | None) -> bool:
    """Whether :class:`ExactSampler` enumerates every state (else branch and bound): see the
    module docstring."""
    if num_reads is None:
        return num_variables <= ENUMERATION_MAX_VARIABLES
    return num_variables <= EXACT_ENUMERATION_MAX_VARIABLES and num_reads * ENUMERATION_SHARE >= 2 ** num_variables


def _dense_binary(bqm: dimod.BinaryQuadraticModel):
    """``(linear (n,), quadratic (n, n) symmetric zero-diagonal, offset)`` of ``bqm`` in BINARY form,
    variables in ``bqm.variables`` order (float64)."""
    binary = bqm if bqm.vartype is dimod.BINARY else bqm.change_vartype(dimod.BINARY, inplace=False)
    n = binary.num_variables
    lin, (irow, icol, q), offset = binary.to_numpy_vectors(  # type: ignore[misc]  # a 3- or 4-tuple to dimod
        bqm.variables, sort_indices=False)
    quadratic = np.zeros((n, n))
    quadratic[irow, icol] = q
    quadratic[icol, irow] = q
    return np.ascontiguousarray(lin, dtype=np.float64), quadratic, float(offset)


def _descent_starts(bqm: dimod.BinaryQuadraticModel, seed: int) -> np.ndarray:
    """Binary (0/1, int8) 1-flip local minima of ``bqm`` from :data:`NUM_DESCENTS` seeded random states."""
    h, row_ptr, col, J, _ = ising_csr(bqm)
    rng = np.random.default_rng(seed)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(NUM_DESCENTS, bqm.num_variables))
    states, _, _ = _core.steepest_descent(h, row_ptr, col, J, spins, 1)
    return ((np.asarray(states) + 1) // 2).astype(np.int8)


class ExactSampler(dimod.Sampler):
    """Exact sampler: enumeration or branch and bound, up to ``EXACT_MAX_VARIABLES`` (64) variables.

    Examples:
        >>> import dimod
        >>> from qopt.samplers.exact import ExactSampler
        >>> bqm = dimod.BQM.from_ising({}, {("a", "b"): -1})
        >>> ExactSampler().sample(bqm, num_reads=2).record.energy.tolist()
        [-1.0, -1.0]
        >>> ss = ExactSampler().sample(dimod.generators.ran_r(1, 28, seed=3))
        >>> ss.info["status"], ss.info["dual_bound"] == float(ss.first.energy)
        ('optimal', True)
    """

    #: The backend's parameters and size rule (at most ``EXACT_MAX_VARIABLES`` variables).
    parameter_spec = ParameterSpec([
        Param("num_reads", "int", None, minimum=1,
              doc="states returned, lowest energy first (None: all 2**n states for n <= "
                  f"{ENUMERATION_MAX_VARIABLES}, else the lowest-energy one)"),
        Param("time_limit", "float", None, minimum=0.0, exclusive_minimum=True, maximum=1e9, unit="s",
              doc="wall-clock limit of branch and bound (None: until proven optimal); enumeration "
                  "always completes"),
        Param("seed", "int", 0, minimum=0, maximum=2**32 - 1,
              doc="seed of the random starts of the steepest descents that give the first incumbents"),
        Param("interrupt", "object", None, wire=False, validator=event_validator("interrupt"),
              doc="an object with is_set() (threading.Event); branch and bound stops within 5 ms "
                  "of it being set"),
    ], size=SizeRule(EXACT_MAX_VARIABLES, _too_many))
    parameters = parameter_spec.dimod_parameters()
    properties = {
        "max_num_variables": EXACT_MAX_VARIABLES,
        "max_enumeration_variables": EXACT_ENUMERATION_MAX_VARIABLES,
        "description": "exact ground states: enumeration of all 2**n states (dimod.ExactSolver) or "
                       "branch and bound (qopt C++ core) with a proven dual bound",
    }

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, num_reads: int | None = None,
               time_limit: float | None = None, seed: int = 0, interrupt=None, **kwargs) -> dimod.SampleSet:
        """The lowest-energy states of ``bqm``, proven (or a proven lower bound when stopped).

        Args:
            bqm: the model, SPIN or BINARY, with at most ``EXACT_MAX_VARIABLES`` (64) variables.
            num_reads: how many distinct states to return, lowest energy first. Default None:
                all 2**n states (sorted) when n <= ``ENUMERATION_MAX_VARIABLES`` (16), else the
                lowest-energy state. Enumeration or branch and bound per :func:`uses_enumeration`.
            time_limit: seconds of wall clock for branch and bound (checked every 4096 nodes);
                None: until proven optimal (which may take long beyond
                ``EXACT_PROOF_MAX_VARIABLES`` variables). Enumeration ignores it.
            seed: seed of the initial steepest descents (results are the same for any seed when
                the run is proven optimal, up to ties).
            interrupt: None or an object with ``is_set()``; branch and bound stops soon after it is set.

        Returns:
            dimod.SampleSet in the BQM's vartype, sorted by energy (ascending), energies from
            ``bqm``. ``info``: ``status`` (``"optimal"``, ``"time_limit"`` or ``"interrupted"``),
            ``dual_bound`` (a proven lower bound on the minimum energy, offset included, energy
            units; the best energy when optimal), ``gap`` (``(best - dual_bound) / max(1, |best|)``),
            ``solver`` (:data:`BNB_SOLVER` or :data:`ENUMERATION_SOLVER`), ``num_nodes`` (branch
            and bound) and ``timing`` (``preprocessing_ns``, ``sampling_ns``).

        Raises:
            ParameterError (a ValueError): ``bqm`` has more than ``EXACT_MAX_VARIABLES``
                (:mod:`qopt.samplers.limits`) variables; ``num_reads``, ``time_limit``,
                ``seed`` or ``interrupt`` is invalid (named).
        """
        t0 = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)
        num_reads = self.parameter_spec.check("num_reads", num_reads)
        time_limit = self.parameter_spec.check("time_limit", time_limit)
        seed = self.parameter_spec.check("seed", seed)
        interrupt = self.parameter_spec.check("interrupt", interrupt)
        self.parameter_spec.check_size(bqm.num_variables)
        n = bqm.num_variables
        if uses_enumeration(n, num_reads):
            t1 = time.perf_counter_ns()
            ss = dimod.ExactSolver().sample(bqm)
            ss = ss.truncate(len(ss) if num_reads is None else num_reads, sorted_by="energy")
            best = float(ss.first.energy)
            info = {"status": "optimal", "dual_bound": best, "gap": 0.0, "solver": ENUMERATION_SOLVER}
        else:
            linear, quadratic, offset = _dense_binary(bqm)
            starts = _descent_starts(bqm, seed) if n else None
            t1 = time.perf_counter_ns()
            states, _, out = _core.branch_and_bound(linear, quadratic, offset, num_best=num_reads or 1,
                                                    time_limit=time_limit or 0.0, initial_states=starts,
                                                    interrupt=interrupt)
            states = np.asarray(states)
            if bqm.vartype is dimod.SPIN:
                states = 2 * states - 1
            ss = dimod.SampleSet.from_samples_bqm((states, list(bqm.variables)), bqm)
            ss = ss.truncate(len(ss), sorted_by="energy")
            best = float(ss.first.energy) if len(ss) else math.inf
            # proven: the best energy itself (the search's running sums may differ in the last bits)
            bound = best if out["status"] == "optimal" else min(float(out["dual_bound"]), best)
            info = {"status": out["status"], "dual_bound": bound, "gap": relative_gap(best, bound),
                    "solver": BNB_SOLVER, "num_nodes": int(out["num_nodes"])}
        t2 = time.perf_counter_ns()
        ss.info.update(info)
        ss.info["timing"] = {"preprocessing_ns": t1 - t0, "sampling_ns": t2 - t1}
        return ss
