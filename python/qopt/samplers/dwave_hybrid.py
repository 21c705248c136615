"""D-Wave's Leap hybrid solvers as a :class:`dimod.Sampler` (backend ``"dwave-hybrid"``).

BQMs go to dwave-system's :class:`~dwave.system.LeapHybridSampler` (the hybrid BQM solver),
constrained models to :class:`~dwave.system.LeapHybridCQMSampler` (:meth:`DWaveHybridSampler.sample_cqm`).
The solver runs for ``time_limit`` seconds of wall clock on D-Wave's side (at least the
solver's minimum for the problem size, which dwave-system computes from the solver's
``minimum_time_limit`` property); the timing it reports comes back under
``info["timing"]`` with Ocean's names (``qpu_access_time``, ``charge_time``, ``run_time``,
microseconds) beside qopt's own ``*_ns`` stages.

Credentials are those of every Ocean tool: the D-Wave configuration file
(``dwave config create``) or the ``DWAVE_API_TOKEN`` environment variable. They are
resolved locally (:func:`qopt.samplers.dwave.resolve_token`) before anything contacts
the cloud, so a missing token raises :class:`DWaveHybridConfigurationError` at once; there
is no silent fallback to a classical solver.

Offline use (tests): pass ``bqm_sampler=`` / ``cqm_sampler=`` objects with dwave-system's
interface, or mock dwave-cloud-client's ``Client`` as ``tests/quantum/test_quantum_devices.py``
does.
"""
from __future__ import annotations

import time
from importlib import metadata

import dimod

from qopt.errors import Cancelled, ParameterError
from qopt.samplers.dwave import DWaveConfigurationError, resolve_token
from qopt.samplers.spec import Param, ParameterSpec, event_validator

__all__ = ["DWaveHybridSampler", "DWaveHybridConfigurationError", "SOLVER_TIMING_KEYS"]

#: The timing keys Leap hybrid solvers report in ``SampleSet.info`` (microseconds), copied
#: into ``info["timing"]`` under the same names.
SOLVER_TIMING_KEYS = ("qpu_access_time", "charge_time", "run_time")


class DWaveHybridConfigurationError(DWaveConfigurationError):
    """No D-Wave Leap credentials could be found (``dwave config create`` or ``DWAVE_API_TOKEN``)."""


