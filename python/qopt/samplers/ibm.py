"""QAOA on IBM Quantum devices as a :class:`dimod.Sampler` (backend ``"ibm"``).

The angles are optimised exactly as the ``qaoa`` backend does (the same code:
:meth:`qopt.samplers.qaoa.QAOASampler.sample_on_device`, on the ideal C++ statevector
engine); the final circuit is transpiled to the device's coupling map and basis with
Qiskit's preset pass manager (``generate_preset_pass_manager(backend=device)``, an ISA
circuit) and its ``shots`` run through qiskit-ibm-runtime's ``SamplerV2`` in a ``Session``
or a ``Batch`` (or as one job), with error suppression options passed through: Pauli
twirling (``twirling``) and dynamical decoupling (``dynamical_decoupling``).

Devices (``noise_model``):

* ``"fake:<device>"`` (``"fake:brisbane"``): qiskit-ibm-runtime's fake device in its local
  mode (Aer with the device's noise model); no account needed, the error-suppression
  options have no effect there (the runtime says so);
* a device name (``"ibm_brisbane"``) or None (the least busy operational device with
  enough qubits): IBM Quantum through :class:`qiskit_ibm_runtime.QiskitRuntimeService`.
  Credentials: a saved account (``QiskitRuntimeService.save_account``) or the
  ``QISKIT_IBM_TOKEN`` environment variable (with ``QISKIT_IBM_INSTANCE``). They are
  checked locally first: none raises :class:`IBMConfigurationError` at once, before any
  network call; there is no silent fallback to a simulator.

A ``backend=`` object (any Qiskit ``BackendV2``) passed to the constructor is used as is.
"""
from __future__ import annotations

import os
import warnings

import dimod

from qopt.errors import BackendConfigurationError, ParameterError
from qopt.samplers import noise
from qopt.samplers.qaoa.sampler import QAOASampler
from qopt.samplers.spec import Param, ParameterSpec

__all__ = ["IBMSampler", "IBMConfigurationError", "EXECUTION_MODES", "DD_SEQUENCES", "TOKEN_ENV"]

#: How the final shots are submitted: in a Session, a Batch, or as a single job.
EXECUTION_MODES = ("session", "batch", "job")
#: qiskit-ibm-runtime's dynamical-decoupling sequences (``options.dynamical_decoupling.sequence_type``).
DD_SEQUENCES = ("XX", "XpXm", "XY4")
#: The environment variable holding an IBM Quantum API token.
TOKEN_ENV = "QISKIT_IBM_TOKEN"

_QAOA = QAOASampler.parameter_spec
_SHARED = ("reps", "shots", "optimizer", "maxiter", "initial_point", "seed", "variant", "cvar_alpha", "warm_start",
           "warm_start_epsilon", "max_qubits", "optimization_level", "interrupt")


class IBMConfigurationError(BackendConfigurationError):
    """No IBM Quantum credentials: no saved ``QiskitRuntimeService`` account and no
    ``QISKIT_IBM_TOKEN``."""


_HINT = ("backend 'ibm' needs IBM Quantum credentials: save an account with "
         "QiskitRuntimeService.save_account(token=..., instance=...) or set QISKIT_IBM_TOKEN "
         "(and QISKIT_IBM_INSTANCE); or use noise_model='fake:<device>' to run a fake device locally. "
         "qopt does not fall back to a simulator")


def has_credentials(**account) -> bool:
    """Whether an IBM Quantum account can be found without a network call: ``account["token"]``,
    ``QISKIT_IBM_TOKEN``, or a saved ``QiskitRuntimeService`` account."""
    if account.get("token") or os.environ.get(TOKEN_ENV):
        return True
    from qiskit_ibm_runtime import QiskitRuntimeService

    try:
        return bool(QiskitRuntimeService.saved_accounts(filename=account.get("filename")))
    except Exception:  # noqa: BLE001 - an unreadable account file is no account
        return False


