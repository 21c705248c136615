"""Device noise without hardware: qiskit-ibm-runtime's fake devices, their error rates, and
what a circuit is expected to keep of its signal on them.

``noise_model="fake:<device>"`` (``"fake:brisbane"``, ``"fake:sherbrooke"``, ...) names one of
:mod:`qiskit_ibm_runtime.fake_provider`'s fake backends: a snapshot of a real IBM device's
coupling map, basis gates, durations and calibrated error rates. The QAOA sampler
transpiles to it and samples on qiskit-aer with the noise model Aer derives from it
(:meth:`qiskit_aer.AerSimulator.from_backend`); the ``ibm`` backend runs the fake device in
qiskit-ibm-runtime's local mode; preflight estimates with it.

**Estimated circuit fidelity** (:func:`circuit_fidelity`): the product of ``(1 - error)``
over every gate and every measurement of the transpiled circuit, the errors being the
device's calibrated ``InstructionProperties.error`` of that gate on those qubits; the
probability that a shot runs without any error (the usual "ESP" estimate, e.g. Nishio et
al., ACM JETC 16, 32, 2020). Decoherence while idling is not counted, so it is an upper bound.

**Refusal rule** (:func:`check_fidelity`, defined once here, applied by the sampler and by
preflight): with estimated fidelity ``F`` and ``shots`` shots the error-free shots
(``F * shots`` of them) must stand :data:`NOISE_SIGMAS` standard deviations of shot noise
(``sqrt(shots)``) above the noise: ``F >= NOISE_SIGMAS / sqrt(shots)`` (0.094 at 1024 shots).
Below it the counts are indistinguishable from what a fully depolarised device returns.

**Estimated QPU time** (:func:`qpu_seconds`): ``shots * (duration + rep_delay)``; the
duration is the critical path of the scheduled gate durations (ASAP), ``rep_delay`` the
device's default repetition delay (250 us when it reports none); compilation, queueing
and classical overhead are not included.
"""
from __future__ import annotations

import math

from qopt.errors import ParameterError, PreflightError

__all__ = ["FAKE_PREFIX", "NOISE_SIGMAS", "DEFAULT_REP_DELAY_S", "fake_backend", "fake_device_names", "is_fake",
           "circuit_fidelity", "min_fidelity", "check_fidelity", "circuit_duration", "qpu_seconds",
           "calibration_date", "device_report", "two_qubit_gates"]

#: The prefix of a fake-device noise model name.
FAKE_PREFIX = "fake:"
#: Shot-noise standard deviations the error-free signal must exceed (:func:`check_fidelity`).
NOISE_SIGMAS = 3.0
#: Repetition delay (seconds) assumed when a device reports none (IBM's default).
DEFAULT_REP_DELAY_S = 250e-6


def two_qubit_gates(circuit) -> int:
    """Number of two-qubit operations in a Qiskit circuit."""
    return sum(1 for inst in circuit.data if inst.operation.num_qubits == 2)


def is_fake(name) -> bool:
    """Whether ``name`` is a ``"fake:<device>"`` noise-model name."""
    return isinstance(name, str) and name.startswith(FAKE_PREFIX)


def fake_device_names() -> list[str]:
    """``"fake:<device>"`` names of every fake backend qiskit-ibm-runtime ships here."""
    return sorted(FAKE_PREFIX + b.name.removeprefix("fake_") for b in _provider().backends())


def _provider():
    import warnings

    from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # some fake devices warn that their values are not typical
        return FakeProviderForBackendV2()


def fake_backend(name: str, field: str = "noise_model"):
    """The qiskit-ibm-runtime fake backend for ``"fake:<device>"`` (``"fake:brisbane"`` ->
    ``FakeBrisbane()``).

    Raises:
        ParameterError: (``field``) not a ``fake:`` name, or no such fake device.
        ImportError: qiskit-ibm-runtime is not installed (``pip install qopt[ibm]``).
    """
    if not is_fake(name):
        raise ParameterError(field, f"must be 'fake:<device>' (e.g. 'fake:brisbane'), was {name!r}")
    device = name[len(FAKE_PREFIX):].lower().removeprefix("fake_")
    try:
        from qiskit_ibm_runtime import fake_provider  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the ibm extra is installed in development
        raise ImportError(f"noise_model={name!r} needs qiskit-ibm-runtime: pip install 'qopt[ibm]'") from exc
    found = [b for b in _provider().backends() if b.name == "fake_" + device]
    if not found:
        raise ParameterError(field, f"names no fake device of qiskit-ibm-runtime: {name!r} (known: "
                                    f"{', '.join(fake_device_names())})")
    return found[0]


