"""Preflight for the quantum backends: resources a run needs, before running it.

:func:`preflight` answers "what would this cost?" for ``"qaoa"``, ``"ibm"``, ``"dwave"`` and
``"dwave-hybrid"`` (the service's dry run uses it): qubits, transpiled circuit depth and
two-qubit gates, shots, statevector memory, D-Wave embedding size, and an estimated run
time. With a device (``noise_model="fake:<device>"`` on ``qaoa`` or ``ibm``, or a
``backend=`` object on ``ibm``) the circuit is transpiled to it and the report adds the
device, its calibration date, the estimated circuit fidelity and QPU time
(:func:`qopt.samplers.noise.device_report`); a circuit whose counts would be noise is
refused (:func:`qopt.samplers.noise.check_fidelity`, the same rule the sampler applies).
A problem that cannot run on the backend raises :class:`PreflightError` with the numbers.

The time estimates are simple models, stated in ``estimate_model``: QAOA optimisation is
``maxiter`` evaluations of the C++ statevector (one block pass and one strided pass per layer
over 2^n amplitudes, ~34 bytes per amplitude per pass at :data:`ASSUMED_BANDWIDTH`) plus
sampling on qiskit-aer (one statevector pass per transpiled gate); D-Wave is programming
time plus ``num_reads * (annealing_time + readout)``.
"""
from __future__ import annotations

import time
import warnings

import dimod

from qopt import statevector
from qopt.checks import check_choice
from qopt.errors import EmbeddingError, PreflightError
from qopt.samplers import noise
from qopt.samplers.dwave import DWaveSampler, embedding_stats, find_embedding_cached
from qopt.samplers.dwave_hybrid import DWaveHybridSampler
from qopt.samplers.qaoa import GRADIENT_METHODS, QAOASampler, ising_operator, two_qubit_gates

__all__ = ["PreflightError", "preflight", "qaoa_seconds", "ASSUMED_BANDWIDTH", "PREFLIGHT_BACKENDS",
           "HYBRID_MINIMUM_TIME_LIMIT_S"]

#: The backends :func:`preflight` knows.
PREFLIGHT_BACKENDS = ("qaoa", "ibm", "dwave", "dwave-hybrid")
#: Leap's hybrid BQM solver minimum time limit (seconds) for up to 1024 variables, the
#: estimate used offline (the solver's ``minimum_time_limit`` property is read on a live run).
HYBRID_MINIMUM_TIME_LIMIT_S = 3.0

#: Memory bandwidth (bytes/s) the run-time model assumes for the C++ statevector engine.
ASSUMED_BANDWIDTH = 5.0e9
#: Cost of one adjoint gradient (with its energy) in expectations: 3.7-5.1 measured at n = 20-24,
#: reps 1-3 (``benchmarks/bench_qaoa.py --sections engine``, benchmarks/QAOA.md).
GRADIENT_COST_IN_EXPECTATIONS = 4.5
#: D-Wave timing model (seconds): programming, readout + delay per read.
DWAVE_PROGRAMMING_S = 0.015
DWAVE_READOUT_S = 1.5e-4
#: Annealing time (microseconds) assumed when none is given (the Advantage default).
DWAVE_DEFAULT_ANNEALING_TIME_US = 20.0


def preflight(bqm: dimod.BinaryQuadraticModel, backend: str, **params) -> dict:
    """Resources a run of ``backend`` on ``bqm`` needs, without running it.

    Args:
        bqm: the model.
        backend: ``"qaoa"``, ``"ibm"``, ``"dwave"`` or ``"dwave-hybrid"``.
        **params: the backend's sampling parameters. ``"qaoa"``: ``reps`` (1), ``shots`` (1024),
            ``maxiter`` (100), ``optimizer`` ("COBYLA"), ``max_qubits`` (at most and by default
            ``QAOA_MAX_QUBITS``, 24), ``max_memory``
            (bytes; None = MemAvailable), ``optimization_level`` (1), ``seed`` (0), ``transpile``
            (True: build and transpile the circuit to count depth and gates), ``variant``
            ("standard"; "recursive" reports the first QAOA run of the recursion),
            ``noise_model`` (None or ``"fake:<device>"``: transpile to that device and estimate
            fidelity and QPU time). ``"ibm"``: the same, ``noise_model`` a fake device, and
            ``backend`` (a Qiskit BackendV2; without one and without a fake device there is
            nothing to transpile to offline, so the device fields are None). ``"dwave-hybrid"``:
            ``time_limit`` (s; default: the Leap minimum, 3 s up to 1024 variables, as
            ``estimated_seconds``). ``"dwave"``:
            ``num_reads`` (100), ``annealing_time`` (µs, default 20), ``child_sampler`` or
            ``sampler`` (a qopt ``DWaveSampler``; default: a Pegasus P16 graph, the Advantage
            topology, without contacting the cloud), ``seed``.

    Returns:
        dict with ``backend``, ``num_variables``, ``qubits``, ``estimated_seconds`` and
        ``estimate_model``; for qaoa ``reps``, ``shots``, ``memory_bytes``, ``depth``,
        ``two_qubit_gates``, ``max_qubits``, ``variant``, and with a device ``device``,
        ``noise_model``, ``calibration_date``, ``estimated_fidelity``, ``min_fidelity``,
        ``estimated_qpu_seconds``; for dwave ``num_reads``, ``annealing_time``,
        ``physical_qubits``, ``max_chain_length``, ``target``, ``preflight_ns``.

    Raises:
        PreflightError: too many qubits, not enough memory, no embedding, or (with a device)
            an estimated fidelity below :func:`qopt.samplers.noise.min_fidelity` of ``shots``.
        ParameterError: a bad parameter (checked against the backend's ``parameter_spec``).
    """
    backend = check_choice("backend", backend, PREFLIGHT_BACKENDS)
    t0 = time.perf_counter_ns()
    if backend in ("qaoa", "ibm"):
        out = _qaoa(bqm, **params)
        out["backend"] = backend
    elif backend == "dwave":
        out = _dwave(bqm, **params)
    else:
        out = _dwave_hybrid(bqm, **params)
    out["preflight_ns"] = time.perf_counter_ns() - t0
    return out


