"""QAOA as a :class:`dimod.Sampler`: Qiskit circuit, SciPy angle optimisation, Qiskit SamplerV2 shots.

Method: Farhi, Goldstone & Gutmann, "A Quantum Approximate Optimization Algorithm",
arXiv:1411.4028 (2014); variants of :mod:`qopt.samplers.qaoa.variants` (CVaR, warm start,
recursive) and the parametrisations of :mod:`qopt.samplers.qaoa.angles` (fixed angles,
INTERP, Fourier).

Pipeline of :meth:`QAOASampler.sample`:

1. the BQM becomes an Ising operator ``C = offset + sum h_i Z_i + sum J_ij Z_i Z_j`` as a
   :class:`qiskit.quantum_info.SparsePauliOp` (variable ``i`` in ``bqm.variables`` order is
   qubit ``i``; BINARY ``x_i = (1 - Z_i)/2``, SPIN ``s_i = Z_i``, so ``|0> -> s=+1, x=0``);
2. the circuit is :func:`qiskit.circuit.library.qaoa_ansatz` of ``C`` with ``reps`` layers
   (for ``variant="warm_start"`` the same with Egger et al.'s initial state and mixer),
   transpiled once with a seeded preset pass manager (Aer's basis by default, a fake
   device's coupling map and basis with ``noise_model="fake:<device>"``);
3. the angles are optimised with :func:`qopt.samplers.qaoa.angles.optimize_angles`
   (:func:`scipy.optimize.minimize`), the objective coming from the qopt C++ statevector
   engine (``evaluator="core"``, exact gradient for gradient methods) or from qiskit-aer's
   ``EstimatorV2`` (``evaluator="aer"``);
4. ``shots`` outcomes are drawn with a Qiskit ``SamplerV2`` (qiskit-aer by default, Aer with
   the fake device's noise model, or the one passed, e.g. a hardware primitive), mapped back
   with the same bit order, aggregated and ranked by ``bqm.energies``.

``variant="recursive"`` replaces steps 2-4 by recursive QAOA on the statevector engine.

Angle vector (``initial_point`` and ``info["angles"]``): ``[gamma_0 .. gamma_{reps-1},
beta_0 .. beta_{reps-1}]``; gamma in 1/energy units of the BQM, beta in radians.
"""
from __future__ import annotations

import hashlib
import time
from importlib import metadata

import dimod
import numpy as np

from qopt.errors import Cancelled, ParameterError, PreflightError
from qopt.samplers import noise
from qopt.samplers.limits import ENUMERATION_MAX_VARIABLES, QAOA_MAX_QUBITS
from qopt.samplers.qaoa.angles import OPTIMIZERS, fixed_angles, fourier_matrix, interp, linear_ramp, optimize_angles
from qopt.samplers.qaoa.model import energy_scale, ising_operator
from qopt.samplers.qaoa.variants import cvar_objective, recursive_qaoa, warm_start_thetas
from qopt.samplers.spec import Param, ParameterSpec, SizeRule, event_validator, has_method_validator

__all__ = ["QAOASampler", "EVALUATORS", "VARIANTS", "initial_angles", "ansatz_circuit"]

#: Expectation evaluators accepted by ``evaluator``.
EVALUATORS = ("core", "aer")
#: QAOA variants accepted by ``variant``.
VARIANTS = ("standard", "warm_start", "cvar", "fourier", "recursive")


def _too_many_qubits(num_variables: int, limit: int) -> PreflightError:
    return PreflightError(f"qaoa needs {num_variables} qubits, more than max_qubits={limit} "
                          f"(one qubit per variable)")


def _check_sampler(value):
    if isinstance(value, str):
        if value != "core":
            raise ParameterError("sampler", f"must be a Qiskit SamplerV2, 'core' or None, was {value!r}")
    elif not callable(getattr(value, "run", None)):
        raise ParameterError("sampler", f"must be a Qiskit SamplerV2, 'core' or None, was {value!r}")
    return value


