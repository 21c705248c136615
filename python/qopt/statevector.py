"""QAOA on the qopt C++ statevector engine: expectation, probabilities, gradient, sampling.

Method: Farhi, Goldstone & Gutmann, "A Quantum Approximate Optimization Algorithm",
arXiv:1411.4028 (2014). The gradient uses the adjoint method (Jones & Gacon,
arXiv:2009.02823, 2020): one forward and one backward sweep over the layers.

Conventions (the same as :mod:`qopt.samplers.qaoa` and Qiskit):

* **Bit order**: variable ``i`` (in ``bqm.variables`` order) is qubit ``i``; basis index
  ``k`` has bit ``i`` (``(k >> i) & 1``) equal to the value of qubit ``i``
  (little-endian, as in Qiskit's ``Statevector.probabilities()``).
* **Values**: for a BINARY model ``x_i = bit i``; for a SPIN model qubit ``|0>`` is
  ``s_i = +1`` and ``|1>`` is ``s_i = -1`` (the eigenvalues of Z), so the cost operator
  is ``offset + sum h_i Z_i + sum J_ij Z_i Z_j``.
* **State**: ``|psi> = prod_{l=reps-1..0} exp(-i beta_l sum_q X_q) exp(-i gamma_l C) |+>^n``
  (layer 0 acts first), i.e. Qiskit's ``qaoa_ansatz(C, reps)`` with ``γ[l] = gamma[l]``
  and ``β[l] = beta[l]``.
* **Energies** are in the BQM's units, offset included; gamma is in 1/energy, beta in radians.

Examples:
    >>> import dimod, numpy as np
    >>> from qopt.statevector import qaoa_expectation, qaoa_probabilities
    >>> bqm = dimod.BinaryQuadraticModel({0: 1.0}, {}, 0.0, "BINARY")
    >>> round(qaoa_expectation(bqm, [0.0], [0.0]), 12)   # |+>: x0 = 1 with probability 1/2
    0.5
    >>> qaoa_probabilities(bqm, [0.0], [np.pi / 4]).round(12).tolist()  # |+> -> e^{-i pi/4 X}|+>
    [0.5, 0.5]
"""
from __future__ import annotations

import hashlib
import threading

import dimod
import numpy as np

from qopt import _core
from qopt.errors import MemoryLimitError, ParameterError

__all__ = [
    "MAX_QUBITS",
    "MemoryLimitError",
    "QAOAEvaluator",
    "bit_arrays",
    "cost_vector",
    "indices_to_samples",
    "memory_bytes",
    "qaoa_expectation",
    "qaoa_gradient",
    "qaoa_probabilities",
    "qaoa_sample",
]

#: Largest number of qubits the engine accepts (2**30 amplitudes, 16 GiB per state).
MAX_QUBITS: int = int(_core.STATEVECTOR_MAX_QUBITS)


def bit_arrays(bqm: dimod.BinaryQuadraticModel):
    """The model as a quadratic function of the qubit bits ``b_i`` (see the module conventions).

    Returns:
        ``(lin, u, v, quad, offset)``: ``lin`` float64 (n,), ``u``, ``v`` int32 (m,),
        ``quad`` float64 (m,), ``offset`` float, with
        ``C(b) = offset + sum_i lin[i] b_i + sum_e quad[e] b_u[e] b_v[e]`` equal to
        ``bqm.energy`` of the corresponding sample (variables in ``bqm.variables`` order).
    """
    n = bqm.num_variables
    ldata, (irow, icol, qdata), offset = bqm.to_numpy_vectors(bqm.variables, sort_indices=False)  # type: ignore[misc]  # dimod types it as a 3- or 4-tuple
    ldata = np.asarray(ldata, dtype=np.float64)
    qdata = np.asarray(qdata, dtype=np.float64)
    irow = np.asarray(irow, dtype=np.int32)
    icol = np.asarray(icol, dtype=np.int32)
    offset = float(offset)
    if bqm.vartype is dimod.SPIN:
        # s = 1 - 2b: h s = h - 2 h b; J s_u s_v = J - 2J b_u - 2J b_v + 4J b_u b_v
        lin = -2.0 * ldata
        np.add.at(lin, irow, -2.0 * qdata)
        np.add.at(lin, icol, -2.0 * qdata)
        quad = 4.0 * qdata
        offset = offset + float(ldata.sum()) + float(qdata.sum())
    else:
        lin, quad = ldata.copy(), qdata
    if lin.shape[0] != n:  # pragma: no cover - defensive
        raise ValueError("bqm vectors are inconsistent")
    return (np.ascontiguousarray(lin), np.ascontiguousarray(irow), np.ascontiguousarray(icol),
            np.ascontiguousarray(quad), offset)