def _qaoa(bqm, *, reps=1, shots=1024, maxiter=100, optimizer="COBYLA", max_qubits=None, max_memory=None,
          optimization_level=1, seed=0, transpile=True, evaluator="core", variant="standard", noise_model=None,
          backend=None, **_ignored) -> dict:
    spec = QAOASampler.parameter_spec
    variant = spec.check("variant", variant)
    noise_model = spec.check("noise_model", noise_model)
    device = backend
    if noise_model is not None:
        device = noise.fake_backend(noise_model)
    reps = spec.check("reps", reps)
    shots = spec.check("shots", shots)
    maxiter = spec.check("maxiter", maxiter)
    optimizer = spec.check("optimizer", optimizer)
    evaluator = spec.check("evaluator", evaluator)
    optimization_level = spec.check("optimization_level", optimization_level)
    seed = spec.check("seed", seed)
    max_qubits = spec.check("max_qubits", spec["max_qubits"].default if max_qubits is None else max_qubits)
    n = bqm.num_variables
    gradient = optimizer in GRADIENT_METHODS
    mem = statevector.memory_bytes(n, gradient=gradient, sampling=False) if n <= 62 else float("inf")
    try:
        spec.check_size(n, {"max_qubits": max_qubits})
    except PreflightError as exc:
        raise PreflightError(f"{exc}; a statevector needs {mem} bytes") from None
    try:
        statevector.check_memory(n, max_memory=max_memory, gradient=gradient)
    except statevector.MemoryLimitError as exc:
        raise PreflightError(f"qaoa on {n} qubits: {exc}") from exc
    out = {"backend": "qaoa", "num_variables": n, "qubits": n, "reps": reps, "shots": shots,
           "memory_bytes": int(mem), "max_qubits": max_qubits, "evaluator": evaluator, "variant": variant}
    depth = gates2 = None
    num_gates = 0
    if (transpile or device is not None) and n > 0:
        from qiskit.circuit.library import qaoa_ansatz
        from qiskit.transpiler import generate_preset_pass_manager

        qc = qaoa_ansatz(ising_operator(bqm), reps=reps)
        qc.measure_all()
        if device is None:
            from qiskit_aer import AerSimulator

            target = AerSimulator()
        else:
            target = device
        pm = generate_preset_pass_manager(optimization_level=optimization_level, backend=target,
                                          seed_transpiler=int(seed or 0))
        isa = pm.run(qc)
        depth, gates2, num_gates = int(isa.depth()), two_qubit_gates(isa), len(isa.data)
        if device is not None:
            report = noise.device_report(isa, device, shots)
            out.update({k: report[k] for k in ("device", "calibration_date", "estimated_fidelity", "min_fidelity",
                                               "estimated_qpu_seconds")})
            out["noise_model"] = noise_model
            noise.check_fidelity(report["estimated_fidelity"], shots, f"qaoa on {report['device']}")
    out.update({"depth": depth, "two_qubit_gates": gates2})
    out["estimated_seconds"], out["estimate_model"] = qaoa_seconds(n, reps=reps, maxiter=maxiter, shots=shots,
                                                                   gradient=gradient, num_gates=num_gates)
    return out