_HINT = ("backend 'dwave-hybrid' needs a D-Wave Leap API token: run `dwave config create` (writes dwave.conf) "
         "or set the DWAVE_API_TOKEN environment variable; qopt does not fall back to another solver")


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("dwave-system", "dwave-cloud-client", "dimod"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover
            pass
    return out


class DWaveHybridSampler(dimod.Sampler):
    """Leap hybrid solvers (dwave-system ``LeapHybridSampler`` / ``LeapHybridCQMSampler``).

    Args:
        bqm_sampler: an object with ``LeapHybridSampler``'s interface (``sample(bqm,
            time_limit=..., label=...)``, ``min_time_limit(bqm)``, ``properties``); default:
            a ``LeapHybridSampler`` built on first use from the D-Wave configuration.
        cqm_sampler: the same for ``LeapHybridCQMSampler`` (``sample_cqm``).
        **config: passed to dwave-cloud-client's ``Client.from_config`` (``token``,
            ``config_file``, ``profile``, ``solver``, ...).

    Raises:
        DWaveHybridConfigurationError: (on first use, before any network call) no token in
            ``config``, the configuration file or the environment.
    """

    parameter_spec = ParameterSpec([
        Param("time_limit", "float", None, minimum=0.0, exclusive_minimum=True, unit="s",
              doc="solver run time (None: the solver's minimum for the problem size, >= 3 s on Leap)"),
        Param("label", "str", None, doc="problem label shown in the Leap dashboard"),
        Param("interrupt", "object", None, wire=False, validator=event_validator("interrupt"),
              doc="an object with is_set() (threading.Event), checked before the problem is submitted"),
    ])
    parameters = parameter_spec.dimod_parameters()
    properties = {"description": "D-Wave Leap hybrid solvers (LeapHybridSampler / LeapHybridCQMSampler); "
                                 "the solver's timing in info['timing']"}

    def __init__(self, bqm_sampler=None, cqm_sampler=None, **config):
        self._bqm_sampler = bqm_sampler
        self._cqm_sampler = cqm_sampler
        self._config = dict(config)

    def _leap(self, kind: str):
        """The Leap sampler for ``kind`` ("bqm" or "cqm"), built on first use."""
        have = self._bqm_sampler if kind == "bqm" else self._cqm_sampler
        if have is not None:
            return have
        try:
            token = resolve_token(**self._config)
        except DWaveConfigurationError as exc:  # an unreadable configuration file
            raise DWaveHybridConfigurationError(f"{exc}; {_HINT}", backend="dwave-hybrid") from exc
        if not token:
            raise DWaveHybridConfigurationError(_HINT, backend="dwave-hybrid")
        from dwave.system import LeapHybridCQMSampler, LeapHybridSampler

        cls = LeapHybridSampler if kind == "bqm" else LeapHybridCQMSampler
        made = cls(**self._config)
        if kind == "bqm":
            self._bqm_sampler = made
        else:
            self._cqm_sampler = made
        return made

    def _check(self, time_limit, label, interrupt):
        spec = self.parameter_spec
        time_limit = spec.check("time_limit", time_limit)
        label = spec.check("label", label)
        interrupt = spec.check("interrupt", interrupt)
        if interrupt is not None and interrupt.is_set():
            raise Cancelled("dwave-hybrid interrupted before submitting the problem")
        return time_limit, label

    def sample(self, bqm: dimod.BinaryQuadraticModel, *, time_limit: float | None = None, label: str | None = None,
               interrupt=None, **kwargs) -> dimod.SampleSet:
        """Solve ``bqm`` on Leap's hybrid BQM solver.

        Args:
            bqm: the model (any vartype).
            time_limit: seconds the solver runs (> 0; None: the solver's minimum for this
                problem, ``LeapHybridSampler.min_time_limit``). Below that minimum the call
                raises ``ParameterError("time_limit", ...)`` before submitting.
            label: problem label in the Leap dashboard.
            interrupt: None or an object with ``is_set()``, checked before submitting.

        Returns:
            dimod.SampleSet from the solver (one row on Leap), energies from ``bqm.energies``;
            ``info``: ``timing`` (Ocean's ``qpu_access_time``, ``charge_time``, ``run_time`` in
            microseconds as the solver reports them, plus ``preprocessing_ns``,
            ``sampling_ns``, ``postprocessing_ns``), ``problem_id``, ``time_limit`` (seconds
            applied), ``solver``, ``versions``.

        Raises:
            DWaveHybridConfigurationError: no credentials (at once, no network call).
            ParameterError: a bad parameter, or ``time_limit`` below the solver's minimum.
            qopt.errors.Cancelled: ``interrupt`` was set.
        """
        self.remove_unknown_kwargs(**kwargs)
        t0 = time.perf_counter_ns()
        time_limit, label = self._check(time_limit, label, interrupt)
        leap = self._leap("bqm")
        return self._run(leap, leap.sample, bqm, time_limit, label, t0,
                         lambda ss: bqm.energies((ss.record.sample, ss.variables)))

    def sample_cqm(self, cqm: dimod.ConstrainedQuadraticModel, *, time_limit: float | None = None,
                   label: str | None = None, interrupt=None) -> dimod.SampleSet:
        """Solve ``cqm`` on Leap's hybrid CQM solver (``LeapHybridCQMSampler.sample_cqm``).

        Args and Raises: as :meth:`sample` (the minimum time limit is
        ``LeapHybridCQMSampler.min_time_limit(cqm)``).

        Returns:
            the solver's dimod.SampleSet (``is_feasible`` and ``is_satisfied`` fields as Leap
            returns them) with ``info["timing"]`` as in :meth:`sample`.
        """
        t0 = time.perf_counter_ns()
        time_limit, label = self._check(time_limit, label, interrupt)
        leap = self._leap("cqm")
        return self._run(leap, leap.sample_cqm, cqm, time_limit, label, t0, None)

    def _run(self, leap, call, model, time_limit, label, t0, energies) -> dimod.SampleSet:
        minimum = float(leap.min_time_limit(model))
        if time_limit is None:
            time_limit = minimum
        elif time_limit < minimum:
            raise ParameterError("time_limit", f"must be >= {minimum:g} (the solver's minimum for "
                                               f"{len(model.variables)} variables), was {time_limit!r}")
        kwargs = {"time_limit": time_limit}
        if label is not None:
            kwargs["label"] = label
        t1 = time.perf_counter_ns()
        ss = call(model, **kwargs)
        ss.resolve()
        t2 = time.perf_counter_ns()
        if energies is not None and len(ss):
            ss.record.energy[:] = energies(ss)
        info = dict(ss.info)
        timing = {k: info[k] for k in SOLVER_TIMING_KEYS if k in info}
        solver = getattr(getattr(leap, "solver", None), "name", None)
        info.update({"time_limit": float(time_limit), "solver": str(solver) if solver else type(leap).__name__,
                     "versions": _versions()})
        t3 = time.perf_counter_ns()
        info["timing"] = {**timing, "preprocessing_ns": t1 - t0, "sampling_ns": t2 - t1, "postprocessing_ns": t3 - t2}
        ss.info.clear()
        ss.info.update(info)
        return ss
