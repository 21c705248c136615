"""QAOA as a :class:`dimod.Sampler`: Qiskit circuit, SciPy angle optimisation, Qiskit SamplerV2 shots.

Method: Farhi, Goldstone & Gutmann, "A Quantum Approximate Optimization Algorithm",
arXiv:1411.4028 (2014); linear-ramp initial angles after Zhou et al., "Quantum Approximate
Optimization Algorithm: Performance, Mechanism, and Implementation on Near-Term Devices",
PRX 10, 021067 (2020).

Pipeline of :meth:`QAOASampler.sample`:

1. the BQM becomes an Ising operator ``C = offset + sum h_i Z_i + sum J_ij Z_i Z_j`` as a
   :class:`qiskit.quantum_info.SparsePauliOp` (variable ``i`` in ``bqm.variables`` order is
   qubit ``i``; BINARY ``x_i = (1 - Z_i)/2``, SPIN ``s_i = Z_i``, so ``|0> -> s=+1, x=0``);
2. the circuit is :func:`qiskit.circuit.library.qaoa_ansatz` of ``C`` with ``reps`` layers,
   transpiled once with a seeded preset pass manager (Aer's basis by default);
3. the angles are optimised with :func:`scipy.optimize.minimize`, the expectation coming from
   the qopt C++ statevector engine (``evaluator="core"``, exact gradient for gradient
   methods) or from qiskit-aer's ``EstimatorV2`` (``evaluator="aer"``);
4. ``shots`` outcomes are drawn with a Qiskit ``SamplerV2`` (qiskit-aer by default, or the
   one passed, e.g. a hardware primitive), mapped back with the same bit order, aggregated
   and ranked by ``bqm.energies``.

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
from qopt.samplers.limits import QAOA_MAX_QUBITS
from qopt.samplers.spec import Param, ParameterSpec, SizeRule, event_validator, has_method_validator

__all__ = ["QAOASampler", "ising_operator", "linear_ramp", "energy_scale", "two_qubit_gates", "OPTIMIZERS",
           "GRADIENT_METHODS", "EVALUATORS"]

#: Optimisers accepted by ``optimizer`` (scipy.optimize.minimize methods).
OPTIMIZERS = ("COBYLA", "L-BFGS-B", "Nelder-Mead", "Powell", "BFGS", "CG", "SLSQP", "TNC", "COBYQA",
              "trust-constr")
#: The optimisers that use a gradient (the C++ adjoint gradient with ``evaluator="core"``).
GRADIENT_METHODS = frozenset({"L-BFGS-B", "BFGS", "CG", "SLSQP", "TNC", "trust-constr"})
#: Expectation evaluators accepted by ``evaluator``.
EVALUATORS = ("core", "aer")


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


def ising_operator(bqm: dimod.BinaryQuadraticModel):
    """The BQM as a Qiskit :class:`~qiskit.quantum_info.SparsePauliOp` (module bit order).

    Returns:
        SparsePauliOp on ``bqm.num_variables`` qubits whose diagonal equals the energy of
        each basis state (offset as the identity coefficient). Qiskit labels are
        little-endian: ``Z`` on qubit ``i`` is the ``i``-th character from the right.
    """
    from qiskit.quantum_info import SparsePauliOp

    n = bqm.num_variables
    index = {v: i for i, v in enumerate(bqm.variables)}
    spin = bqm.spin if bqm.vartype is dimod.BINARY else bqm
    # dimod's BINARY->SPIN uses s = 2x - 1, i.e. s = -Z for x = (1 - Z)/2: flip the linear sign.
    sign = -1.0 if bqm.vartype is dimod.BINARY else 1.0
    terms: list[tuple[str, list[int], float]] = [("", [], float(spin.offset))]
    terms += [("Z", [index[v]], sign * float(b)) for v, b in spin.linear.items() if b != 0]
    terms += [("ZZ", [index[u], index[v]], float(b)) for (u, v), b in spin.quadratic.items() if b != 0]
    return SparsePauliOp.from_sparse_list(terms, num_qubits=max(n, 1)).simplify(atol=0.0)


def energy_scale(bqm: dimod.BinaryQuadraticModel) -> float:
    """Largest absolute Ising bias (1.0 for a model without biases); sets the gamma scale."""
    spin = bqm.spin if bqm.vartype is dimod.BINARY else bqm
    vals = [abs(b) for b in spin.linear.values()] + [abs(b) for b in spin.quadratic.values()]
    m = max(vals) if vals else 0.0
    return m if m > 0 else 1.0


def linear_ramp(reps: int, scale: float = 1.0, dt: float = 0.75) -> np.ndarray:
    """Linear-ramp angles ``[gammas, betas]``: gamma_l = t_l dt / scale, beta_l = (1 - t_l) dt,
    t_l = (l + 1/2) / reps (Zhou et al. 2020); ``scale`` is the energy scale of the model."""
    t = (np.arange(reps) + 0.5) / reps
    return np.concatenate([t * dt / scale, (1.0 - t) * dt])


def two_qubit_gates(circuit) -> int:
    """Number of two-qubit operations in a Qiskit circuit."""
    return sum(1 for inst in circuit.data if inst.operation.num_qubits == 2)


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
              doc="2*reps angles [gammas (1/energy), betas (rad)] (None: the linear ramp)"),
        Param("seed", "int", None, minimum=0, maximum=2**63 - 1,
              doc="seeds the transpiler, Aer's estimator and sampler (None: drawn, reported in info)"),
        Param("evaluator", "str", "core", choices=EVALUATORS, properties=("evaluators",),
              doc="expectation during optimisation: qopt C++ statevector or qiskit-aer"),
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
        "max_qubits": QAOA_MAX_QUBITS,
        "description": "QAOA (Farhi et al. 2014): Qiskit qaoa_ansatz, SciPy angles on the qopt C++ "
                       "statevector engine or qiskit-aer, samples from a Qiskit SamplerV2",
    }

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, reps: int = 1, shots: int = 1024,
               optimizer: str = "COBYLA", maxiter: int = 100, initial_point=None, seed: int | None = None,
               evaluator: str = "core", sampler=None, max_qubits: int = QAOA_MAX_QUBITS,
               optimization_level: int = 1, pass_manager=None, interrupt=None, **kwargs) -> dimod.SampleSet:
        """Optimise QAOA angles on ``bqm`` and sample the final circuit.

        Args:
            bqm: the model, SPIN or BINARY; one qubit per variable.
            reps: QAOA layers p (>= 1, default 1).
            shots: measurement shots of the final circuit (>= 1, default 1024).
            optimizer: a :func:`scipy.optimize.minimize` method (default ``"COBYLA"``); gradient
                methods (``"L-BFGS-B"``, ...) use the C++ adjoint gradient with
                ``evaluator="core"`` and SciPy finite differences with ``"aer"``.
            maxiter: optimiser iterations (``options={"maxiter": ...}``; 0 keeps the initial point).
            initial_point: 2*reps angles ``[gammas, betas]`` (gamma in 1/energy, beta in radians);
                default: the linear ramp of :func:`linear_ramp` scaled by :func:`energy_scale`.
            seed: seeds the transpiler, Aer's estimator and sampler (None: random, reported in
                ``info["seed"]``). With the default Aer sampler the same seed gives the same samples.
            evaluator: ``"core"`` (qopt C++ statevector, default) or ``"aer"`` (qiskit-aer
                ``EstimatorV2``, exact) for the expectation during optimisation.
            sampler: a Qiskit ``BaseSamplerV2`` for the final shots (default
                ``qiskit_aer.primitives.SamplerV2(seed=seed)``), or ``"core"`` to draw the shots
                from the C++ statevector. A hardware sampler needs a matching ``pass_manager``.
            max_qubits: refuse models with more variables (default and maximum: ``QAOA_MAX_QUBITS``,
                24, of :mod:`qopt.samplers.limits`); checked before building anything.
            optimization_level: preset pass-manager level (0-3, default 1).
            pass_manager: a Qiskit pass manager to transpile with (default: the preset one for
                ``AerSimulator`` with ``seed_transpiler=seed``).
            interrupt: None or an object with ``is_set()`` (:class:`threading.Event`), checked
                after transpiling, before each objective evaluation of the angle optimisation
                and before the final shots; when set the call raises ``Cancelled``.

        Returns:
            dimod.SampleSet in the BQM's vartype, one row per distinct outcome with
            ``num_occurrences``, sorted by energy (energies equal ``bqm.energies``). ``info``:
            ``seed``, ``angles`` ({"gamma", "beta"}), ``initial_point``, ``expectation`` (at the
            final angles, energy units), ``optimizer`` (name, nfev, nit, success, message),
            ``optimizer_trace`` (one entry per objective evaluation: gamma, beta, energy),
            ``circuit_sha256`` (of ``qiskit.qasm3.dumps`` of the transpiled circuit with the final
            angles bound), ``transpile`` (options and seed), ``num_qubits``, ``depth``,
            ``two_qubit_gates``, ``versions``, ``timing`` (``preprocessing_ns``,
            ``optimization_ns``, ``sampling_ns``, ``postprocessing_ns``).

        Raises:
            ParameterError (a ValueError): a parameter out of range, naming it (``max_qubits``
                above ``QAOA_MAX_QUBITS`` included).
            PreflightError (a ValueError): more variables than ``max_qubits``.
            qopt.statevector.MemoryLimitError: the C++ statevector does not fit in memory.
            qopt.errors.Cancelled: ``interrupt`` was set.
        """
        t0 = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)
        spec = self.parameter_spec
        reps = spec.check("reps", reps)
        shots = spec.check("shots", shots)
        maxiter = spec.check("maxiter", maxiter)
        optimizer = spec.check("optimizer", optimizer)
        evaluator = spec.check("evaluator", evaluator)
        max_qubits = spec.check("max_qubits", max_qubits)
        optimization_level = spec.check("optimization_level", optimization_level)
        seed = spec.check("seed", seed)
        if seed is None:
            seed = spec.random_seed(31)
        initial_point = spec.check("initial_point", initial_point)
        sampler = spec.check("sampler", sampler)
        pass_manager = spec.check("pass_manager", pass_manager)
        interrupt = spec.check("interrupt", interrupt)

        def check_interrupt(where: str) -> None:
            if interrupt is not None and interrupt.is_set():
                raise Cancelled(f"QAOA interrupted {where}")

        n = bqm.num_variables
        spec.check_size(n, {"max_qubits": max_qubits})
        scale = energy_scale(bqm)
        if initial_point is None:
            x0 = linear_ramp(reps, scale)
        else:
            x0 = initial_point
            if x0.shape != (2 * reps,):
                raise ParameterError("initial_point", f"must be {2 * reps} finite angles [gammas, betas], "
                                     f"was {initial_point!r}")
        if n == 0:
            ss = dimod.SampleSet.from_samples_bqm(([[]], []), bqm, num_occurrences=[shots])
            ss.info.update({"seed": seed, "num_qubits": 0})
            return ss

        from qiskit import qasm3
        from qiskit.circuit.library import qaoa_ansatz
        from qiskit.transpiler import generate_preset_pass_manager

        op = ising_operator(bqm)
        ansatz = qaoa_ansatz(op, reps=reps)
        transpile_info = {"optimization_level": optimization_level, "seed_transpiler": seed}
        if pass_manager is None:
            from qiskit_aer import AerSimulator

            pass_manager = generate_preset_pass_manager(
                optimization_level=optimization_level, backend=AerSimulator(), seed_transpiler=seed)
            transpile_info["target"] = "AerSimulator"
        else:
            transpile_info = {"pass_manager": type(pass_manager).__name__, "seed": seed}
        measured = ansatz.copy()
        measured.measure_all()
        isa_measured = pass_manager.run(measured)
        gammas = [p for p in ansatz.parameters if p.name.startswith("γ")]
        betas = [p for p in ansatz.parameters if p.name.startswith("β")]
        gammas.sort(key=lambda p: p.index)
        betas.sort(key=lambda p: p.index)

        def bind_dict(x):
            d = {p: float(v) for p, v in zip(gammas, x[:reps], strict=True)}
            d.update({p: float(v) for p, v in zip(betas, x[reps:], strict=True)})
            return d

        trace: list[dict] = []
        check_interrupt("after transpiling")

        def record(x, e):
            trace.append({"gamma": [float(v) for v in x[:reps]], "beta": [float(v) for v in x[reps:]],
                          "energy": float(e)})

        core_ev = None
        if evaluator == "core" or sampler == "core":
            from qopt.statevector import QAOAEvaluator

            core_ev = QAOAEvaluator(bqm)
        if evaluator == "core":
            def fun(x):
                check_interrupt("between evaluations")
                e = core_ev.expectation(x[:reps], x[reps:])
                record(x, e)
                return e

            def fun_grad(x):
                check_interrupt("between evaluations")
                e, dg, db = core_ev.gradient(x[:reps], x[reps:])
                record(x, e)
                return e, np.concatenate([dg, db])
        else:
            from qiskit_aer.primitives import EstimatorV2

            isa_ansatz = pass_manager.run(ansatz)
            isa_op = op.apply_layout(isa_ansatz.layout)
            estimator = EstimatorV2(options={"run_options": {"seed_simulator": seed}})
            est_params = list(isa_ansatz.parameters)

            def fun(x):
                check_interrupt("between evaluations")
                d = bind_dict(x)
                vals = [d[p] for p in est_params]
                e = float(estimator.run([(isa_ansatz, isa_op, vals)]).result()[0].data.evs)
                record(x, e)
                return e

            fun_grad = None  # type: ignore[assignment]  # no gradient on this evaluator

        t1 = time.perf_counter_ns()
        opt_info = {"name": optimizer, "maxiter": maxiter}
        if maxiter == 0:
            x = x0.copy()
            fun(x)
            opt_info.update({"nfev": 1, "nit": 0, "success": True, "message": "maxiter=0: initial point kept"})
        else:
            from scipy.optimize import minimize

            if optimizer in GRADIENT_METHODS and fun_grad is not None:
                res = minimize(fun_grad, x0, jac=True, method=optimizer, options={"maxiter": maxiter})
            else:
                res = minimize(fun, x0, method=optimizer, options={"maxiter": maxiter})
            x = np.asarray(res.x, dtype=np.float64)
            opt_info.update({"nfev": int(getattr(res, "nfev", len(trace))), "nit": int(getattr(res, "nit", 0) or 0),
                             "success": bool(res.success), "message": str(res.message)})
            # The optimiser reports its best point; make sure it is the best evaluated.
            best = min(trace, key=lambda r: r["energy"])
            if best["energy"] < float(res.fun) - 1e-12:
                x = np.array(best["gamma"] + best["beta"])
        expectation = min((r["energy"] for r in trace
                           if np.allclose(r["gamma"] + r["beta"], x, rtol=0, atol=0)), default=None)
        if expectation is None:
            expectation = core_ev.expectation(x[:reps], x[reps:]) if core_ev is not None else fun(x)
        t2 = time.perf_counter_ns()
        check_interrupt("before the final shots")

        variables = list(bqm.variables)
        if sampler == "core":
            from qopt.statevector import indices_to_samples

            assert core_ev is not None  # sampler == "core" builds it
            idx = core_ev.sample_indices(x[:reps], x[reps:], shots, seed)
            uniq, counts = np.unique(idx, return_counts=True)
            samples = indices_to_samples(uniq, n, bqm.vartype)
            sampler_name = "qopt.statevector"
        else:
            if sampler is None:
                from qiskit_aer.primitives import SamplerV2

                sampler = SamplerV2(seed=seed)
            d = bind_dict(x)
            vals = [d[p] for p in isa_measured.parameters]
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
            qasm = qasm3.dumps(bound)
            sha = hashlib.sha256(qasm.encode()).hexdigest()
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - exotic gates a hardware pass manager may emit
            sha = f"unavailable: {exc}"
        ss.info.update({
            "seed": seed,
            "reps": reps,
            "shots": shots,
            "evaluator": evaluator,
            "sampler": sampler_name,
            "angles": {"gamma": [float(v) for v in x[:reps]], "beta": [float(v) for v in x[reps:]]},
            "initial_point": [float(v) for v in x0],
            "expectation": float(expectation),
            "optimizer": opt_info,
            "optimizer_trace": trace,
            "circuit_sha256": sha,
            "transpile": transpile_info,
            "num_qubits": int(isa_measured.num_qubits),
            "depth": int(isa_measured.depth()),
            "two_qubit_gates": two_qubit_gates(isa_measured),
            "versions": _versions(),
        })
        t4 = time.perf_counter_ns()
        ss.info["timing"] = {"preprocessing_ns": t1 - t0, "optimization_ns": t2 - t1, "sampling_ns": t3 - t2,
                             "postprocessing_ns": t4 - t3}
        return ss
