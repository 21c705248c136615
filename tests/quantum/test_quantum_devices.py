"""Device backends: ``ibm`` (qiskit-ibm-runtime, fake devices offline), ``dwave-hybrid``
(Leap hybrid solvers, SAPI client mocked), and noise-aware ``qaoa`` runs on fake devices."""
from __future__ import annotations

import time
from unittest import mock

import dimod
import numpy as np
import pytest
from qhelpers import maxcut_bqm, qiskit_reference

import qopt
from qopt.errors import BackendConfigurationError, ParameterError, PreflightError, classify_error
from qopt.preflight import preflight
from qopt.samplers import noise
from qopt.samplers.registry import get_sampler_class, parameter_spec

pytest.importorskip("qiskit_ibm_runtime")


def ring(n: int) -> dimod.BinaryQuadraticModel:
    """MaxCut of an n-cycle as a SPIN BQM (energy = -cut); optimum -n for even n."""
    return dimod.BinaryQuadraticModel({i: 0.0 for i in range(n)}, {(i, (i + 1) % n): 0.5 for i in range(n)},
                                      -0.5 * n, "SPIN")


def test_registry_has_the_device_backends_with_specs():
    from qopt.samplers.dwave_hybrid import DWaveHybridSampler
    from qopt.samplers.ibm import IBMSampler

    assert get_sampler_class("ibm") is IBMSampler
    assert get_sampler_class("dwave-hybrid") is DWaveHybridSampler
    ibm = parameter_spec("ibm")
    assert {"noise_model", "mode", "twirling", "dynamical_decoupling", "shots", "reps", "variant"} <= set(ibm)
    with pytest.raises(ParameterError) as err:
        ibm.check("mode", "sessions")
    assert err.value.field == "mode"
    with pytest.raises(ParameterError) as err:
        parameter_spec("dwave-hybrid").check("time_limit", 0)
    assert err.value.field == "time_limit"


# -- ibm ---------------------------------------------------------------------------------------

def test_ibm_without_credentials_raises_at_once(monkeypatch, tmp_path):
    from qopt.samplers.ibm import IBMConfigurationError, IBMSampler

    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    sampler = IBMSampler(filename=str(tmp_path / "no-accounts.json"))
    t0 = time.perf_counter()
    with pytest.raises(IBMConfigurationError, match="QISKIT_IBM_TOKEN") as err:
        sampler.sample(ring(4), noise_model="ibm_brisbane", shots=16)
    assert time.perf_counter() - t0 < 10.0  # local check, no network round trips
    assert isinstance(err.value, BackendConfigurationError) and classify_error(err.value) == "structural"


@pytest.mark.slow
def test_ibm_on_a_fake_device_returns_candidates_with_noise_provenance():
    from qopt.samplers.ibm import IBMSampler

    bqm = ring(4)
    ss = IBMSampler().sample(bqm, noise_model="fake:brisbane", mode="session", twirling=True,
                             dynamical_decoupling="XY4", shots=256, reps=1, maxiter=10, seed=5)
    assert ss.info["device"] == "fake_brisbane" and ss.info["noise_model"] == "fake:brisbane"
    assert ss.info["calibration_date"].startswith("20")
    assert ss.info["execution_mode"] == "session"
    assert ss.info["runtime_options"]["dynamical_decoupling"]["sequence_type"] == "XY4"
    assert 0.0 < ss.info["estimated_fidelity"] < 1.0
    np.testing.assert_allclose(ss.record.energy, bqm.energies((ss.record.sample, ss.variables)))
    assert ss.first.energy == dimod.ExactSolver().sample(bqm).first.energy  # -4, the brute-force optimum
    assert sum(ss.record.num_occurrences) == 256
    with pytest.raises(ParameterError) as err:
        IBMSampler().sample(bqm, noise_model="fake:brisbane", variant="recursive")
    assert err.value.field == "variant"