def qaoa_seconds(n: int, *, reps: int, maxiter: int, shots: int, gradient: bool,
                 num_gates: int = 0) -> tuple[float, str]:
    """The QAOA run-time model: ``(seconds, how)``.

    ``maxiter`` evaluations (each :data:`GRADIENT_COST_IN_EXPECTATIONS` with a gradient
    optimiser, which evaluates the energy and its adjoint gradient) of the C++ statevector, one block
    pass and one strided pass per layer over 2^n amplitudes at ~34 bytes per amplitude and
    :data:`ASSUMED_BANDWIDTH`, plus Aer sampling: one pass per transpiled gate (``num_gates``;
    0 when not transpiled) and ``shots`` x 1 us. Also the service's cost model
    (:mod:`qopt.service.cost`).
    """
    amp = 2.0 ** n
    t_eval = reps * 2 * 34.0 * amp / ASSUMED_BANDWIDTH + 1e-4
    evals = max(maxiter, 1) * (GRADIENT_COST_IN_EXPECTATIONS if gradient else 1)
    t_sample = num_gates * 32.0 * amp / ASSUMED_BANDWIDTH + shots * 1e-6 + 0.01
    how = (f"{evals:g} evaluations x {t_eval:.3g} s (C++ statevector, {reps} layers, "
           f"{ASSUMED_BANDWIDTH / 1e9:g} GB/s) + Aer sampling {t_sample:.3g} s "
           f"({num_gates} gates x 2^{n} amplitudes)")
    return float(evals * t_eval + t_sample), how


def _dwave(bqm, *, num_reads=100, annealing_time=None, child_sampler=None, sampler=None, seed=None,
           embedding_timeout=60.0, **_ignored) -> dict:
    spec = DWaveSampler.parameter_spec
    num_reads = spec.check("num_reads", num_reads)
    annealing_time = spec.check("annealing_time", annealing_time)
    at = DWAVE_DEFAULT_ANNEALING_TIME_US if annealing_time is None else annealing_time
    seed = spec.check("seed", seed)
    embedding_timeout = spec.check("embedding_timeout", embedding_timeout)
    n = bqm.num_variables
    if sampler is None and child_sampler is not None:
        sampler = DWaveSampler(child_sampler=child_sampler)
    try:
        if sampler is not None:
            child = sampler.child
            target = str(child.properties.get("chip_id", type(child).__name__))
            topo = child.properties.get("topology", {})
            emb, _ = sampler.embedding_for(bqm, seed=seed, timeout=embedding_timeout)
            num_qubits = len(child.nodelist)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # dwave-networkx -> dwave-graphs notice
                import dwave_networkx as dnx

            g = dnx.pegasus_graph(16)
            topo = {"type": "pegasus", "shape": [16]}
            target = "pegasus P16 graph (Advantage topology, no defects)"
            emb, _ = find_embedding_cached(list(bqm.variables), list(bqm.quadratic), list(g.nodes), list(g.edges),
                                           seed=seed, timeout=embedding_timeout)
            num_qubits = g.number_of_nodes()
    except EmbeddingError as exc:
        raise PreflightError(f"dwave: {n} variables / {bqm.num_interactions} interactions do not embed: {exc}") \
            from exc
    stats = embedding_stats(emb)
    if stats["physical_qubits"] > num_qubits:  # pragma: no cover - minorminer never returns this
        raise PreflightError(f"dwave needs {stats['physical_qubits']} qubits, the target has {num_qubits}")
    est = DWAVE_PROGRAMMING_S + num_reads * (at * 1e-6 + DWAVE_READOUT_S)
    return {"backend": "dwave", "num_variables": n, "qubits": stats["physical_qubits"],
            "physical_qubits": stats["physical_qubits"], "max_chain_length": stats["max_chain_length"],
            "mean_chain_length": stats["mean_chain_length"], "num_reads": num_reads, "annealing_time": at,
            "target": target, "topology": topo, "target_qubits": num_qubits,
            "estimated_seconds": float(est),
            "estimate_model": f"{DWAVE_PROGRAMMING_S} s programming + num_reads x (annealing_time + "
                              f"{DWAVE_READOUT_S * 1e6:g} us readout); QPU access only, queueing not included"}


def _dwave_hybrid(bqm, *, time_limit=None, **_ignored) -> dict:
    time_limit = DWaveHybridSampler.parameter_spec.check("time_limit", time_limit)
    seconds = HYBRID_MINIMUM_TIME_LIMIT_S if time_limit is None else max(time_limit, HYBRID_MINIMUM_TIME_LIMIT_S)
    return {"backend": "dwave-hybrid", "num_variables": bqm.num_variables, "qubits": None,
            "time_limit": time_limit, "estimated_seconds": float(seconds),
            "estimate_model": f"the solver runs for time_limit (at least Leap's minimum, {HYBRID_MINIMUM_TIME_LIMIT_S:g} s "
                              "up to 1024 variables, read from the solver on a live run); upload and queueing "
                              "not included"}