def memory_bytes(num_qubits: int, *, gradient: bool = False, sampling: bool = False,
                 probabilities: bool = False) -> int:
    """Bytes the engine needs for ``num_qubits`` qubits (an upper bound, checked before allocating).

    Counts the cost vector as float64 (8 B per basis state), the state (16 B), the adjoint
    state for ``gradient`` (16 B), the cumulative distribution for ``sampling`` (8 B) and the
    returned array for ``probabilities`` (8 B).
    """
    n = int(num_qubits)
    extra = (1 << n) * 8 if probabilities else 0
    return int(_core.qaoa_memory_bytes(n, gradient, sampling)) + extra


def check_memory(num_qubits: int, *, max_memory: int | None = None, gradient: bool = False,
                 sampling: bool = False, probabilities: bool = False) -> int:
    """Raise :class:`MemoryLimitError` when ``num_qubits`` does not fit; return the bytes needed.

    Args:
        num_qubits: qubits (= variables of the model).
        max_memory: byte budget; None uses MemAvailable from /proc/meminfo.

    Raises:
        MemoryLimitError: more than :data:`MAX_QUBITS` qubits, or the bytes needed exceed
            the budget; the message gives both numbers.
    """
    need = memory_bytes(num_qubits, gradient=gradient, sampling=sampling, probabilities=probabilities)
    limit = int(max_memory) if max_memory is not None else int(_core.available_memory_bytes())
    if num_qubits > MAX_QUBITS:
        raise MemoryLimitError(
            f"statevector on {num_qubits} qubits needs {need} bytes ({need / 2**30:.3g} GiB); "
            f"the engine accepts at most {MAX_QUBITS} qubits", need, limit)
    if limit and need > limit:
        source = "max_memory" if max_memory is not None else "MemAvailable"
        raise MemoryLimitError(
            f"statevector on {num_qubits} qubits needs {need} bytes ({need / 2**30:.3g} GiB), more than the "
            f"limit of {limit} bytes ({limit / 2**30:.3g} GiB, {source})", need, limit)
    return need