@pytest.mark.slow
def test_ibm_with_a_token_asks_the_runtime_service_for_the_device(monkeypatch):
    """With QISKIT_IBM_TOKEN the service is built from it and asked for the named device (here a
    stand-in service handing out a fake device, so nothing leaves the machine)."""
    from qiskit_ibm_runtime.fake_provider import FakeSherbrooke

    from qopt.samplers.ibm import IBMSampler

    monkeypatch.setenv("QISKIT_IBM_TOKEN", "test-token")
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", "crn:test")
    with mock.patch("qiskit_ibm_runtime.QiskitRuntimeService") as service:
        service.return_value.backend.return_value = FakeSherbrooke()
        service.return_value.least_busy.return_value = FakeSherbrooke()
        ss = IBMSampler().sample(ring(4), noise_model="ibm_sherbrooke", shots=64, maxiter=0, seed=2, mode="job")
        service.assert_called_once_with(token="test-token", instance="crn:test")
        service.return_value.backend.assert_called_once_with("ibm_sherbrooke")
        assert ss.info["device"] == "fake_sherbrooke" and ss.info["noise_model"] == "ibm_sherbrooke"
        IBMSampler().sample(ring(4), shots=16, maxiter=0, seed=2, mode="job")
        service.return_value.least_busy.assert_called_once_with(operational=True, simulator=False, min_num_qubits=4)


# -- noise-aware qaoa --------------------------------------------------------------------------

def _energies_from_counts(bqm, counts: dict) -> tuple[np.ndarray, np.ndarray]:
    n = bqm.num_variables
    keys = list(counts)
    bits = np.array([[int(ch) for ch in k[::-1][:n]] for k in keys])
    spins = 1 - 2 * bits
    return bqm.energies((spins, list(bqm.variables))), np.array([counts[k] for k in keys], dtype=float)


@pytest.mark.slow
def test_noisy_qaoa_reproduces_aer_noisy_result_on_the_fake_device():
    """qopt's noise_model='fake:sherbrooke' run against qiskit-aer's own noisy simulation of the same
    circuit (built by the independent reference of qhelpers), transpiled to the same device."""
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.fake_provider import FakeSherbrooke

    from qopt.samplers.qaoa import QAOASampler

    bqm = maxcut_bqm(6, 2)
    gamma, beta = [-0.616], [0.393]
    shots, seed = 4000, 11
    ss = QAOASampler().sample(bqm, reps=1, shots=shots, seed=seed, maxiter=0, initial_point=gamma + beta,
                              noise_model="fake:sherbrooke")
    assert ss.info["device"] == "fake_sherbrooke" and ss.info["noise_model"] == "fake:sherbrooke"
    assert ss.info["calibration_date"]
    e = ss.record.energy
    w = ss.record.num_occurrences.astype(float)
    mean_q = float(np.dot(e, w) / w.sum())
    var_q = float(np.dot((e - mean_q) ** 2, w) / w.sum())

    from qiskit.circuit.library import qaoa_ansatz

    state, op = qiskit_reference(bqm, gamma, beta)
    qc = qaoa_ansatz(op, reps=1)
    qc = qc.assign_parameters({p: (gamma if p.name.startswith("γ") else beta)[p.index] for p in qc.parameters})
    qc.measure_all()
    device = FakeSherbrooke()
    isa = generate_preset_pass_manager(optimization_level=1, backend=device, seed_transpiler=3).run(qc)
    counts = AerSimulator.from_backend(device).run(isa, shots=shots, seed_simulator=seed + 1).result().get_counts()
    e_ref, w_ref = _energies_from_counts(bqm, counts)
    mean_r = float(np.dot(e_ref, w_ref) / w_ref.sum())
    var_r = float(np.dot((e_ref - mean_r) ** 2, w_ref) / w_ref.sum())
    sigma = np.sqrt(var_q / shots + var_r / shots)
    assert abs(mean_q - mean_r) < 4 * sigma, (mean_q, mean_r, sigma)
    ideal = float(np.real(state.expectation_value(op)))
    assert abs(ss.info["expectation"] - ideal) < 1e-9
    assert mean_r - ideal > 4 * sigma  # the device's noise is visible: both runs are noisy, not ideal


def test_qaoa_noise_model_names_are_checked():
    from qopt.samplers.qaoa import QAOASampler

    for bad in ("brisbane", "fake:nowhere"):
        with pytest.raises(ParameterError) as err:
            QAOASampler().sample(ring(4), noise_model=bad, shots=8, maxiter=0)
        assert err.value.field == "noise_model"
    with pytest.raises(ParameterError) as err:
        QAOASampler().sample(ring(4), noise_model="fake:brisbane", variant="recursive")
    assert err.value.field == "noise_model"