def _check_noise_model(value):
    if not noise.is_fake(value):
        raise ParameterError("noise_model", f"must be None or 'fake:<device>' (e.g. 'fake:brisbane'), was {value!r}")
    return value


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("qiskit", "qiskit-aer", "scipy", "qopt"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover - source tree without install
            if pkg == "qopt":
                from qopt._version import __version__
                out[pkg] = __version__
    return out


def initial_angles(bqm: dimod.BinaryQuadraticModel, reps: int) -> tuple[np.ndarray, str]:
    """The default start ``(angles, source)``: the Wurtz-Lykov fixed angles for unweighted
    3-regular MaxCut with ``reps`` <= 3 (``"fixed_angles"``), else the linear ramp scaled by
    :func:`energy_scale` (``"linear_ramp"``)."""
    fixed = fixed_angles(bqm, reps)
    if fixed is not None:
        return fixed, "fixed_angles"
    return linear_ramp(reps, energy_scale(bqm)), "linear_ramp"


def ansatz_circuit(op, reps: int, thetas=None):
    """The parametrised QAOA circuit of operator ``op``: Qiskit's ``qaoa_ansatz`` (parameters
    ``γ[l]``, ``β[l]``), or with ``thetas`` (float (n,)) the warm-start circuit of Egger et al.
    (2021): ``RY(theta_q)`` on each qubit, then per layer ``exp(-i γ C)`` and the mixer
    ``RY(theta_q) RZ(2 β) RY(-theta_q)`` on each qubit."""
    from qiskit.circuit.library import qaoa_ansatz

    if thetas is None:
        return qaoa_ansatz(op, reps=reps)
    from qiskit.circuit import ParameterVector, QuantumCircuit
    from qiskit.circuit.library import PauliEvolutionGate

    n = op.num_qubits
    gammas, betas = ParameterVector("γ", reps), ParameterVector("β", reps)
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.ry(float(thetas[q]), q)
    for layer in range(reps):
        qc.append(PauliEvolutionGate(op, time=gammas[layer]), range(n))
        for q in range(n):
            qc.ry(-float(thetas[q]), q)
            qc.rz(2 * betas[layer], q)
            qc.ry(float(thetas[q]), q)
    return qc


class QAOASampler(dimod.Sampler):
    """QAOA sampler: Qiskit circuit, SciPy-optimised angles, Qiskit SamplerV2 shots.

    Examples:
        >>> import dimod
        >>> from qopt.samplers.qaoa import QAOASampler
        >>> bqm = dimod.BinaryQuadraticModel({}, {(0, 1): 1, (1, 2): 1, (0, 2): 1}, 0, "SPIN")
        >>> ss = QAOASampler().sample(bqm, reps=1, shots=256, seed=7)
        >>> float(ss.first.energy)
        -1.0
    """

    #: The backend's parameters and qubit budget (``QAOA_MAX_QUBITS``, one qubit per variable;
    #: ``max_qubits`` may lower it per call, never raise it).
    parameter_spec = ParameterSpec([
        Param("reps", "int", 1, minimum=1, maximum=1000, doc="QAOA layers p"),
        Param("shots", "int", 1024, minimum=1, doc="measurement shots of the final circuit"),
        Param("optimizer", "str", "COBYLA", choices=OPTIMIZERS, properties=("optimizers",),
              doc="scipy.optimize.minimize method for the angles"),
        Param("maxiter", "int", 100, minimum=0, doc="optimiser iterations (0 keeps the initial point)"),
        Param("initial_point", "array", None,
              doc="2*reps angles [gammas (1/energy), betas (rad)] (None: fixed angles for 3-regular MaxCut, "
                  "else the linear ramp)"),
        Param("seed", "int", None, minimum=0, maximum=2**63 - 1,
              doc="seeds the transpiler, Aer's estimator and sampler (None: drawn, reported in info)"),
        Param("evaluator", "str", "core", choices=EVALUATORS, properties=("evaluators",),
              doc="expectation during optimisation: qopt C++ statevector or qiskit-aer"),
        Param("variant", "str", "standard", choices=VARIANTS, properties=("variants",),
              doc="QAOA variant: standard, warm_start (Egger 2021), cvar (Barkoutsos 2020), fourier with "
                  "INTERP (Zhou 2020), recursive (Bravyi 2020)"),
        Param("cvar_alpha", "float", 1.0, minimum=0.0, exclusive_minimum=True, maximum=1.0,
              doc="CVaR fraction of the lowest-energy outcomes (variant='cvar'; 1 = expectation)"),
        Param("warm_start", "array", None,
              doc="incumbent for variant='warm_start', values in the BQM's vartype in variable order "
                  "(None: the best of a short qopt simulated-annealing run)"),
        Param("warm_start_epsilon", "float", 0.25, minimum=0.0, maximum=0.5,
              doc="regularisation epsilon of the warm start (Egger et al. 2021)"),
        Param("rqaoa_cutoff", "int", 8, minimum=1, maximum=ENUMERATION_MAX_VARIABLES,
              doc="variant='recursive': solve exactly once at most this many variables remain"),
        Param("noise_model", "str", None,
              doc="'fake:<device>' (e.g. 'fake:brisbane'): transpile to that qiskit-ibm-runtime fake device "
                  "and sample on Aer with its noise model (None: ideal)"),
        Param("sampler", "object", None, wire=True, validator=_check_sampler,
              doc="a Qiskit SamplerV2 for the final shots, or 'core' (the C++ statevector); None: Aer"),
        Param("max_qubits", "int", QAOA_MAX_QUBITS, minimum=1, maximum=QAOA_MAX_QUBITS,
              doc="refuse models with more variables (at most the backend's qubit budget)"),
        Param("optimization_level", "int", 1, minimum=0, maximum=3, doc="preset pass-manager level"),
        Param("pass_manager", "object", None, validator=has_method_validator("pass_manager", "run", "a Qiskit pass manager"),
              doc="a Qiskit pass manager to transpile with (None: the preset one for AerSimulator)"),
        Param("interrupt", "object", None, wire=False, validator=event_validator("interrupt"),
              doc="an object with is_set() (threading.Event), checked before each objective evaluation"),
    ], size=SizeRule(QAOA_MAX_QUBITS, _too_many_qubits, parameter="max_qubits"))
    parameters = parameter_spec.dimod_parameters()
    properties = {
        "optimizers": OPTIMIZERS,
        "evaluators": EVALUATORS,
        "variants": VARIANTS,
        "max_qubits": QAOA_MAX_QUBITS,
        "description": "QAOA (Farhi et al. 2014) and its variants: Qiskit circuits, SciPy angles on the qopt C++ "
                       "statevector engine or qiskit-aer, samples from a Qiskit SamplerV2 (ideal or a fake "
                       "device's noise model)",
    }

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, reps: int = 1, shots: int = 1024,
               optimizer: str = "COBYLA", maxiter: int = 100, initial_point=None, seed: int | None = None,
               evaluator: str = "core", variant: str = "standard", cvar_alpha: float = 1.0, warm_start=None,
               warm_start_epsilon: float = 0.25, rqaoa_cutoff: int = 8, noise_model: str | None = None,
               sampler=None, max_qubits: int = QAOA_MAX_QUBITS, optimization_level: int = 1, pass_manager=None,
               interrupt=None, **kwargs) -> dimod.SampleSet:
        """Optimise QAOA angles on ``bqm`` and sample the final circuit.

        Args:
            bqm: the model, SPIN or BINARY; one qubit per variable.
            reps: QAOA layers p (>= 1, default 1).
            shots: measurement shots of the final circuit (>= 1, default 1024).
            optimizer: a :func:`scipy.optimize.minimize` method (default ``"COBYLA"``); gradient
                methods (``"L-BFGS-B"``, ...) use the C++ adjoint gradient with
                ``evaluator="core"`` and ``variant`` "standard", "fourier" or "recursive", SciPy
                finite differences otherwise.
            maxiter: optimiser iterations (``options={"maxiter": ...}``; 0 keeps the initial
                point); with ``variant="fourier"`` split evenly over the layers grown one by one,
                with ``"recursive"`` spent per elimination step.
            initial_point: 2*reps angles ``[gammas, betas]`` (gamma in 1/energy, beta in radians);
                default: :func:`initial_angles` (Wurtz-Lykov fixed angles for unweighted 3-regular
                MaxCut at reps <= 3, else the linear ramp). ``"fourier"`` uses it for its first layer.
            seed: seeds the transpiler, Aer's estimator and sampler (None: random, reported in
                ``info["seed"]``). With the default Aer sampler the same seed gives the same samples.
            evaluator: ``"core"`` (qopt C++ statevector, default) or ``"aer"`` (qiskit-aer
                ``EstimatorV2``, exact) for the expectation during optimisation; the variants
                other than "standard" need ``"core"``.
            variant: ``"standard"``; ``"warm_start"`` (Egger et al., Quantum 5, 479, 2021, from
                ``warm_start`` or the annealer's incumbent); ``"cvar"`` (Barkoutsos et al.,
                Quantum 4, 256, 2020, with ``cvar_alpha``); ``"fourier"`` (Zhou et al., PRX 10,
                021067, 2020: Fourier parametrisation with q = p, layers grown 1..reps, each
                started by INTERP from the one before); ``"recursive"`` (RQAOA, Bravyi et al.,
                PRL 125, 260505, 2020, down to ``rqaoa_cutoff`` variables).
            cvar_alpha: the CVaR fraction in (0, 1] (default 1: the expectation).
            warm_start: the incumbent, float (n,) of BQM values in ``bqm.variables`` order.
            warm_start_epsilon: regularisation in [0, 0.5] (default 0.25).
            rqaoa_cutoff: variables solved exactly at the end of RQAOA (1..16, default 8).
            noise_model: None (ideal) or ``"fake:<device>"``: transpile to that
                qiskit-ibm-runtime fake device (coupling map, basis) and draw the shots on
                Aer with its noise model (``AerSimulator.from_backend``); refused before the
                angle search when :func:`qopt.samplers.noise.check_fidelity` says the counts
                would be noise. Angles are optimised on the ideal engine.
            sampler: a Qiskit ``BaseSamplerV2`` for the final shots (default
                ``qiskit_aer.primitives.SamplerV2(seed=seed)``), or ``"core"`` to draw the shots
                from the C++ statevector. A hardware sampler needs a matching ``pass_manager``.
            max_qubits: refuse models with more variables (default and maximum: ``QAOA_MAX_QUBITS``,
                24, of :mod:`qopt.samplers.limits`); checked before building anything.
            optimization_level: preset pass-manager level (0-3, default 1).
            pass_manager: a Qiskit pass manager to transpile with (default: the preset one for
                ``AerSimulator`` or the fake device, with ``seed_transpiler=seed``).
            interrupt: None or an object with ``is_set()`` (:class:`threading.Event`), checked
                after transpiling, before each objective evaluation of the angle optimisation
                and before the final shots; when set the call raises ``Cancelled``.

        Returns:
            dimod.SampleSet in the BQM's vartype, one row per distinct outcome with
            ``num_occurrences``, sorted by energy (energies equal ``bqm.energies``). ``info``:
            ``seed``, ``variant``, ``angles`` ({"gamma", "beta"}), ``initial_point``,
            ``initial_point_source``, ``expectation`` (ideal, at the final angles, energy
            units), ``sampled_expectation`` (mean energy of the shots), ``objective`` (the
            optimised value: the expectation, or CVaR), ``optimizer`` (name, nfev, nit,
            success, message), ``optimizer_trace`` (one entry per objective evaluation: gamma,
            beta, energy), ``circuit_sha256`` (of ``qiskit.qasm3.dumps`` of the transpiled
            circuit with the final angles bound), ``transpile`` (options and seed),
            ``num_qubits``, ``depth``, ``two_qubit_gates``, ``versions``, ``timing``
            (``preprocessing_ns``, ``optimization_ns``, ``sampling_ns``, ``postprocessing_ns``);
            with a noise model the provenance keys ``device``, ``noise_model``,
            ``calibration_date`` and ``estimated_fidelity``, ``estimated_qpu_seconds``.
            ``variant="recursive"``: one row (the RQAOA solution) and ``eliminations``,
            ``num_qaoa_runs``, ``optimizer`` (total nfev).

        Raises:
            ParameterError (a ValueError): a parameter out of range, naming it (``max_qubits``
                above ``QAOA_MAX_QUBITS`` included; ``evaluator`` or ``noise_model`` that the
                variant does not support; a ``warm_start`` of the wrong length).
            PreflightError (a ValueError): more variables than ``max_qubits``; with a noise
                model, an estimated fidelity too low for ``shots`` (field ``shots``).
            qopt.statevector.MemoryLimitError: the C++ statevector does not fit in memory.
            qopt.errors.Cancelled: ``interrupt`` was set.
        """
        self.remove_unknown_kwargs(**kwargs)
        params = dict(reps=reps, shots=shots, optimizer=optimizer, maxiter=maxiter, initial_point=initial_point,
                      seed=seed, evaluator=evaluator, variant=variant, cvar_alpha=cvar_alpha,
                      warm_start=warm_start, warm_start_epsilon=warm_start_epsilon, rqaoa_cutoff=rqaoa_cutoff,
                      noise_model=noise_model, sampler=sampler, max_qubits=max_qubits,
                      optimization_level=optimization_level, pass_manager=pass_manager, interrupt=interrupt)
        return self.sample_on_device(bqm, None, **params)

    def sample_on_device(self, bqm: dimod.BinaryQuadraticModel, device, **params) -> dimod.SampleSet:
        """:meth:`sample` with the circuit transpiled for ``device`` (a Qiskit ``BackendV2``,
        e.g. an IBM Quantum backend or a fake one; None: as ``sample``): its preset pass
        manager, the fidelity refusal and the provenance keys ``device``,
        ``calibration_date``, ``estimated_fidelity``, ``estimated_qpu_seconds``. The final
        shots go to ``params["sampler"]`` (Aer with the device's noise model by default).
        This is the path of the ``ibm`` backend and of ``noise_model="fake:<device>"``.

        Raises:
            as :meth:`sample`.
        """
        t0 = time.perf_counter_ns()
        spec = self.parameter_spec
        p = {name: param.default for name, param in spec.items()}
        p.update({name: spec.check(name, value) for name, value in params.items()})
        if p.get("noise_model") is not None:
            _check_noise_model(p["noise_model"])
        reps, shots, maxiter, variant = p["reps"], p["shots"], p["maxiter"], p["variant"]
        seed = p["seed"] if p["seed"] is not None else spec.random_seed(31)
        interrupt = p["interrupt"]
        if variant != "standard" and p["evaluator"] != "core":
            raise ParameterError("evaluator", f"must be 'core' with variant={variant!r}, was {p['evaluator']!r}")
        if variant == "recursive" and (p["noise_model"] is not None or device is not None):
            raise ParameterError("noise_model", "must be None with variant='recursive' (an ideal-engine method)")

        def check_interrupt(where: str) -> None:
            if interrupt is not None and interrupt.is_set():
                raise Cancelled(f"QAOA interrupted {where}")

        n = bqm.num_variables
        spec.check_size(n, {"max_qubits": p["max_qubits"]})
        if p["initial_point"] is None:
            x0, x0_source = initial_angles(bqm, reps)
        else:
            x0, x0_source = p["initial_point"], "initial_point"
            if x0.shape != (2 * reps,):
                raise ParameterError("initial_point", f"must be {2 * reps} finite angles [gammas, betas], "
                                     f"was {list(x0)!r}")
        if n == 0:
            ss = dimod.SampleSet.from_samples_bqm(([[]], []), bqm, num_occurrences=[shots])
            ss.info.update({"seed": seed, "num_qubits": 0, "variant": variant})
            return ss
        if variant == "recursive":
            return self._recursive(bqm, p, seed, t0)

        from qopt.statevector import QAOAEvaluator

        thetas = None
        warm_info: dict = {}
        if variant == "warm_start":
            thetas, warm_info = self._warm_thetas(bqm, p, seed)
        op = ising_operator(bqm)
        ansatz = ansatz_circuit(op, reps, thetas)
        sampler, pass_manager, transpile_info, device, device_info = self._target(device, p, seed)
        measured = ansatz.copy()
        measured.measure_all()
        isa_measured = pass_manager.run(measured)
        if device is not None:
            report = noise.device_report(isa_measured, device, shots)
            noise.check_fidelity(report["estimated_fidelity"], shots, f"qaoa on {device_info['device']}")
            device_info.update({k: report[k] for k in ("calibration_date", "estimated_fidelity",
                                                       "estimated_qpu_seconds")})
        gammas = sorted((q for q in ansatz.parameters if q.name.startswith("γ")), key=lambda q: q.index)
        betas = sorted((q for q in ansatz.parameters if q.name.startswith("β")), key=lambda q: q.index)

        def bind_dict(x):
            d = {q: float(v) for q, v in zip(gammas, x[:len(x) // 2], strict=True)}
            d.update({q: float(v) for q, v in zip(betas, x[len(x) // 2:], strict=True)})
            return d

        check_interrupt("after transpiling")
        core_ev = QAOAEvaluator(bqm) if p["evaluator"] == "core" or p["sampler"] == "core" else None
        gradient = None
        if variant == "warm_start":
            assert core_ev is not None

            def objective(x):
                return core_ev.warm_start(x[:len(x) // 2], x[len(x) // 2:], thetas)
        elif variant == "cvar":
            objective = cvar_objective(core_ev, p["cvar_alpha"])
        elif core_ev is not None and p["evaluator"] == "core":
            def objective(x):
                return core_ev.expectation(x[:len(x) // 2], x[len(x) // 2:])

            def gradient(x):
                e, dg, db = core_ev.gradient(x[:len(x) // 2], x[len(x) // 2:])
                return e, np.concatenate([dg, db])
        else:
            objective = self._aer_objective(ansatz, op, pass_manager, seed, bind_dict)

        t1 = time.perf_counter_ns()
        trace: list[dict] = []
        if variant == "fourier":
            found = self._fourier(objective, gradient, x0, reps, p, trace, initial_angles(bqm, 1)[0])
        else:
            found = optimize_angles(objective, x0, optimizer=p["optimizer"], maxiter=maxiter, gradient=gradient,
                                    interrupt=interrupt, trace=trace)
        x = found["angles"]
        if core_ev is None:
            expectation = found["value"]
        elif variant == "warm_start":
            expectation = core_ev.warm_start(x[:reps], x[reps:], thetas)
        else:
            expectation = core_ev.expectation(x[:reps], x[reps:])
        t2 = time.perf_counter_ns()
        check_interrupt("before the final shots")

        variables = list(bqm.variables)
        if sampler == "core":
            samples, counts = self._core_shots(core_ev, x, thetas, shots, seed, bqm)
            sampler_name = "qopt.statevector"
        else:
            d = bind_dict(x)
            vals = [d[q] for q in isa_measured.parameters]
            result = sampler.run([(isa_measured, vals)], shots=shots).result()[0]
            counts_dict = result.data.meas.get_counts()
            keys = list(counts_dict)
            # Qiskit bitstrings are big-endian: the last character is clbit 0 = qubit 0.
            bits = np.array([[int(ch) for ch in k[::-1][:n]] for k in keys], dtype=np.int8).reshape(len(keys), n)
            samples = (1 - 2 * bits).astype(np.int8) if bqm.vartype is dimod.SPIN else bits
            counts = np.array([counts_dict[k] for k in keys], dtype=np.int64)
            sampler_name = f"{type(sampler).__module__}.{type(sampler).__name__}"
        t3 = time.perf_counter_ns()
        energies = bqm.energies((samples, variables))
        order = np.lexsort((-counts, energies))
        ss = dimod.SampleSet.from_samples((samples[order], variables), vartype=bqm.vartype,
                                          energy=energies[order], num_occurrences=counts[order])
        bound = isa_measured.assign_parameters(bind_dict(x))
        try:
            from qiskit import qasm3

            sha = hashlib.sha256(qasm3.dumps(bound).encode()).hexdigest()
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - exotic gates a hardware pass manager may emit
            sha = f"unavailable: {exc}"
        ss.info.update({
            "seed": seed,
            "variant": variant,
            "reps": reps,
            "shots": shots,
            "evaluator": p["evaluator"],
            "sampler": sampler_name,
            "angles": {"gamma": [float(v) for v in x[:reps]], "beta": [float(v) for v in x[reps:]]},
            "initial_point": [float(v) for v in x0],
            "initial_point_source": x0_source,
            "expectation": float(expectation),
            "sampled_expectation": float(np.dot(energies, counts) / counts.sum()),
            "objective": float(found["value"]),
            "optimizer": found["info"],
            "optimizer_trace": trace,
            "circuit_sha256": sha,
            "transpile": transpile_info,
            "num_qubits": int(isa_measured.num_qubits),
            "depth": int(isa_measured.depth()),
            "two_qubit_gates": noise.two_qubit_gates(isa_measured),
            "versions": _versions(),
            **device_info,
            **warm_info,
        })
        if variant == "cvar":
            ss.info["cvar_alpha"] = p["cvar_alpha"]
        t4 = time.perf_counter_ns()
        ss.info["timing"] = {"preprocessing_ns": t1 - t0, "optimization_ns": t2 - t1, "sampling_ns": t3 - t2,
                             "postprocessing_ns": t4 - t3}
        return ss

    # -- pieces of sample_on_device ------------------------------------------------------------

    def _target(self, device, p, seed):
        """(final sampler, pass manager, transpile info, device, device provenance) for this call."""
        from qiskit.transpiler import generate_preset_pass_manager

        level = p["optimization_level"]
        sampler, pass_manager = p["sampler"], p["pass_manager"]
        device_info: dict = {}
        if device is None and p["noise_model"] is not None:
            device = noise.fake_backend(p["noise_model"])
        if device is not None:
            device_info = {"device": str(device.name), "noise_model": p["noise_model"]}
            if sampler is None:
                from qiskit_aer import AerSimulator
                from qiskit_aer.primitives import SamplerV2

                sampler = SamplerV2.from_backend(AerSimulator.from_backend(device), seed=seed)
        if pass_manager is None:
            if device is None:
                from qiskit_aer import AerSimulator

                device_for_pm, target_name = AerSimulator(), "AerSimulator"
            else:
                device_for_pm, target_name = device, str(device.name)
            pass_manager = generate_preset_pass_manager(optimization_level=level, backend=device_for_pm,
                                                        seed_transpiler=seed)
            transpile_info = {"optimization_level": level, "seed_transpiler": seed, "target": target_name}
        else:
            transpile_info = {"pass_manager": type(pass_manager).__name__, "seed": seed}
        if sampler is None:
            from qiskit_aer.primitives import SamplerV2

            sampler = SamplerV2(seed=seed)
        return sampler, pass_manager, transpile_info, device, device_info

    def _warm_thetas(self, bqm, p, seed):
        incumbent = p["warm_start"]
        source = "warm_start"
        if incumbent is None:
            from qopt.samplers.sa import SimulatedAnnealingSampler

            best = SimulatedAnnealingSampler().sample(bqm, num_reads=16, seed=seed % 2**32).first
            incumbent = np.array([best.sample[v] for v in bqm.variables], dtype=np.float64)
            source = "simulated_annealing"
        elif incumbent.shape != (bqm.num_variables,):
            raise ParameterError("warm_start", f"must have one value per variable ({bqm.num_variables}), "
                                               f"had {incumbent.shape[0]}")
        thetas = warm_start_thetas(incumbent, bqm.vartype, p["warm_start_epsilon"])
        return thetas, {"warm_start": {"source": source, "incumbent": [float(v) for v in incumbent],
                                       "epsilon": p["warm_start_epsilon"],
                                       "incumbent_energy": float(bqm.energies(([incumbent], list(bqm.variables)))[0])}}

    @staticmethod
    def _aer_objective(ansatz, op, pass_manager, seed, bind_dict):
        from qiskit_aer.primitives import EstimatorV2

        isa_ansatz = pass_manager.run(ansatz)
        isa_op = op.apply_layout(isa_ansatz.layout)
        estimator = EstimatorV2(options={"run_options": {"seed_simulator": seed}})
        est_params = list(isa_ansatz.parameters)

        def objective(x):
            d = bind_dict(x)
            return float(estimator.run([(isa_ansatz, isa_op, [d[q] for q in est_params])]).result()[0].data.evs)

        return objective

    @staticmethod
    def _fourier(objective, gradient, x0, reps, p, trace, first_layer):
        """Fourier parametrisation (q = p); without ``initial_point``, grown from one layer
        (``first_layer``) to ``reps``, each level started by INTERP from the one before."""
        levels = [reps] if p["initial_point"] is not None else list(range(1, reps + 1))
        budget = p["maxiter"] if p["maxiter"] == 0 else max(1, p["maxiter"] // len(levels))
        angles = x0 if p["initial_point"] is not None else first_layer
        nfev = 0
        found: dict = {}
        for level in levels:
            m = fourier_matrix(level)
            found = optimize_angles(objective, np.linalg.solve(m, angles), optimizer=p["optimizer"], maxiter=budget,
                                    gradient=gradient, basis=m, interrupt=p["interrupt"], trace=trace)
            nfev += found["info"]["nfev"]
            if level < reps:
                angles = interp(found["angles"])
        found["info"] = {**found["info"], "nfev": nfev, "maxiter": p["maxiter"], "levels": levels,
                         "fourier": [float(v) for v in found["params"]]}
        return found

    @staticmethod
    def _core_shots(core_ev, x, thetas, shots, seed, bqm):
        from qopt.statevector import indices_to_samples

        reps = len(x) // 2
        if thetas is None:
            idx = core_ev.sample_indices(x[:reps], x[reps:], shots, seed)
        else:
            amps = core_ev.warm_start_amplitudes(x[:reps], x[reps:], thetas)
            probs = np.abs(amps) ** 2
            idx = np.random.default_rng(seed).choice(len(probs), size=shots, p=probs / probs.sum())
        uniq, counts = np.unique(idx, return_counts=True)
        return indices_to_samples(uniq, bqm.num_variables, bqm.vartype), counts

    def _recursive(self, bqm, p, seed, t0):
        from qopt.statevector import QAOAEvaluator

        reps = p["reps"]
        trace: list[dict] = []
        runs: list[dict] = []

        def probabilities_of(model):
            ev = QAOAEvaluator(model)
            x0 = initial_angles(model, reps)[0]

            def objective(x):
                return ev.expectation(x[:reps], x[reps:])

            def gradient(x):
                e, dg, db = ev.gradient(x[:reps], x[reps:])
                return e, np.concatenate([dg, db])

            found = optimize_angles(objective, x0, optimizer=p["optimizer"], maxiter=p["maxiter"],
                                    gradient=gradient, interrupt=p["interrupt"], trace=trace)
            a = found["angles"]
            runs.append({"num_variables": model.num_variables, "expectation": float(found["value"]),
                         "nfev": found["info"]["nfev"]})
            return ev.probabilities(a[:reps], a[reps:]), found["info"]["nfev"]

        t1 = time.perf_counter_ns()
        out = recursive_qaoa(bqm, probabilities_of, cutoff=p["rqaoa_cutoff"], interrupt=p["interrupt"])
        t2 = time.perf_counter_ns()
        ss = dimod.SampleSet.from_samples_bqm(out["sample"], bqm)
        ss.info.update({"seed": seed, "variant": "recursive", "reps": reps, "rqaoa_cutoff": p["rqaoa_cutoff"],
                        "eliminations": out["eliminations"], "num_qaoa_runs": out["num_qaoa_runs"],
                        "qaoa_runs": runs, "optimizer": {"name": p["optimizer"], "maxiter": p["maxiter"],
                                                         "nfev": out["evaluations"]},
                        "evaluator": "core", "versions": _versions()})
        ss.info["timing"] = {"preprocessing_ns": t1 - t0, "optimization_ns": t2 - t1, "sampling_ns": 0,
                             "postprocessing_ns": time.perf_counter_ns() - t2}
        return ss