class IBMSampler(dimod.Sampler):
    """QAOA on IBM Quantum (qiskit-ibm-runtime ``SamplerV2``) or its fake devices.

    Args:
        backend: a Qiskit ``BackendV2`` to run on (default: chosen by ``noise_model``).
        **account: ``QiskitRuntimeService`` arguments (``token``, ``channel``, ``instance``,
            ``filename``, ``name``); default: ``QISKIT_IBM_TOKEN`` / ``QISKIT_IBM_INSTANCE``
            or the saved default account.
    """

    parameter_spec = ParameterSpec([
        *(_QAOA[name] for name in _SHARED),
        Param("noise_model", "str", None,
              doc="'fake:<device>' (local fake device), an IBM device name (ibm_brisbane), or None "
                  "(least busy device)"),
        Param("mode", "str", "batch", choices=EXECUTION_MODES,
              doc="submit the final shots in a Session, a Batch or as one job"),
        Param("twirling", "bool", False, doc="Pauli twirling of gates and measurements (options.twirling)"),
        Param("dynamical_decoupling", "str", None, choices=DD_SEQUENCES,
              doc="dynamical-decoupling sequence (options.dynamical_decoupling; None: off)"),
        Param("options", "mapping", None, doc="further SamplerV2 options, passed through (a nested mapping)"),
    ])
    parameters = parameter_spec.dimod_parameters()
    properties = {"execution_modes": EXECUTION_MODES, "dynamical_decoupling": DD_SEQUENCES,
                  "description": "QAOA on IBM Quantum devices through qiskit-ibm-runtime SamplerV2 "
                                 "(fake devices run locally on Aer)"}

    def __init__(self, backend=None, **account):
        self._backend = backend
        self._account = dict(account)

    def _device(self, noise_model: str | None, num_qubits: int):
        if self._backend is not None:
            return self._backend
        if noise_model is not None and noise.is_fake(noise_model):
            return noise.fake_backend(noise_model)
        if not has_credentials(**self._account):
            raise IBMConfigurationError(_HINT, backend="ibm")
        from qiskit_ibm_runtime import QiskitRuntimeService

        account = dict(self._account)
        if not account and os.environ.get(TOKEN_ENV):
            account = {"token": os.environ[TOKEN_ENV], "instance": os.environ.get("QISKIT_IBM_INSTANCE")}
        service = QiskitRuntimeService(**account)
        if noise_model is None:
            return service.least_busy(operational=True, simulator=False, min_num_qubits=num_qubits)
        return service.backend(noise_model)

    @staticmethod
    def _runtime_options(seed: int, twirling: bool, dd: str | None, extra, local: bool) -> dict:
        # the simulator seed only where a simulator runs (local mode); hardware takes no seed
        options: dict = {"simulator": {"seed_simulator": int(seed % 2**31)}} if local else {}
        if twirling:
            options["twirling"] = {"enable_gates": True, "enable_measure": True}
        if dd is not None:
            options["dynamical_decoupling"] = {"enable": True, "sequence_type": dd}
        for key, value in (extra or {}).items():
            if isinstance(value, dict) and isinstance(options.get(key), dict):
                options[key] = {**options[key], **value}
            else:
                options[key] = value
        return options

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, noise_model: str | None = None, mode: str = "batch",
               twirling: bool = False, dynamical_decoupling: str | None = None, options=None, seed: int | None = None,
               **kwargs) -> dimod.SampleSet:
        """Optimise QAOA angles on the ideal engine and run the final circuit on the device.

        Args:
            bqm: the model; one qubit per variable.
            noise_model: ``"fake:<device>"``, an IBM device name, or None (least busy device).
            mode: ``"session"``, ``"batch"`` (default) or ``"job"``: how the shots are submitted.
            twirling: Pauli twirling of gates and measurements (default False).
            dynamical_decoupling: None (off) or a sequence of :data:`DD_SEQUENCES`.
            options: further ``SamplerV2`` options (nested mapping, merged over the above).
            seed: as for ``qaoa`` (transpiler, and the simulator of a fake device).
            **kwargs: the ``qaoa`` parameters listed in ``parameter_spec`` (reps, shots,
                optimizer, maxiter, initial_point, variant, cvar_alpha, warm_start, ...).

        Returns:
            as :meth:`qopt.samplers.qaoa.QAOASampler.sample`, with ``info`` keys ``device``,
            ``noise_model``, ``calibration_date``, ``estimated_fidelity``,
            ``estimated_qpu_seconds``, ``execution_mode`` and ``runtime_options``.

        Raises:
            IBMConfigurationError: no credentials for a real device (at once, no network call).
            ParameterError: a bad parameter, naming it; ``variant="recursive"``.
            PreflightError: more qubits than allowed, or an estimated fidelity too low for ``shots``.
        """
        spec = self.parameter_spec
        c = spec.check_all({"noise_model": noise_model, "mode": mode, "twirling": twirling,
                            "dynamical_decoupling": dynamical_decoupling, "options": options, "seed": seed})
        noise_model, mode = c["noise_model"], c["mode"]
        if noise_model == "":
            raise ParameterError("noise_model", "must be None, 'fake:<device>' or an IBM device name, was ''")
        seed = c["seed"] if c["seed"] is not None else spec.random_seed(31)
        qaoa_params = {k: v for k, v in kwargs.items() if k in _SHARED}
        self.remove_unknown_kwargs(**{k: v for k, v in kwargs.items() if k not in _SHARED})
        if qaoa_params.get("variant") == "recursive":
            raise ParameterError("variant", "must not be 'recursive' on backend 'ibm' (an ideal-engine method)")
        spec.check_size(bqm.num_variables, {"max_qubits": qaoa_params.get("max_qubits")})
        device = self._device(noise_model, bqm.num_variables)
        from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

        runtime_options = self._runtime_options(seed, c["twirling"], c["dynamical_decoupling"], c["options"],
                                                local=isinstance(device, FakeBackendV2))

        from qiskit_ibm_runtime import Batch, Session
        from qiskit_ibm_runtime import SamplerV2 as RuntimeSampler

        context = {"session": Session, "batch": Batch}.get(mode)
        with warnings.catch_warnings():
            # 0.51 deprecates SamplerV2 in favour of the client-side executor Sampler (not yet the default);
            # local mode warns that twirling / dynamical decoupling have no effect on a fake device.
            warnings.filterwarnings("ignore", message=".*SamplerV2 class is deprecated.*")
            warnings.filterwarnings("ignore", message=".*have no effect in local testing mode.*")
            if context is None:
                ss = self._run(bqm, device, RuntimeSampler(mode=device, options=runtime_options), noise_model,
                               seed, qaoa_params)
            else:
                with context(backend=device) as execution:
                    ss = self._run(bqm, device, RuntimeSampler(mode=execution, options=runtime_options),
                                   noise_model, seed, qaoa_params)
        ss.info.update({"execution_mode": mode, "runtime_options": runtime_options,
                        "noise_model": noise_model if noise_model is not None else "device"})
        return ss

    @staticmethod
    def _run(bqm, device, sampler, noise_model, seed, qaoa_params):
        return QAOASampler().sample_on_device(bqm, device, **{**qaoa_params, "seed": seed, "sampler": sampler,
                                                              "noise_model": None})