def test_preflight_reports_device_costs_and_refuses_noise():
    small = preflight(ring(4), "qaoa", noise_model="fake:brisbane", reps=1, shots=1000)
    assert small["device"] == "fake_brisbane" and small["calibration_date"]
    assert small["two_qubit_gates"] >= 4 and small["depth"] > 4  # 4 ZZ terms, 2 ECR each on hardware
    assert 0.3 < small["estimated_fidelity"] < 1.0
    assert small["min_fidelity"] == pytest.approx(noise.NOISE_SIGMAS / np.sqrt(1000))
    assert small["estimated_qpu_seconds"] >= 1000 * noise.DEFAULT_REP_DELAY_S
    deeper = preflight(ring(4), "ibm", noise_model="fake:brisbane", reps=3, shots=1000)
    assert deeper["backend"] == "ibm" and deeper["estimated_fidelity"] < small["estimated_fidelity"]
    with pytest.raises(PreflightError, match="fidelity") as err:
        preflight(maxcut_bqm(16, 1), "qaoa", noise_model="fake:brisbane", reps=3, shots=1024)
    assert err.value.field == "shots"


def test_fidelity_estimate_is_the_product_over_the_targets_errors():
    from qiskit import QuantumCircuit
    from qiskit_ibm_runtime.fake_provider import FakeBrisbane

    device = FakeBrisbane()
    qc = QuantumCircuit(device.num_qubits, 1)
    qc.ecr(1, 0)
    qc.measure(0, 0)
    want = (1 - device.target["ecr"][(1, 0)].error) * (1 - device.target["measure"][(0,)].error)
    assert noise.circuit_fidelity(qc, device.target) == pytest.approx(want)


# -- dwave-hybrid ------------------------------------------------------------------------------

def test_dwave_hybrid_without_credentials_raises_at_once(monkeypatch, tmp_path):
    from qopt.samplers.dwave_hybrid import DWaveHybridConfigurationError, DWaveHybridSampler

    empty = tmp_path / "dwave.conf"
    empty.write_text("")
    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(empty))
    with mock.patch("dwave.system.samplers.leap_hybrid_sampler.Client") as client:
        with pytest.raises(DWaveHybridConfigurationError, match="DWAVE_API_TOKEN") as err:
            DWaveHybridSampler().sample(ring(4))
        client.from_config.assert_not_called()  # nothing reached the cloud client
    assert classify_error(err.value) == "structural"


def _mock_solver(kind: str):
    """A SAPI solver double answering with the brute-force optimum of what was uploaded."""
    uploaded = {}
    solver = mock.MagicMock()
    solver.name = f"hybrid_{kind}_version2"
    solver.supported_problem_types = [kind]
    solver.properties = {"category": "hybrid", "minimum_time_limit": [[1, 3.0], [1024, 3.0], [5000, 5.0]],
                         "maximum_time_limit_hrs": 24.0, "supported_problem_types": [kind]}

    def upload(fv):
        uploaded["bqm"] = dimod.BinaryQuadraticModel.from_file(fv)
        future = mock.MagicMock()
        future.result.return_value = "problem-1"
        return future

    def sample(problem_id, time_limit, **kwargs):
        ss = dimod.ExactSolver().sample(uploaded["bqm"]).truncate(1)
        ss.info.update({"qpu_access_time": 31925, "charge_time": 3000000, "run_time": 2999850,
                        "problem_id": problem_id})
        answer = mock.MagicMock()
        answer.sampleset = ss
        return answer

    solver.upload_bqm.side_effect = upload
    solver.sample_bqm.side_effect = sample
    return solver