def _angles(gamma, beta):
    g = np.atleast_1d(np.asarray(gamma, dtype=np.float64))
    b = np.atleast_1d(np.asarray(beta, dtype=np.float64))
    if g.ndim != 1 or b.ndim != 1 or g.shape != b.shape or g.size == 0:
        raise ParameterError("gamma", f"and beta must be 1-d arrays of the same length reps >= 1, "
                                      f"were shapes {g.shape} and {b.shape}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(b))):
        raise ParameterError("gamma", "and beta must be finite")
    return np.ascontiguousarray(g), np.ascontiguousarray(b)


def _model_key(arrays) -> str:
    lin, u, v, quad, offset = arrays
    h = hashlib.sha256()
    for a in (lin, u, v, quad):
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(b"|")
    h.update(repr(offset).encode())
    return h.hexdigest()


class QAOAEvaluator:
    """QAOA on one model with the cost vector built once (what an optimiser loop wants).

    Args:
        bqm: the model; n = ``bqm.num_variables`` qubits.
        num_threads: worker threads (None: all cores). The GIL is released in every call.
        max_memory: byte budget (None: MemAvailable). Checked before anything is allocated.

    Raises:
        MemoryLimitError: the model does not fit (see :func:`check_memory`).

    Examples:
        >>> import dimod
        >>> ev = QAOAEvaluator(dimod.generators.ran_r(1, 8, seed=3))
        >>> e, dg, db = ev.gradient([0.1], [0.2])
        >>> dg.shape
        (1,)
    """

    def __init__(self, bqm: dimod.BinaryQuadraticModel, *, num_threads: int | None = None,
                 max_memory: int | None = None):
        self.variables = list(bqm.variables)
        self.vartype = bqm.vartype
        self.num_qubits = len(self.variables)
        self.max_memory = max_memory
        check_memory(self.num_qubits, max_memory=max_memory)
        arrays = bit_arrays(bqm)
        self.key = _model_key(arrays)
        lin, u, v, quad, offset = arrays
        self._core = _core.QAOAEvaluator(self.num_qubits, lin, u, v, quad, offset,
                                         0 if num_threads is None else int(num_threads),
                                         0 if max_memory is None else int(max_memory))

    @property
    def core(self):
        """The underlying ``qopt._core.QAOAEvaluator``."""
        return self._core

    def expectation(self, gamma, beta) -> float:
        """<psi|C|psi> in the BQM's energy units (offset included)."""
        g, b = _angles(gamma, beta)
        return float(self._core.expectation(g, b))

    def probabilities(self, gamma, beta) -> np.ndarray:
        """float64 array (2**n,): probability of each basis state (module bit order)."""
        g, b = _angles(gamma, beta)
        check_memory(self.num_qubits, max_memory=self.max_memory, probabilities=True)
        return self._core.probabilities(g, b)

    def statevector(self, gamma, beta) -> np.ndarray:
        """complex128 array (2**n,): the amplitudes (module bit order)."""
        g, b = _angles(gamma, beta)
        return self._core.statevector(g, b)

    def gradient(self, gamma, beta) -> tuple[float, np.ndarray, np.ndarray]:
        """(expectation, d/dgamma float64 (reps,), d/dbeta float64 (reps,)), adjoint method.

        Keeps checkpoint states (16 B per amplitude each: ``reps - 1`` of them beside the state
        from 17 qubits, where the adjoint state reuses the state's memory and the backward sweep
        is one pass per layer; ``reps`` plus the adjoint state below) when the memory budget
        allows it, so the backward sweep moves the adjoint state alone; else it rotates both
        states back (two states, the budget :func:`check_memory` checks).
        """
        g, b = _angles(gamma, beta)
        check_memory(self.num_qubits, max_memory=self.max_memory, gradient=True)
        e, dg, db = self._core.gradient(g, b)
        return float(e), dg, db

    def warm_start(self, gamma, beta, theta) -> float:
        """Warm-start QAOA expectation (Egger et al., Quantum 5, 479, 2021), energy units.

        Args:
            gamma, beta: float (reps,) angles as for :meth:`expectation`.
            theta: float (n,): qubit q starts in ``cos(theta_q/2)|0> + sin(theta_q/2)|1>``
                and is mixed by ``exp(-i beta (sin(theta_q) X + cos(theta_q) Z))``;
                ``theta = pi/2`` everywhere is standard QAOA.

        Raises:
            ParameterError: angles of different lengths or not finite; ValueError: ``theta``
                of the wrong length or not finite.
        """
        g, b = _angles(gamma, beta)
        e, _ = self._core.warm_start(g, b, np.ascontiguousarray(theta, dtype=np.float64), False)
        return float(e)

    def warm_start_amplitudes(self, gamma, beta, theta) -> np.ndarray:
        """complex128 (2**n,): the warm-start QAOA state of :meth:`warm_start` (module bit order)."""
        g, b = _angles(gamma, beta)
        _, amps = self._core.warm_start(g, b, np.ascontiguousarray(theta, dtype=np.float64), True)
        return amps

    def sample_indices(self, gamma, beta, shots: int, seed: int) -> np.ndarray:
        """uint64 array (shots,): basis indices drawn from |psi|^2 (std::mt19937_64 seeded by seed)."""
        g, b = _angles(gamma, beta)
        check_memory(self.num_qubits, max_memory=self.max_memory, sampling=True)
        idx, _ = self._core.sample(g, b, int(shots), int(seed) % 2**64)
        return idx

    def cost_vector(self) -> np.ndarray:
        """float64 array (2**n,): C of each basis state, energy units."""
        return self._core.cost_vector()


_CACHE_LOCK = threading.Lock()
_CACHE: dict[str, QAOAEvaluator] = {}


def _evaluator(bqm, num_threads=None, max_memory=None) -> QAOAEvaluator:
    """One cached evaluator (the last model used), so repeated calls skip the cost vector."""
    arrays = bit_arrays(bqm)
    key = _model_key(arrays) + f"|{num_threads}|{max_memory}|{list(bqm.variables)!r}|{bqm.vartype.name}"
    with _CACHE_LOCK:
        ev = _CACHE.get(key)
        if ev is None:
            _CACHE.clear()  # release the previous model's memory first
            ev = QAOAEvaluator(bqm, num_threads=num_threads, max_memory=max_memory)
            _CACHE[key] = ev
        return ev


def clear_cache() -> None:
    """Drop the cached evaluator (frees its memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def cost_vector(bqm: dimod.BinaryQuadraticModel, *, max_memory: int | None = None) -> np.ndarray:
    """Energy of every basis state.

    Returns:
        float64 array of shape (2**n,); entry k is ``bqm.energy`` of the sample whose
        variable i has bit i of k (module conventions).

    Raises:
        MemoryLimitError: 2**n * 8 bytes exceeds the budget.
    """
    n = bqm.num_variables
    check_memory(n, max_memory=max_memory)
    lin, u, v, quad, offset = bit_arrays(bqm)
    return _core.qaoa_cost_vector(n, lin, u, v, quad, offset, 0)


def qaoa_expectation(bqm: dimod.BinaryQuadraticModel, gamma, beta, *, num_threads: int | None = None,
                     max_memory: int | None = None) -> float:
    """QAOA expectation <psi(gamma, beta)|C|psi(gamma, beta)>.

    Args:
        bqm: the model (SPIN or BINARY); n = num_variables qubits.
        gamma: float array (reps,), phase-separator angles in 1/energy units.
        beta: float array (reps,), mixer angles in radians.
        num_threads: worker threads (None: all cores).
        max_memory: byte budget (None: MemAvailable).

    Returns:
        float, in the BQM's energy units, offset included.

    Raises:
        ValueError: gamma/beta of different lengths, empty or not finite.
        MemoryLimitError: the statevector does not fit (checked before allocation).
    """
    return _evaluator(bqm, num_threads, max_memory).expectation(gamma, beta)


def qaoa_probabilities(bqm: dimod.BinaryQuadraticModel, gamma, beta, *, num_threads: int | None = None,
                       max_memory: int | None = None) -> np.ndarray:
    """Probabilities of the 2**n basis states, float64 shape (2**n,), little-endian (module conventions).

    Raises:
        ValueError, MemoryLimitError: as :func:`qaoa_expectation`.
    """
    return _evaluator(bqm, num_threads, max_memory).probabilities(gamma, beta)


def qaoa_gradient(bqm: dimod.BinaryQuadraticModel, gamma, beta, *, num_threads: int | None = None,
                  max_memory: int | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Expectation and its gradient by the adjoint method (exact, one forward + one backward sweep).

    Returns:
        ``(energy, dgamma, dbeta)``: float, float64 (reps,), float64 (reps,).

    Raises:
        ValueError, MemoryLimitError: as :func:`qaoa_expectation` (two states are needed).
    """
    return _evaluator(bqm, num_threads, max_memory).gradient(gamma, beta)


def indices_to_samples(indices: np.ndarray, num_qubits: int, vartype) -> np.ndarray:
    """Basis indices -> int8 samples of shape (len(indices), num_qubits) in ``vartype`` values.

    Bit i of an index is variable i; SPIN maps bit 0 -> +1 and bit 1 -> -1.
    """
    idx = np.asarray(indices, dtype=np.uint64)
    bits = ((idx[:, None] >> np.arange(num_qubits, dtype=np.uint64)[None, :]) & np.uint64(1)).astype(np.int8)
    if dimod.as_vartype(vartype) is dimod.SPIN:
        return (1 - 2 * bits).astype(np.int8)
    return bits


def qaoa_sample(bqm: dimod.BinaryQuadraticModel, gamma, beta, shots: int, seed: int, *,
                num_threads: int | None = None, max_memory: int | None = None) -> dimod.SampleSet:
    """Draw ``shots`` measurement outcomes of the QAOA state with a seed.

    Args:
        shots: number of samples (>= 1).
        seed: integer seed (the same seed gives the same samples).

    Returns:
        dimod.SampleSet aggregated over identical samples (``num_occurrences``), energies
        equal to ``bqm.energies``, sorted by energy; ``info`` holds ``expectation``.

    Raises:
        ValueError, MemoryLimitError: as :func:`qaoa_expectation`.
    """
    from qopt.checks import check_int

    shots = check_int("shots", shots, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    ev = _evaluator(bqm, num_threads, max_memory)
    idx = ev.sample_indices(gamma, beta, shots, seed)
    uniq, counts = np.unique(idx, return_counts=True)
    samples = indices_to_samples(uniq, ev.num_qubits, bqm.vartype)
    energies = bqm.energies((samples, ev.variables))
    order = np.lexsort((-counts, energies))
    ss = dimod.SampleSet.from_samples((samples[order], ev.variables), vartype=bqm.vartype,
                                      energy=energies[order], num_occurrences=counts[order])
    ss.info["expectation"] = ev.expectation(gamma, beta)
    return ss