def _instruction_error(target, name: str, qubits: tuple[int, ...]) -> float:
    if target is None or name not in target.operation_names:
        return 0.0
    props = target[name].get(qubits)
    err = getattr(props, "error", None)
    return float(err) if err is not None else 0.0


def circuit_fidelity(circuit, target) -> float:
    """Estimated probability that a shot of ``circuit`` (transpiled to ``target``) runs
    without error: prod over gates and measurements of ``1 - error`` (module docstring).

    Args:
        circuit: a transpiled (ISA) :class:`qiskit.QuantumCircuit`.
        target: the device's :class:`qiskit.transpiler.Target` (``backend.target``).

    Returns:
        float in [0, 1]; 1.0 when the target has no error data.
    """
    log_f = 0.0
    for inst in circuit.data:
        qubits = tuple(circuit.find_bit(q).index for q in inst.qubits)
        err = _instruction_error(target, inst.operation.name, qubits)
        if err >= 1.0:
            return 0.0
        log_f += math.log1p(-err)
    return math.exp(log_f)


def min_fidelity(shots: int) -> float:
    """The least estimated fidelity whose error-free shots exceed shot noise by
    :data:`NOISE_SIGMAS` standard deviations: ``NOISE_SIGMAS / sqrt(shots)``."""
    return min(1.0, NOISE_SIGMAS / math.sqrt(max(int(shots), 1)))


def check_fidelity(fidelity: float, shots: int, what: str) -> None:
    """Raise :class:`PreflightError` (field ``shots``) when ``fidelity`` is below
    :func:`min_fidelity` of ``shots``: the run would return noise."""
    need = min_fidelity(shots)
    if fidelity < need:
        raise PreflightError(
            f"{what}: estimated circuit fidelity {fidelity:.3g} is below {need:.3g} ({NOISE_SIGMAS:g} sigma of shot "
            f"noise at {shots} shots); the counts would be indistinguishable from noise. Use fewer reps, fewer "
            f"variables, more shots, or an ideal run (noise_model=None)", field="shots")


def circuit_duration(circuit, target) -> float:
    """Seconds of the critical path of ``circuit`` with ``target``'s gate durations (ASAP)."""
    clock = [0.0] * circuit.num_qubits
    for inst in circuit.data:
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        if not qubits:
            continue
        name = inst.operation.name
        dur = 0.0
        if target is not None and name in target.operation_names:
            props = target[name].get(tuple(qubits))
            dur = float(getattr(props, "duration", None) or 0.0)
        start = max(clock[q] for q in qubits)
        for q in qubits:
            clock[q] = start + dur
    return max(clock, default=0.0)


def qpu_seconds(circuit, backend, shots: int) -> float:
    """Estimated QPU seconds: ``shots * (circuit_duration + rep_delay)`` (module docstring)."""
    rep_delay = DEFAULT_REP_DELAY_S
    try:
        rep_delay = float(backend.configuration().default_rep_delay or rep_delay)
    except Exception:  # noqa: BLE001 - BackendV2 without a configuration(): keep the default
        pass
    return int(shots) * (circuit_duration(circuit, getattr(backend, "target", None)) + rep_delay)


def calibration_date(backend) -> str | None:
    """ISO 8601 date-time of the device's calibration snapshot (``properties().last_update_date``), or None."""
    try:
        props = backend.properties()
    except Exception:  # noqa: BLE001 - a backend without properties
        return None
    when = getattr(props, "last_update_date", None)
    if when is None:
        return None
    return when.isoformat() if hasattr(when, "isoformat") else str(when)


def device_report(circuit, backend, shots: int) -> dict:
    """What a transpiled ``circuit`` costs on ``backend``: ``device``, ``calibration_date``,
    ``depth``, ``two_qubit_gates``, ``estimated_fidelity``, ``min_fidelity``,
    ``estimated_qpu_seconds``, ``shots``."""
    target = getattr(backend, "target", None)
    return {
        "device": str(getattr(backend, "name", type(backend).__name__)),
        "calibration_date": calibration_date(backend),
        "depth": int(circuit.depth()),
        "two_qubit_gates": two_qubit_gates(circuit),
        "estimated_fidelity": circuit_fidelity(circuit, target),
        "min_fidelity": min_fidelity(shots),
        "estimated_qpu_seconds": qpu_seconds(circuit, backend, shots),
        "shots": int(shots),
    }