def test_dwave_hybrid_on_a_mocked_sapi_client(monkeypatch):
    from qopt.samplers.dwave_hybrid import DWaveHybridSampler

    monkeypatch.setenv("DWAVE_API_TOKEN", "DEV-test")
    solver = _mock_solver("bqm")
    with mock.patch("dwave.system.samplers.leap_hybrid_sampler.Client") as client:
        client.from_config.return_value.get_solver.return_value = solver
        sampler = DWaveHybridSampler()
        bqm = dimod.generators.ran_r(1, 10, seed=4)
        ss = sampler.sample(bqm, label="qopt-test")
        assert ss.first.energy == dimod.ExactSolver().sample(bqm).first.energy
        kwargs = solver.sample_bqm.call_args.kwargs
        assert kwargs["time_limit"] == 3.0 and kwargs["label"] == "qopt-test"  # the solver's minimum applied
        timing = ss.info["timing"]
        assert (timing["qpu_access_time"], timing["charge_time"], timing["run_time"]) == (31925, 3000000, 2999850)
        assert {"preprocessing_ns", "sampling_ns", "postprocessing_ns"} <= set(timing)
        assert ss.info["solver"] == "hybrid_bqm_version2" and ss.info["time_limit"] == 3.0
        ss = sampler.sample(bqm, time_limit=7.5)
        assert solver.sample_bqm.call_args.kwargs["time_limit"] == 7.5
        with pytest.raises(ParameterError, match="time_limit must be >= 3") as err:
            sampler.sample(bqm, time_limit=1.0)
        assert err.value.field == "time_limit"
        # through the pipeline the solver's microseconds and qopt's nanoseconds stay apart
        result = qopt.solve(bqm, backend="dwave-hybrid", presolve=False)
        assert result.provenance["backend_timing_us"] == {"qpu_access_time": 31925, "charge_time": 3000000,
                                                          "run_time": 2999850}
        assert {"preprocessing_ns", "sampling_ns", "postprocessing_ns"} <= set(result.provenance["backend_timing_ns"])
        assert all(k.endswith("_ns") for k in result.provenance["backend_timing_ns"])
        # without a deadline the solver's minimum applies, not qopt's default budget (under it here)
        assert solver.sample_bqm.call_args.kwargs["time_limit"] == 3.0


def test_dwave_hybrid_cqm_on_a_mocked_sapi_client(monkeypatch):
    from qopt.samplers.dwave_hybrid import DWaveHybridSampler

    monkeypatch.setenv("DWAVE_API_TOKEN", "DEV-test")
    uploaded = {}
    solver = mock.MagicMock()
    solver.name = "hybrid_constrained_quadratic_model_version1p"
    solver.supported_problem_types = ["cqm"]
    solver.properties = {"category": "hybrid", "minimum_time_limit_s": 5.0, "maximum_time_limit_hrs": 24.0,
                         "maximum_number_of_constraints": 100_000, "maximum_number_of_variables": 500_000,
                         "maximum_number_of_biases": 2_000_000_000,
                         "maximum_number_of_quadratic_variables": 200_000, "supported_problem_types": ["cqm"]}

    def upload(fcqm):
        fcqm.seek(0)  # dwave-system has read the header to check the model's size
        uploaded["cqm"] = dimod.ConstrainedQuadraticModel.from_file(fcqm)
        future = mock.MagicMock()
        future.result.return_value = "problem-2"
        return future

    def sample(problem_id, time_limit, **kwargs):
        ss = dimod.ExactCQMSolver().sample_cqm(uploaded["cqm"])
        ss = ss.filter(lambda d: d.is_feasible).truncate(1)
        ss.info.update({"qpu_access_time": 0, "charge_time": 5000000, "run_time": 4999000})
        answer = mock.MagicMock()
        answer.sampleset = ss
        return answer

    solver.upload_problem.side_effect = upload
    solver.sample_cqm.side_effect = sample
    weights, values = [3, 4, 5, 6, 2, 7], [4, 5, 7, 8, 1, 9]
    cqm = dimod.ConstrainedQuadraticModel()
    x = [dimod.Binary(i) for i in range(6)]
    cqm.set_objective(-sum(v * xi for v, xi in zip(values, x, strict=True)))
    cqm.add_constraint(sum(w * xi for w, xi in zip(weights, x, strict=True)) <= 12, label="capacity")
    best = max((sum(values[i] for i in range(6) if m >> i & 1), m) for m in range(64)
               if sum(weights[i] for i in range(6) if m >> i & 1) <= 12)  # brute-force 0/1 knapsack
    with mock.patch("dwave.system.samplers.leap_hybrid_sampler.Client") as client:
        client.from_config.return_value.get_solver.return_value = solver
        ss = DWaveHybridSampler().sample_cqm(cqm)
    assert -ss.first.energy == best[0]
    assert solver.sample_cqm.call_args.kwargs["time_limit"] == 5.0
    assert ss.info["timing"]["charge_time"] == 5000000 and ss.info["solver"].startswith("hybrid_constrained")


def test_preflight_dwave_hybrid_reports_the_time_limit():
    bqm = dimod.generators.ran_r(1, 30, seed=1)
    assert preflight(bqm, "dwave-hybrid")["estimated_seconds"] == 3.0  # Leap's minimum below 1024 variables
    assert preflight(bqm, "dwave-hybrid", time_limit=12.5)["estimated_seconds"] == 12.5
    with pytest.raises(ParameterError) as err:
        preflight(bqm, "dwave-hybrid", time_limit=-1)
    assert err.value.field == "time_limit"
